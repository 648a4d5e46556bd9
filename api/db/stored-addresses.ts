// Rows written before there was one canonicaliser: users, suppressions and unsubscribe tokens
// were keyed by trim/NFC/lowercase only, so an address with a Unicode domain ("ann@bücher.example")
// is stored in Unicode while the outbox and contacts hold its punycode form. This rewrites every
// stored address to canonicalEmail(). PostgreSQL has no IDNA, hence JavaScript, after the SQL
// migrations. Idempotent; only rows that could differ from their canonical form (non-ASCII, upper
// case, surrounding space, a trailing dot) are read, and once it has run (recorded in settings)
// start-up skips it: today's code writes nothing else.

import { and, eq, sql, type SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import type { Db } from './client.ts'
import type { Logger } from '../logger.ts'
import { contacts, outbox, settings, suppressions, unsubscribeTokens, users } from './schema.ts'
import { canonicalEmail } from '../email-address.ts'

export interface StoredAddressesReport {
  /** Rows whose address was rewritten, per table. */
  rewritten: {
    users: number
    contacts: number
    suppressions: number
    outbox: number
    unsubscribeTokens: number
  }
  /** Suppressions dropped because the canonical address had an earlier one (the first reason stays). */
  suppressionsMerged: number
  /**
   * Rows left as they were because another row already holds their canonical address: two
   * accounts or contacts for one person are for a person to merge, not a migration.
   */
  collisions: Array<{
    table: 'users' | 'contacts'
    key: string
    email: string
    canonical: string
  }>
}

// Processes starting at once on one PostgreSQL take turns on this lock (7243001 is the SQL migrations')..
const LOCK = 7243003
const DONE = 'migration:canonical-addresses'

/** Whether a stored address may differ from its canonical form (everything canonical passes through as false). */
function mayNeedRewrite(column: AnyPgColumn): SQL {
  return sql`(octet_length(${column}) <> char_length(${column}) or ${column} <> lower(${column}) or ${column} ~ '^\\s|\\s$' or ${column} like '%.')`
}

export async function canonicaliseStoredAddresses(db: Db): Promise<StoredAddressesReport> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK})`)
    const report: StoredAddressesReport = {
      rewritten: { users: 0, contacts: 0, suppressions: 0, outbox: 0, unsubscribeTokens: 0 },
      suppressionsMerged: 0,
      collisions: [],
    }

    // Suppressions: the address is the key. Two rows for one address keep the earlier one.
    for (const row of await tx
      .select()
      .from(suppressions)
      .where(mayNeedRewrite(suppressions.email))) {
      const canonical = canonicalEmail(row.email)
      if (canonical === row.email) continue
      const [held] = await tx.select().from(suppressions).where(eq(suppressions.email, canonical))
      if (held && held.createdAt <= row.createdAt) {
        await tx.delete(suppressions).where(eq(suppressions.email, row.email))
        report.suppressionsMerged += 1
        continue
      }
      if (held) {
        await tx.delete(suppressions).where(eq(suppressions.email, canonical))
        report.suppressionsMerged += 1
      }
      await tx
        .update(suppressions)
        .set({ email: canonical })
        .where(eq(suppressions.email, row.email))
      report.rewritten.suppressions += 1
    }

    for (const row of await tx
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(mayNeedRewrite(users.email))) {
      const canonical = canonicalEmail(row.email)
      if (canonical === row.email) continue
      const [held] = await tx.select({ id: users.id }).from(users).where(eq(users.email, canonical))
      if (held) {
        report.collisions.push({ table: 'users', key: row.id, email: row.email, canonical })
        continue
      }
      await tx.update(users).set({ email: canonical }).where(eq(users.id, row.id))
      report.rewritten.users += 1
    }

    for (const row of await tx
      .select({ id: contacts.id, email: contacts.email })
      .from(contacts)
      .where(mayNeedRewrite(contacts.email))) {
      const canonical = canonicalEmail(row.email)
      if (canonical === row.email) continue
      const [held] = await tx
        .select({ id: contacts.id })
        .from(contacts)
        .where(eq(contacts.email, canonical))
      if (held) {
        report.collisions.push({ table: 'contacts', key: row.id, email: row.email, canonical })
        continue
      }
      await tx.update(contacts).set({ email: canonical }).where(eq(contacts.id, row.id))
      report.rewritten.contacts += 1
    }

    // A token stays valid whatever its row says (unsubscribing canonicalises), and an address
    // may hold many tokens: every row is rewritten.
    for (const { email } of await tx
      .selectDistinct({ email: unsubscribeTokens.email })
      .from(unsubscribeTokens)
      .where(mayNeedRewrite(unsubscribeTokens.email))) {
      const canonical = canonicalEmail(email)
      if (canonical === email) continue
      const rows = await tx
        .update(unsubscribeTokens)
        .set({ email: canonical })
        .where(eq(unsubscribeTokens.email, email))
        .returning({ email: unsubscribeTokens.email })
      report.rewritten.unsubscribeTokens += rows.length
    }

    // The outbox's recipient is only a comparison key (the worker's suppression check).
    const recipients = await tx
      .selectDistinct({ recipient: outbox.recipient })
      .from(outbox)
      .where(and(sql`${outbox.recipient} is not null`, mayNeedRewrite(outbox.recipient)))
    for (const { recipient } of recipients) {
      const canonical = canonicalEmail(recipient!)
      if (canonical === recipient) continue
      const rows = await tx
        .update(outbox)
        .set({ recipient: canonical })
        .where(eq(outbox.recipient, recipient!))
        .returning({ id: outbox.id })
      report.rewritten.outbox += rows.length
    }
    await tx
      .insert(settings)
      .values({ key: DONE, value: { version: 1 } })
      .onConflictDoNothing()
    return report
  })
}

/**
 * Runs it once, after the SQL migrations (createDeps, so every entry point that migrates); null
 * when it has run before.
 */
export async function migrateStoredAddresses(deps: {
  db: Db
  logger: Logger
}): Promise<StoredAddressesReport | null> {
  const [done] = await deps.db
    .select({ key: settings.key })
    .from(settings)
    .where(eq(settings.key, DONE))
  if (done) return null
  const report = await canonicaliseStoredAddresses(deps.db)
  const rewritten = Object.values(report.rewritten).reduce((a, b) => a + b, 0)
  if (rewritten > 0 || report.suppressionsMerged > 0)
    deps.logger.info('stored email addresses made canonical', {
      ...report.rewritten,
      suppressionsMerged: report.suppressionsMerged,
    })
  for (const c of report.collisions)
    deps.logger.warn('email address left as stored: another row holds its canonical form', c)
  return report
}
