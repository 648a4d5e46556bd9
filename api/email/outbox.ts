import { and, count, desc, eq, inArray, min, sql } from 'drizzle-orm'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import { outbox } from '../db/schema.ts'
import { newId } from '../ids.ts'
import { canonicalEmail } from '../email-address.ts'
import type { EmailCategory, OutgoingEmail } from './transport.ts'

// The transactional outbox: call `enqueueEmail` with the transaction that makes the change the
// email is about, so both commit or neither does. The worker (outbox-worker.ts) sends it later.
// Marketing and outreach mail is built with `enqueueMarketingEmail` (marketing.ts), which adds
// the unsubscribe link, headers and postal address; mail a lead asked for with
// `enqueueRequestedEmail` there, which adds the unsubscribe link and headers.

export interface EnqueueEmail {
  category: EmailCategory
  to: OutgoingEmail['to']
  /** Canonical recipient email, for suppression checks before sending. */
  recipient: string
  subject: string
  html: string
  text: string
  /** Defaults to the sender configured for the category (Settings, else MAIL_FROM…). */
  from?: OutgoingEmail['from']
  replyTo?: OutgoingEmail['replyTo']
  headers?: Record<string, string>
  /** Which template made it (for the admin views). */
  template: string
  /** Enqueue at most once per key (e.g. `asset:<submissionId>`). */
  dedupeKey?: string
  runAfter?: Date
  /** The caller's clock (deps.now()): created_at, and run_after unless given; the database's clock otherwise. */
  now?: Date
}

export class OutboxError extends Error {
  code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'OutboxError'
    this.code = code
  }
}

/** The row id, or null when a row with the same dedupeKey exists already. */
export async function enqueueEmail(db: Db, email: EnqueueEmail): Promise<string | null> {
  if (email.category !== 'transactional') {
    const names = new Set(Object.keys(email.headers ?? {}).map((h) => h.toLowerCase()))
    if (!names.has('list-unsubscribe') || !names.has('list-unsubscribe-post')) {
      throw new OutboxError(
        'missing_unsubscribe',
        `${email.category} mail needs the one-click unsubscribe headers: build it with enqueueMarketingEmail (api/email/marketing.ts)`,
      )
    }
  }
  const id = newId(email.now?.getTime())
  const rows = await db
    .insert(outbox)
    .values({
      id,
      kind: 'email',
      category: email.category,
      recipient: canonicalEmail(email.recipient),
      payload: {
        template: email.template,
        to: email.to,
        from: email.from ?? null,
        replyTo: email.replyTo ?? null,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: email.headers ?? {},
      } satisfies EmailPayload,
      dedupeKey: email.dedupeKey ?? null,
      ...(email.now ? { createdAt: email.now, runAfter: email.now } : {}),
      ...(email.runAfter ? { runAfter: email.runAfter } : {}),
    })
    .onConflictDoNothing({ target: outbox.dedupeKey })
    .returning({ id: outbox.id })
  return rows[0]?.id ?? null
}

const address = z.object({ name: z.string().optional(), address: z.string() })

/** What an email row carries; read back with zod, since a row may outlive the code that wrote it. */
export const emailPayloadSchema = z.object({
  template: z.string().default(''),
  to: address,
  from: address.nullable().default(null),
  replyTo: address.nullable().default(null),
  subject: z.string(),
  html: z.string(),
  text: z.string(),
  headers: z.record(z.string(), z.string()).default({}),
  /** Set by a manual retry: the give-up age counts from here. */
  retriedAt: z.string().optional(),
})
export type EmailPayload = z.input<typeof emailPayloadSchema>

/**
 * What erasing a person (api/pipeline/erasure.ts) leaves of each message to them: the template's
 * name, nothing else. The worker reads the mark: a send that was in flight is recorded without
 * the transport's words (they may quote the address), and such a row never goes back to pending.
 */
export const erasedPayload = (template: unknown) => ({
  erased: true as const,
  ...(typeof template === 'string' ? { template } : {}),
})

/** True for a payload that is an `erasedPayload`: `isErasedRow`, for a row already read. */
export function isErasedPayload(payload: unknown): boolean {
  return (payload as { erased?: unknown }).erased === true
}

/** True for a row whose person was erased (its payload is an `erasedPayload`). */
export const isErasedRow = sql<boolean>`((${outbox.payload} ->> 'erased') is not null)`

/**
 * True for a row that still carries the message itself (body, recipient's name, headers): one
 * pruned after OUTBOX_RETENTION_DAYS (outbox-retention.ts) or erased does not, and cannot be
 * sent again. Written as outbox_unpruned_idx's predicate is, so the retention's query uses it.
 */
export const hasBody = sql<boolean>`(${outbox.payload} ? 'html')`

/**
 * What the retention leaves of a message's payload: its template and subject (the contact's page,
 * the deal's timeline, a click's evidence show them), its sender and References header (a
 * follow-up threads to it: api/campaigns/follow-ups.ts). No body, no recipient, no other headers
 * (the unsubscribe link is one). `pruned` marks it.
 */
