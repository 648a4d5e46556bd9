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
/**
 * Between VACUUMs, the embedded database's tables that have grown are analysed: checked every 5
 * minutes, a table is analysed once it has doubled in pages since its statistics were taken (and
 * grown by at least 32 pages, 256 KB), as the campaign import does for its own tables. A new
 * install's start-up VACUUM (ANALYZE) records its tables as empty; without this, the plans made
 * from that stay until the next VACUUM (6 hours): recording 500 webhook successes scanned the whole
 * deliveries table instead of looking each row up (4.5 of 14.7 ms at 12,000 rows, measured).
 * ANALYZE reads a sample of at most 30,000 rows, so each costs the thread little, and a table
 * growing steadily is analysed only each time it doubles.
 */
export const ANALYZE_CHECK_EVERY_MS = 5 * 60_000
export const ANALYZE_MIN_GROWTH_PAGES = 32

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

/** ANALYZE the embedded database's tables that have grown (see ANALYZE_CHECK_EVERY_MS); their names. */
export async function analyzeGrown(database: Database): Promise<string[]> {
  if (database.engine !== 'pglite') return []
  const result = (await database.db.execute(sql`
    select c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r'
      and pg_relation_size(c.oid) / current_setting('block_size')::int
        > greatest(2 * c.relpages, c.relpages + ${ANALYZE_MIN_GROWTH_PAGES})
    order by c.relname`)) as unknown as { rows: { name: string }[] }
  const names = result.rows.map((r) => r.name)
  if (names.length > 0)
    await database.db.execute(sql.raw(`analyze ${names.map((n) => `"${n}"`).join(', ')}`))
  return names
}
