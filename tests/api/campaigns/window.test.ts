import { describe, expect, it } from 'vitest'
import {
  canonicalTimeZone,
  inWindow,
  localHour,
  windowProblem,
} from '../../../api/campaigns/window.ts'

describe('canonicalTimeZone', () => {
  it('accepts IANA names in any case and refuses offsets and nonsense', () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin')
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York')
    expect(canonicalTimeZone('UTC')).toBe('UTC')
    expect(canonicalTimeZone('+01:00')).toBeNull()
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeNull()
    expect(canonicalTimeZone('')).toBeNull()
  })
})

describe('the sending window', () => {
  const berlin = { startHour: 8, endHour: 18, timeZone: 'Europe/Berlin' }
  it('follows daylight saving time', () => {
    // Winter: UTC+1; summer: UTC+2.
    expect(localHour(new Date('2026-01-15T07:00:00Z'), 'Europe/Berlin')).toBe(8)
    expect(localHour(new Date('2026-07-15T06:00:00Z'), 'Europe/Berlin')).toBe(8)
    expect(inWindow(new Date('2026-01-15T06:59:59Z'), berlin)).toBe(false)
    expect(inWindow(new Date('2026-01-15T07:00:00Z'), berlin)).toBe(true)
    expect(inWindow(new Date('2026-07-15T05:59:59Z'), berlin)).toBe(false)
    expect(inWindow(new Date('2026-07-15T06:00:00Z'), berlin)).toBe(true)
    expect(inWindow(new Date('2026-07-15T15:59:59Z'), berlin)).toBe(true)
    expect(inWindow(new Date('2026-07-15T16:00:00Z'), berlin)).toBe(false)
  })

  it('checks the hours', () => {
    expect(windowProblem(8, 18)).toBeNull()
    expect(windowProblem(0, 24)).toBeNull()
    expect(windowProblem(18, 8)).toMatchObject({
      field: 'endHour',
      message: expect.stringMatching(/end after it starts/),
    })
    expect(windowProblem(8, 8)?.message).toMatch(/end after it starts/)
    // A bad hour is reported under the hour that is bad.
    expect(windowProblem(-1, 8)).toMatchObject({
      field: 'startHour',
      message: expect.stringMatching(/0 to 23/),
    })
    expect(windowProblem(8, 25)).toMatchObject({
      field: 'endHour',
      message: expect.stringMatching(/1 to 24/),
    })
  })
})
