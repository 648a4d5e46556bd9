import { sql } from 'drizzle-orm'
import type { Database } from './client.ts'
import type { Logger } from '../logger.ts'

// PGlite runs no autovacuum. Without VACUUM its tables keep their dead rows and their visibility
// maps stay empty, so index-only scans fetch every heap row anyway; without ANALYZE the planner
// keeps the statistics of whenever it last ran. The pipeline's aggregates pick plans 2-4x slower
// at 100k deals without either (measured). A PostgreSQL server's autovacuum does this there.

export const MAINTENANCE_EVERY_MS = 6 * 3_600_000

/** VACUUM (ANALYZE) the embedded database; a PostgreSQL server is left to its autovacuum. */
export async function maintainEmbedded(database: Database): Promise<boolean> {
  if (database.engine !== 'pglite') return false
  await database.db.execute(sql`vacuum (analyze)`)
  return true
}

/**
 * The server's periodic run. It holds PGlite's single connection for its duration (about a
 * second at 100k deals, measured), so it runs rarely.
 */
export function startMaintenance(
  database: Database,
  logger: Logger,
  everyMs = MAINTENANCE_EVERY_MS,
) {
  if (database.engine !== 'pglite') return { stop: async () => {} }
  let running: Promise<unknown> | null = null
  const timer = setInterval(() => {
    if (running) return
    const started = performance.now()
    running = maintainEmbedded(database)
      .then(() =>
        logger.info('database maintenance', { ms: Math.round(performance.now() - started) }),
      )
      .catch((err) => logger.error('database maintenance failed', { err }))
      .finally(() => {
        running = null
      })
  }, everyMs)
  timer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      await running
    },
  }
}
