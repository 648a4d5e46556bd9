// What Resend reports about a message after taking it: delivered to the recipient's server,
// bounced, or reported as spam. The SMTP transport learns of a refused recipient during the send
// (smtp-transport.ts, classifySmtpError); Resend sends later, by webhook, and this is where those
// events land (POST /api/email/events/resend, api/routes/email-events.ts).
//
// Resend signs its webhooks with Svix, which is Standard Webhooks under other header names:
// svix-id, svix-timestamp, svix-signature are webhook-id, webhook-timestamp, webhook-signature,
// as Resend's own SDK maps them (resend-node src/webhooks/webhooks.ts, verify()). The
// `standardwebhooks` package checks the signature and a timestamp within five minutes.
//
// The payloads, from Resend's documentation (resend.com/docs/webhooks/emails/bounced.md,
// …/complained.md, dashboard/webhooks/event-types) and the SDK's types (resend-node
// src/webhooks/interfaces/webhook-event.interface.ts): `{ type, created_at, data }`, `data.email_id`
// the id the send answered with (outbox.provider_id), and for email.bounced
// `data.bounce: { type, subType, message }`, `type` one of Permanent, Transient, Undetermined
// (resend.com/docs/dashboard/emails/email-bounces). Only a Permanent bounce says the address will
// never take mail; the others are recorded and nothing more.
//
// Two more say the message Resend took never left: email.suppressed (`data.suppressed: { type,
// message }`, type `OnAccountSuppressionList`: the address bounced hard or complained before, on
// this Resend account, resend.com/docs/webhooks/emails/suppressed) and email.failed
// (`data.failed: { reason }`: Resend could not send it). Neither is "sent" any more.
//
// Acted on as the SMTP path acts: a hard bounce, or Resend's suppression, fails the outbox row and
// suppresses the address in one transaction (outbox-worker.ts), and the campaign job's
// recordOutcomes turns the recipient into `bounced` from that pair, as it does for a refusal
// during the send. A failure fails the row alone (the recipient `failed`; an admin may send it
// again from the outbox): its reason may be the account's, not the address's. email.delivery_delayed
// changes nothing here: Resend goes on trying, and a bounce or a delivery follows.

import { and, eq } from 'drizzle-orm'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import { emailEvents, outbox } from '../db/schema.ts'
import { isErasedPayload } from './outbox.ts'
import { suppress } from './suppressions.ts'

export type EmailEventType = (typeof emailEvents.$inferSelect)['type']

/** Resend's event types this records; any other is answered 204 and left alone. */
const HANDLED = {
  'email.delivered': 'delivered',
  'email.bounced': 'bounced',
  'email.complained': 'complained',
  'email.suppressed': 'suppressed',
  'email.failed': 'failed',
} as const satisfies Record<string, EmailEventType>

const envelope = z.object({ type: z.string() })

// No text column takes U+0000: a NUL in what is looked up or stored is refused (400), and the
// provider's free text loses its NULs.
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\0'), 'no NUL')
/** The provider's own words: kept without their NULs, never refused for them. */
const freeText = z.string().transform((s) => s.replaceAll('\0', ''))
const emailEvent = z.object({
  type: z.enum(Object.keys(HANDLED) as [keyof typeof HANDLED, ...(keyof typeof HANDLED)[]]),
  created_at: text(100),
  data: z.object({
    email_id: text(500).pipe(z.string().min(1)),
    bounce: z
      .object({
        type: text(100),
        subType: text(100).optional(),
        message: freeText.optional(),
      })
      .optional(),
    suppressed: z.object({ type: text(100).optional(), message: freeText.optional() }).optional(),
    failed: z.object({ reason: freeText.optional() }).optional(),
  }),
})

export type ResendEvent = z.infer<typeof emailEvent>

export type SignedHeaders = {
  id: string | undefined
  timestamp: string | undefined
  signature: string | undefined
}

export type ReadEvent =
  | { ok: true; event: ResendEvent }
  | { ok: true; event: null; type: string }
  | { ok: false; reason: 'unsigned' | 'malformed' }

/**
 * The event in `body`, when Resend signed it with `secret` within the last five minutes: one this
 * records, or `event: null` for any other type. Unsigned (a bad, missing or stale signature) is
 * checked before the body is read at all.
 */
