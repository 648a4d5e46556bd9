import type { Logger } from '../logger.ts'

// The database being unreachable, told apart from a query that failed: a request then answers
// 503 "send again in a minute" instead of a 500 (api/app.ts), and a background loop says so once
// and backs off instead of logging the same failed query every second (watchDatabaseOutage).

/** Socket errors of a connection that cannot be made or was cut. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * node-postgres and pg-pool's own words for a connection lost or never made (they carry no code):
 * the server went away mid-query, the pool's connect timed out, a client broken by either.
 */
const DRIVER_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'timeout expired',
  'Client has encountered a connection error and is not queryable',
])

/**
 * SQLSTATEs of a server that is shutting down or starting (57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now) and of class 08, connection exceptions.
 */
const unavailableState = (code: string) => /^(57P0[123]|08[0-9A-Z]{3})$/.test(code)

/**
 * Why the database cannot be reached, in the driver's words (`connect ECONNREFUSED
 * 127.0.0.1:5432`, `57P01: terminating connection due to administrator command`), or null when
 * `err` is anything else. Drizzle wraps the driver's error in a "Failed query" one whose `cause`
 * it is, so the causes are followed (and an AggregateError's errors: `localhost` is two addresses).
 */
export function databaseUnavailableReason(err: unknown, depth = 0): string | null {
  if (!(err instanceof Error) || depth > 5) return null
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return err.message || code
    if ('severity' in err && unavailableState(code)) return `${code}: ${err.message}`
  }
  if (DRIVER_MESSAGES.has(err.message)) return err.message
  if (err instanceof AggregateError)
    for (const inner of err.errors as unknown[]) {
      const reason = databaseUnavailableReason(inner, depth + 1)
      if (reason) return reason
    }
  return databaseUnavailableReason(err.cause, depth + 1)
}

/** True when `err` is the database being unreachable (see databaseUnavailableReason). */
export function isDatabaseUnavailable(err: unknown): boolean {
  return databaseUnavailableReason(err) !== null
}

/** How long a loop waits after the database could not be reached: doubling from 1 s to 30 s. */
export const OUTAGE_BACKOFF = { firstMs: 1_000, maxMs: 30_000 }

export interface DatabaseOutage {
  /** False while the loop backs off after the database could not be reached: skip this round. */
  due(): boolean
  /** Milliseconds until the next round may run (0 when it may run now), for a loop that sleeps. */
  waitMs(): number
  /**
   * A round failed. The database being unreachable is logged once, when the outage starts
   * (which loop, the driver's reason, no SQL), the loop backs off, and this returns true;
   * anything else returns false for the caller to log as it always has.
   */
  failed(err: unknown): boolean
  /** A round reached the database: an outage, if one was on, ends (logged once). */
  succeeded(): void
}

/**
 * One background loop's view of the database going away and coming back (api/background.ts and
 * the jobs it starts each keep one). `now` is the loop's clock (deps.now), so tests move it.
 */
export function watchDatabaseOutage(
  log: Logger,
  loop: string,
  now: () => Date,
  backoff = OUTAGE_BACKOFF,
): DatabaseOutage {
  let since: Date | null = null
  let failures = 0
  let retryAt = 0
  return {
    due: () => since === null || now().getTime() >= retryAt,
    waitMs: () => (since === null ? 0 : Math.max(0, retryAt - now().getTime())),
    failed(err) {
      const reason = databaseUnavailableReason(err)
      if (reason === null) return false
      const at = now()
      if (since === null) {
        since = at
        log.error('database unavailable: backing off', { loop, reason })
      }
      failures++
      retryAt =
        at.getTime() + Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(failures - 1, 20))
      return true
    },
    succeeded() {
      if (since === null) return
      log.info('database reachable again', {
        loop,
        failedRounds: failures,
        downMs: now().getTime() - since.getTime(),
      })
      since = null
      failures = 0
      retryAt = 0
    },
  }
}
