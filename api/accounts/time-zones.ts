// IANA time zones: a person's working day (api/pipeline/activities.ts: when a next step is due)
// and a campaign's sending window (api/campaigns/window.ts) are on the clock of one. Pure.

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/

/**
 * The canonical spelling of an IANA time zone name ("europe/berlin" → "Europe/Berlin"), or null
 * for anything else, UTC offsets like "+01:00" included (a fixed offset ignores daylight saving).
 */
export function canonicalTimeZone(input: string): string | null {
  const name = input.trim()
  if (!IANA_NAME.test(name) || name.length > 64) return null
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    return null
  }
}

const wallClocks = new Map<string, Intl.DateTimeFormat>()

function wallClock(timeZone: string): Intl.DateTimeFormat {
  let f = wallClocks.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
    wallClocks.set(timeZone, f)
  }
  return f
}

/** The date and time on the wall clock of `timeZone` at `at`. */
export function wallTime(
  at: Date,
  timeZone: string,
): { day: string; hour: number; minute: number; second: number } {
  const parts = Object.fromEntries(
    wallClock(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  )
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
  }
}

/** The calendar day (YYYY-MM-DD) on the wall clock of `timeZone` at `at`. */
export function localDay(at: Date, timeZone: string): string {
  return wallTime(at, timeZone).day
}

/** `day` (YYYY-MM-DD) moved by `days` calendar days. */
export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/** How far the wall clock of `timeZone` is ahead of UTC at `at`, in milliseconds. */
function offsetAt(at: Date, timeZone: string): number {
  const w = wallTime(at, timeZone)
  const [y, m, d] = w.day.split('-').map(Number) as [number, number, number]
  const asUtc = Date.UTC(y, m - 1, d, w.hour, w.minute, w.second)
  return asUtc - Math.floor(at.getTime() / 1000) * 1000
}

/**
 * The instant the wall clock of `timeZone` shows `day` at `time` (HH:MM; midnight when null). A
 * time repeated when clocks go back is its first pass; one skipped when they go forward is read
 * with the offset from before the jump (02:30 on a night Berlin skips 02:00–03:00 is 03:30).
 */
export function instantOf(day: string, time: string | null, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  const [hh, mm] = (time ?? '00:00').split(':').map(Number) as [number, number]
  const naive = Date.UTC(y, m - 1, d, hh, mm)
  // Zones change their offset at most once a day: the offsets a day before and after cover it.
  const before = naive - offsetAt(new Date(naive - DAY_MS), timeZone)
  const after = naive - offsetAt(new Date(naive + DAY_MS), timeZone)
  const shows = (t: number) => {
    const w = wallTime(new Date(t), timeZone)
    return w.day === day && w.hour === hh && w.minute === mm
  }
  const valid = [before, after].filter(shows)
  return new Date(valid.length ? Math.min(...valid) : before)
}

const DAY_MS = 86_400_000
