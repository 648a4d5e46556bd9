import { eq } from 'drizzle-orm'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { listRecipients, type RecipientRow } from '../../../api/campaigns/recipients.ts'
import { campaignProgress, changeCampaignStatus } from '../../../api/campaigns/campaigns.ts'
import { enqueueDueRecipients, recordOutcomes } from '../../../api/campaigns/sending.ts'
import { campaignRecipients, campaigns, contacts, outbox, users } from '../../../api/db/schema.ts'
import { recordResendEvent } from '../../../api/email/delivery-events.ts'
import { suppress } from '../../../api/email/suppressions.ts'
import { erasePerson } from '../../../api/pipeline/erasure.ts'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'
import { createTransport } from '../../../api/email/mailer.ts'
import type { Transport } from '../../../api/email/transport.ts'
import { addUser, form, setupTestApp, signedInAs } from '../../helpers.ts'
import { freePort, testWorker } from '../email/outbox-fixtures.ts'
import { smtpError, startSmtpServer, type Behaviour } from '../email/smtp-server.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from './fixtures.ts'

// A recipient whose message failed read only "Failed" on the campaign page, though the outbox row
// kept why. Sent here for real, through the SMTP transport to a server on loopback that refuses
// as told, and read back as the campaign page and the API read it. A failed message an admin sent
// again, once it went, left its recipient failed with "No reason was recorded".

const behaviour: Behaviour = {}
const smtp = await startSmtpServer(behaviour)
afterAll(() => smtp.close())

const ctx = await setupTestApp({ ...CAMPAIGN_ENV, SMTP_URL: smtp.url })
const db = ctx.deps.db
const sdr = await addUser(ctx, 'sdr')
const hour = 3_600_000

const transports: Transport[] = []
afterEach(async () => {
  for (const t of transports.splice(0)) await t.close()
  for (const key of Object.keys(behaviour) as Array<keyof Behaviour>) delete behaviour[key]
})

/** A campaign sending to `emails`, each of them enqueued in the outbox. */
async function queuedCampaign(emails: string[], senderEmail = 'taylor@frontdoor.example') {
  const campaign = await makeCampaign(ctx, sdr, { senderEmail })
  const file = csv([['email', 'first name'], ...emails.map((e, i) => [e, `P${i}`])])
  const stored = await storeImport(
    db,
    sdr,
    { campaignId: campaign.id, filename: 'p.csv', bytes: new TextEncoder().encode(file) },
    ctx.clock.now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, campaign.id))
  await enqueueDueRecipients(db, ctx.deps.env, { now: ctx.clock.now(), horizonMs: 30_000 })
  // Their slots are a second apart: all of them due.
  ctx.clock.advance(60_000)
  return campaign
}

function worker(url = smtp.url) {
  const transport =
    url === smtp.url ? createTransport(ctx.deps.env, db) : createSmtpTransport({ url })
  transports.push(transport)
  return testWorker(ctx, transport)
}

/** The recipients as GET /api/campaigns/:id/recipients gives them to `role`, by address. */
async function recipientsFor(campaignId: string, role: 'rep' | 'sdr' = 'rep', timeZone = 'UTC') {
  const { user, cookie } = await signedInAs(ctx, role)
  await db.update(users).set({ timeZone }).where(eq(users.id, user.id))
  const res = await ctx.app.request(`/api/campaigns/${campaignId}/recipients`, {
    headers: { cookie },
  })
  expect(res.status).toBe(200)
  const body = (await res.json()) as { rows: RecipientRow[] }
  return { text: JSON.stringify(body), by: new Map(body.rows.map((r) => [r.email, r])) }
}

