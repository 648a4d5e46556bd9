import { eq, sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import {
  campaignProgress,
  changeCampaignStatus,
  shownStatus,
} from '../../../api/campaigns/campaigns.ts'
import { listRecipients, RECIPIENT_STATUS_LABELS } from '../../../api/campaigns/recipients.ts'
import { campaignResults, campaignResultsCsv } from '../../../api/tracking/results.ts'
import { enqueueDueRecipients, recordOutcomes } from '../../../api/campaigns/sending.ts'
import { removeRecipient } from '../../../api/campaigns/recipients.ts'
import { openDatabase } from '../../../api/db/client.ts'
import { newId } from '../../../api/ids.ts'
import { rowsOf } from '../../../api/db/raw-sql.ts'
import {
  campaignRecipients,
  campaigns,
  deals,
  mailboxMessages,
  outbox,
  trackedLinks,
} from '../../../api/db/schema.ts'
import type { Db } from '../../../api/db/client.ts'
import { readStoredSenderSettings, saveSenderSettings } from '../../../api/email/sender.ts'
import { suppress } from '../../../api/email/suppressions.ts'
import { testEngine } from '../../db-fixtures.ts'
import { eventually } from '../../eventually.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { mailboxTransport, testWorker } from '../email/outbox-fixtures.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from './fixtures.ts'

const ctx = await setupTestApp(CAMPAIGN_ENV)
const db = ctx.deps.db
const env = ctx.deps.env
const sdr = await addUser(ctx, 'sdr')
// Monday 26 January 2026, 10:00 in Berlin (09:00 UTC).
ctx.clock.set(new Date('2026-01-26T09:00:00Z'))

/** A sending campaign with the recipients of one file (`rows`) or of several, imported in turn. */
async function sendingCampaign(
  rows: string[][] | string[][][],
  over: Parameters<typeof makeCampaign>[2] = {},
) {
  const campaign = await importedCampaign(rows, over)
  await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, campaign.id))
  return campaign
}

/** A draft with its recipients imported (one file, or several in turn), to start as a person does. */
async function importedCampaign(
  rows: string[][] | string[][][],
  over: Parameters<typeof makeCampaign>[2] = {},
) {
  const campaign = await makeCampaign(ctx, sdr, over)
  const files = Array.isArray(rows[0]?.[0]) ? (rows as string[][][]) : [rows as string[][]]
  for (const file of files) {
    const stored = await storeImport(
      db,
      sdr,
      { campaignId: campaign.id, filename: 'p.csv', bytes: new TextEncoder().encode(csv(file)) },
      ctx.clock.now(),
    )
    if (!stored.ok) throw new Error(stored.message)
    const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
    await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  }
  return campaign
}

const people = (n: number, tag: string) => [
  ['email', 'first name', 'website'],
  ...Array.from({ length: n }, (_, i) => [
    `${tag}${i}@${tag}.example`,
    `P${i}`,
    `https://${tag}.example/page/${i}`,
  ]),
]
const recipientsOf = (campaignId: string, d: Db = db) =>
  d
    .select()
    .from(campaignRecipients)
    .where(eq(campaignRecipients.campaignId, campaignId))
    // File order, as the campaign page lists them: two imports each have a line 2.
    .orderBy(campaignRecipients.line, campaignRecipients.id)

