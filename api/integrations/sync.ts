import { and, asc, inArray, sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import { describeIssues } from '../http/input.ts'
import { contacts, deals, submissions } from '../db/schema.ts'
import { SPAM_TRAP_KEY } from '../leads/lead-post.ts'
import { suppressionOf, type SuppressionReason } from '../email/suppressions.ts'

// What an integration reads to keep a copy in step: the rows changed since a cursor, oldest
// first, by keyset on (updated_at, id) — contacts on (sync_at, id), which moves with updated_at
// and with their do-not-email state (schema.ts) — a row that changes again moves behind the cursor and
// comes again, and no page shifts when rows are added meanwhile, as offsets would. The cursor
// carries the timestamp as PostgreSQL prints it (microseconds), so rows stamped by the database
// (defaultNow) compare exactly too.

export const SYNC_PAGE_MAX = 500
export const SYNC_PAGE_DEFAULT = 100
/**
 * Rows stamped in the last SYNC_SETTLE_MS are not handed out yet. A change is stamped with the
 * `now` its request took before its transaction, and commits some milliseconds later: had a read
 * in between handed out a row stamped after it (another request's, committed first), the cursor
 * would pass it and it would never come. Changes settle well within this; clocks of processes
 * sharing one PostgreSQL agree well within it.
 */
export const SYNC_SETTLE_MS = 10_000

export interface SyncPosition {
  at: string
  id: string
}

export interface SyncPage<T> {
  data: T[]
  /** Pass it back to continue; when `hasMore` is false, keep it to poll for later changes. */
  nextCursor: string | null
  hasMore: boolean
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
/** Our ids are UUIDs; printable ASCII keeps a NUL (which the database refuses) out. */
const ID = /^[\x21-\x7e]{1,64}$/

/**
 * The lists paged by these cursors. A cursor names its list, so one handed to another list (a
 * deals cursor to the contacts list) is refused rather than read as a position there, which would
 * skip that list's rows before it without a word.
 */
export type CursorList = 'deals' | 'contacts' | 'leads' | 'webhook-log'

export function encodeCursor(list: CursorList, position: SyncPosition): string {
  return Buffer.from(JSON.stringify([list, position.at, position.id])).toString('base64url')
}

/**
 * The position a cursor of `list` names; null when it is not one of ours, or another list's.
 * Cursors given out before they named their list ([at, id]) are still read, as any list's.
 */
export function decodeCursor(cursor: string, list: CursorList): SyncPosition | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (!Array.isArray(value)) return null
    if (value.length === 3 && value[0] !== list) return null
    if (value.length !== 2 && value.length !== 3) return null
    const [at, id] = (value as unknown[]).slice(-2)
    if (typeof at !== 'string' || !AT.test(at) || typeof id !== 'string' || !ID.test(id))
      return null
    // The database refuses what Date.parse lets through (February 30th, year 0): a 500.
    const date = new Date(at)
    if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) return null
    if (date.toISOString().slice(0, 23) !== at.slice(0, 23)) return null
    return { at, id }
  } catch {
    return null
  }
}

/**
 * A query's cursor parameter, for every list paged by these cursors (the sync lists, the webhook
 * delivery log): the position it names. One not given out here fails with `refusal`, as an issue
 * `isCursorIssue` tells apart, so every such list refuses it alike (parsePagedQuery).
 */
export function cursorParam(list: CursorList, refusal: string) {
  return z
    .string()
    .transform((value, ctx) => {
      // Ours are under 100 characters; a long one is refused before it is decoded.
      const position = value.length <= 300 ? decodeCursor(value, list) : null
      if (!position) ctx.addIssue({ code: 'custom', message: refusal, params: { cursor: true } })
      return position ?? z.NEVER
    })
    .optional()
}

function isCursorIssue(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && issue.params?.['cursor'] === true
}

export type PagedQueryResult<T> =
  | { ok: true; data: T }
  | {
      ok: false
      /** 400 `invalid_cursor` for a cursor not given out here, else 422 `invalid_input`. */
      status: 400 | 422
      code: 'invalid_cursor' | 'invalid_input'
      /** As the API says it (a 422's prefixed with its field). */
      message: string
      /** The problem in its own words (what a page shows beside its form). */
      problem: string
      fields: Record<string, string>
    }

