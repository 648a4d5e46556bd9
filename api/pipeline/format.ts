import type { Money } from './metrics.ts'

// How amounts, dates and durations read in the rep app. Pure; English, UTC dates.

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

const dateFormat = new Intl.DateTimeFormat('en', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
})
const dateTimeFormat = new Intl.DateTimeFormat('en', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
})
const monthFormat = new Intl.DateTimeFormat('en', {
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
})

export function formatDate(value: Date | string): string {
  return dateFormat.format(
    typeof value === 'string' ? new Date(`${value.slice(0, 10)}T00:00:00Z`) : value,
  )
}

export function formatDateTime(value: Date): string {
  return `${dateTimeFormat.format(value)} UTC`
}

/** "2026-11" → "Nov 2026". */
export function formatMonth(key: string): string {
  return monthFormat.format(new Date(`${key}-01T00:00:00Z`))
}

export function formatDays(days: number | null): string {
  if (days === null) return '—'
  if (days < 1) return `${Math.round(days * 24)} h`
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
