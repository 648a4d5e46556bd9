import { eq } from 'drizzle-orm'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { changeCampaignStatus } from '../../../api/campaigns/campaigns.ts'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { enqueueDueRecipients } from '../../../api/campaigns/sending.ts'
import {
  campaigns,
  clickEvents,
  deals,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
} from '../../../api/db/schema.ts'
import type { WebhookEventType } from '../../../api/db/webhook-outbox.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { judgePendingClicks, rescoreClicks } from '../../../api/tracking/verdict-jobs.ts'
import { SETTLE_MS } from '../../../api/tracking/verdicts.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from '../campaigns/fixtures.ts'
import { mailboxTransport, testWorker } from '../email/outbox-fixtures.ts'
import { addProspect as addSharedProspect } from '../tracking/fixtures.ts'

// Outbound changes queue their webhook events in the transaction of the change: a campaign
// started, a campaign completed (stopped by a person, or everything sent: the scheduler),
// a click judged human (with the verdict's reasons) and the 10% target that click makes.

const ctx = await setupTestApp({ ...CAMPAIGN_ENV, TRUST_PROXY: 'true' })
const { db, env } = ctx.deps
const writer = createClickWriter(db, ctx.deps.logger)
const app = createApp(ctx.deps, writer)
afterAll(() => writer.drain())
const admin = await addUser(ctx, 'admin')
const sdr = await addUser(ctx, 'sdr')
ctx.clock.set(new Date('2026-01-26T09:00:00Z'))

let subscriptionId: string
beforeEach(async () => {
  await db.delete(webhookSubscriptions)
  const sub = await createSubscription(
    db,
    {
      url: 'https://crm.example.com/hooks',
      events: ['campaign.started', 'campaign.completed', 'click.human', 'deal.qualified'],
      createdBy: admin.id,
    },
    ctx.clock.now(),
  )
  subscriptionId = sub.id
})

/** What this test's subscription has been queued, oldest first. */
async function queued(): Promise<Array<{ type: WebhookEventType; data: any }>> {
  return (await db
    .select({ type: webhookEvents.type, data: webhookEvents.data })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.subscriptionId, subscriptionId))
    .orderBy(webhookEvents.id)) as Array<{ type: WebhookEventType; data: any }>
}

async function importedCampaign(tag: string, people: number) {
  const campaign = await makeCampaign(ctx, sdr, { name: `Campaign ${tag}` })
  const rows = [
    ['email', 'first name'],
    ...Array.from({ length: people }, (_, i) => [`${tag}${i}@${tag}.example`, `P${i}`]),
  ]
  const stored = await storeImport(
    db,
    sdr,
    { campaignId: campaign.id, filename: 'p.csv', bytes: new TextEncoder().encode(csv(rows)) },
    ctx.clock.now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  return campaign
}

describe('campaign events', () => {
  it('a start queues campaign.started; the scheduler finding the last message sent queues campaign.completed', async () => {
    const campaign = await importedCampaign('go', 2)
    const started = await changeCampaignStatus(db, env, sdr, campaign.id, 'start', ctx.clock.now())
    expect(started.ok).toBe(true)
    expect(await queued()).toEqual([
      {
        type: 'campaign.started',
        data: {
          campaign: expect.objectContaining({
            id: campaign.id,
            name: 'Campaign go',
            status: 'sending',
            ownerId: sdr.id,
            startedAt: ctx.clock.now().toISOString(),
            startAfter: null,
            completedAt: null,
          }),
          actorId: sdr.id,
        },
      },
    ])
    // Completed once the outbox has sent what the scheduler handed it.
    const worker = testWorker(ctx, mailboxTransport(ctx))
    for (let i = 0; i < 10 && (await queued()).length < 2; i++) {
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 60_000 })
      ctx.clock.advance(60_000)
      await worker.drainOnce()
    }
    const events = await queued()
    expect(events.map((e) => e.type)).toEqual(['campaign.started', 'campaign.completed'])
    expect(events[1]!.data).toMatchObject({
      campaign: { id: campaign.id, status: 'completed' },
      actorId: null,
      reason: 'everything_enqueued',
    })
    // Another scheduler run finds nothing to complete: no second event.
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 60_000 })
    expect(await queued()).toHaveLength(2)
  })

  it('a person stopping a campaign queues campaign.completed; a start refused or raced queues nothing', async () => {
    const empty = await makeCampaign(ctx, sdr, { name: 'No recipients' })
    const refused = await changeCampaignStatus(db, env, sdr, empty.id, 'start', ctx.clock.now())
    expect(refused).toMatchObject({ ok: false, status: 409 })
    expect(await queued()).toEqual([])

    const campaign = await importedCampaign('stop', 3)
    expect(
      (await changeCampaignStatus(db, env, sdr, campaign.id, 'start', ctx.clock.now())).ok,
    ).toBe(true)
    const stopped = await changeCampaignStatus(
      db,
      env,
      sdr,
      campaign.id,
      'complete',
      ctx.clock.now(),
    )
    expect(stopped.ok).toBe(true)
    const events = await queued()
    expect(events.map((e) => e.type)).toEqual(['campaign.started', 'campaign.completed'])
    expect(events[1]!.data).toMatchObject({
      campaign: { id: campaign.id, status: 'completed' },
      actorId: sdr.id,
      reason: 'stopped',
    })
  })
})

