import { describe, expect, it } from 'vitest'
import {
  forecastBuckets,
  funnelFrom,
  isStale,
  median,
  stageStats,
  staysFrom,
  sumAmounts,
  weightedCents,
  type ForecastDeal,
  type StageEvent,
} from '../../../api/pipeline/metrics.ts'
import { at, EXPECTED_FUNNEL, EXPECTED_STATS, HISTORY, NOVEMBER } from './history-fixture.ts'
import type { StageKey } from '../../../api/pipeline/stages.ts'

describe('weighted sums', () => {
  it('weights an amount by its stage’s probability, in cents', () => {
    expect(weightedCents(1_000_000, 'target')).toBe(100_000)
    expect(weightedCents(1_000_000, 'signed')).toBe(900_000)
    expect(weightedCents(1_000_000, 'lost')).toBe(0)
    expect(weightedCents(1_000_000, 'won')).toBe(1_000_000)
  })

  it('sums per currency, rounds once per stage, and counts deals without an amount as zero', () => {
    const totals = sumAmounts([
      { stage: 'target', amountCents: 1_000_000, currency: 'EUR' },
      { stage: 'demo', amountCents: 100_001, currency: 'EUR' },
      { stage: 'demo', amountCents: 100_001, currency: 'EUR' },
      { stage: 'demo', amountCents: null, currency: 'EUR' },
      { stage: 'negotiation', amountCents: 5_000_000, currency: 'USD' },
    ])
    // demo: 200,002 × 30% = 60,000.6 → 60,001 (per-deal rounding would give 60,000)
    expect(totals).toEqual([
      { currency: 'USD', totalCents: 5_000_000, weightedCents: 3_500_000 },
      { currency: 'EUR', totalCents: 1_200_002, weightedCents: 160_001 },
    ])
  })

  it('keeps a single zero entry when no deal has an amount yet', () => {
    expect(sumAmounts([{ stage: 'demo', amountCents: null, currency: 'EUR' }])).toEqual([
      { currency: 'EUR', totalCents: 0, weightedCents: 0 },
    ])
    expect(sumAmounts([])).toEqual([])
  })
})

describe('forecast buckets', () => {
  const now = new Date('2026-11-29T10:00:00Z')
  const deal = (
    stage: StageKey,
    amountCents: number,
    expectedCloseDate: string | null,
    currency = 'EUR',
  ): ForecastDeal => ({ stage, amountCents, currency, expectedCloseDate })

  it('puts open deals’ weighted amounts in the next six months, with overdue, later and undated apart', () => {
    const f = forecastBuckets(
      [
        deal('demo', 1_000_000, '2026-11-30'),
        deal('negotiation', 2_000_000, '2027-01-15'),
        deal('signed', 1_000_000, '2027-01-31'),
        deal('target', 500_000, '2027-04-30', 'USD'),
        deal('demo', 100_000, '2027-05-01'),
        deal('decision_maker', 400_000, '2026-10-31'),
        deal('negotiation', 700_000, null),
        deal('won', 9_999_999, '2026-12-01'),
        deal('lost', 5_000_000, '2026-12-01'),
      ],
      now,
    )
    expect(f.months.map((m) => m.key)).toEqual([
      '2026-11',
      '2026-12',
      '2027-01',
      '2027-02',
      '2027-03',
      '2027-04',
    ])
    const weighted = Object.fromEntries(
      f.months.map((m) => [m.key, m.money.map((x) => `${x.weightedCents} ${x.currency}`)]),
    )
    expect(weighted).toEqual({
      '2026-11': ['300000 EUR'],
      '2026-12': [],
      '2027-01': ['2300000 EUR'],
      '2027-02': [],
      '2027-03': [],
      '2027-04': ['50000 USD'],
    })
    expect(f.months[2]).toMatchObject({ count: 2, money: [{ totalCents: 3_000_000 }] })
    expect(f.overdue).toMatchObject({ count: 1, money: [{ weightedCents: 200_000 }] })
    expect(f.later).toMatchObject({ count: 1, money: [{ weightedCents: 30_000 }] })
    expect(f.undated).toMatchObject({ count: 1, money: [{ weightedCents: 490_000 }] })
  })

  it('starts at the current month in UTC', () => {
    const f = forecastBuckets([], new Date('2026-12-31T23:30:00Z'), 2)
    expect(f.months.map((m) => m.key)).toEqual(['2026-12', '2027-01'])
  })
})

