import { describe, expect, it } from 'vitest'
import { sessionPolicyFrom } from '../../../../api/deps.ts'
import { parseEnv } from '../../../../api/env.ts'
import { duration, retentionPeriods } from '../../../../src/components/site/retention.ts'

// The privacy policy's periods as words: from the server's settings where a setting sets them.

const HOUR = 3_600_000

describe('duration', () => {
  it('says a whole number of days in days, one day in the singular', () => {
    expect(duration(24 * HOUR)).toBe('1 day')
    expect(duration(90 * 24 * HOUR)).toBe('90 days')
  })

  it('says part of a day in hours, and less than an hour in minutes', () => {
    expect(duration(12 * HOUR)).toBe('12 hours')
    expect(duration(36 * HOUR)).toBe('36 hours')
    expect(duration(HOUR)).toBe('1 hour')
    expect(duration(HOUR / 4)).toBe('15 minutes')
  })
})

describe('retentionPeriods', () => {
  const periodsUnder = (settings: Record<string, string>) => {
    const env = parseEnv(settings)
    return retentionPeriods({ env, sessionPolicy: sessionPolicyFrom(env) })
  }

  it('takes sent mail, download links and sign-ins from the settings', () => {
    const periods = periodsUnder({
      OUTBOX_RETENTION_DAYS: '1',
      DOWNLOAD_LINK_DAYS: '14',
      SESSION_INACTIVITY_DAYS: '0.5',
      SESSION_ABSOLUTE_DAYS: '2',
    })
    expect(periods).toMatchObject({
      sentMail: '1 day',
      downloadLink: '14 days',
      sessionInactivity: '12 hours',
      sessionAbsolute: '2 days',
    })
  })

  it('says the defaults when nothing is set', () => {
    expect(periodsUnder({})).toMatchObject({
      sentMail: '90 days',
      downloadLink: '7 days',
      sessionInactivity: '14 days',
      sessionAbsolute: '30 days',
    })
  })
})