/**
 * Reads the query of a list paged by cursor (the sync lists, the webhook delivery log): a cursor
 * not given out here is a 400 `invalid_cursor`, whichever list — the request names no position
 * we understand, and the code tells the client what to do (start again without one) — ahead of
 * any other problem, which is http/input.ts validate's 422.
 */
export function parsePagedQuery<T extends z.ZodType>(
  schema: T,
  query: Record<string, unknown>,
): PagedQueryResult<z.infer<T>> {
  const parsed = schema.safeParse(query)
  if (parsed.success) return { ok: true, data: parsed.data }
  const bad = parsed.error.issues.find(isCursorIssue)
  if (bad) {
    const fields = { [bad.path.join('.')]: bad.message }
    return {
      ok: false,
      status: 400,
      code: 'invalid_cursor',
      message: bad.message,
      problem: bad.message,
      fields,
    }
  }
  const { message, fields } = describeIssues(parsed.error.issues)
  const problem = parsed.error.issues[0]!.message
  return { ok: false, status: 422, code: 'invalid_input', message, problem, fields }
}

export const positionOf = (column: PgColumn | SQL) =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

async function page<T extends { id: string }>(
  db: Db,
  list: CursorList,
  query: {
    select: Record<string, PgColumn | SQL>
    table: typeof deals | typeof contacts | typeof submissions
    at: PgColumn | SQL
    id: PgColumn
    where?: SQL | undefined
  },
  after: SyncPosition | null,
  limit: number,
  now: Date,
): Promise<SyncPage<T>> {
  const keyset = after
    ? sql`(${query.at}, ${query.id}) > (${after.at}::timestamptz, ${after.id})`
    : undefined
  const settled = new Date(now.getTime() - SYNC_SETTLE_MS).toISOString()
  const rows = (await db
    .select({ ...query.select, position: positionOf(query.at) })
    .from(query.table)
    .where(and(keyset, sql`${query.at} <= ${settled}::timestamptz`, query.where))
    .orderBy(asc(query.at), asc(query.id))
    .limit(limit + 1)) as unknown as Array<T & { position: string }>
  const hasMore = rows.length > limit
  const data = rows.slice(0, limit)
  const last = data.at(-1)
  return {
    data: data.map(({ position: _position, ...row }) => row as unknown as T),
    nextCursor: last
      ? encodeCursor(list, { at: last.position, id: last.id })
      : after
        ? encodeCursor(list, after)
        : null,
    hasMore,
  }
}

const dealColumns = {
  id: deals.id,
  title: deals.title,
  stage: deals.stage,
  stageEnteredAt: deals.stageEnteredAt,
  source: deals.source,
  contactId: deals.contactId,
  companyId: deals.companyId,
  ownerId: deals.ownerId,
  sdrId: deals.sdrId,
  amountCents: deals.amountCents,
  currency: deals.currency,
  expectedCloseDate: deals.expectedCloseDate,
  contractSignedOn: deals.contractSignedOn,
  paymentReceivedOn: deals.paymentReceivedOn,
  lostReason: deals.lostReason,
  claimedAt: deals.claimedAt,
  closedAt: deals.closedAt,
  createdAt: deals.createdAt,
  updatedAt: deals.updatedAt,
}
export type SyncedDeal = { [K in keyof typeof dealColumns]: (typeof deals.$inferSelect)[K] }

const contactColumns = {
  id: contacts.id,
  email: contacts.emailDisplay,
  firstName: contacts.firstName,
  lastName: contacts.lastName,
  jobTitle: contacts.jobTitle,
  phone: contacts.phone,
  companyId: contacts.companyId,
  companyName: contacts.companyName,
  source: contacts.source,
  erasedAt: contacts.erasedAt,
  createdAt: contacts.createdAt,
  // The position in this list, as the API has always called it: the sync clock, which a change
  // of the do-not-email state moves too (not updated_at, the person's activity).
  updatedAt: contacts.syncAt,
}