describe('why a campaign recipient failed or bounced', () => {
  it('quotes the receiving server’s 550, to whoever may read the campaign, a rep too', async () => {
    behaviour.onRcptTo = (address) =>
      address === 'gone@northwind.example'
        ? smtpError(550, '5.1.1 <gone@northwind.example>: Recipient address rejected: User unknown')
        : address === 'strict@northwind.example'
          ? smtpError(550, '5.7.1 Message rejected by policy')
          : null
    const campaign = await queuedCampaign([
      'gone@northwind.example',
      'strict@northwind.example',
      'fine@northwind.example',
    ])
    expect(await worker().drainOnce()).toMatchObject({ sent: 1, failed: 2 })
    await recordOutcomes(db)

    const { by } = await recipientsFor(campaign.id)
    // A hard bounce suppresses the address: the recipient is bounced, and says what the server said.
    expect(by.get('gone@northwind.example')).toMatchObject({
      status: 'bounced',
      reason:
        'Address refused by the receiving server (550 5.1.1 <gone@northwind.example>: Recipient address rejected: User unknown)',
    })
    expect(by.get('strict@northwind.example')).toMatchObject({
      status: 'failed',
      reason:
        'Refused by the receiving server’s policy (a spam filter or block list) (550 5.7.1 Message rejected by policy)',
    })
    expect(by.get('fine@northwind.example')).toMatchObject({ status: 'sent', reason: null })
    // The page reads the same rows.
    const rows = (await listRecipients(db, campaign.id, { viewer: sdr, status: 'failed' })).rows
    expect(rows.map((r) => r.reason)).toEqual([by.get('strict@northwind.example')!.reason])
  })

  it('says our mail server could not be reached, without its host or port, after the retries', async () => {
    const port = await freePort()
    const campaign = await queuedCampaign(['patient@northwind.example'])
    const down = worker(`smtp://127.0.0.1:${port}`)
    expect(await down.drainOnce()).toMatchObject({ retried: 1 })
    ctx.clock.advance(73 * hour)
    expect(await down.drainOnce()).toMatchObject({ failed: 1 })
    await recordOutcomes(db)

    const { by, text } = await recipientsFor(campaign.id, 'sdr')
    expect(by.get('patient@northwind.example')).toMatchObject({
      status: 'failed',
      reason: 'Gave up after 2 attempts: our mail server could not be reached (ask an admin)',
    })
    // The outbox keeps the library's words, which name the server; the reason does not.
    const [kept] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, 'patient@northwind.example'))
    expect(kept!.lastError).toContain(`127.0.0.1:${port}`)
    expect(text).not.toContain('127.0.0.1')
    expect(text).not.toContain(String(port))
  })

  it('blames the campaign’s sender, not the address, when our server refuses the From', async () => {
    behaviour.onMailFrom = (address) =>
      address === 'refused@frontdoor.example'
        ? smtpError(553, '5.1.8 <refused@frontdoor.example>: Sender address rejected')
        : null
    const campaign = await queuedCampaign(['ok@northwind.example'], 'refused@frontdoor.example')
    expect(await worker().drainOnce()).toMatchObject({ failed: 1 })
    await recordOutcomes(db)

    const { by } = await recipientsFor(campaign.id)
    expect(by.get('ok@northwind.example')).toMatchObject({
      status: 'failed',
      reason: 'Not sent: our mail server refused the campaign’s sender address (ask an admin)',
    })
  })
})

