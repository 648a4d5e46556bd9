import { instantOf, localDay } from '../accounts/time-zones.ts'
import { formatDateTime } from '../pipeline/format.ts'
import type { CampaignStatus } from './access.ts'

// "Start at": the SDR names a day and a time on the campaign's clock (its IANA time zone), read
// the one way next steps are read (time-zones.ts instantOf): a time repeated when clocks go back
// is its first pass; one skipped when they go forward is read with the offset from before the
// jump (02:30 on the night New York skips 02:00–03:00 is 03:30 EDT). The page shows the instant
// it became, zone named, so the SDR sees which one. Pure.

export const START_AT_MAX_DAYS = 90
const DAY_MS = 86_400_000

export type ScheduledStart =
  | { ok: true; at: Date }
  /** `field`: the form's field at fault (a day already gone, or a time earlier today). */
  | { ok: false; message: string; field: 'startDate' | 'startTime' }

/** The instant `day` (YYYY-MM-DD) at `time` (HH:MM) in `timeZone`, if it is a start allowed at `now`. */
export function scheduledStart(
  day: string,
  time: string,
  timeZone: string,
  now: Date,
): ScheduledStart {
  const at = instantOf(day, time, timeZone)
  if (at.getTime() <= now.getTime())
    return {
      ok: false,
      message: `${day} ${time} (${timeZone}) has passed: choose a time in the future, or start now.`,
      field: day < localDay(now, timeZone) ? 'startDate' : 'startTime',
    }
  if (at.getTime() > now.getTime() + START_AT_MAX_DAYS * DAY_MS)
    return {
      ok: false,
      message: `${day} ${time} (${timeZone}) is more than ${START_AT_MAX_DAYS} days ahead: choose an earlier start.`,
      field: 'startDate',
    }
  return { ok: true, at }
}

/**
 * The start a campaign still waits for at `now` (sending or paused, its start ahead), or null:
 * what its page, the list and My day show as "Starts …".
 */
export function startPending(
  c: { status: CampaignStatus; startAfter: Date | null },
  now: Date,
): Date | null {
  if (c.status !== 'sending' && c.status !== 'paused') return null
  return c.startAfter && c.startAfter.getTime() > now.getTime() ? c.startAfter : null
}

/**
 * "Mar 9, 2026, 09:00 GMT-4 (America/New_York)": the start on the campaign's clock, zone named
 * (once: "Mar 9, 2026, 09:00 UTC").
 */
export function formatStart(at: Date, timeZone: string): string {
  const shown = formatDateTime(at, timeZone)
  return shown.endsWith(timeZone) ? shown : `${shown} (${timeZone})`
}
