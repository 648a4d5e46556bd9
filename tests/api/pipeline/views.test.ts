import { describe, expect, it } from 'vitest'
import type { Forecast, StageStats } from '../../../api/pipeline/metrics.ts'
import type { BoardColumn } from '../../../api/pipeline/queries.ts'
import {
  bottlenecks,
  forecastSummary,
  funnelPeriod,
  openTotals,
} from '../../../api/pipeline/views.ts'

const NOW = new Date('2026-11-29T10:00:00Z')
const DAY = 86_400_000

describe('the open pipeline added up from the board columns', () => {
  it('adds the open columns only, weighting each stage by its own probability', () => {
    const columns: BoardColumn[] = [
      {
        stage: 'target',
        count: 2,
        money: [{ currency: 'EUR', totalCents: 1_000_000, weightedCents: 100_000 }],
        stale: 1,
      },
      {
        stage: 'negotiation',
        count: 1,
        money: [
          { currency: 'EUR', totalCents: 2_000_000, weightedCents: 1_400_000 },
          { currency: 'USD', totalCents: 500_000, weightedCents: 350_000 },
        ],
        stale: 0,
      },
      {
        stage: 'won',
        count: 7,
        money: [{ currency: 'EUR', totalCents: 9_000_000, weightedCents: 9_000_000 }],
        stale: 3,
      },
    ]
    expect(openTotals(columns)).toEqual({
      count: 3,
      money: [
        { currency: 'EUR', totalCents: 3_000_000, weightedCents: 1_500_000 },
        { currency: 'USD', totalCents: 500_000, weightedCents: 350_000 },
      ],
      stale: 1,
    })
  })
})

describe('the forecast summary', () => {
  const bucket = (key: string, money: Array<[string, number, number]>) => ({
    key,
    count: money.length,
    money: money.map(([currency, totalCents, weightedCents]) => ({
      currency,
      totalCents,
      weightedCents,
    })),
  })

  it('charts the currency with the most weighted value and adds up the months per currency', () => {
    const forecast: Forecast = {
      months: [
        bucket('2026-11', [['EUR', 1_000, 500]]),
        bucket('2026-12', [
          ['EUR', 2_000, 1_000],
          ['USD', 3_000, 900],
        ]),
      ],
      overdue: bucket('overdue', []),
      later: bucket('later', []),
      // Undated deals count towards the chart currency, not towards the months' totals.
      undated: bucket('undated', [['USD', 10_000, 5_000]]),
    }
    expect(forecastSummary(forecast)).toEqual({
      currency: 'USD',
      months: [
        { currency: 'EUR', totalCents: 3_000, weightedCents: 1_500 },
        { currency: 'USD', totalCents: 3_000, weightedCents: 900 },
      ],
    })
  })

  it('falls back to EUR when there is nothing to forecast', () => {
    const empty = bucket('x', [])
    expect(forecastSummary({ months: [], overdue: empty, later: empty, undated: empty })).toEqual({
      currency: 'EUR',
      months: [],
    })
  })
})

describe('the funnel period from the page query', () => {
  it('takes the last 90 days by default', () => {
    expect(funnelPeriod({}, NOW)).toEqual({
      period: { from: new Date(NOW.getTime() - 90 * DAY), to: NOW },
      days: 90,
      from: '',
      to: '',
      error: null,
    })
  })

  it('takes a preset, and the default for a number that is not one', () => {
    expect(funnelPeriod({ period: '30' }, NOW).period.from).toEqual(
      new Date(NOW.getTime() - 30 * DAY),
    )
    expect(funnelPeriod({ period: '31' }, NOW).days).toBe(90)
    expect(funnelPeriod({ period: 'lots' }, NOW).days).toBe(90)
  })

  it('takes a from–to range with both days included', () => {
    expect(funnelPeriod({ from: '2026-10-01', to: '2026-10-31' }, NOW)).toEqual({
      period: { from: new Date('2026-10-01T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') },
      days: 0,
      from: '2026-10-01',
      to: '2026-10-31',
      error: null,
    })
  })

  it('runs a from–to range from midnight to midnight on the reader’s clock', () => {
    // A move at 20:00 on 31 October in Los Angeles (03:00 UTC on 1 November) is October's there;
    // one at 08:00 on 1 October in Tokyo (23:00 UTC on 30 September) is October's there too.
    expect(
      funnelPeriod({ from: '2026-10-01', to: '2026-10-31' }, NOW, 'America/Los_Angeles').period,
    ).toEqual({ from: new Date('2026-10-01T07:00:00Z'), to: new Date('2026-11-01T07:00:00Z') })
    expect(
      funnelPeriod({ from: '2026-10-01', to: '2026-10-31' }, NOW, 'Asia/Tokyo').period,
    ).toEqual({ from: new Date('2026-09-30T15:00:00Z'), to: new Date('2026-10-31T15:00:00Z') })
    // The day clocks go back in Berlin (25 October) is 25 hours long and all in the range.
    expect(
      funnelPeriod({ from: '2026-10-25', to: '2026-10-25' }, NOW, 'Europe/Berlin').period,
    ).toEqual({ from: new Date('2026-10-24T22:00:00Z'), to: new Date('2026-10-25T23:00:00Z') })
  })

  it('says what is wrong with a backwards, half or impossible range and shows 90 days', () => {
    for (const query of [
      { from: '2026-10-31', to: '2026-10-01' },
      { from: '2026-10-01' },
      { from: '2026-02-30', to: '2026-03-01' },
    ]) {
      const chosen = funnelPeriod(query, NOW)
      expect(chosen.error).toMatch(/start and an end date/)
      expect(chosen.days).toBe(90)
      expect(chosen.period).toEqual({ from: new Date(NOW.getTime() - 90 * DAY), to: NOW })
    }
  })
})

describe('bottlenecks', () => {
  const stat = (
    stage: StageStats['stage'],
    exits: number,
    advanced: number,
    medianDays: number,
  ) => ({
    stage,
    exits,
    advanced,
    lost: exits - advanced,
    back: 0,
    conversion: exits ? advanced / exits : null,
    medianDays: exits ? medianDays : null,
  })

  it('calls out the lowest conversion and the slowest stage among stages with three exits or more', () => {
    const all = [
      stat('opportunity', 40, 2, 90),
      stat('target', 10, 8, 3),
      stat('demo', 5, 1, 20),
      stat('decision_maker', 2, 0, 60),
      stat('negotiation', 4, 3, 12),
      stat('signed', 0, 0, 0),
    ]
    const found = bottlenecks(all)
    // The prospect stage waits on the prospect; two exits are too few to judge.
    expect(found.worst?.stage).toBe('demo')
    expect(found.slowest?.stage).toBe('demo')
    expect(found.stats.map((s) => s.stage)).toEqual([
      'opportunity',
      'target',
      'demo',
      'decision_maker',
      'negotiation',
      'signed',
    ])
  })

  it('hides the prospect stage when no deal left it, and calls out nothing without data', () => {
    const found = bottlenecks([stat('opportunity', 0, 0, 0), stat('target', 1, 1, 2)])
    expect(found).toEqual({ stats: [stat('target', 1, 1, 2)], worst: null, slowest: null })
  })
})
