import { describe, expect, it } from 'vitest'
import { planSends, type SchedulableCampaign } from '../../../api/campaigns/scheduler.ts'
import { formatStart, scheduledStart } from '../../../api/campaigns/start-at.ts'

const campaign = (over: Partial<SchedulableCampaign> = {}): SchedulableCampaign => ({
  id: 'c1',
  status: 'sending',
  sender: 'riley@frontdoor.example',
  ratePerHour: 60,
  window: { startHour: 8, endHour: 18, timeZone: 'Europe/Berlin' },
  pending: 1000,
  lastSlotAt: null,
  startAfter: null,
  ...over,
})
const at = (iso: string) => new Date(iso)
const times = (plan: { at: Date }[]) => plan.map((p) => p.at.toISOString())

describe('planSends', () => {
  it('sends nothing before the window opens and one at the opening, in the campaign time zone', () => {
    // 08:00 in Berlin is 07:00 UTC in winter, 06:00 UTC in summer (DST).
    expect(planSends([campaign()], at('2026-01-15T06:59:59Z'))).toEqual([])
    expect(times(planSends([campaign()], at('2026-01-15T07:00:00Z')))).toEqual([
      '2026-01-15T07:00:00.000Z',
    ])
    expect(planSends([campaign()], at('2026-07-15T05:59:59Z'))).toEqual([])
    expect(times(planSends([campaign()], at('2026-07-15T06:00:00Z')))).toEqual([
      '2026-07-15T06:00:00.000Z',
    ])
  })

  it('stops at the end of the window', () => {
    expect(planSends([campaign()], at('2026-01-15T16:59:59Z'))).toHaveLength(1)
    expect(planSends([campaign()], at('2026-01-15T17:00:00Z'))).toEqual([])
  })

  it('reads the same instant differently in another time zone', () => {
    const ny = campaign({ window: { startHour: 8, endHour: 18, timeZone: 'America/New_York' } })
    // Daylight saving time began in New York in the night to 8 March 2026 (UTC-4 from then).
    expect(planSends([ny], at('2026-03-08T11:59:59Z'))).toEqual([]) // 07:59:59 EDT
    expect(planSends([ny], at('2026-03-08T12:00:00Z'))).toHaveLength(1) // 08:00 EDT
    // The day before, still EST: 08:00 is 13:00 UTC.
    expect(planSends([ny], at('2026-03-07T12:00:00Z'))).toEqual([])
    expect(planSends([ny], at('2026-03-07T13:00:00Z'))).toHaveLength(1)
  })

  it('spaces a sender evenly at its hourly rate and hands out only the slots inside the horizon', () => {
    const now = at('2026-01-15T09:00:00Z')
    const plan = planSends([campaign({ ratePerHour: 120 })], now, { horizonMs: 60_000 })
    expect(times(plan)).toEqual([
      '2026-01-15T09:00:00.000Z',
      '2026-01-15T09:00:30.000Z',
      '2026-01-15T09:01:00.000Z',
    ])
  })

  it('continues from the last slot: never closer than the rate allows', () => {
    const now = at('2026-01-15T09:00:00Z')
    const c = campaign({ ratePerHour: 60, lastSlotAt: at('2026-01-15T08:59:30Z') })
    expect(planSends([c], now, { horizonMs: 20_000 })).toEqual([])
    expect(times(planSends([c], now, { horizonMs: 30_000 }))).toEqual(['2026-01-15T09:00:30.000Z'])
  })

  it('sums the rate over every campaign of one sender, taking turns', () => {
    const now = at('2026-01-15T09:00:00Z')
    const a = campaign({ id: 'a', ratePerHour: 60 })
    const b = campaign({ id: 'b', ratePerHour: 60 })
    const plan = planSends([a, b], now, { horizonMs: 10 * 60_000 })
    // 60 an hour for the sender, not 60 each: 11 slots in 10 minutes, alternating.
    expect(plan).toHaveLength(11)
    expect(plan.slice(0, 4).map((p) => p.campaignId)).toEqual(['a', 'b', 'a', 'b'])
    // Another sender has its own rate.
    const c = campaign({ id: 'c', sender: 'sam@frontdoor.example' })
    expect(planSends([a, b, c], now, { horizonMs: 10 * 60_000 })).toHaveLength(22)
  })

  it('counts the slots of a paused campaign of the same sender against the rate', () => {
    const now = at('2026-01-15T09:00:00Z')
    const paused = campaign({ id: 'p', status: 'paused', lastSlotAt: at('2026-01-15T08:59:50Z') })
    const running = campaign({ id: 'r' })
    expect(times(planSends([paused, running], now, { horizonMs: 60_000 }))).toEqual([
      '2026-01-15T09:00:50.000Z',
    ])
  })

  it('sends nothing for a paused campaign and carries on after resume', () => {
    const now = at('2026-01-15T09:00:00Z')
    expect(planSends([campaign({ status: 'paused' })], now, { horizonMs: 60_000 })).toEqual([])
    const resumed = campaign({ status: 'sending', lastSlotAt: at('2026-01-15T08:00:00Z') })
    expect(times(planSends([resumed], now))).toEqual(['2026-01-15T09:00:00.000Z'])
    expect(planSends([campaign({ status: 'completed' })], now)).toEqual([])
    expect(planSends([campaign({ pending: 0 })], now)).toEqual([])
  })

  it('never hands out more sends than a campaign has recipients', () => {
    const plan = planSends(
      [campaign({ pending: 2, ratePerHour: 3600 })],
      at('2026-01-15T09:00:00Z'),
      {
        horizonMs: 60_000,
      },
    )
    expect(plan).toHaveLength(2)
  })

  it('gives a campaign started for later no slot before its start, then the window and rate', () => {
    // Monday 09:00 in Berlin (08:00 UTC), inside the 08–18 window, 120 an hour.
    const c = campaign({ ratePerHour: 120, startAfter: at('2026-01-19T08:00:00Z') })
    expect(planSends([c], at('2026-01-19T07:00:00Z'), { horizonMs: 30 * 60_000 })).toEqual([])
    // Its start inside the horizon: the first slot is the start itself, then every 30 s.
    expect(times(planSends([c], at('2026-01-19T07:59:30Z'), { horizonMs: 60_000 }))).toEqual([
      '2026-01-19T08:00:00.000Z',
      '2026-01-19T08:00:30.000Z',
    ])
    expect(times(planSends([c], at('2026-01-19T08:10:00Z')))).toEqual(['2026-01-19T08:10:00.000Z'])
    // And after the last slot, no closer than the rate.
    const sent = { ...c, lastSlotAt: at('2026-01-19T08:10:00Z') }
    expect(planSends([sent], at('2026-01-19T08:10:10Z'))).toEqual([])
  })

  it('waits for the window when the start falls outside it', () => {
    // Saturday 06:00 in Berlin (05:00 UTC): the window opens at 08:00 (07:00 UTC).
    const c = campaign({ startAfter: at('2026-01-17T05:00:00Z') })
    expect(planSends([c], at('2026-01-17T05:00:00Z'), { horizonMs: 60_000 })).toEqual([])
    expect(planSends([c], at('2026-01-17T06:59:59Z'))).toEqual([])
    expect(times(planSends([c], at('2026-01-17T07:00:00Z')))).toEqual(['2026-01-17T07:00:00.000Z'])
    // After the window, nothing until it opens again.
    expect(planSends([c], at('2026-01-17T17:00:00Z'))).toEqual([])
  })

  it('lets the same sender’s other campaign send while one waits for its start', () => {
    const waiting = campaign({ id: 'later', startAfter: at('2026-01-19T12:00:00Z') })
    const now = campaign({ id: 'now' })
    const plan = planSends([waiting, now], at('2026-01-19T09:00:00Z'), { horizonMs: 120_000 })
    expect(plan.map((p) => p.campaignId)).toEqual(['now', 'now', 'now'])
  })
})

