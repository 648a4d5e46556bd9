import { and, isNotNull, lt, or, sql } from 'drizzle-orm'
import type { Deps } from '../deps.ts'
import { pruneGraderReports } from '../grader/reports.ts'
import { pruneRateLimits } from '../rate-limits.ts'
import { pruneExpiredSessions } from '../accounts/sessions.ts'
import type { Database } from './client.ts'
import { clickEvents, idempotencyKeys, submissions } from './schema.ts'

// Housekeeping the server does on its own: rows that have served their purpose are deleted
// (both engines), and the embedded database is vacuumed.
//
// PGlite runs no autovacuum. Without VACUUM its tables keep their dead rows and their visibility
// maps stay empty, so index-only scans fetch every heap row anyway; without ANALYZE the planner
// keeps the statistics of whenever it last ran. The pipeline's aggregates pick plans 2-4x slower
// at 100k deals without either (measured). A PostgreSQL server's autovacuum does this there.

const HOUR = 3_600_000
export const HOUSEKEEPING_EVERY_MS = HOUR
/** VACUUM holds PGlite's single connection (~1-2 s at 100k deals, measured): every 6th run. */
const VACUUM_EVERY_RUNS = 6
/** The longest rate-limit window is a day; a window that began two days ago is over. */
const RATE_LIMIT_KEEP_MS = 48 * HOUR
/** A double submit or a retried request arrives within minutes; a week is generous. */
export const IDEMPOTENCY_KEEP_MS = 7 * 24 * HOUR
/**
 * The privacy policy's promise for the IP address and user agent of form posts and tracked
 * clicks (src/content/site.ts RETENTION.networkDataDays; a test holds the two equal).
 */
export const NETWORK_DATA_KEEP_DAYS = 90

/** VACUUM (ANALYZE) the embedded database; a PostgreSQL server is left to its autovacuum. */
export async function maintainEmbedded(database: Database): Promise<boolean> {
  if (database.engine !== 'pglite') return false
  await database.db.execute(sql`vacuum (analyze)`)
  return true
}

/**
 * Deletes expired sessions, finished rate-limit windows, old idempotency keys and the grader
 * reports the privacy policy says go, and forgets the IP address and user agent (a click's
 * headers carry both) of form posts and clicks older than it says.
 */
export async function pruneExpired(deps: Pick<Deps, 'db' | 'sessionPolicy'>, now: Date) {
  await pruneRateLimits(deps.db, new Date(now.getTime() - RATE_LIMIT_KEEP_MS))
  const sessions = await pruneExpiredSessions(deps.db, now, deps.sessionPolicy)
  const keys = await deps.db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEEP_MS)))
    .returning({ key: idempotencyKeys.key })
  const networkBefore = new Date(now.getTime() - NETWORK_DATA_KEEP_DAYS * 24 * HOUR)
  const forms = await deps.db
    .update(submissions)
    .set({ ip: null, userAgent: null })
    .where(
      and(
        lt(submissions.createdAt, networkBefore),
        or(isNotNull(submissions.ip), isNotNull(submissions.userAgent)),
      ),
    )
    .returning({ id: submissions.id })
  const clicks = await deps.db
    .update(clickEvents)
    .set({ ip: null, userAgent: null, headers: null })
    .where(
      and(
        lt(clickEvents.createdAt, networkBefore),
        or(
          isNotNull(clickEvents.ip),
          isNotNull(clickEvents.userAgent),
          isNotNull(clickEvents.headers),
        ),
      ),
    )
    .returning({ id: clickEvents.id })
  const graderReports = await pruneGraderReports(deps.db, now)
  return {
    sessions,
    idempotencyKeys: keys.length,
    graderReports,
    networkDataForgotten: forms.length + clicks.length,
  }
}

/** The server's periodic housekeeping: pruning every hour, VACUUM (PGlite) every sixth run. */
export function startMaintenance(
  deps: Pick<Deps, 'db' | 'database' | 'logger' | 'now' | 'sessionPolicy'>,
  everyMs = HOUSEKEEPING_EVERY_MS,
) {
  let runs = 0
  let running: Promise<unknown> | null = null
  const tick = () => {
    if (running) return
    runs += 1
    const started = performance.now()
    running = (async () => {
      const pruned = await pruneExpired(deps, deps.now())
      const vacuumed = runs % VACUUM_EVERY_RUNS === 0 && (await maintainEmbedded(deps.database))
      deps.logger.info('housekeeping', {
        ...pruned,
        vacuumed,
        ms: Math.round(performance.now() - started),
      })
    })()
      .catch((err) => deps.logger.error('housekeeping failed', { err }))
      .finally(() => {
        running = null
      })
  }
  const timer = setInterval(tick, everyMs)
  timer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      await running
    },
  }
}
