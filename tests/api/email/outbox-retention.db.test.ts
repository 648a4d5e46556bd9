import { count, eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { pruneExpired, startMaintenance } from '../../../api/background.ts'
import { replyHeaders } from '../../../api/campaigns/follow-ups.ts'
import {
  campaignRecipients,
  contacts,
  emailEvents,
  mailboxMessages,
  outbox,
  suppressions,
} from '../../../api/db/schema.ts'
import { recordResendEvent } from '../../../api/email/delivery-events.ts'
import { enqueueEmail, type FailedEmails } from '../../../api/email/outbox.ts'
import { messageIdFor } from '../../../api/email/transport.ts'
import { newId } from '../../../api/ids.ts'
import { createLogger } from '../../../api/logger.ts'
import { retentionFacts } from '../../../api/pipeline/contact-retention.ts'
import { campaignResults } from '../../../api/tracking/results.ts'
import { eventually } from '../../eventually.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'
import { addTrackedLinks } from '../tracking/fixtures.ts'
import { enqueueAsset, mailboxTransport, outboxRow, testWorker } from './outbox-fixtures.ts'

// OUTBOX_RETENTION_DAYS (api/email/outbox-retention.ts), run by the hourly housekeeping: mail done
// with for longer loses its body and the recipient's name; the row, and what reads it, stays.

const ctx = await setupTestApp()
const { db } = ctx.deps
const NOW = ctx.clock.now()
const DAY = 86_400_000
/** OUTBOX_RETENTION_DAYS, unset (tests/api/env.test.ts checks the default). */
const DAYS = 90
const ago = (days: number) => new Date(NOW.getTime() - days * DAY)

/** An asset email to `address`, written and sent through the dev mailbox `days` ago. */
async function sentAgo(days: number, address: string, dedupeKey?: string) {
  ctx.clock.set(ago(days))
  try {
    const id = await enqueueAsset(db, ctx.clock.now(), address, dedupeKey ? { dedupeKey } : {})
    expect(await testWorker(ctx, mailboxTransport(ctx)).drainOnce()).toMatchObject({ sent: 1 })
    return await outboxRow(db, id)
  } finally {
    ctx.clock.set(NOW)
  }
}

async function mailboxCopies(outboxIds: string[]) {
  const rows = await db
    .select({ outboxId: mailboxMessages.outboxId })
    .from(mailboxMessages)
    .where(inArray(mailboxMessages.outboxId, outboxIds))
  return rows.map((r) => r.outboxId)
}

async function eventCount(outboxId: string) {
  const [row] = await db
    .select({ n: count() })
    .from(emailEvents)
    .where(eq(emailEvents.outboxId, outboxId))
  return row!.n
}

describe('outbox retention', () => {
  it('takes the body, the recipient’s name and the headers out of mail done with for longer than OUTBOX_RETENTION_DAYS, and deletes its dev-mailbox copy', async () => {
    const old = await sentAgo(DAYS + 1, 'dana@northwind.example')
    const recent = await sentAgo(DAYS - 1, 'erin@northwind.example')
    const failed = await outboxRow(
      db,
      await enqueueAsset(db, ago(DAYS + 2), 'fay@northwind.example'),
    )
    await db
      .update(outbox)
      .set({ status: 'failed', lastError: 'gave up', lastErrorKind: 'retryable' })
      .where(eq(outbox.id, failed.id))
    // Written as long ago, still waiting (due later): never touched.
    const pending = await outboxRow(
      db,
      await enqueueAsset(db, ago(DAYS + 3), 'gus@northwind.example', {
        runAfter: new Date(NOW.getTime() + DAY),
      }),
    )
    expect(JSON.stringify(old.payload)).toContain('Dana Whitfield')

    expect(await pruneExpired(ctx.deps, NOW)).toMatchObject({
      emailContentsForgotten: 2,
      mailboxMessages: 1,
    })

    const pruned = await outboxRow(db, old.id)
    expect(pruned.payload).toEqual({
      pruned: true,
      template: 'asset-delivery',
      subject: (old.payload as { subject: string }).subject,
      headers: {},
    })
    // What the row says about the message stays.
    const { payload: _before, ...kept } = old
    const { payload: _after, ...stays } = pruned
    expect(stays).toEqual(kept)
    expect((await outboxRow(db, failed.id)).payload).toMatchObject({ pruned: true })
    expect((await outboxRow(db, recent.id)).payload).toEqual(recent.payload)
    expect(await outboxRow(db, pending.id)).toEqual(pending)
    expect(await mailboxCopies([old.id, recent.id])).toEqual([recent.id])

    expect(await pruneExpired(ctx.deps, NOW)).toMatchObject({
      emailContentsForgotten: 0,
      mailboxMessages: 0,
    })
  })

  it('leaves the timeline, the contact’s page, their last activity and the dedupe key working', async () => {
    const deal = await makeDeal(db, { createdAt: ago(400) })
    const [contact] = await db
      .update(contacts)
      .set({ updatedAt: ago(400) })
      .where(eq(contacts.id, deal.contactId))
      .returning()
    const message = await sentAgo(DAYS + 5, contact!.email, `asset:${deal.id}`)
    const subject = (message.payload as { subject: string }).subject

    await pruneExpired(ctx.deps, NOW)
    expect((await outboxRow(db, message.id)).payload).not.toHaveProperty('html')

    const { cookie } = await signedInAs(ctx, 'admin')
    const dealView = await ctx.app.request(`/api/deals/${deal.id}`, { headers: { cookie } })
    const { timeline } = (await dealView.json()) as { timeline: { kind: string; title: string }[] }
    expect(timeline.filter((e) => e.kind === 'email')).toEqual([
      expect.objectContaining({
        title: `Email: ${subject}`,
        at: message.sentAt!.toISOString(),
        badge: 'sent',
      }),
    ])
    const contactPage = await ctx.app.request(`/api/contacts/${deal.contactId}`, {
      headers: { cookie },
    })
    expect(((await contactPage.json()) as { emails: unknown[] }).emails).toEqual([
      expect.objectContaining({ id: message.id, subject, status: 'sent' }),
    ])
    // Email sent to them is activity: the contact retention still counts it.
    expect((await retentionFacts(db, deal.contactId))!.lastActivityAt).toEqual(message.sentAt)
    // The same key sends nothing again.
    const again = await enqueueEmail(db, {
      category: 'transactional',
      to: { address: contact!.email },
      recipient: contact!.email,
      subject,
      html: '<p>again</p>',
      text: 'again',
      template: 'asset-delivery',
      dedupeKey: `asset:${deal.id}`,
      now: NOW,
    })
    expect(again).toBeNull()
  })

  it('lets a late bounce find a pruned message and suppress its address', async () => {
    const message = await sentAgo(DAYS + 1, 'late-bounce@northwind.example')
    await pruneExpired(ctx.deps, NOW)
    expect((await outboxRow(db, message.id)).payload).not.toHaveProperty('html')

    const result = await recordResendEvent(
      db,
      `msg_${newId()}`,
      {
        type: 'email.complained',
        created_at: NOW.toISOString(),
        data: { email_id: message.providerId! },
      },
      NOW,
    )
    expect(result).toBe('recorded')
    const [suppressed] = await db
      .select()
      .from(suppressions)
      .where(eq(suppressions.email, 'late-bounce@northwind.example'))
    expect(suppressed).toMatchObject({ reason: 'complaint' })
  })

  it('keeps a campaign’s delivery events, so its results count the same, and deletes other messages’ with their body', async () => {
    const { campaignId, recipientId } = await addTrackedLinks(db, ['https://www.example.com/'])
    const [recipient] = await db
      .select()
      .from(campaignRecipients)
      .where(eq(campaignRecipients.id, recipientId))
    const outreachId = newId(ago(DAYS + 1).getTime())
    await db.insert(outbox).values({
      id: outreachId,
      kind: 'email',
      category: 'outreach',
      recipient: recipient!.email,
      payload: {
        template: 'campaign',
        to: { name: 'Pat Prospect', address: recipient!.email },
        from: { name: 'SDR', address: 'sdr@frontdoor.example' },
        subject: 'Hello',
        html: '<p>Hello Pat</p>',
        text: 'Hello Pat',
        headers: {},
      },
      status: 'sent',
      providerId: `re_${outreachId}`,
      createdAt: ago(DAYS + 1),
      sentAt: ago(DAYS + 1),
    })
    await db
      .update(campaignRecipients)
      .set({ status: 'sent', outboxId: outreachId, sentAt: ago(DAYS + 1) })
      .where(eq(campaignRecipients.id, recipientId))
    const asset = await sentAgo(DAYS + 1, 'events@northwind.example')
    for (const id of [outreachId, asset.id])
      await db.insert(emailEvents).values({
        id: `msg_${newId()}`,
        outboxId: id,
        type: 'delivered',
        occurredAt: ago(DAYS + 1),
        receivedAt: ago(DAYS + 1),
      })
    expect(await campaignResults(db, campaignId)).toMatchObject({ sent: 1, delivered: 1 })

    expect((await pruneExpired(ctx.deps, NOW)).emailEvents).toBe(1)

    expect((await outboxRow(db, outreachId)).payload).not.toHaveProperty('html')
    expect(await eventCount(outreachId)).toBe(1)
    expect(await eventCount(asset.id)).toBe(0)
    expect(await campaignResults(db, campaignId)).toMatchObject({ sent: 1, delivered: 1 })
  })

  it('keeps what a follow-up threads to: the sender and References, not the unsubscribe link', async () => {
    const { campaignId, recipientId } = await addTrackedLinks(db, ['https://www.example.com/'])
    const [recipient] = await db
      .select()
      .from(campaignRecipients)
      .where(eq(campaignRecipients.id, recipientId))
    const id = newId(ago(DAYS + 1).getTime())
    await db.insert(outbox).values({
      id,
      kind: 'email',
      category: 'outreach',
      recipient: recipient!.email,
      payload: {
        template: 'campaign',
        to: { name: 'Pat Prospect', address: recipient!.email },
        from: { name: 'SDR', address: 'sdr@frontdoor.example' },
        subject: 'Re: Hello',
        html: '<p>Hello Pat</p>',
        text: 'Hello Pat',
        headers: {
          References: '<outbox.first@frontdoor.example>',
          'List-Unsubscribe': '<http://localhost:4321/u/secret-token>',
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      },
      status: 'sent',
      createdAt: ago(DAYS + 1),
      sentAt: ago(DAYS + 1),
    })
    await db
      .update(campaignRecipients)
      .set({ status: 'sent', outboxId: id })
      .where(eq(campaignRecipients.id, recipientId))
    const before = await replyHeaders(db, campaignId, [recipient!.contactId])

    await pruneExpired(ctx.deps, NOW)

    const payload = (await outboxRow(db, id)).payload
    expect(payload).toEqual({
      pruned: true,
      template: 'campaign',
      subject: 'Re: Hello',
      from: { name: 'SDR', address: 'sdr@frontdoor.example' },
      headers: { References: '<outbox.first@frontdoor.example>' },
    })
    const after = await replyHeaders(db, campaignId, [recipient!.contactId])
    expect(after).toEqual(before)
    const messageId = messageIdFor(id, 'frontdoor.example')
    expect(after.get(recipient!.contactId)).toEqual({
      'In-Reply-To': messageId,
      References: `<outbox.first@frontdoor.example> ${messageId}`,
    })
  })

  it('refuses to send again a failed message whose content is gone, and says why', async () => {
    const id = await enqueueAsset(db, ago(DAYS + 1), 'gone@northwind.example')
    await db
      .update(outbox)
      .set({ status: 'failed', lastError: 'gave up', lastErrorKind: 'retryable' })
      .where(eq(outbox.id, id))
    await pruneExpired(ctx.deps, NOW)

    const { cookie } = await signedInAs(ctx, 'admin')
    const headers = { cookie, origin: 'http://localhost:4321', accept: 'application/json' }
    const one = await ctx.app.request(`/api/admin/email/outbox/${id}/retry`, {
      method: 'POST',
      headers,
    })
    expect(one.status).toBe(409)
    expect(await one.json()).toMatchObject({
      error: { code: 'content_deleted', message: expect.stringContaining(`${DAYS} days`) },
    })
    const all = await ctx.app.request('/api/admin/email/outbox/retry-failed', {
      method: 'POST',
      headers,
    })
    expect(await all.json()).toMatchObject({ retried: 0 })
    expect(await outboxRow(db, id)).toMatchObject({ status: 'failed', attempts: 0 })
    const list = await ctx.app.request('/api/admin/email/outbox?status=failed', {
      headers: { cookie },
    })
    expect(((await list.json()) as { rows: unknown[] }).rows).toContainEqual(
      expect.objectContaining({ id, hasBody: false }),
    )
  })

  it('counts for “Retry all failed” only the failed messages it can send again, the others apart; /api/health counts both', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const counts = async () => {
      const list = await ctx.app.request('/api/admin/email/outbox', { headers: { cookie } })
      const health = await ctx.app.request('/api/health')
      const body = (await list.json()) as { failedEmails: FailedEmails }
      return {
        ...body.failedEmails,
        health: ((await health.json()) as { outbox: { failed: number } }).outbox.failed,
      }
    }
    const fail = (ids: string[]) =>
      db
        .update(outbox)
        .set({ status: 'failed', lastError: 'gave up', lastErrorKind: 'retryable' })
        .where(inArray(outbox.id, ids))
    const before = await counts()
    const old = [
      await enqueueAsset(db, ago(DAYS + 2), 'old1@northwind.example'),
      await enqueueAsset(db, ago(DAYS + 2), 'old2@northwind.example'),
    ]
    await fail(old)
    await pruneExpired(ctx.deps, NOW)
    const recent = await enqueueAsset(db, ago(1), 'recent@northwind.example')
    await fail([recent])

    const after = await counts()
    expect(after).toEqual({
      retryable: before.retryable + 1,
      contentDeleted: before.contentDeleted + 2,
      health: before.health + 3,
    })
    // What the count promised is what the button queues.
    const all = await ctx.app.request('/api/admin/email/outbox/retry-failed', {
      method: 'POST',
      headers: { cookie, origin: 'http://localhost:4321', accept: 'application/json' },
    })
    expect(await all.json()).toMatchObject({ retried: after.retryable })
    expect(await counts()).toMatchObject({ retryable: 0, contentDeleted: after.contentDeleted })
  })

  it('counts what it pruned in the housekeeping log line', async () => {
    await sentAgo(DAYS + 1, 'logged@northwind.example')
    const lines: string[] = []
    const logger = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
    const job = startMaintenance({ ...ctx.deps, logger }, 20)
    await eventually(() => lines.length >= 1)
    await job.stop()
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'housekeeping',
      emailContentsForgotten: 1,
      emailEvents: 0,
      mailboxMessages: 1,
    })
  })
})