describe('sending a campaign', () => {
  it('enqueues just in time at the rate, with tracked links, and records each outcome', async () => {
    const campaign = await sendingCampaign(people(3, 'jit'), {
      senderEmail: 'jit@frontdoor.example',
      ratePerHour: 60,
      windowStartHour: 8,
      windowEndHour: 18,
      timezone: 'Europe/Berlin',
      bodyTemplate:
        'Hi {{firstName}}, your page {{website}} and ours https://frontdoor.example/a.\nNot a link: javascript:alert(1)',
    })
    // 60 an hour: one now, the next a minute later.
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 1 })
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 0 })
    ctx.clock.advance(60_000)
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 1 })

    const [first, second, third] = await recipientsOf(campaign.id)
    expect(first).toMatchObject({ status: 'queued', scheduledAt: new Date('2026-01-26T09:00:00Z') })
    expect(second).toMatchObject({
      status: 'queued',
      scheduledAt: new Date('2026-01-26T09:01:00Z'),
    })
    expect(third).toMatchObject({ status: 'pending', outboxId: null })
    const [row] = await db.select().from(outbox).where(eq(outbox.id, first!.outboxId!))
    expect(row).toMatchObject({ category: 'outreach', dedupeKey: `outreach:${first!.id}` })
    const payload = row!.payload as {
      text: string
      html: string
      headers: Record<string, string>
      from: { address: string }
    }
    expect(payload.from.address).toBe('jit@frontdoor.example')
    expect(payload.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click')
    expect(payload.text).toContain('1 Example Street, Springfield')
    expect(payload.html).not.toMatch(/<img/i)
    // Both links, the CSV's too, are /r/ links; the javascript: text is no link.
    const links = await db
      .select()
      .from(trackedLinks)
      .where(eq(trackedLinks.recipientId, first!.id))
      .orderBy(trackedLinks.position)
    expect(links.map((l) => l.url)).toEqual([
      'https://jit.example/page/0',
      'https://frontdoor.example/a',
    ])
    for (const l of links) expect(payload.text).toContain(`${env.APP_ORIGIN}/r/${l.token}`)
    expect(payload.text).not.toContain('https://jit.example')
    expect(payload.html).not.toMatch(/href="javascript:/)

    // The worker sends the due one; a hard bounce and a suppression come back as outcomes.
    await suppress(db, { email: 'jit1@jit.example', reason: 'unsubscribe' }, ctx.clock.now())
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    await recordOutcomes(db)
    const after = await recipientsOf(campaign.id)
    expect(after[0]).toMatchObject({ status: 'sent', sentAt: ctx.clock.now() })
    expect(after[1]).toMatchObject({ status: 'suppressed' })
    const mails = await db.select().from(mailboxMessages)
    expect(mails.filter((m) => m.to.includes('jit0@jit.example'))).toHaveLength(1)
    expect(mails.filter((m) => m.to.includes('jit1@jit.example'))).toHaveLength(0)
  })

  it('stops queueing on pause and carries on after resume, then completes', async () => {
    const campaign = await sendingCampaign(people(3, 'pause'), {
      senderEmail: 'pause@frontdoor.example',
      ratePerHour: 3600,
    })
    await db.update(campaigns).set({ status: 'paused' }).where(eq(campaigns.id, campaign.id))
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 0 })
    expect((await recipientsOf(campaign.id)).every((r) => r.status === 'pending')).toBe(true)
    await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, campaign.id))
    ctx.clock.advance(60_000)
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 2_000 }),
    ).toMatchObject({ enqueued: expect.any(Number) })
    expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual([
      'queued',
      'queued',
      'queued',
    ])
    // Completed once the outbox has sent them.
    ctx.clock.advance(2_000)
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 2_000 })
    expect(
      (await db.select().from(campaigns).where(eq(campaigns.id, campaign.id)))[0]!.status,
    ).toBe('completed')
  })

  it('takes back what waits in the outbox when paused or stopped, with its links; a resume queues it again', async () => {
    const campaign = await sendingCampaign(people(3, 'takeback'), {
      senderEmail: 'takeback@frontdoor.example',
      ratePerHour: 3600,
    })
    const actor = { id: sdr.id, role: 'sdr' as const }
    const act = (action: 'pause' | 'resume' | 'complete') =>
      changeCampaignStatus(db, env, actor, campaign.id, action, ctx.clock.now())
    const queue = () => enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const waiting = async () =>
      (await db.select().from(outbox).where(eq(outbox.category, 'outreach'))).filter((o) =>
        o.dedupeKey?.startsWith('outreach:'),
      )
    const linksOf = async () =>
      db.select().from(trackedLinks).where(eq(trackedLinks.campaignId, campaign.id))
    await queue()
    const queued = await recipientsOf(campaign.id)
    expect(queued.map((r) => r.status)).toEqual(['queued', 'queued', 'queued'])
    const mine = new Set(queued.map((r) => r.outboxId))
    expect((await waiting()).filter((o) => mine.has(o.id))).toHaveLength(3)
    expect(await linksOf()).toHaveLength(3)
    // One of them was tried already and failed for now: it may have been delivered, it stays.
    await db.update(outbox).set({ attempts: 1 }).where(eq(outbox.id, queued[0]!.outboxId!))

    const paused = await act('pause')
    expect(paused.ok).toBe(true)
    const after = await recipientsOf(campaign.id)
    expect(after.map((r) => [r.status, r.outboxId === null])).toEqual([
      ['queued', false],
      ['pending', true],
      ['pending', true],
    ])
    expect((await waiting()).filter((o) => mine.has(o.id)).map((o) => o.id)).toEqual([
      queued[0]!.outboxId,
    ])
    expect((await linksOf()).map((l) => l.recipientId)).toEqual([queued[0]!.id])

    const resumed = await act('resume')
    expect(resumed.ok).toBe(true)
    await queue()
    const again = await recipientsOf(campaign.id)
    expect(again.map((r) => r.status)).toEqual(['queued', 'queued', 'queued'])
    expect(await linksOf()).toHaveLength(3)

    // Stopped for good: the same, and nothing comes back: those taken back are never sent.
    const stopped = await act('complete')
    expect(stopped.ok).toBe(true)
    expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual([
      'queued',
      'stopped',
      'stopped',
    ])
    ctx.clock.advance(60_000)
    await queue()
    expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual([
      'queued',
      'stopped',
      'stopped',
    ])
  })

  it('stays pausable and stoppable while its last messages wait in the outbox', async () => {
    // 12 recipients at 3600 an hour: started, paused, resumed; the scheduler hands all 12 to the
    // outbox at once (one a second, all within its 30 s), and 2 s later 3 have gone.
    const campaign = await importedCampaign(people(12, 'tail'), {
      senderEmail: 'tail@frontdoor.example',
      ratePerHour: 3600,
    })
    const actor = { id: sdr.id, role: 'sdr' as const }
    const act = (action: 'start' | 'pause' | 'resume' | 'complete') =>
      changeCampaignStatus(db, env, actor, campaign.id, action, ctx.clock.now())
    const queue = () => enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const worker = testWorker(ctx, mailboxTransport(ctx))
    const statusOf = async () =>
      (await db.select().from(campaigns).where(eq(campaigns.id, campaign.id)))[0]!.status
    const count = async () =>
      Object.groupBy(await recipientsOf(campaign.id), (r) => r.status) as Record<string, unknown[]>
    const mailed = async () =>
      (await db.select().from(mailboxMessages)).filter((m) => m.to.includes('@tail.example'))
    for (const action of ['start', 'pause', 'resume'] as const)
      expect(await act(action)).toMatchObject({ ok: true })
    await queue()
    expect((await count()).queued).toHaveLength(12)
    ctx.clock.advance(2_000)
    await worker.drainOnce()
    await recordOutcomes(db)
    expect((await count()).sent).toHaveLength(3)
    // Nobody left to enqueue, but 9 messages still wait in the outbox (1–9 s ahead): a pause
    // takes them back, as it does mid-campaign; a resume queues them again.
    await queue()
    expect(await act('pause')).toMatchObject({ ok: true, campaign: { status: 'paused' } })
    expect((await count()).pending).toHaveLength(9)
    expect(await act('resume')).toMatchObject({ ok: true })
    await queue()
    expect((await count()).queued).toHaveLength(9)
    expect(await statusOf()).toBe('sending')

    // A stop takes them back for good: none of them is sent, now or later.
    expect(await act('complete')).toMatchObject({ ok: true, campaign: { status: 'completed' } })
    ctx.clock.advance(60_000)
    await worker.drainOnce()
    await recordOutcomes(db)
    await queue()
    expect(await mailed()).toHaveLength(3)
    const progress = (await campaignProgress(db, [campaign.id])).get(campaign.id)!
    expect(progress).toMatchObject({ recipients: 12, sent: 3, queued: 0, pending: 0, stopped: 9 })
  })

  it('reads as stopped, by whom and when, with its unsent recipients not sent, not waiting', async () => {
    const campaign = await importedCampaign(people(4, 'halt'), {
      senderEmail: 'halt@frontdoor.example',
      ratePerHour: 3600,
    })
    const actor = { id: sdr.id, role: 'sdr' as const }
    const act = (action: 'start' | 'complete') =>
      changeCampaignStatus(db, env, actor, campaign.id, action, ctx.clock.now())
    expect(await act('start')).toMatchObject({ ok: true })
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    ctx.clock.advance(1_000)
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    await recordOutcomes(db)
    ctx.clock.advance(1_000)
    const stopped = await act('complete')
    expect(stopped).toMatchObject({
      ok: true,
      campaign: {
        status: 'completed',
        completedAt: ctx.clock.now(),
        stoppedAt: ctx.clock.now(),
        stoppedBy: sdr.id,
      },
    })
    expect(shownStatus(stopped.ok ? stopped.campaign : campaign)).toBe('stopped')
    // Two went before the stop; the two it took back from the outbox are not sent, for good.
    expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual([
      'sent',
      'sent',
      'stopped',
      'stopped',
    ])
    expect(RECIPIENT_STATUS_LABELS.stopped).toBe('Not sent (stopped)')
    const viewer = { id: sdr.id, role: 'sdr' as const, timeZone: sdr.timeZone }
    const listed = await listRecipients(db, campaign.id, { viewer, status: 'stopped' })
    expect(listed.total).toBe(2)
    expect(await listRecipients(db, campaign.id, { viewer, status: 'pending' })).toMatchObject({
      total: 0,
    })
    // The progress and the results add up: 2 sent + 2 not sent of 4, nobody waiting.
    expect((await campaignProgress(db, [campaign.id])).get(campaign.id)).toMatchObject({
      recipients: 4,
      pending: 0,
      queued: 0,
      sent: 2,
      stopped: 2,
    })
    const results = await campaignResults(db, campaign.id)
    expect(results).toMatchObject({ recipients: 4, queued: 0, sent: 2, stopped: 2 })
    expect(campaignResultsCsv(results)).toContain(`"not sent (stopped)","2"\r\n`)
  })

  it('completes a campaign only once the outbox has sent (or failed) its last messages', async () => {
    const campaign = await sendingCampaign(people(3, 'last'), {
      senderEmail: 'last@frontdoor.example',
      ratePerHour: 3600,
    })
    const queue = () => enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const worker = testWorker(ctx, mailboxTransport(ctx))
    const current = async () =>
      (await db.select().from(campaigns).where(eq(campaigns.id, campaign.id)))[0]!
    await queue()
    await queue()
    expect((await current()).status).toBe('sending')
    // One sent, one failed for good; the third still waits in the outbox: not yet.
    const [, second] = await recipientsOf(campaign.id)
    await db.update(outbox).set({ status: 'failed' }).where(eq(outbox.id, second!.outboxId!))
    ctx.clock.advance(1_000)
    await worker.drainOnce()
    await queue()
    expect((await current()).status).toBe('sending')
    ctx.clock.advance(1_000)
    await worker.drainOnce()
    await queue()
    // Everything went: completed, not stopped.
    const done = await current()
    expect(done).toMatchObject({ status: 'completed', completedAt: ctx.clock.now() })
    expect(done).toMatchObject({ stoppedAt: null, stoppedBy: null })
    expect(shownStatus(done)).toBe('completed')
    await recordOutcomes(db)
    expect((await campaignProgress(db, [campaign.id])).get(campaign.id)).toMatchObject({
      recipients: 3,
      pending: 0,
      queued: 0,
      sent: 2,
      failed: 1,
    })
  })

  it('skips a recipient who came into the pipeline after the import: a rep has them', async () => {
    const campaign = await sendingCampaign(people(3, 'taken'), {
      senderEmail: 'taken@frontdoor.example',
      ratePerHour: 3600,
    })
    const [, second] = await recipientsOf(campaign.id)
    // Their prospect deal became a 10% target meanwhile (a form, a human click elsewhere).
    await db.update(deals).set({ stage: 'target' }).where(eq(deals.contactId, second!.contactId))
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const rows = await recipientsOf(campaign.id)
    expect(rows.map((r) => r.status)).toEqual(['queued', 'skipped', 'queued'])
    expect(rows[1]!.outboxId).toBeNull()
    const sentTo = (await db.select().from(outbox)).map((o) => o.recipient)
    expect(sentTo).not.toContain(second!.email)
    expect((await campaignProgress(db, [campaign.id])).get(campaign.id)).toMatchObject({
      queued: 2,
      skipped: 1,
    })
  })

  it('never enqueues a recipient taken out, and counts them apart', async () => {
    const campaign = await sendingCampaign(people(3, 'takeout'), {
      senderEmail: 'takeout@frontdoor.example',
      ratePerHour: 3600,
    })
    const [, second] = await recipientsOf(campaign.id)
    const actor = { id: sdr.id, role: 'sdr' as const }
    expect(await removeRecipient(db, actor, campaign.id, second!.id)).toMatchObject({ ok: true })
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const rows = await recipientsOf(campaign.id)
    expect(rows.map((r) => r.status)).toEqual(['queued', 'removed', 'queued'])
    expect(rows[1]!.outboxId).toBeNull()
    const sentTo = (await db.select().from(outbox)).map((o) => o.recipient)
    expect(sentTo).not.toContain(second!.email)
    expect((await campaignProgress(db, [campaign.id])).get(campaign.id)).toMatchObject({
      recipients: 3,
      pending: 0,
      queued: 2,
      removed: 1,
    })
    // Queued now: on its way, so no longer taken out.
    const late = await removeRecipient(db, actor, campaign.id, rows[0]!.id)
    expect(late).toMatchObject({ ok: false, status: 409, code: 'not_pending' })
    expect((await recipientsOf(campaign.id))[0]!.status).toBe('queued')
  })

  it('completes a campaign whose remaining recipients were all taken out', async () => {
    const campaign = await sendingCampaign(people(2, 'allout'), {
      senderEmail: 'allout@frontdoor.example',
      ratePerHour: 3600,
    })
    const actor = { id: sdr.id, role: 'sdr' as const }
    await db.update(campaigns).set({ status: 'paused' }).where(eq(campaigns.id, campaign.id))
    for (const row of await recipientsOf(campaign.id))
      expect((await removeRecipient(db, actor, campaign.id, row.id)).ok).toBe(true)
    await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, campaign.id))
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 0 })
    const [done] = await db.select().from(campaigns).where(eq(campaigns.id, campaign.id))
    expect(done!.status).toBe('completed')
    // Completed: nothing is taken out any more.
    const [first] = await recipientsOf(campaign.id)
    expect(await removeRecipient(db, actor, campaign.id, first!.id)).toMatchObject({
      ok: false,
      status: 409,
      code: 'wrong_status',
      message: 'A completed campaign cannot have recipients taken out.',
    })
  })

  it('sends nothing outside the window of the campaign time zone', async () => {
    // 09:00 UTC is 04:00 in New York.
    const campaign = await sendingCampaign(people(1, 'ny'), {
      windowStartHour: 8,
      windowEndHour: 18,
      timezone: 'America/New_York',
    })
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 0 })
    ctx.clock.set(new Date('2026-01-26T13:00:00Z'))
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 1 })
    expect((await recipientsOf(campaign.id))[0]!.status).toBe('queued')
  })

  it('sends to the address the file gave as mail routes it, not as it was typed', async () => {
    // Both accepted at import: a trailing dot, and a full-width letter IDNA maps to "a".
    const campaign = await sendingCampaign(
      [['email'], ['dot@trail.example.'], ['wide@ｗide.example']],
      { senderEmail: 'typed@frontdoor.example' },
    )
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 2 })
    // One a second: both are due a second later.
    ctx.clock.advance(1_000)
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    await recordOutcomes(db)
    expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual(['sent', 'sent'])
    const to = (await db.select().from(mailboxMessages)).map((m) => m.to)
    expect(to.filter((t) => t.includes('dot@trail.example'))).toHaveLength(1)
    expect(to.filter((t) => t.includes('wide@wide.example'))).toHaveLength(1)
  })

  it('sends with a reply-to typed with a trailing dot, as mail routes it', async () => {
    const campaign = await sendingCampaign([['email'], ['ann@replies.example']], {
      senderEmail: 'replies@frontdoor.example',
      replyTo: 'Answers@Frontdoor.example.',
    })
    expect(campaign.replyTo).toBe('Answers@frontdoor.example')
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 1 })
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    await recordOutcomes(db)
    expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual(['sent'])
  })

  it('sends nothing as an address whose domain is no longer the verified one', async () => {
    const campaign = await sendingCampaign(people(2, 'moved'), {
      senderEmail: 'moved@frontdoor.example',
    })
    // An admin moves the marketing sender to another domain while the campaign runs.
    const stored = await readStoredSenderSettings(db)
    await saveSenderSettings(
      db,
      { ...stored, marketingFrom: 'News <news@elsewhere.example>' },
      null,
      ctx.clock.now(),
    )
    try {
      expect(
        await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
      ).toMatchObject({ enqueued: 0 })
      expect((await recipientsOf(campaign.id)).map((r) => r.status)).toEqual(['pending', 'pending'])
      const from = await db
        .select({ payload: outbox.payload })
        .from(outbox)
        .where(sql`${outbox.payload}->'from'->>'address' = 'moved@frontdoor.example'`)
      expect(from).toEqual([])
    } finally {
      await saveSenderSettings(db, stored, null, ctx.clock.now())
    }
    // Verified again: it carries on.
    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 2 })
  })
})

