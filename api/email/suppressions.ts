// Addresses we must not mail. Written synchronously (by an unsubscribe, a hard bounce, an admin)
// and read by the outbox worker right before each send. Nothing lifts a suppression on its own;
// only an admin can remove one they added by hand.

import { and, count, desc, eq, ilike, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { containsPattern } from '../db/like.ts'
import { consentEvents, contacts, suppressions } from '../db/schema.ts'
import { canonicalEmail } from '../email-address.ts'
import type { EmailCategory } from './transport.ts'

export type SuppressionReason = 'unsubscribe' | 'hard_bounce' | 'complaint' | 'manual'
export const SUPPRESSION_REASONS: readonly SuppressionReason[] = [
  'unsubscribe',
  'hard_bounce',
  'complaint',
  'manual',
]
export type Suppression = typeof suppressions.$inferSelect

/**
 * Whether a suppression stops a message of this category. An unsubscribe is from marketing and
 * outreach: the password reset or the asset the person asked for still goes. A hard bounce, a
 * complaint or an admin's entry stops everything.
 */
export function suppressionBlocks(reason: SuppressionReason, category: EmailCategory): boolean {
  return reason !== 'unsubscribe' || category !== 'transactional'
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
  const rows = await db
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
      setWhere: and(eq(suppressions.reason, 'unsubscribe'), sql`excluded.reason <> 'unsubscribe'`),
    })
    .returning({ email: suppressions.email })
  return rows.length === 1
}

export async function findSuppression(db: Db, email: string): Promise<Suppression | null> {
  const [row] = await db
    .select()
    .from(suppressions)
    .where(eq(suppressions.email, canonicalEmail(email)))
  return row ?? null
}

export async function listSuppressions(
  db: Db,
  options: { q?: string | undefined; limit?: number; offset?: number } = {},
): Promise<{ rows: Suppression[]; total: number }> {
  const q = options.q?.trim()
  const pattern = q ? containsPattern(q) : null
  const where = pattern
    ? or(
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
): Promise<'removed' | 'unsubscribed' | null> {
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
