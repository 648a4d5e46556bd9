// Addresses we must not mail. Written synchronously (by an unsubscribe, a hard bounce, an admin,
// an erasure) and read by the outbox worker right before each send. Nothing lifts a suppression
// on its own; only an admin can remove one they added by hand.
//
// A person erased on request (api/pipeline/erasure.ts) is kept as the SHA-256 of their canonical
// address, never the address itself: every check here matches an address by both keys
// (suppressionKeys in JavaScript, suppressedBy in SQL), so no import, form or campaign mails them.
//
// A contact's do-not-email state is part of the contact an integration syncs (api/integrations/
// sync.ts, keyset on contacts.sync_at): every change here stamps the contact's sync_at in the same
// transaction, or the change would sit behind an integration's cursor and never reach it. Not
// their updated_at: a bounce or an admin's entry is not the person's activity, which the
// retention job reads there (api/pipeline/contact-retention.ts).

import { and, count, desc, eq, ilike, inArray, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { containsPattern } from '../db/like.ts'
import { nextUpdatedAt } from '../db/updated-at.ts'
import { consentEvents, contacts, suppressions } from '../db/schema.ts'
import { canonicalEmail } from '../email-address.ts'
import { hashToken } from '../ids.ts'
import type { EmailCategory } from './transport.ts'

export type SuppressionReason = 'unsubscribe' | 'hard_bounce' | 'complaint' | 'manual' | 'erased'
/** What an admin may record by hand or see filed; an erasure is recorded only by erasing. */
export const SUPPRESSION_REASONS: readonly SuppressionReason[] = [
  'unsubscribe',
  'hard_bounce',
  'complaint',
  'manual',
]
export type Suppression = typeof suppressions.$inferSelect

/**
 * Whether a suppression stops a message of this category. An unsubscribe or an erasure is from
 * marketing and outreach: the password reset or the asset the person asks for (again, after an
 * erasure) still goes. A hard bounce, a complaint or an admin's entry stops everything.
 */
export function suppressionBlocks(reason: SuppressionReason, category: EmailCategory): boolean {
  return (reason !== 'unsubscribe' && reason !== 'erased') || category !== 'transactional'
}

/** The one-way fingerprint an erased person's address is kept as: SHA-256 (hex) of the canonical. */
export function addressFingerprint(email: string): string {
  return hashToken(canonicalEmail(email))
}

/** The keys a suppression of `email` may be filed under: the canonical address, its fingerprint. */
function suppressionKeys(email: string): [string, string] {
  return [canonicalEmail(email), addressFingerprint(email)]
}

/** `addressFingerprint` in SQL, of an expression holding a canonical address (hashToken's UTF-8 hex). */
function fingerprintSql(canonical: SQL | SQL.Aliased | unknown): SQL {
  return sql`encode(sha256(convert_to(${canonical}, 'UTF8')), 'hex')`
}

/** Both keys first when several apply: the one that stops the most (an unsubscribe or erasure last). */
const strongestFirst = sql`${suppressions.reason} in ('unsubscribe', 'erased'), ${suppressions.reason}`

/**
 * The reason a canonical address held by a SQL expression (a column) is suppressed, or null: a
 * scalar subquery matching it and its fingerprint, for a query that checks many rows at once. A
 * column named `email` must come qualified (Drizzle prints a one-table select's columns bare, and
 * a bare "email" in here is the suppression's own).
 */
export function suppressedBy(canonical: SQL | unknown): SQL<SuppressionReason | null> {
  return suppressionColumn(canonical, suppressions.reason)
}

/**
 * The suppression `suppressedBy` finds, with when it was recorded, or null: one subquery for a
 * query that reads both per row. Its time goes through JSON as the column's own text, decoded as
 * the column decodes it.
 */
export function suppressionOf(
  canonical: SQL | unknown,
): SQL<{ reason: SuppressionReason; since: Date } | null> {
  return suppressionColumn<unknown>(
    canonical,
    sql`json_build_object('reason', ${suppressions.reason}, 'since', ${suppressions.createdAt}::text)`,
  ).mapWith((value: unknown) => {
    if (value === null || value === undefined) return null
    const found = (typeof value === 'string' ? JSON.parse(value) : value) as {
      reason: SuppressionReason
      since: string
    }
    return {
      reason: found.reason,
      since: suppressions.createdAt.mapFromDriverValue(found.since) as Date,
    }
  })
}

/**
 * When the suppression `suppressedBy` finds was recorded, or null: beside it in a raw statement,
 * which reads the column's own value.
 */
export function suppressedSince(canonical: SQL | unknown): SQL<Date | null> {
  return suppressionColumn(canonical, suppressions.createdAt)
}

function suppressionColumn<T>(canonical: SQL | unknown, column: unknown): SQL<T | null> {
  return sql<T | null>`(select ${column} from ${suppressions}
    where ${suppressions.email} in (${canonical}, ${fingerprintSql(canonical)})
    order by ${strongestFirst} limit 1)`
}

/** The canonical addresses among `emails` (canonical already) that are suppressed, by either key. */
export async function suppressedAmong(db: Db, emails: string[]): Promise<Set<string>> {
  if (emails.length === 0) return new Set()
  const byKey = new Map<string, string>()
  for (const email of emails) for (const key of suppressionKeys(email)) byKey.set(key, email)
  const rows = await db
    .select({ key: suppressions.email })
    .from(suppressions)
    .where(inArray(suppressions.email, [...byKey.keys()]))
  return new Set(rows.map((r) => byKey.get(r.key)!))
}

/**
 * Records a suppression; returns whether the address was newly suppressed, or suppressed for more
 * than before. The first reason recorded for an address stays, except an unsubscribe: it stops
 * marketing and outreach only, so a hard bounce, a complaint or an admin's entry replaces it, or
 * transactional mail went on to a dead mailbox, and an admin told "already suppressed" believed
 * the address got no more email. The person's unsubscribe stays in their consent record
 * (unsubscribe.ts), and removing the admin's entry puts it back (removeManualSuppression).
 */
export async function suppress(
  db: Db,
  input: {
    email: string
    reason: SuppressionReason
    source?: string | null
    note?: string | null
    createdBy?: string | null
  },
  now: Date,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .insert(suppressions)
      .values({
        email: canonicalEmail(input.email),
        reason: input.reason,
        source: input.source?.slice(0, 500) ?? null,
        note: input.note?.slice(0, 1000) ?? null,
        createdBy: input.createdBy ?? null,
        createdAt: now,
      })
      .onConflictDoUpdate({
        target: suppressions.email,
        set: {
          reason: sql`excluded.reason`,
          source: sql`excluded.source`,
          note: sql`excluded.note`,
          createdBy: sql`excluded.created_by`,
          createdAt: sql`excluded.created_at`,
        },
        setWhere: and(
          eq(suppressions.reason, 'unsubscribe'),
          sql`excluded.reason <> 'unsubscribe'`,
        ),
      })
      .returning({ email: suppressions.email })
    if (rows.length === 1) await touchContact(tx, input.email, now)
    return rows.length === 1
  })
}