describe('stale flags', () => {
  const now = new Date('2026-11-29T10:00:00Z')
  const entered = new Date('2026-11-15T10:00:00Z') // 14 days before now

  it('flags an open deal only once it has sat longer than its stage’s threshold', () => {
    expect(isStale({ stage: 'demo', stageEnteredAt: entered }, {}, now)).toBe(false) // exactly 14 days
    expect(
      isStale({ stage: 'demo', stageEnteredAt: entered }, {}, new Date(now.getTime() + 1)),
    ).toBe(true)
    expect(isStale({ stage: 'target', stageEnteredAt: entered }, {}, now)).toBe(true) // default 7 days
  })

  it('uses the thresholds an admin set, and never flags won or lost deals', () => {
    expect(isStale({ stage: 'target', stageEnteredAt: entered }, { target: 20 }, now)).toBe(false)
    expect(isStale({ stage: 'won', stageEnteredAt: at('2020-01-01') }, {}, now)).toBe(false)
    expect(isStale({ stage: 'lost', stageEnteredAt: at('2020-01-01') }, { lost: 1 }, now)).toBe(
      false,
    )
  })
})

describe('conversion and time in stage from the stage history', () => {
  it('splits the history into stays, the last one still open', () => {
    const d = staysFrom(HISTORY).filter((s) => s.dealId === 'D')
    expect(d.map((s) => [s.stage, s.next, s.exitedAt?.toISOString().slice(0, 10) ?? null])).toEqual(
      [
        ['target', 'demo', '2026-11-10'],
        ['demo', 'target', '2026-11-12'],
        ['target', null, null],
      ],
    )
  })

  it('counts the stays that ended in the period: forward, lost, back, and their median days', () => {
    expect(stageStats(staysFrom(HISTORY), NOVEMBER)).toEqual(EXPECTED_STATS)
  })

  it('has no numbers for a period in which nothing moved', () => {
    const stats = stageStats(staysFrom(HISTORY), { from: at('2025-01-01'), to: at('2025-02-01') })
    expect(
      stats.every((s) => s.exits === 0 && s.conversion === null && s.medianDays === null),
    ).toBe(true)
  })

  it('counts the moves reaching each stage in the period, skipped stages as passed, moves back as nothing', () => {
    expect(funnelFrom(HISTORY, NOVEMBER)).toEqual(EXPECTED_FUNNEL)
    const skip: StageEvent[] = [
      { dealId: 'S', type: 'created', fromStage: null, toStage: 'target', at: at('2026-11-02') },
      {
        dealId: 'S',
        type: 'stage_changed',
        fromStage: 'target',
        toStage: 'negotiation',
        at: at('2026-11-03'),
      },
    ]
    expect(funnelFrom(skip, NOVEMBER).map((s) => s.reached)).toEqual([1, 1, 1, 1, 0, 0])
    const twice: StageEvent[] = [
      ...skip,
      {
        dealId: 'S',
        type: 'stage_changed',
        fromStage: 'negotiation',
        toStage: 'demo',
        at: at('2026-11-04'),
      },
      {
        dealId: 'S',
        type: 'stage_changed',
        fromStage: 'demo',
        toStage: 'negotiation',
        at: at('2026-11-05'),
      },
    ]
    // Back to demo, then forward again: decision-maker and negotiation are reached a second time.
    expect(funnelFrom(twice, NOVEMBER).map((s) => s.reached)).toEqual([1, 1, 2, 2, 0, 0])
  })

  it('counts a lost deal reopened as reaching the stage it is reopened at, won included', () => {
    const move = (dealId: string, fromStage: StageKey, toStage: StageKey): StageEvent => ({
      dealId,
      type: 'stage_changed',
      fromStage,
      toStage,
      at: at('2026-11-10'),
    })
    // Lost's order (7) is past won's (6): a lost deal moved straight to won reached won.
    expect(funnelFrom([move('W', 'lost', 'won')], NOVEMBER).map((s) => s.reached)).toEqual([
      0, 0, 0, 0, 0, 1,
    ])
    // Reopened at demo: demo again, and not target, which it had passed before it was lost.
    expect(funnelFrom([move('R', 'lost', 'demo')], NOVEMBER).map((s) => s.reached)).toEqual([
      0, 1, 0, 0, 0, 0,
    ])
  })

  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNull()
  })
})