describe('scheduledStart', () => {
  const now = at('2026-03-01T12:00:00Z')
  it('reads the day and time on the campaign’s clock', () => {
    expect(scheduledStart('2026-03-02', '09:00', 'America/New_York', now)).toEqual({
      ok: true,
      at: at('2026-03-02T14:00:00Z'), // EST, UTC-5
    })
    expect(scheduledStart('2026-03-09', '09:00', 'America/New_York', now)).toEqual({
      ok: true,
      at: at('2026-03-09T13:00:00Z'), // EDT from 8 March, UTC-4
    })
  })

  it('reads a time skipped when clocks go forward with the offset before the jump', () => {
    // New York skips 02:00–03:00 on 8 March 2026: 02:30 is 03:30 EDT (07:30 UTC).
    expect(scheduledStart('2026-03-08', '02:30', 'America/New_York', now)).toEqual({
      ok: true,
      at: at('2026-03-08T07:30:00Z'),
    })
  })

  it('reads a time that happens twice when clocks go back as its first pass', () => {
    // New York shows 01:00–02:00 twice on 1 November 2026: first in EDT (05:30 UTC), then EST.
    expect(
      scheduledStart('2026-11-01', '01:30', 'America/New_York', at('2026-10-01T00:00:00Z')),
    ).toEqual({
      ok: true,
      at: at('2026-11-01T05:30:00Z'),
    })
  })

  it('refuses a time that has passed and one more than 90 days ahead', () => {
    expect(scheduledStart('2026-03-01', '07:00', 'America/New_York', now)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/has passed/),
    })
    expect(scheduledStart('2026-03-01', '07:00', 'UTC', now)).toMatchObject({ ok: false })
    expect(scheduledStart('2026-05-30', '12:00', 'UTC', now)).toMatchObject({ ok: true })
    expect(scheduledStart('2026-05-30', '12:01', 'UTC', now)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/more than 90 days ahead/),
    })
  })
})

describe('formatStart', () => {
  it('names the campaign’s zone, once', () => {
    expect(formatStart(at('2026-03-09T13:00:00Z'), 'America/New_York')).toMatch(
      /^Mar 9, 2026, 09:00 .*\(America\/New_York\)$/,
    )
    expect(formatStart(at('2026-03-09T13:00:00Z'), 'UTC')).toBe('Mar 9, 2026, 13:00 UTC')
  })
})