const PERSON = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  accept: 'text/html',
  'accept-language': 'en-GB,en;q=0.9',
}
const SCANNER = { 'user-agent': PERSON['user-agent'], accept: '*/*' }

/** A prospect as an import leaves one: contact, open deal at 0%, a sent message with 2 links. */
const addProspect = () =>
  addSharedProspect(db, {
    sdrId: sdr.id,
    sentAt: ctx.clock.now(),
    urls: ['https://www.example.com/pricing', 'https://www.example.com/demo'],
  })

async function clickAs(token: string, ip: string, headers: Record<string, string>) {
  const res = await app.request(`/r/${token}`, { headers: { ...headers, 'x-forwarded-for': ip } })
  expect(res.status).toBe(302)
  await writer.drain()
}

async function judgeAll() {
  ctx.clock.advance(SETTLE_MS)
  while ((await judgePendingClicks(db, ctx.clock.now(), 100)).judged > 0);
}

describe('click events', () => {
  it('a human click queues click.human with its reasons, then deal.qualified for the 10% target it makes; scanner clicks queue nothing', async () => {
    const p = await addProspect()
    ctx.clock.advance(43_000)
    for (const token of p.tokens) {
      await clickAs(token, '148.163.130.7', SCANNER)
      ctx.clock.advance(150)
    }
    await judgeAll()
    expect(await queued()).toEqual([])

    ctx.clock.advance(180_000)
    await clickAs(p.tokens[1]!, '81.120.7.9', PERSON)
    const clickedAt = ctx.clock.now()
    await judgeAll()
    const events = await queued()
    expect(events.map((e) => e.type)).toEqual(['click.human', 'deal.qualified'])
    const [human, qualified] = events
    expect(human!.data).toMatchObject({
      click: {
        at: clickedAt.toISOString(),
        url: p.urls[1],
        verdict: 'human',
      },
      campaignId: p.campaignId,
      recipientId: p.recipientId,
      contactId: p.contactId,
    })
    expect(human!.data.click.reasons).toContainEqual({
      code: 'no_bot_signal',
      sentence: 'a browser visit with nothing that points to a scanner',
    })
    expect(qualified!.data).toMatchObject({
      dealId: p.dealId,
      contactId: p.contactId,
      source: 'outbound',
      evidence: { kind: 'click', url: p.urls[1], verdict: 'human' },
    })
    expect(qualified!.data.evidence.reasons).toEqual(human!.data.click.reasons)
    const [deal] = await db.select().from(deals).where(eq(deals.id, p.dealId!))
    expect(deal!.stage).toBe('target')

    // A second human click is news (click.human) but makes no second target; a re-score of
    // clicks already judged human queues nothing.
    ctx.clock.advance(60_000)
    await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
    await judgeAll()
    expect((await queued()).map((e) => e.type)).toEqual([
      'click.human',
      'deal.qualified',
      'click.human',
    ])
    await db
      .update(clickEvents)
      .set({ rulesVersion: 'older' })
      .where(eq(clickEvents.recipientId, p.recipientId))
    expect((await rescoreClicks(db, ctx.clock.now(), 100)).judged).toBe(4)
    expect(await queued()).toHaveLength(3)
  })
})
