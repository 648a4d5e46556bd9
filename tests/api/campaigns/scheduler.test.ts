import { describe, expect, it } from 'vitest'
import { planSends, type SchedulableCampaign } from '../../../api/campaigns/scheduler.ts'

const campaign = (over: Partial<SchedulableCampaign> = {}): SchedulableCampaign => ({
  id: 'c1',
  status: 'sending',
  sender: 'riley@frontdoor.example',
  ratePerHour: 60,
  window: { startHour: 8, endHour: 18, timeZone: 'Europe/Berlin' },
  pending: 1000,
  lastSlotAt: null,
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
})