export const prunedPayload = sql`jsonb_strip_nulls(jsonb_build_object(
  'pruned', true,
  'template', ${outbox.payload} -> 'template',
  'subject', ${outbox.payload} -> 'subject',
  'from', ${outbox.payload} -> 'from',
  'headers', jsonb_build_object('References', ${outbox.payload} -> 'headers' -> 'References')))`

export type OutboxRow = typeof outbox.$inferSelect
export type OutboxStatus = OutboxRow['status']
export const OUTBOX_STATUSES: readonly OutboxStatus[] = [
  'pending',
  'sending',
  'sent',
  'failed',
  'suppressed',
]

export type OutboxHealth = {
  pending: number
  oldestPendingSeconds: number
  /** Every failed row, its content kept or not: how delivery goes (countFailedEmails splits it). */
  failed: number
}

/** Backlog figures for /api/health and the outbox page: each a query on the (status, run_after) index. */
export async function outboxHealth(db: Db, now: Date): Promise<OutboxHealth> {
  const waiting = inArray(outbox.status, ['pending', 'sending'])
  const [[pending], [failed]] = await Promise.all([
    db
      .select({ n: count(), oldest: min(outbox.createdAt) })
      .from(outbox)
      .where(waiting),
    db.select({ n: count() }).from(outbox).where(eq(outbox.status, 'failed')),
  ])
  const oldest = pending?.oldest ? new Date(pending.oldest) : null
  return {
    pending: pending?.n ?? 0,
    oldestPendingSeconds: oldest
      ? Math.max(0, Math.round((now.getTime() - oldest.getTime()) / 1000))
      : 0,
    failed: failed?.n ?? 0,
  }
}

export type OutboxListItem = {
  id: string
  category: OutboxRow['category']
  recipient: string | null
  template: string
  subject: string
  status: OutboxStatus
  attempts: number
  runAfter: Date
  lastError: string | null
  lastErrorKind: string | null
  createdAt: Date
  sentAt: Date | null
  /** False once the message itself is gone (retention, erasure): nothing to send again. */
  hasBody: boolean
}

export async function listOutbox(
  db: Db,
  options: { status?: OutboxStatus | undefined; limit?: number; offset?: number } = {},
): Promise<{ rows: OutboxListItem[]; total: number }> {
  const where = and(
    eq(outbox.kind, 'email'),
    options.status ? eq(outbox.status, options.status) : undefined,
  )
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: outbox.id,
        category: outbox.category,
        recipient: outbox.recipient,
        template: sql<string>`coalesce(${outbox.payload}->>'template', '')`,
        subject: sql<string>`coalesce(${outbox.payload}->>'subject', '')`,
        status: outbox.status,
        attempts: outbox.attempts,
        runAfter: outbox.runAfter,
        lastError: outbox.lastError,
        lastErrorKind: outbox.lastErrorKind,
        createdAt: outbox.createdAt,
        sentAt: outbox.sentAt,
        hasBody,
      })
      .from(outbox)
      .where(where)
      .orderBy(desc(outbox.createdAt), desc(outbox.id))
      .limit(options.limit ?? 50)
      .offset(options.offset ?? 0),
    db.select({ n: count() }).from(outbox).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
}

/** A failed email: what "Retry all failed" (retryFailed) and its count (countFailedEmails) look at. */
const failedEmail = and(eq(outbox.status, 'failed'), eq(outbox.kind, 'email'))

export type FailedEmails = {
  /** Failed and still carrying their message: retryFailed sends them again. */
  retryable: number
  /** Failed, their message gone (retention, erasure): they cannot be sent again. */
  contentDeleted: number
}

/** The failed emails, split as retryFailed splits them: found on outbox_due_idx (status first). */
export async function countFailedEmails(db: Db): Promise<FailedEmails> {
  const [row] = await db
    .select({
      retryable: sql<number>`count(*) filter (where ${hasBody})`.mapWith(Number),
      contentDeleted: sql<number>`count(*) filter (where not ${hasBody})`.mapWith(Number),
    })
    .from(outbox)
    .where(failedEmail)
  return { retryable: row?.retryable ?? 0, contentDeleted: row?.contentDeleted ?? 0 }
}

export async function findOutboxRow(db: Db, id: string): Promise<OutboxRow | null> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return null
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id))
  return row ?? null
}

/**
 * Puts failed rows back in the queue for one more round of attempts: due now, attempts from
 * zero, and the give-up age counted from now (recorded in the payload as `retriedAt`). Not a row
 * whose message is gone (`hasBody`): there is nothing left to send.
 */
export async function retryFailed(db: Db, ids: string[] | 'all', now: Date): Promise<number> {
  const rows = await db
    .update(outbox)
    .set({
      status: 'pending',
      attempts: 0,
      runAfter: now,
      leaseUntil: null,
      lockedBy: null,
      payload: sql`jsonb_set(${outbox.payload}, '{retriedAt}', to_jsonb(${now.toISOString()}::text))`,
    })
    .where(
      and(
        failedEmail,
        hasBody,
        ids === 'all' ? undefined : inArray(outbox.id, ids.length ? ids : ['']),
      ),
    )
    .returning({ id: outbox.id })
  return rows.length
}
