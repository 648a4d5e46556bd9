import type { Money } from './metrics.ts'

// How amounts, dates and durations read in the rep app. Pure; English; instants on the reader's
// clock (their time zone passed in), calendar dates as written.

const moneyFormats = new Map<string, Intl.NumberFormat>()

export function formatMoney(
  cents: number,
  currency: string,
  options: { compact?: boolean } = {},
): string {
  const key = `${currency}${options.compact ? 'c' : ''}`
  let f = moneyFormats.get(key)
  if (!f) {
    try {
      f = new Intl.NumberFormat('en', {
        style: 'currency',
        currency,
        ...(options.compact
          ? { notation: 'compact', maximumFractionDigits: 1 }
          : { maximumFractionDigits: 0 }),
      })
    } catch {
      f = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
    }
    moneyFormats.set(key, f)
  }
  return f.format(cents / 100)
}

/** "€120,000 + $30,000"; "—" when there is nothing. */
export function formatMoneyList(
  list: readonly Money[],
  pick: 'totalCents' | 'weightedCents',
  options: { compact?: boolean } = {},
): string {
  const shown = list.filter((m) => m[pick] !== 0)
  if (shown.length === 0) return list[0] ? formatMoney(0, list[0].currency, options) : '—'
  return shown.map((m) => formatMoney(m[pick], m.currency, options)).join(' + ')
}

/** Cents as the plain decimal a form field shows: 1250050 → "12500.50". */
export function centsToInput(cents: number | null): string {
  if (cents === null) return ''
  return cents % 100 === 0 ? String(cents / 100) : (cents / 100).toFixed(2)
}

const monthFormat = new Intl.DateTimeFormat('en', {
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
})

// One formatter per zone and kind, made on first use (constructing Intl formats is costly).
const formats = new Map<string, Intl.DateTimeFormat>()

function formatIn(kind: 'date' | 'dateTime', timeZone: string): Intl.DateTimeFormat {
  const key = `${kind} ${timeZone}`
  let f = formats.get(key)
  if (!f) {
    const options: Intl.DateTimeFormatOptions = {
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      ...(kind === 'dateTime'
        ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }
        : {}),
    }
    try {
      f = new Intl.DateTimeFormat('en', { ...options, timeZone })
    } catch {
      // A zone this runtime does not know (users.time_zone is checked when saved): UTC, named.
      f = new Intl.DateTimeFormat('en', { ...options, timeZone: 'UTC' })
    }
    formats.set(key, f)
  }
  return f
}

/**
 * "Dec 5, 2026". A calendar date ("2026-12-05") reads as written; an instant reads as its day on
 * the clock of `timeZone` (the reader's; UTC by default).
 */
export function formatDate(value: Date | string, timeZone = 'UTC'): string {
  return typeof value === 'string'
    ? formatIn('date', 'UTC').format(new Date(`${value.slice(0, 10)}T00:00:00Z`))
    : formatIn('date', timeZone).format(value)
}

/**
 * "Dec 5, 2026, 04:15 GMT+1": an instant on the clock of `timeZone` (the signed-in person's
 * users.time_zone; UTC by default), with the zone named so the time is never ambiguous.
 */
export function formatDateTime(value: Date | string, timeZone = 'UTC'): string {
  return formatIn('dateTime', timeZone).format(new Date(value))
}

/** "2026-11" → "Nov 2026". */
export function formatMonth(key: string): string {
  return monthFormat.format(new Date(`${key}-01T00:00:00Z`))
}

/**
 * "5 h" under a day, "1.5 d" under ten, "12 d" from there. Rounded first and then placed: 23.5 h
 * rounds to a whole day, so it reads "1 d", not "24 h".
 */
export function formatDays(days: number | null): string {
  if (days === null) return '—'
  const hours = Math.round(days * 24)
  if (hours < 24) return `${hours} h`
  return `${days < 10 ? Math.round(days * 10) / 10 : Math.round(days)} d`
}

export function formatPercent(ratio: number | null): string {
  return ratio === null ? '—' : `${Math.round(ratio * 100)}%`
}

const pluralRules = new Intl.PluralRules('en')

/** "1 deal", "2 deals", "1,250 deals": the count and the word in the form English uses for it. */
export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${pluralRules.select(n) === 'one' ? one : many}`
}

/**
 * A list's page links: the page before and after `page`, null where there is none. A page past
 * the end (`?page=5` of one page, or of a list that shrank) links back to the last page, so the
 * reader is never left on an empty page with no way back (`past`).
 */
export function pageLinks(
  page: number,
  pageCount: number,
): { prev: number | null; next: number | null; past: boolean } {
  const past = page > pageCount
  return {
    prev: past ? pageCount : page > 1 ? page - 1 : null,
    next: page < pageCount ? page + 1 : null,
    past,
  }
}

/** The most pages a list's ?page= can ask for; more is past the end of any list this app keeps. */
export const MAX_PAGE = 100_000

/**
 * A list's `?page=` as a page number: a whole number from 1 to MAX_PAGE. Missing or unreadable
 * is page 1; a huge number is MAX_PAGE, past the end, which pageLinks links back from. Parsed
 * once here: a page read as `Number(…)` took `?page=1e20` and asked the database for an offset
 * PostgreSQL cannot hold (a 500).
 */
export function pageParam(value: string | null | undefined): number {
  return Math.min(MAX_PAGE, Math.max(1, Number.parseInt(value ?? '1', 10) || 1))
}
