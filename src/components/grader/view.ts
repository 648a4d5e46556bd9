// Presentation rules for grader reports: band wording and colours, tones for scores, and how
// evidence values read. Pure; shared by the public report page and the reps' view.

export type Tone = 'good' | 'fair' | 'poor' | 'none'

export const BAND_TEXT: Record<string, { label: string; sentence: string }> = {
  A: {
    label: 'Excellent',
    sentence: 'This site is in great shape. A few refinements are all that is left.',
  },
  B: {
    label: 'Good',
    sentence: 'A solid site with a handful of fixes that would make a real difference.',
  },
  C: {
    label: 'Fair',
    sentence: 'Visitors and search engines are running into problems worth fixing soon.',
  },
  D: {
    label: 'Needs work',
    sentence: 'Several basics are missing. The fixes below are mostly quick wins.',
  },
  F: {
    label: 'Poor',
    sentence: 'Buyers and search engines struggle with this site. Start with the top problems.',
  },
}

export function bandText(band: string | null | undefined) {
  return BAND_TEXT[band ?? ''] ?? { label: 'Graded', sentence: '' }
}

/** Lighthouse's colour bands: 90 % and up is good, 50 % and up is fair. */
export function toneOf(ratio: number | null | undefined): Tone {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return 'none'
  if (ratio >= 0.9) return 'good'
  if (ratio >= 0.5) return 'fair'
  return 'poor'
}

export function bandTone(band: string | null | undefined): Tone {
  if (band === 'A') return 'good'
  if (band === 'B' || band === 'C') return 'fair'
  if (band === 'D' || band === 'F') return 'poor'
  return 'none'
}

/** Points with at most one decimal, without a trailing ".0": the same rule as the emails. */
export { points } from '../../../email-templates/html.ts'

export function percent(ratio: number): number {
  return Math.max(0, Math.min(100, Math.round(ratio * 100)))
}

export type CheckState = 'pass' | 'fail' | 'info' | 'skip'

export function checkState(check: { score: number | null; weight: number }): CheckState {
  if (check.score === null) return 'skip'
  if (check.score >= 0.9) return 'pass'
  return check.weight === 0 ? 'info' : 'fail'
}

export const STATE_LABEL: Record<CheckState, string> = {
  pass: 'Passed',
  fail: 'To fix',
  info: 'Advice',
  skip: 'Not measured',
}

const COLUMN_LABELS: Record<string, string> = {
  url: 'Resource',
  src: 'Image',
  href: 'Link',
  text: 'Text',
  type: 'Type',
  bytes: 'Size',
  savingsBytes: 'Could save',
  wastedBytes: 'Could save',
  wastedPercent: 'Unminified',
  cacheControl: 'Cache-Control',
  lifetimeSeconds: 'Cached for',
  contentType: 'Format',
  line: 'Line',
  content: 'Content',
  error: 'Problem',
  library: 'Library',
  version: 'Version',
  severity: 'Severity',
  vulnerabilities: 'Known issues',
  cves: 'CVEs',
  header: 'Header',
  present: 'Present',
  source: 'Source',
}

export function columnLabel(key: string): string {
  return (
    COLUMN_LABELS[key] ??
    key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase())
  )
}

const BYTE_KEYS = new Set(['bytes', 'savingsBytes', 'wastedBytes', 'transferBytes', 'decodedBytes'])
const URL_KEYS = new Set(['url', 'src', 'href'])

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024).toLocaleString('en-US')} KiB`
  return `${(bytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`
}

export function formatDuration(seconds: number): string {
  if (seconds <= 0) return 'not cached'
  const units: Array<[number, string]> = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, unit] of units) {
    if (seconds >= size) {
      const n = Math.round(seconds / size)
      return `${n} ${unit}${n === 1 ? '' : 's'}`
    }
  }
  return `${seconds} seconds`
}

/** A URL as people scan it: the path (and host when it is another site's), not the scheme. */
export function shortUrl(value: string, pageHost?: string): string {
  try {
    const url = new URL(value)
    const path = `${url.pathname}${url.search}`
    const shown = url.hostname === pageHost ? path : `${url.host}${path}`
    return shown.length > 80 ? `${shown.slice(0, 77)}…` : shown
  } catch {
    return value.length > 80 ? `${value.slice(0, 77)}…` : value
  }
}

export type Cell = { text: string; mono: boolean; title?: string }

export function formatCell(
  key: string,
  value: string | number | boolean | null,
  pageHost?: string,
): Cell {
  if (value === null || value === '') return { text: '—', mono: false }
  if (typeof value === 'boolean') return { text: value ? 'Yes' : 'No', mono: false }
  if (typeof value === 'number') {
    if (BYTE_KEYS.has(key)) return { text: formatBytes(value), mono: false }
    if (key === 'lifetimeSeconds') return { text: formatDuration(value), mono: false }
    if (key === 'wastedPercent') return { text: `${Math.round(value)} %`, mono: false }
    return { text: value.toLocaleString('en-US'), mono: false }
  }
  if (URL_KEYS.has(key)) return { text: shortUrl(value, pageHost), mono: true, title: value }
  if (key === 'content' || key === 'cacheControl' || key === 'source')
    return { text: value, mono: true }
  return { text: value.length > 160 ? `${value.slice(0, 157)}…` : value, mono: false }
}

/** Items that are sizes of things: drawn as bars instead of a table. */
export function isSizeList(items: ReadonlyArray<Record<string, unknown>>): boolean {
  return (
    items.length > 1 &&
    items.every(
      (i) =>
        typeof i.bytes === 'number' && (typeof i.url === 'string' || typeof i.src === 'string'),
    )
  )
}

/** Counts by kind (e.g. requests per resource type): drawn as one stacked bar. */
export function isCountMix(items: ReadonlyArray<Record<string, unknown>>): boolean {
  return (
    items.length === 1 &&
    Object.values(items[0]!).every((v) => typeof v === 'number') &&
    Object.keys(items[0]!).length > 1
  )
}
