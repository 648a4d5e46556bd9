import { randomBytes } from 'node:crypto'
import { count, eq } from 'drizzle-orm'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { recordOutcomes } from '../../../api/campaigns/sending.ts'
import {
  campaignRecipients,
  campaigns,
  emailEvents,
  outbox,
  suppressions,
} from '../../../api/db/schema.ts'
import { erasedPayload } from '../../../api/email/outbox.ts'
import { newId } from '../../../api/ids.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { addTrackedLinks } from '../tracking/fixtures.ts'

// Resend's delivery events through POST /api/email/events/resend: signed as Resend signs them
// (Svix, i.e. Standard Webhooks, with the standardwebhooks package's own sign), acted on once per
// svix-id. The messages are outbox rows as the Resend transport leaves them: sent, with Resend's
// email id in provider_id.

const SECRET = `whsec_${randomBytes(24).toString('base64')}`
const ctx = await setupTestApp({ RESEND_WEBHOOK_SECRET: SECRET })
const { db } = ctx.deps
const PATH = '/api/email/events/resend'

/** A campaign recipient sent one message through Resend; its email id and address. */
async function sentMessage() {
  const { campaignId, recipientId } = await addTrackedLinks(db, ['https://www.example.com/'])
  await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, campaignId))
  const [recipient] = await db
    .select({ email: campaignRecipients.email })
    .from(campaignRecipients)
    .where(eq(campaignRecipients.id, recipientId))
  const outboxId = newId()
  const emailId = newId()
  await db.insert(outbox).values({
    id: outboxId,
    kind: 'email',
    category: 'outreach',
    recipient: recipient!.email,
    payload: { template: 'campaign', subject: 'Hello' },
    status: 'sent',
    providerId: emailId,
    sentAt: ctx.clock.now(),
  })
  await db
    .update(campaignRecipients)
    .set({ status: 'sent', outboxId, sentAt: ctx.clock.now() })
    .where(eq(campaignRecipients.id, recipientId))
  return { campaignId, recipientId, outboxId, emailId, email: recipient!.email }
}

/** Resend's payload (resend.com/docs/webhooks/emails/*): the fields this reads, and some it does not. */
function event(
  type: string,
  emailId: string,
  extra: Record<string, unknown> = {},
  createdAt = '2026-11-29T10:05:00.000Z',
) {
  return JSON.stringify({
    type,
    created_at: createdAt,
    data: {
      created_at: '2026-11-29T10:00:00.000Z',
      email_id: emailId,
      from: 'Taylor <taylor@frontdoor.example>',
      to: ['prospect@example.com'],
      subject: 'Hello',
      ...extra,
    },
  })
}

const permanent = {
  bounce: {
    type: 'Permanent',
    subType: 'General',
    message: "The recipient's email provider sent a hard bounce message.",
  },
}

function post(
  body: string,
  options: { id?: string; secret?: string; at?: Date; headers?: Record<string, string> } = {},
) {
  const id = options.id ?? `msg_${newId()}`
  const at = options.at ?? new Date()
  const signature = new Webhook(options.secret ?? SECRET).sign(id, at, body)
  return ctx.app.request(PATH, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': signature,
      ...options.headers,
    },
    body,
  })
}

async function suppressionOf(email: string) {
  const [row] = await db.select().from(suppressions).where(eq(suppressions.email, email))
  return row ?? null
}

async function eventsOf(outboxId: string) {
  return db.select().from(emailEvents).where(eq(emailEvents.outboxId, outboxId))
}

async function statusOf(recipientId: string) {
  const [row] = await db
    .select({ status: campaignRecipients.status })
    .from(campaignRecipients)
    .where(eq(campaignRecipients.id, recipientId))
  return row!.status
}

async function results(campaignId: string) {
  const { cookie } = await signedInAs(ctx, 'admin')
  const res = await ctx.app.request(`/api/campaigns/${campaignId}/results`, { headers: { cookie } })
  expect(res.status).toBe(200)
  return (await res.json()) as { sent: number; delivered: number | null; bounced: number }
}

async function totals() {
  const [events] = await db.select({ n: count() }).from(emailEvents)
  const [suppressed] = await db.select({ n: count() }).from(suppressions)
  return { events: events!.n, suppressed: suppressed!.n }
}