/**
 * Why a contact is on the do-not-email list, in a CRM's words: they unsubscribed, their mailbox
 * bounced, they complained, an admin added them, or they were erased on request before and came
 * back. `unsubscribed` and `erased` stop marketing and outreach; the others stop every email.
 */
export const DO_NOT_EMAIL_REASON_LIST = [
  'unsubscribed',
  'bounced',
  'complained',
  'admin',
  'erased',
] as const
type DoNotEmailReason = (typeof DO_NOT_EMAIL_REASON_LIST)[number]
const DO_NOT_EMAIL_REASONS: Record<SuppressionReason, DoNotEmailReason> = {
  unsubscribe: 'unsubscribed',
  hard_bounce: 'bounced',
  complaint: 'complained',
  manual: 'admin',
  erased: 'erased',
}

// A contact's suppression is read with it (the changes stamp its sync_at: suppressions.ts); an
// erased contact (erasedAt set) holds placeholders only, for the CRM to erase its copy of them.
// Qualified by hand: Drizzle prints a one-table select's columns bare, and a bare "email" inside
// the subquery would be the suppression's own (every contact would match the first suppression).
const contactEmail = sql`${sql.identifier('contacts')}.${sql.identifier('email')}`
const contactSync = {
  ...contactColumns,
  suppression: suppressionOf(contactEmail),
}
export type SyncedContact = {
  [K in keyof typeof contactColumns]: K extends 'email'
    ? string
    : (typeof contacts.$inferSelect)[K & keyof typeof contacts.$inferSelect]
} & {
  /** On the do-not-email list since when and why; null when email may go. */
  doNotEmail: { reason: DoNotEmailReason; since: Date } | null
}

// A lead is a form post or grader unlock that reached the pipeline (quarantined ones never do
// until released, so leads are listed by when they reached it). No IP or user agent.
const leadColumns = {
  id: submissions.id,
  contactId: submissions.contactId,
  kind: submissions.kind,
  offer: submissions.offer,
  email: submissions.email,
  // The spam trap's value (lead-post.ts keeps it for the admin reviewing quarantine) never leaves.
  fields: sql<Record<string, unknown>>`${submissions.fields} - ${SPAM_TRAP_KEY}::text`,
  pageUrl: submissions.pageUrl,
  referrer: submissions.referrer,
  utm: submissions.utm,
  firstTouch: submissions.firstTouch,
  status: submissions.status,
  createdAt: submissions.createdAt,
  releasedAt: submissions.releasedAt,
}
export type SyncedLead = {
  [K in keyof typeof leadColumns]: (typeof submissions.$inferSelect)[K &
    keyof typeof submissions.$inferSelect]
}

export function dealsChanged(db: Db, after: SyncPosition | null, limit: number, now: Date) {
  return page<SyncedDeal>(
    db,
    'deals',
    { select: dealColumns, table: deals, at: deals.updatedAt, id: deals.id },
    after,
    limit,
    now,
  )
}

export async function contactsChanged(
  db: Db,
  after: SyncPosition | null,
  limit: number,
  now: Date,
): Promise<SyncPage<SyncedContact>> {
  const found = await page<
    Omit<SyncedContact, 'doNotEmail'> & {
      suppression: { reason: SuppressionReason; since: Date } | null
    }
  >(
    db,
    'contacts',
    { select: contactSync, table: contacts, at: contacts.syncAt, id: contacts.id },
    after,
    limit,
    now,
  )
  return {
    ...found,
    data: found.data.map(({ suppression, ...contact }) => ({
      ...contact,
      doNotEmail: suppression
        ? { reason: DO_NOT_EMAIL_REASONS[suppression.reason], since: suppression.since }
        : null,
    })),
  }
}

export function leadsCaptured(db: Db, after: SyncPosition | null, limit: number, now: Date) {
  return page<SyncedLead>(
    db,
    'leads',
    {
      select: leadColumns,
      table: submissions,
      // The expression of submissions_pipeline_idx: a post released today comes after the cursor.
      at: sql`coalesce(${submissions.releasedAt}, ${submissions.createdAt})`,
      id: submissions.id,
      where: inArray(submissions.status, ['accepted', 'released']),
    },
    after,
    limit,
    now,
  )
}