describe('merging each recipient’s message', () => {
  const payloadOf = async (outboxId: string | null) => {
    const [row] = await db.select().from(outbox).where(eq(outbox.id, outboxId!))
    return row!.payload as { text: string; html: string }
  }

  it('sends everyone of imports with different columns, the fallback where a file had none', async () => {
    // Two files, only the second with an Industry column.
    const campaign = await sendingCampaign(
      [
        [
          ['email', 'first name'],
          ['ana@plain.example', 'Ana'],
        ],
        [
          ['email', 'first name', 'Industry'],
          ['bo@shipping.example', 'Bo', 'shipping'],
        ],
      ],
      {
        senderEmail: 'columns@frontdoor.example',
        bodyTemplate: 'Hi {{firstName}}, how is {{Industry|logistics}} going?',
      },
    )

    expect(
      await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
    ).toMatchObject({ enqueued: 2 })
    const [ana, bo] = await recipientsOf(campaign.id)
    expect([ana!.status, bo!.status]).toEqual(['queued', 'queued'])
    expect((await payloadOf(ana!.outboxId)).text).toMatch(/^Hi Ana, how is logistics going\?/)
    expect((await payloadOf(bo!.outboxId)).text).toMatch(/^Hi Bo, how is shipping going\?/)
  })

  it('percent-encodes a value inside a link, so the tracked destination is the whole link', async () => {
    const campaign = await sendingCampaign(
      [
        ['email', 'first name', 'company'],
        ['ab@smith.example', 'A&B', 'Smith & Sons #1?x=y'],
      ],
      {
        senderEmail: 'links@frontdoor.example',
        bodyTemplate:
          'Book a time: https://calendly.com/taylor/30min?name={{firstName}}&email={{email}}&co={{company|none}} and see you then.',
      },
    )
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const [recipient] = await recipientsOf(campaign.id)
    expect(recipient!.status).toBe('queued')
    const links = await db
      .select()
      .from(trackedLinks)
      .where(eq(trackedLinks.recipientId, recipient!.id))
    expect(links.map((l) => l.url)).toEqual([
      'https://calendly.com/taylor/30min?name=A%26B&email=ab%40smith.example&co=Smith%20%26%20Sons%20%231%3Fx%3Dy',
    ])
    const payload = await payloadOf(recipient!.outboxId)
    const tracked = `${env.APP_ORIGIN}/r/${links[0]!.token}`
    expect(payload.text).toMatch(new RegExp(`^Book a time: ${tracked} and see you then\\.\n`))
    expect(payload.html).toContain(`<a href="${tracked}"`)
    expect(payload.html).toContain(`</a> and see you then.`)
    expect(payload.text + payload.html).not.toContain('Sons')
  })
})

