import { and, eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { campaignRecipients, contacts, dealEvents, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { judgePendingClicks } from '../../../api/tracking/verdict-jobs.ts'
import { SETTLE_MS } from '../../../api/tracking/verdicts.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { insertLinks } from './fixtures.ts'
import { addTrackedLinks } from './fixtures.ts'

// A campaign's results through GET /api/campaigns/:id/results(.csv): sending outcomes and
// clicks by verdict, in total and per link, after the verdict job has judged them.

const ctx = await setupTestApp({ TRUST_PROXY: 'true' })
const { db } = ctx.deps
const writer = createClickWriter(db, ctx.deps.logger)
const app = createApp(ctx.deps, writer)
afterAll(() => writer.drain())

const PERSON = { 'user-agent': 'Mozilla/5.0 (Macintosh) Firefox/132.0', 'accept-language': 'en' }
const SCANNER = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0) Chrome/130.0', accept: '*/*' }
const URLS = ['https://www.example.com/pricing', 'https://www.example.com/case']

/**
 * Another recipient of the same campaign, with its own tokens for the same links; with `stage`,
 * its contact has an open deal there.
 */
async function addRecipient(
  campaignId: string,
  status: 'queued' | 'sent' | 'bounced' | 'failed' | 'removed',
  stage?: 'opportunity' | 'demo',
) {
  const email = `p-${Math.random().toString(36).slice(2, 8)}@example.com`
  const contactId = newId()
  await db
    .insert(contacts)
    .values({ id: contactId, email, emailDisplay: email, source: 'outbound' })
  const dealId = newId()
  if (stage)
    await db
      .insert(deals)
      // Made by the import, on the test's clock (not the database's wall clock).
      .values({
        id: dealId,
        contactId,
        title: email,
        stage,
        source: 'outbound',
        createdAt: ctx.clock.now(),
      })
  const recipientId = newId()
  await db
    .insert(campaignRecipients)
    .values({ id: recipientId, campaignId, contactId, email, fields: {}, status })
  return { dealId, tokens: await insertLinks(db, recipientId, campaignId, URLS) }
}

const click = (token: string, ip: string, headers: Record<string, string>) =>
  app.request(`/r/${token}`, { headers: { ...headers, 'x-forwarded-for': ip } })

describe('campaign results', () => {
  it('count what was sent and which clicks were people, per link, for every reader; CSV too', async () => {
    const first = await addTrackedLinks(db, URLS)
    await db
      .update(campaignRecipients)
      .set({ status: 'sent' })
      .where(eq(campaignRecipients.id, first.recipientId))
    const second = (await addRecipient(first.campaignId, 'sent')).tokens
    const third = (await addRecipient(first.campaignId, 'bounced')).tokens
    // A gateway sweep over the first message, its person later; the second person clicks twice.
    for (const token of first.tokens) await click(token, '148.163.130.9', SCANNER)
    ctx.clock.advance(600_000)
    await click(first.tokens[0]!, '81.120.7.9', PERSON)
    await click(second[0]!, '81.77.1.2', PERSON)
    ctx.clock.advance(60_000)
    await click(second[1]!, '81.77.1.2', PERSON)
    ctx.clock.advance(SETTLE_MS)
    await click(third[0]!, '81.66.1.1', PERSON) // not judged yet
    await judgePendingClicks(db, ctx.clock.now())

    const { cookie } = await signedInAs(ctx, 'rep')
    const res = await app.request(`/api/campaigns/${first.campaignId}/results`, {
      headers: { cookie },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      recipients: 3,
      queued: 0,
      sent: 2,
      accepted: 2,
      // No provider reported on these messages (SMTP, the dev mailbox): not known, not 0.
      delivered: null,
      bounced: 1,
      failed: 0,
      removed: 0,
      stopped: 0,
      unsubscribed: 0,
      clicks: { raw: 6, human: 3, bot: 2, pending: 1, uniqueHumans: 2 },
      targets: 2,
      links: [
        { url: URLS[0], position: 1, raw: 4, human: 2, bot: 1, pending: 1, uniqueHumans: 2 },
        { url: URLS[1], position: 2, raw: 2, human: 1, bot: 1, pending: 0, uniqueHumans: 1 },
      ],
    })

    const csv = await app.request(`/api/campaigns/${first.campaignId}/results.csv`, {
      headers: { cookie },
    })
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    const text = await csv.text()
    expect(text).toContain('"human clicks","3"\r\n')
    expect(text).toContain('"targets created","2"\r\n')
    expect(text).toContain(`"1","${URLS[0]}","4","2","1","1","2"\r\n`)
  })

  it('count as sent what the transport accepted, the figure the progress shows, with queued mail apart', async () => {
    // Mid-send: one message still in the outbox, two accepted, one bounced, one failed, one
    // taken out before it went.
    const first = await addTrackedLinks(db, URLS)
    await db
      .update(campaignRecipients)
      .set({ status: 'queued' })
      .where(eq(campaignRecipients.id, first.recipientId))
    for (const status of ['sent', 'sent', 'bounced', 'failed', 'removed'] as const)
      await addRecipient(first.campaignId, status)

    const { cookie } = await signedInAs(ctx, 'rep')
    const results = await app.request(`/api/campaigns/${first.campaignId}/results`, {
      headers: { cookie },
    })
    expect(await results.json()).toMatchObject({
      recipients: 6,
      queued: 1,
      sent: 2,
      accepted: 2,
      // No provider reported on these messages (SMTP, the dev mailbox): not known, not 0.
      delivered: null,
      bounced: 1,
      failed: 1,
      removed: 1,
    })
    const campaign = await app.request(`/api/campaigns/${first.campaignId}`, {
      headers: { cookie },
    })
    expect((await campaign.json()).progress).toMatchObject({
      recipients: 6,
      pending: 0,
      queued: 1,
      sent: 2,
      bounced: 1,
      removed: 1,
    })
    const csv = await app.request(`/api/campaigns/${first.campaignId}/results.csv`, {
      headers: { cookie },
    })
    const text = await csv.text()
    expect(text).toContain('"queued","1"\r\n"sent","2"\r\n')
    expect(text).toContain('"taken out (never sent)","1"\r\n')
  })

  it('count as targets the prospects a click made targets, not those already targets or further on', async () => {
    const { campaignId } = await addTrackedLinks(db, URLS)
    // Clicks other tests left waiting for their verdict are judged first.
    ctx.clock.advance(SETTLE_MS)
    await judgePendingClicks(db, ctx.clock.now())
    // Two more prospects of the campaign: one still an opportunity, one a rep already moved on
    // to a demo (after a form, say) before the click.
    const prospects = []
    for (const stage of ['opportunity', 'demo'] as const)
      prospects.push(await addRecipient(campaignId, 'sent', stage))
    const [opportunity, demo] = prospects
    ctx.clock.advance(600_000)
    await click(opportunity!.tokens[0]!, '81.77.1.2', PERSON)
    await click(demo!.tokens[0]!, '81.66.1.1', PERSON)
    ctx.clock.advance(SETTLE_MS)
    expect(await judgePendingClicks(db, ctx.clock.now())).toMatchObject({ judged: 2, qualified: 1 })
    const { cookie } = await signedInAs(ctx, 'rep')
    const res = await app.request(`/api/campaigns/${campaignId}/results`, { headers: { cookie } })
    expect(await res.json()).toMatchObject({ clicks: { human: 2, uniqueHumans: 2 }, targets: 1 })
    // The demo keeps its stage and gets the click as evidence, once.
    const [moved] = await db.select().from(deals).where(eq(deals.id, demo!.dealId))
    expect(moved!.stage).toBe('demo')
    const evidence = await db
      .select()
      .from(dealEvents)
      .where(and(eq(dealEvents.dealId, demo!.dealId), eq(dealEvents.type, 'evidence')))
    expect(evidence).toHaveLength(1)
    const [advanced] = await db.select().from(deals).where(eq(deals.id, opportunity!.dealId))
    expect(advanced!.stage).toBe('target')
  })

  it('are refused to the signed-out and answer 404 for an unknown campaign', async () => {
    const { campaignId } = await addTrackedLinks(db, URLS)
    expect((await app.request(`/api/campaigns/${campaignId}/results`)).status).toBe(401)
    const { cookie } = await signedInAs(ctx, 'sdr')
    const missing = await app.request(`/api/campaigns/${newId()}/results.csv`, {
      headers: { cookie },
    })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({
      error: { code: 'not_found', message: 'There is no such campaign.' },
    })
  })
})