describe('a failed campaign message an admin sends again', () => {
  const campaignOf = async (id: string) =>
    (await db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!
  const countsOf = async (id: string) => (await campaignProgress(db, [id])).get(id)!
  async function messageOf(recipientId: string) {
    const [r] = await db
      .select({ outboxId: campaignRecipients.outboxId })
      .from(campaignRecipients)
      .where(eq(campaignRecipients.id, recipientId))
    return (await db.select().from(outbox).where(eq(outbox.id, r!.outboxId!)))[0]!
  }
  /** An admin's "Send again" (the outbox page's button) on a recipient's message; its row. */
  async function sendAgain(cookie: string, recipientId: string) {
    const message = await messageOf(recipientId)
    const retried = await ctx.app.request(
      `/api/admin/email/outbox/${message.id}/retry`,
      form({}, { cookie }),
    )
    expect(retried.status).toBe(303)
    return message
  }

  it('makes its recipient sent once it goes, the completed campaign counting it, a later bounce bounced', async () => {
    behaviour.onRcptTo = (address) =>
      address === 'later@northwind.example'
        ? smtpError(550, '5.7.1 Message rejected by policy')
        : null
    const campaign = await queuedCampaign(['later@northwind.example', 'first@northwind.example'])
    expect(await worker().drainOnce()).toMatchObject({ sent: 1, failed: 1 })
    await recordOutcomes(db)
    // Nothing left to send or waiting in the outbox: the scheduler completes the campaign.
    await enqueueDueRecipients(db, ctx.deps.env, { now: ctx.clock.now(), horizonMs: 30_000 })
    const completed = await campaignOf(campaign.id)
    expect(completed).toMatchObject({ status: 'completed' })
    expect(await countsOf(campaign.id)).toMatchObject({ sent: 1, failed: 1 })
    const failed = (await recipientsFor(campaign.id)).by.get('later@northwind.example')!
    expect(failed).toMatchObject({ status: 'failed', sentAt: null })

    // The server takes it now; an admin sends it again from the outbox page's button.
    delete behaviour.onRcptTo
    const { cookie } = await signedInAs(ctx, 'admin')
    const message = await sendAgain(cookie, failed.id)
    ctx.clock.advance(60_000)
    expect(await worker().drainOnce()).toMatchObject({ sent: 1 })
    await recordOutcomes(db)
    await enqueueDueRecipients(db, ctx.deps.env, { now: ctx.clock.now(), horizonMs: 30_000 })

    const { by } = await recipientsFor(campaign.id)
    expect(by.get('later@northwind.example')).toMatchObject({
      status: 'sent',
      sentAt: ctx.clock.now().toISOString(),
      reason: null,
    })
    // Still the campaign completed then, counting two sent and none failed, as its results do.
    expect(await campaignOf(campaign.id)).toMatchObject({
      status: 'completed',
      completedAt: completed.completedAt,
    })
    expect(await countsOf(campaign.id)).toMatchObject({ sent: 2, failed: 0 })
    const results = await ctx.app.request(`/api/campaigns/${campaign.id}/results`, {
      headers: { cookie },
    })
    expect(await results.json()).toMatchObject({ sent: 2, failed: 0, bounced: 0 })

    // A sent message is not sent again, nor its recipient taken back to failed.
    const again = await ctx.app.request(`/api/admin/email/outbox/${message.id}/retry`, {
      method: 'POST',
      headers: { cookie, origin: 'http://localhost:4321', accept: 'application/json' },
    })
    expect(again.status).toBe(409)
    await recordOutcomes(db)
    expect((await recipientsFor(campaign.id)).by.get('later@northwind.example')!.status).toBe(
      'sent',
    )

    // A hard bounce the provider reports afterwards makes it bounced, as any sent recipient.
    const sent = await messageOf(failed.id)
    expect(
      await recordResendEvent(
        db,
        'msg_later_bounce',
        {
          type: 'email.bounced',
          created_at: ctx.clock.now().toISOString(),
          data: {
            email_id: sent.providerId!,
            bounce: { type: 'Permanent', subType: 'General', message: 'Hard bounce.' },
          },
        },
        ctx.clock.now(),
      ),
    ).toBe('recorded')
    await recordOutcomes(db)
    expect((await recipientsFor(campaign.id)).by.get('later@northwind.example')).toMatchObject({
      status: 'bounced',
      reason: 'Bounced (hard): Hard bounce.',
    })
    expect(await countsOf(campaign.id)).toMatchObject({ sent: 1, bounced: 1, failed: 0 })
  })
  it('makes its recipient sent once it goes in a campaign stopped meanwhile, which stays stopped', async () => {
    behaviour.onRcptTo = (address) =>
      address === 'stopped@northwind.example'
        ? smtpError(550, '5.7.1 Message rejected by policy')
        : null
    const campaign = await queuedCampaign(['stopped@northwind.example', 'went@northwind.example'])
    expect(await worker().drainOnce()).toMatchObject({ sent: 1, failed: 1 })
    await recordOutcomes(db)
    const stopped = await changeCampaignStatus(
      db,
      ctx.deps.env,
      { id: sdr.id, role: 'sdr' },
      campaign.id,
      'complete',
      ctx.clock.now(),
    )
    expect(stopped).toMatchObject({ ok: true, campaign: { status: 'completed' } })
    const failed = (await recipientsFor(campaign.id)).by.get('stopped@northwind.example')!
    expect(failed).toMatchObject({ status: 'failed' })

    delete behaviour.onRcptTo
    const { cookie } = await signedInAs(ctx, 'admin')
    await sendAgain(cookie, failed.id)
    ctx.clock.advance(60_000)
    expect(await worker().drainOnce()).toMatchObject({ sent: 1 })
    await recordOutcomes(db)
    expect((await recipientsFor(campaign.id)).by.get('stopped@northwind.example')).toMatchObject({
      status: 'sent',
      reason: null,
    })
    expect(await campaignOf(campaign.id)).toMatchObject({
      status: 'completed',
      stoppedAt: expect.any(Date),
    })
    expect(await countsOf(campaign.id)).toMatchObject({ sent: 2, failed: 0 })
  })

  it('makes its recipient suppressed if the address went on the do-not-mail list meanwhile, bounced if it bounces, failed with the new reason if it fails again', async () => {
    const policy = smtpError(550, '5.7.1 Message rejected by policy')
    behaviour.onRcptTo = () => policy
    const campaign = await queuedCampaign([
      'quit@northwind.example',
      'closed@northwind.example',
      'picky@northwind.example',
    ])
    expect(await worker().drainOnce()).toMatchObject({ failed: 3 })
    await recordOutcomes(db)
    const failed = [...(await recipientsFor(campaign.id)).by.values()]
    expect(failed.map((r) => r.status)).toEqual(['failed', 'failed', 'failed'])

    // Meanwhile one unsubscribes, one mailbox is closed, one server still refuses; an admin
    // sends all of them again.
    await suppress(db, { email: 'quit@northwind.example', reason: 'unsubscribe' }, ctx.clock.now())
    behaviour.onRcptTo = (address) =>
      address === 'closed@northwind.example'
        ? smtpError(550, '5.1.1 <closed@northwind.example>: User unknown')
        : smtpError(550, '5.7.1 Blocked: listed on a block list')
    const { cookie } = await signedInAs(ctx, 'admin')
    for (const recipient of failed) await sendAgain(cookie, recipient.id)
    expect(await worker().drainOnce()).toMatchObject({ suppressed: 1, failed: 2 })
    await recordOutcomes(db)

    const day = new Intl.DateTimeFormat('en-US', {
      dateStyle: 'medium',
      timeZone: 'UTC',
    }).format(ctx.clock.now())
    const { by } = await recipientsFor(campaign.id)
    expect(by.get('quit@northwind.example')).toMatchObject({
      status: 'suppressed',
      sentAt: null,
      reason: `Not sent: unsubscribed on ${day}`,
    })
    expect(by.get('closed@northwind.example')).toMatchObject({
      status: 'bounced',
      reason:
        'Address refused by the receiving server (550 5.1.1 <closed@northwind.example>: User unknown)',
    })
    expect(by.get('picky@northwind.example')).toMatchObject({
      status: 'failed',
      reason:
        'Refused by the receiving server’s policy (a spam filter or block list) (550 5.7.1 Blocked: listed on a block list)',
    })
    expect(await countsOf(campaign.id)).toMatchObject({
      sent: 0,
      failed: 1,
      bounced: 1,
      suppressed: 1,
    })
  })
})

describe('why a campaign recipient was suppressed', () => {
  it('names the do-not-mail entry and its day on the reader’s clock; an erased person only as erased', async () => {
    const campaign = await queuedCampaign([
      'left@northwind.example',
      'bounced@northwind.example',
      'complained@northwind.example',
      'erased@northwind.example',
      'still@northwind.example',
    ])
    // Put on the list after the import (which leaves suppressed addresses out), before the send.
    const entries = [
      ['left@northwind.example', 'unsubscribe', '2026-03-04T23:30:00Z'],
      ['bounced@northwind.example', 'hard_bounce', '2026-02-10T10:00:00Z'],
      ['complained@northwind.example', 'complaint', '2026-01-15T10:00:00Z'],
    ] as const
    for (const [email, reason, at] of entries) await suppress(db, { email, reason }, new Date(at))
    const admin = await addUser(ctx, 'admin')
    const [person] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'erased@northwind.example'))
    const erased = await erasePerson(
      db,
      person!.id,
      { reason: 'request', actor: admin, confirm: 'erased@northwind.example' },
      ctx.clock.now(),
    )
    expect(erased.ok).toBe(true)
    expect(await worker().drainOnce()).toMatchObject({ sent: 1, suppressed: 3 })
    await recordOutcomes(db)

    // Read in Berlin: the unsubscribe at 23:30 UTC was on the 5th there.
    const { by } = await recipientsFor(campaign.id, 'rep', 'Europe/Berlin')
    expect(by.get('left@northwind.example')).toMatchObject({
      status: 'suppressed',
      reason: 'Not sent: unsubscribed on Mar 5, 2026',
    })
    expect(by.get('bounced@northwind.example')).toMatchObject({
      status: 'suppressed',
      reason: 'Not sent: an earlier email to this address bounced on Feb 10, 2026',
    })
    expect(by.get('complained@northwind.example')).toMatchObject({
      status: 'suppressed',
      reason: 'Not sent: the person reported an earlier email as spam on Jan 15, 2026',
    })
    const gone = [...by.values()].filter((r) => r.email.endsWith('@erased.invalid'))
    expect(gone).toMatchObject([
      { status: 'suppressed', reason: 'Not sent: the person was erased' },
    ])
    expect(by.get('still@northwind.example')).toMatchObject({ status: 'sent', reason: null })
  })
})
