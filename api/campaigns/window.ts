// A campaign's sending window: whole hours [startHour, endHour) on the clock of an IANA time
// zone. The local hour is read from the instant itself, so a window follows daylight saving
// time: 08–18 in Europe/Berlin is 07–17 UTC in winter and 06–16 UTC in summer.

// Zone names are read the one way accounts/time-zones.ts reads them.
export { canonicalTimeZone } from '../accounts/time-zones.ts'

export interface SendingWindow {
  startHour: number
  endHour: number
  timeZone: string
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function hourFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' })
    formatters.set(timeZone, f)
  }
  return f
}

/** The hour (0–23) on the wall clock of `timeZone` at `at`. */
export function localHour(at: Date, timeZone: string): number {
  const part = hourFormatter(timeZone)
    .formatToParts(at)
    .find((p) => p.type === 'hour')
  return Number(part?.value ?? 0) % 24
}

export function inWindow(at: Date, window: SendingWindow): boolean {
  const hour = localHour(at, window.timeZone)
  return hour >= window.startHour && hour < window.endHour
}

/** What is wrong with a window, for the form; null when it is fine. */
export function windowProblem(startHour: number, endHour: number): string | null {
  if (!Number.isInteger(startHour) || startHour < 0 || startHour > 23)
    return 'The window starts at a whole hour from 0 to 23.'
  if (!Number.isInteger(endHour) || endHour < 1 || endHour > 24)
    return 'The window ends at a whole hour from 1 to 24.'
  if (endHour <= startHour) return 'The window must end after it starts (same day).'
  return null
}
