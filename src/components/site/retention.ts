import { RETENTION } from '#api/content/site.ts'
import { HOUR, RATE_LIMIT_KEEP_MS } from '#api/db/maintenance.ts'
import type { Deps } from '#api/deps.ts'
import { GRADER_COOKIE_MAX_AGE, GRADER_RETENTION } from '#api/grader/reports.ts'
import { WEBHOOK_HISTORY_DAYS } from '#api/integrations/webhooks.ts'
import { DOWNLOAD_COOKIE_MAX_AGE } from '#api/leads/download-cookie.ts'
import { FIRST_TOUCH_DAYS } from '#api/leads/first-touch.ts'
import { plural } from '#api/pipeline/format.ts'

// The periods the privacy policy states, as this server applies them: the running server's
// settings (OUTBOX_RETENTION_DAYS, DOWNLOAD_LINK_DAYS, the session expiry) and, for the rest, the
// constants the clean-up jobs and cookies read themselves. Never a number of the page's own.

const DAY = 24 * HOUR

/** "1 day", "30 days"; "12 hours" for a part of a day; "1 hour", "45 minutes" below that. */
export function duration(ms: number): string {
  if (ms >= DAY && ms % DAY === 0) return plural(ms / DAY, 'day', 'days')
  if (ms >= HOUR && ms % HOUR === 0) return plural(ms / HOUR, 'hour', 'hours')
  return plural(Math.max(1, Math.round(ms / 60_000)), 'minute', 'minutes')
}

const days = (n: number) => duration(n * DAY)
const seconds = (n: number) => duration(n * 1000)

/** Each period the privacy policy names, as words ("90 days", "24 months"). */
export function retentionPeriods(deps: Pick<Deps, 'env' | 'sessionPolicy'>) {
  return {
    inactiveContact: plural(RETENTION.inactiveContactMonths, 'month', 'months'),
    /** Form posts, consent entries and clicks (api/background.ts), grader requests (GRADER_RETENTION). */
    networkData: days(RETENTION.networkDataDays),
    refusedRows: days(RETENTION.refusedRowsDays),
    anonymousGraderReport: days(GRADER_RETENTION.anonymousReportDays),
    sentMail: days(deps.env.OUTBOX_RETENTION_DAYS),
    downloadLink: days(deps.env.DOWNLOAD_LINK_DAYS),
    webhookHistory: days(WEBHOOK_HISTORY_DAYS),
    rateLimits: duration(RATE_LIMIT_KEEP_MS),
    sessionInactivity: duration(deps.sessionPolicy.inactivityMs),
    sessionAbsolute: duration(deps.sessionPolicy.absoluteMs),
    attributionCookie: days(FIRST_TOUCH_DAYS),
    graderCookie: seconds(GRADER_COOKIE_MAX_AGE),
    downloadCookie: seconds(DOWNLOAD_COOKIE_MAX_AGE),
  }
}
