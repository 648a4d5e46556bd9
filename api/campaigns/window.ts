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

/** The hours a window may start and end at: it starts within a day and ends by its midnight. */
export const WINDOW_HOURS = {
  startHour: { min: 0, max: 23 },
  endHour: { min: 1, max: 24 },
} as const

export const windowHourMessage = (field: keyof typeof WINDOW_HOURS): string => {
  const { min, max } = WINDOW_HOURS[field]
  return `The window ${field === 'startHour' ? 'starts' : 'ends'} at a whole hour from ${min} to ${max}.`
}

/** What is wrong with a window, and which hour it is about (for the form); null when fine. */
export function windowProblem(
  startHour: number,
  endHour: number,
): { field: keyof typeof WINDOW_HOURS; message: string } | null {
  for (const [field, hour] of [
    ['startHour', startHour],
    ['endHour', endHour],
  ] as const) {
    const { min, max } = WINDOW_HOURS[field]
    if (!Number.isInteger(hour) || hour < min || hour > max)
      return { field, message: windowHourMessage(field) }
  }
  if (endHour <= startHour)
    return { field: 'endHour', message: 'The window must end after it starts (same day).' }
  return null
}