describe('Resend delivery events', () => {
  it('a permanent bounce suppresses the address and makes the campaign recipient bounced', async () => {
    const m = await sentMessage()
    const res = await post(event('email.bounced', m.emailId, permanent))
    expect(res.status).toBe(204)
    expect(await suppressionOf(m.email)).toMatchObject({
      reason: 'hard_bounce',
      source: expect.stringContaining('resend bounce Permanent/General'),
    })
    const [row] = await db.select().from(outbox).where(eq(outbox.id, m.outboxId))
    expect(row).toMatchObject({ status: 'failed', lastErrorKind: 'permanent' })
    // The campaign job copies outcomes as it does for a recipient SMTP refused during the send.
    await recordOutcomes(db)
    expect(await statusOf(m.recipientId)).toBe('bounced')
    expect(await results(m.campaignId)).toMatchObject({ sent: 0, bounced: 1, delivered: 0 })
  })

  it('a transient bounce is only recorded: no suppression, the message stays sent', async () => {
    const m = await sentMessage()
    const res = await post(
      event('email.bounced', m.emailId, {
        bounce: { type: 'Transient', subType: 'MailboxFull', message: 'Mailbox full.' },
      }),
    )
    expect(res.status).toBe(204)
    expect(await eventsOf(m.outboxId)).toMatchObject([
      { type: 'bounced', detail: 'Transient/MailboxFull' },
    ])
    expect(await suppressionOf(m.email)).toBeNull()
    await recordOutcomes(db)
    expect(await statusOf(m.recipientId)).toBe('sent')
  })

  it('a complaint suppresses the address as a complaint', async () => {
    const m = await sentMessage()
    expect((await post(event('email.complained', m.emailId))).status).toBe(204)
    expect(await suppressionOf(m.email)).toMatchObject({ reason: 'complaint' })
  })

  it('a message Resend suppressed was never sent: failed, its address suppressed, its recipient bounced', async () => {
    const m = await sentMessage()
    const res = await post(
      event('email.suppressed', m.emailId, {
        suppressed: {
          type: 'OnAccountSuppressionList',
          message:
            'Resend has suppressed sending to this address because it is on the account-level suppression list.',
        },
      }),
    )
    expect(res.status).toBe(204)
    expect(await eventsOf(m.outboxId)).toMatchObject([
      { type: 'suppressed', detail: 'OnAccountSuppressionList' },
    ])
    const [row] = await db.select().from(outbox).where(eq(outbox.id, m.outboxId))
    expect(row).toMatchObject({
      status: 'failed',
      lastErrorKind: 'permanent',
      lastError: expect.stringContaining('resend suppressed OnAccountSuppressionList'),
    })
    expect(await suppressionOf(m.email)).toMatchObject({
      reason: 'hard_bounce',
      source: expect.stringContaining('account-level suppression list'),
    })
    await recordOutcomes(db)
    expect(await statusOf(m.recipientId)).toBe('bounced')
    expect(await results(m.campaignId)).toMatchObject({ sent: 0, bounced: 1 })
  })

  it('a message Resend failed to send is failed, and its address is not suppressed', async () => {
    const m = await sentMessage()
    const res = await post(
      event('email.failed', m.emailId, { failed: { reason: 'reached_daily_quota\0' } }),
    )
    expect(res.status).toBe(204)
    expect(await eventsOf(m.outboxId)).toMatchObject([{ type: 'failed' }])
    const [row] = await db.select().from(outbox).where(eq(outbox.id, m.outboxId))
    expect(row).toMatchObject({
      status: 'failed',
      lastErrorKind: 'permanent',
      lastError: 'resend failed: reached_daily_quota',
    })
    expect(await suppressionOf(m.email)).toBeNull()
    await recordOutcomes(db)
    expect(await statusOf(m.recipientId)).toBe('failed')
    // A delay changes nothing: Resend goes on trying.
    const later = await sentMessage()
    expect((await post(event('email.delivery_delayed', later.emailId))).status).toBe(204)
    const [still] = await db.select().from(outbox).where(eq(outbox.id, later.outboxId))
    expect(still!.status).toBe('sent')
  })

  it('says on the campaign’s recipients why one bounced after it was sent, and why one failed', async () => {
    const bounced = await sentMessage()
    const noEmail = await sentMessage()
    const failed = await sentMessage()
    expect((await post(event('email.bounced', bounced.emailId, permanent))).status).toBe(204)
    const gone = { bounce: { type: 'Permanent', subType: 'NoEmail', message: 'No such mailbox.' } }
    expect((await post(event('email.bounced', noEmail.emailId, gone))).status).toBe(204)
    const quota = { failed: { reason: 'reached_daily_quota' } }
    expect((await post(event('email.failed', failed.emailId, quota))).status).toBe(204)
    await recordOutcomes(db)

    // As a rep reads them (campaigns:read), from GET /api/campaigns/:id/recipients.
    const { cookie } = await signedInAs(ctx, 'rep')
    const rowsOf = async (campaignId: string) => {
      const res = await ctx.app.request(`/api/campaigns/${campaignId}/recipients`, {
        headers: { cookie },
      })
      expect(res.status).toBe(200)
      return ((await res.json()) as { rows: Array<{ status: string; reason: string | null }> }).rows
    }
    expect(await rowsOf(bounced.campaignId)).toMatchObject([
      {
        status: 'bounced',
        reason: "Bounced (hard): The recipient's email provider sent a hard bounce message.",
      },
    ])
    expect(await rowsOf(noEmail.campaignId)).toMatchObject([
      { status: 'bounced', reason: 'Bounced (hard): the mailbox does not exist' },
    ])
    expect(await rowsOf(failed.campaignId)).toMatchObject([
      {
        status: 'failed',
        reason:
          'Not sent: the email service could not send it (reached_daily_quota) (ask an admin)',
      },
    ])
  })

  it('counts deliveries in the results, which say nothing of delivery before the first report', async () => {
    const a = await sentMessage()
    const b = await sentMessage()
    // Both recipients in a's campaign.
    await db
      .update(campaignRecipients)
      .set({ campaignId: a.campaignId })
      .where(eq(campaignRecipients.id, b.recipientId))
    expect(await results(a.campaignId)).toMatchObject({ sent: 2, delivered: null })
    expect((await post(event('email.delivered', a.emailId))).status).toBe(204)
    expect(await results(a.campaignId)).toMatchObject({ sent: 2, delivered: 1 })
    expect((await post(event('email.delivered', b.emailId))).status).toBe(204)
    expect(await results(a.campaignId)).toMatchObject({ sent: 2, delivered: 2 })
    const { cookie } = await signedInAs(ctx, 'admin')
    const csv = await (
      await ctx.app.request(`/api/campaigns/${a.campaignId}/results.csv`, { headers: { cookie } })
    ).text()
    expect(csv).toContain('"delivered (reported by the provider)","2"')
  })

  it('records an erased person’s bounce without suppressing anything or keeping its text', async () => {
    const m = await sentMessage()
    // What erasing the person leaves of the message (api/pipeline/erasure.ts).
    await db
      .update(outbox)
      .set({ recipient: null, payload: erasedPayload('campaign') })
      .where(eq(outbox.id, m.outboxId))
    const before = await totals()
    expect((await post(event('email.bounced', m.emailId, permanent))).status).toBe(204)
    expect(await totals()).toEqual({ ...before, events: before.events + 1 })
    const [row] = await db.select().from(outbox).where(eq(outbox.id, m.outboxId))
    expect(row).toMatchObject({ status: 'sent', lastError: null })
  })

  it.each([
    ['a tampered body', { tamper: true }],
    ['another secret', { secret: `whsec_${randomBytes(24).toString('base64')}` }],
    ['a timestamp ten minutes old', { at: new Date(Date.now() - 10 * 60_000) }],
    ['no signature', { headers: { 'svix-signature': '' } }],
  ])('refuses %s with 401 and writes nothing', async (_, options) => {
    const m = await sentMessage()
    const before = await totals()
    const body = event('email.bounced', m.emailId, permanent)
    const id = `msg_${newId()}`
    const res =
      'tamper' in options
        ? await ctx.app.request(PATH, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'svix-id': id,
              'svix-timestamp': String(Math.floor(Date.now() / 1000)),
              'svix-signature': new Webhook(SECRET).sign(id, new Date(), body),
            },
            body: body.replace('Permanent', 'Permanent '),
          })
        : await post(body, { id, ...options })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: { code: 'bad_signature' } })
    expect(await totals()).toEqual(before)
    expect(await suppressionOf(m.email)).toBeNull()
  })

  it('acts on an event id once: a redelivery, however signed, does nothing again', async () => {
    const m = await sentMessage()
    const id = `msg_${newId()}`
    const transient = { bounce: { type: 'Transient', subType: 'General', message: 'Try later.' } }
    expect((await post(event('email.bounced', m.emailId, transient), { id })).status).toBe(204)
    // Svix signs each attempt anew under the same id; what it says is not read again.
    const again = await post(event('email.bounced', m.emailId, permanent), { id })
    expect(again.status).toBe(204)
    expect(await eventsOf(m.outboxId)).toHaveLength(1)
    expect(await suppressionOf(m.email)).toBeNull()
    const [row] = await db.select().from(outbox).where(eq(outbox.id, m.outboxId))
    expect(row!.status).toBe('sent')
  })

  it('accepts and ignores an email id it never sent, and event types it does not handle', async () => {
    await sentMessage()
    const before = await totals()
    const anHourAgo = new Date(ctx.clock.now().getTime() - 3_600_000).toISOString()
    expect((await post(event('email.bounced', 'not-ours', permanent, anHourAgo))).status).toBe(204)
    expect((await post(event('email.opened', 'not-ours'))).status).toBe(204)
    expect((await post(JSON.stringify({ type: 'domain.updated', data: {} }))).status).toBe(204)
    expect(await totals()).toEqual(before)
  })

  it('asks again for a fresh event naming no message yet, and acts on it once the send is recorded', async () => {
    const m = await sentMessage()
    // The worker has not yet written the email id Resend answered with.
    await db.update(outbox).set({ providerId: null }).where(eq(outbox.id, m.outboxId))
    const id = `msg_${newId()}`
    const fresh = event('email.bounced', m.emailId, permanent, ctx.clock.now().toISOString())
    const early = await post(fresh, { id })
    expect(early.status).toBe(503)
    expect(await early.json()).toMatchObject({ error: { code: 'not_yet_known' } })
    expect(await eventsOf(m.outboxId)).toHaveLength(0)
    expect(await suppressionOf(m.email)).toBeNull()
    await db.update(outbox).set({ providerId: m.emailId }).where(eq(outbox.id, m.outboxId))
    expect((await post(fresh, { id })).status).toBe(204)
    expect(await eventsOf(m.outboxId)).toHaveLength(1)
    expect(await suppressionOf(m.email)).toMatchObject({ reason: 'hard_bounce' })
  })

  it('keeps a bounce message’s text without its NULs', async () => {
    const m = await sentMessage()
    const nul = { bounce: { type: 'Permanent', subType: 'General', message: 'No such\u0000 user' } }
    expect((await post(event('email.bounced', m.emailId, nul))).status).toBe(204)
    const [row] = await db.select().from(outbox).where(eq(outbox.id, m.outboxId))
    expect(row!.lastError).toContain('No such user')
  })

  it('answers 400 to a signed body that is not JSON or not an email event, writing nothing', async () => {
    const m = await sentMessage()
    const before = await totals()
    for (const body of [
      '{"type": "email.bounced", ',
      JSON.stringify({ type: 'email.delivered', created_at: '2026-11-29T10:05:00Z', data: {} }),
      event('email.complained', `${m.emailId}\u0000`),
    ]) {
      const res = await post(body)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: { code: 'bad_request' } })
    }
    expect(await totals()).toEqual(before)
  })

  it('takes JSON with no Origin, as Resend sends it, and refuses any other body with 415', async () => {
    const m = await sentMessage()
    const body = event('email.complained', m.emailId)
    const form = await post(body, { headers: { 'content-type': 'application/octet-stream' } })
    expect(form.status).toBe(415)
    expect(await suppressionOf(m.email)).toBeNull()
    const res = await post(body)
    expect(res.status).toBe(204)
    expect(await suppressionOf(m.email)).toMatchObject({ reason: 'complaint' })
  })

  it('answers 503 with what to set when RESEND_WEBHOOK_SECRET is not set', async () => {
    const app = createApp({
      ...ctx.deps,
      env: { ...ctx.deps.env, RESEND_WEBHOOK_SECRET: undefined },
    })
    const m = await sentMessage()
    const body = event('email.complained', m.emailId)
    const res = await app.request(PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({
      error: { code: 'not_configured', message: expect.stringContaining('RESEND_WEBHOOK_SECRET') },
    })
    expect(await suppressionOf(m.email)).toBeNull()
  })
})