export function readResendEvent(
  secret: string,
  body: Uint8Array,
  headers: SignedHeaders,
): ReadEvent {
  try {
    new Webhook(secret).verify(
      body,
      {
        'webhook-id': headers.id ?? '',
        'webhook-timestamp': headers.timestamp ?? '',
        'webhook-signature': headers.signature ?? '',
      },
      { jsonParse: false },
    )
  } catch (err) {
    if (err instanceof WebhookVerificationError) return { ok: false, reason: 'unsigned' }
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  const kind = envelope.safeParse(json)
  if (!kind.success) return { ok: false, reason: 'malformed' }
  if (!(kind.data.type in HANDLED)) return { ok: true, event: null, type: kind.data.type }
  const parsed = emailEvent.safeParse(json)
  if (!parsed.success) return { ok: false, reason: 'malformed' }
  return { ok: true, event: parsed.data }
}

/**
 * How long after it happened an event naming no message of ours is asked again: the outbox worker
 * records the email id Resend answered the send with just after the send, so an early event
 * (a fast bounce) may come first; Svix tries again after 5 s, 5 min and 30 min.
 */
export const UNKNOWN_RETRY_MS = 10 * 60_000

/**
 * Records a verified event under its svix-id and acts on it once: `replayed` when that id was
 * recorded before (Svix retries with the same id); when no message of ours has its email id,
 * `not_yet` for an event under UNKNOWN_RETRY_MS old (to be sent again), else `unknown` (another
 * app's mail on the same Resend account, or a row since removed). Nothing is written then.
 */
export async function recordResendEvent(
  db: Db,
  eventId: string,
  event: ResendEvent,
  now: Date,
): Promise<'recorded' | 'replayed' | 'unknown' | 'not_yet'> {
  const type = HANDLED[event.type]
  const { bounce, suppressed, failed } = event.data
  const detail = bounce
    ? [bounce.type, bounce.subType].filter(Boolean).join('/')
    : (suppressed?.type ?? null)
  const occurred = new Date(event.created_at)
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ id: outbox.id, recipient: outbox.recipient, payload: outbox.payload })
      .from(outbox)
      .where(eq(outbox.providerId, event.data.email_id))
      .limit(1)
    if (!row) {
      const age = now.getTime() - occurred.getTime()
      return age < UNKNOWN_RETRY_MS ? 'not_yet' : 'unknown'
    }
    const inserted = await tx
      .insert(emailEvents)
      .values({
        id: eventId.slice(0, 200),
        outboxId: row.id,
        type,
        detail: detail?.slice(0, 200) ?? null,
        occurredAt: Number.isNaN(occurred.getTime()) ? now : occurred,
        receivedAt: now,
      })
      .onConflictDoNothing()
      .returning({ id: emailEvents.id })
    if (inserted.length === 0) return 'replayed'
    // An erased person's message keeps no address to suppress (their fingerprint is on the list
    // already) and takes no provider text that may quote it.
    if (!row.recipient || isErasedPayload(row.payload)) return 'recorded'
    if (type === 'complained') {
      await suppress(
        tx,
        { email: row.recipient, reason: 'complaint', source: 'resend: reported as spam' },
        now,
      )
    } else if ((type === 'bounced' && bounce?.type === 'Permanent') || type === 'suppressed') {
      const error = (
        type === 'bounced'
          ? `resend bounce ${detail}: ${bounce?.message ?? ''}`
          : `resend suppressed ${detail ?? ''}: ${suppressed?.message ?? 'not sent, the address is on the account’s suppression list'}`
      ).slice(0, 2000)
      await failSent(tx, row.id, error)
      await suppress(
        tx,
        { email: row.recipient, reason: 'hard_bounce', source: error.slice(0, 500) },
        now,
      )
    } else if (type === 'failed') {
      await failSent(tx, row.id, `resend failed: ${failed?.reason ?? 'not sent'}`.slice(0, 2000))
    }
    return 'recorded'
  })
}

/** A message recorded sent that was not: failed, for good (`permanent`: not retried by itself). */
async function failSent(tx: Db, outboxId: string, error: string) {
  await tx
    .update(outbox)
    .set({ status: 'failed', lastError: error, lastErrorKind: 'permanent' })
    .where(and(eq(outbox.id, outboxId), eq(outbox.status, 'sent')))
}
