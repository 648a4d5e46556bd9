import { describe, expect, it } from 'vitest'
import {
  formatDate,
  formatDays,
  formatDateTime,
  MAX_PAGE,
  pageLinks,
  pageParam,
} from '../../../api/pipeline/format.ts'

// Instants read on the reader's clock, with the zone named; calendar dates read as written.

describe('formatDays', () => {
  it('reads hours under a day, and a value that rounds to a whole day as days', () => {
    expect(formatDays(null)).toBe('—')
    expect(formatDays(0)).toBe('0 h')
    expect(formatDays(5 / 24)).toBe('5 h')
    expect(formatDays(23.4 / 24)).toBe('23 h')
    expect(formatDays(23.5 / 24)).toBe('1 d')
    expect(formatDays(0.999)).toBe('1 d')
    expect(formatDays(1)).toBe('1 d')
    expect(formatDays(1.04)).toBe('1 d')
    expect(formatDays(1.06)).toBe('1.1 d')
    expect(formatDays(9.94)).toBe('9.9 d')
    expect(formatDays(9.96)).toBe('10 d')
    expect(formatDays(10)).toBe('10 d')
    expect(formatDays(12.5)).toBe('13 d')
  })
})

describe('formatDateTime', () => {
  const at = new Date('2026-12-05T23:30:00Z')

  it('shows an instant on the clock of the reader’s zone, named', () => {
    expect(formatDateTime(at)).toBe('Dec 5, 2026, 23:30 UTC')
    expect(formatDateTime(at, 'Europe/Berlin')).toBe('Dec 6, 2026, 00:30 GMT+1')
    expect(formatDateTime(at, 'America/New_York')).toBe('Dec 5, 2026, 18:30 EST')
    expect(formatDateTime(at.toISOString(), 'Asia/Kolkata')).toBe('Dec 6, 2026, 05:00 GMT+5:30')
  })

  it('follows daylight saving time', () => {
    expect(formatDateTime(new Date('2026-07-01T12:00:00Z'), 'Europe/Berlin')).toBe(
      'Jul 1, 2026, 14:00 GMT+2',
    )
  })

  it('falls back to UTC, named, for a zone the runtime does not know', () => {
    expect(formatDateTime(at, 'Mars/Olympus_Mons')).toBe('Dec 5, 2026, 23:30 UTC')
  })
})

describe('formatDate', () => {
  it('gives an instant’s day in the reader’s zone and a calendar date as written', () => {
    const at = new Date('2026-12-05T23:30:00Z')
    expect(formatDate(at)).toBe('Dec 5, 2026')
    expect(formatDate(at, 'Europe/Berlin')).toBe('Dec 6, 2026')
    expect(formatDate('2026-12-05', 'Pacific/Kiritimati')).toBe('Dec 5, 2026')
  })
})

describe('pageLinks', () => {
  it('links the pages either side, none before the first or after the last', () => {
    expect(pageLinks(1, 1)).toEqual({ prev: null, next: null, past: false })
    expect(pageLinks(1, 3)).toEqual({ prev: null, next: 2, past: false })
    expect(pageLinks(2, 3)).toEqual({ prev: 1, next: 3, past: false })
    expect(pageLinks(3, 3)).toEqual({ prev: 2, next: null, past: false })
  })

  it('links a page past the end back to the last page, so an empty page is never a dead end', () => {
    // ?page=5 of a one-page list (typed, or the list shrank): back to page 1.
    expect(pageLinks(5, 1)).toEqual({ prev: 1, next: null, past: true })
    expect(pageLinks(9, 3)).toEqual({ prev: 3, next: null, past: true })
  })
})

describe('pageParam', () => {
  it('reads a whole page number, page 1 for anything else', () => {
    expect(pageParam(null)).toBe(1)
    expect(pageParam('3')).toBe(3)
    expect(pageParam('0')).toBe(1)
    expect(pageParam('-2')).toBe(1)
    expect(pageParam('two')).toBe(1)
  })

  it('holds a huge page at MAX_PAGE, past the end, so no list asks for an offset PostgreSQL cannot hold', () => {
    expect(pageParam('100000000000000000000')).toBe(MAX_PAGE)
    expect(pageParam('1e20')).toBe(1)
    expect(pageParam('99999999999')).toBe(MAX_PAGE)
  })
})