/** The contact holding `email` changed with its suppression: it comes again to integrations syncing contacts. */
async function touchContact(db: Db, email: string, now: Date): Promise<void> {
  await db
    .update(contacts)
    .set({ syncAt: nextUpdatedAt(contacts.syncAt, now) })
    .where(eq(contacts.email, canonicalEmail(email)))
}

/** The suppression that applies to `email`, filed under its address or its fingerprint. */
export async function findSuppression(db: Db, email: string): Promise<Suppression | null> {
  const [row] = await db
    .select()
    .from(suppressions)
    .where(inArray(suppressions.email, suppressionKeys(email)))
    .orderBy(strongestFirst)
    .limit(1)
  return row ?? null
}

export async function listSuppressions(
  db: Db,
  options: { q?: string | undefined; limit?: number; offset?: number } = {},
): Promise<{ rows: Suppression[]; total: number }> {
  const q = options.q?.trim()
  const pattern = q ? containsPattern(q) : null
  // Not folded as search folds names (search_fold): an address with an accent is another address.
  const where = pattern
    ? or(
        // An erased person's whole address finds their fingerprint.
        eq(suppressions.email, addressFingerprint(q!)),
        ilike(suppressions.email, pattern),
        ilike(suppressions.source, pattern),
        ilike(suppressions.note, pattern),
      )
    : undefined
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(suppressions)
      .where(where)
      .orderBy(desc(suppressions.createdAt), suppressions.email)
      .limit(options.limit ?? 100)
      .offset(options.offset ?? 0),
    db.select({ n: count() }).from(suppressions).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
}

/**
 * Removes an entry an admin added by hand; unsubscribes, bounces and complaints stay. A person
 * who unsubscribed while the entry stood (their consent record says so: unsubscribe.ts) stays
 * unsubscribed: the entry becomes their unsubscribe ('unsubscribed') instead of going
 * ('removed'). Null when there is no entry added by hand.
 */
export async function removeManualSuppression(
  db: Db,
  email: string,
  now: Date,
): Promise<'removed' | 'unsubscribed' | null> {
  return db.transaction(async (tx) => {
    const removed = await removeManual(tx, email)
    if (removed) await touchContact(tx, email, now)
    return removed
  })
}

async function removeManual(db: Db, email: string): Promise<'removed' | 'unsubscribed' | null> {
  const canonical = canonicalEmail(email)
  const manual = and(eq(suppressions.email, canonical), eq(suppressions.reason, 'manual'))
  const [kept] = await db
    .update(suppressions)
    .set({ reason: 'unsubscribe', source: 'unsubscribed while suppressed by hand', note: null })
    .where(
      and(
        manual,
        sql`exists (select 1 from ${consentEvents} join ${contacts} on ${contacts.id} = ${consentEvents.contactId}
          where ${contacts.email} = ${canonical} and ${consentEvents.method} = 'unsubscribe')`,
      ),
    )
    .returning({ email: suppressions.email })
  if (kept) return 'unsubscribed'
  const rows = await db.delete(suppressions).where(manual).returning({ email: suppressions.email })
  return rows.length === 1 ? 'removed' : null
}
