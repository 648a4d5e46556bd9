import { sql } from 'drizzle-orm'
import type { Database } from './client.ts'

// The embedded database's upkeep, and how long housekeeping keeps what (api/background.ts runs it).
//
// PGlite runs no autovacuum. Without VACUUM its tables keep their dead rows and their visibility
// maps stay empty, so index-only scans fetch every heap row anyway; without ANALYZE the planner
// keeps the statistics of whenever it last ran. The pipeline's aggregates pick plans 2-4x slower
// at 100k deals without either (measured). A PostgreSQL server's autovacuum does this there.

export const HOUR = 3_600_000
export const HOUSEKEEPING_EVERY_MS = HOUR
/** VACUUM holds PGlite's single connection (~1-2 s at 100k deals, measured): every 6th run. */
export const VACUUM_EVERY_RUNS = 6
/** The longest rate-limit window is a day; a window that began two days ago is over. */
export const RATE_LIMIT_KEEP_MS = 48 * HOUR
/** A double submit or a retried request arrives within minutes; a week is generous. */
export const IDEMPOTENCY_KEEP_MS = 7 * 24 * HOUR

/** VACUUM (ANALYZE) the embedded database; a PostgreSQL server is left to its autovacuum. */
export async function maintainEmbedded(database: Database): Promise<boolean> {
  if (database.engine !== 'pglite') return false
  await database.db.execute(sql`vacuum (analyze)`)
  return true
}