const url = testEngine() === 'postgres' ? process.env.TEST_DATABASE_URL : undefined

describe.skipIf(!url)('two processes sharing one PostgreSQL', async () => {
  const second = url
    ? await openDatabase({ databaseUrl: (ctx.database as { url?: string }).url!, poolSize: 4 })
    : null!
  afterAll(() => second?.close())

  it('never enqueue one recipient twice', async () => {
    const campaign = await sendingCampaign(people(200, 'twice'), {
      senderEmail: 'twice@frontdoor.example',
      ratePerHour: 3600,
    })
    let enqueued = 0
    // Both processes run their scheduler again and again over ten simulated minutes.
    for (let minute = 0; minute < 10; minute++) {
      const now = ctx.clock.now()
      const runs = await Promise.all(
        [db, second.db, db, second.db].map((d) =>
          enqueueDueRecipients(d, env, { now, horizonMs: 30_000 }),
        ),
      )
      enqueued += runs.reduce((n, r) => n + r.enqueued, 0)
      ctx.clock.advance(30_000)
    }
    const rows = await recipientsOf(campaign.id)
    const queued = rows.filter((r) => r.status === 'queued')
    expect(queued.length).toBe(enqueued)
    expect(enqueued).toBeGreaterThan(0)
    const [counts] = (
      (await db.execute(
        sql`select count(*)::int as n, count(distinct dedupe_key)::int as keys from outbox where dedupe_key like 'outreach:%' and recipient like 'twice%'`,
      )) as unknown as { rows: Array<{ n: number; keys: number }> }
    ).rows
    expect(counts!.n).toBe(counts!.keys)
    expect(counts!.n).toBe(enqueued)
    // The sender's rate held across both processes: one a second at most.
    const slots = queued.map((r) => r.scheduledAt!.getTime()).sort((a, b) => a - b)
    for (let i = 1; i < slots.length; i++)
      expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1000)
    // And each outbox row belongs to exactly one recipient.
    const outboxIds = new Set(queued.map((r) => r.outboxId))
    expect(outboxIds.size).toBe(queued.length)
  })

  it('complete a campaign once, when its last message has gone, whichever process looks', async () => {
    const campaign = await sendingCampaign(people(2, 'onceboth'), {
      senderEmail: 'onceboth@frontdoor.example',
      ratePerHour: 3600,
    })
    const runAll = async () =>
      Promise.all(
        [db, second.db, db, second.db].map((d) =>
          enqueueDueRecipients(d, env, { now: ctx.clock.now(), horizonMs: 30_000 }),
        ),
      )
    const statusOf = async () =>
      (await db.select().from(campaigns).where(eq(campaigns.id, campaign.id)))[0]!.status
    await runAll()
    await runAll()
    expect(await statusOf()).toBe('sending')
    ctx.clock.advance(1_000)
    // Earlier tests of this file leave mail of their own in the outbox: drain until this
    // campaign's has gone (a bounded number of rounds).
    const worker = testWorker(ctx, mailboxTransport(ctx))
    const waiting = async () =>
      rowsOf<{ n: number }>(
        await db.execute(
          sql`select count(*)::int as n from outbox o join campaign_recipients r on r.outbox_id = o.id where r.campaign_id = ${campaign.id} and o.status in ('pending', 'sending')`,
        ),
      )[0]!.n
    for (let round = 0; round < 50 && (await waiting()) > 0; round++) await worker.drainOnce()
    expect(await waiting()).toBe(0)
    await runAll()
    await runAll()
    expect(await statusOf()).toBe('completed')
    const events = rowsOf<{ n: number }>(
      await db.execute(
        sql`select count(*)::int as n from webhook_events where type = 'campaign.completed' and data->'campaign'->>'id' = ${campaign.id}`,
      ),
    )
    expect(events[0]!.n).toBe(1)
  })

  it('let a pause during a scheduler run take back what the run queued', async () => {
    const campaign = await sendingCampaign(people(3, 'midrun'), {
      senderEmail: 'midrun@frontdoor.example',
      ratePerHour: 3600,
    })
    const actor = { id: sdr.id, role: 'sdr' as const }
    const [first] = await recipientsOf(campaign.id)
    // Sessions of this database waiting for a lock.
    const waits = async () =>
      (
        (await db.execute(
          sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        )) as unknown as { rows: Array<{ n: number }> }
      ).rows[0]!.n
    // Another transaction holds the first recipient's outbox key: the run stops there, midway.
    const held = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    const holder = db
      .transaction(async (tx) => {
        await tx
          .insert(outbox)
          .values({ id: newId(), kind: 'email', payload: {}, dedupeKey: `outreach:${first!.id}` })
        held.resolve()
        await release.promise
        tx.rollback()
      })
      .catch(() => {})
    await held.promise
    const run = enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })
    await eventually(async () => (await waits()) >= 1)
    // The pause comes while the run is under way; it may wait for the run, not be undone by it.
    const pause = changeCampaignStatus(db, env, actor, campaign.id, 'pause', ctx.clock.now())
    let paused = false
    void pause.finally(() => (paused = true))
    await eventually(async () => paused || (await waits()) >= 2)
    release.resolve()
    await Promise.all([holder, run])
    expect(await pause).toMatchObject({ ok: true, campaign: { status: 'paused' } })
    const rows = await recipientsOf(campaign.id)
    expect(rows.map((r) => [r.status, r.outboxId])).toEqual([
      ['pending', null],
      ['pending', null],
      ['pending', null],
    ])
  })
})
