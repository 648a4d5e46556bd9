import {
  FUNNEL_PATH,
  isReopening,
  OPEN_STAGES,
  probabilityOf,
  stageOf,
  type StageKey,
  type StaleThresholds,
} from './stages.ts'

// The pipeline's numbers as pure functions: weighted sums, forecast buckets, conversion and time
// in stage from the stage history, stale flags. `now` is always passed in. The pages get the same
// numbers from SQL aggregates (api/pipeline/queries.ts); tests hold both to these definitions.

export const DAY_MS = 86_400_000

export interface Money {
  currency: string
  totalCents: number
  weightedCents: number
}

export interface DealAmount {
  stage: StageKey
  amountCents: number | null
  currency: string
}

/** Amount × stage probability, in whole cents (half up). */
export function weightedCents(amountCents: number, stage: StageKey): number {
  return Math.round((amountCents * probabilityOf(stage)) / 100)
}

/**
 * Totals per currency (amounts in different currencies are never added together), largest
 * total first. Deals without an amount count as zero.
 */
export function sumAmounts(deals: readonly DealAmount[]): Money[] {
  const groups = new Map<string, AmountGroup>()
  for (const d of deals) {
    const key = `${d.currency} ${d.stage}`
    const g = groups.get(key) ?? { stage: d.stage, currency: d.currency, count: 0, totalCents: 0 }
    g.count += 1
    g.totalCents += d.amountCents ?? 0
    groups.set(key, g)
  }
  return moneyOf([...groups.values()])
}

/** Deals of one stage in one currency, summed (what the SQL aggregates return). */
export interface AmountGroup {
  stage: StageKey
  currency: string
  count: number
  totalCents: number
}

/**
 * Money per currency from per-stage sums. The weighted amount of a stage is its total × the
 * stage probability, rounded once per stage and currency, so SQL sums and these agree exactly.
 */
export function moneyOf(groups: readonly AmountGroup[]): Money[] {
  const byCurrency = new Map<string, Money>()
  for (const g of groups) {
    const m = byCurrency.get(g.currency) ?? {
      currency: g.currency,
      totalCents: 0,
      weightedCents: 0,
    }
    m.totalCents += g.totalCents
    m.weightedCents += weightedCents(g.totalCents, g.stage)
    byCurrency.set(g.currency, m)
  }
  const list = [...byCurrency.values()]
  // A currency whose deals have no amounts yet says nothing; keep one entry so totals show 0.
  const nonZero = list.filter((m) => m.totalCents !== 0)
  return (nonZero.length ? nonZero : list.slice(0, 1)).sort(
    (a, b) => b.totalCents - a.totalCents || a.currency.localeCompare(b.currency),
  )
}

// ── Forecast ─────────────────────────────────────────────────────────────────────────────────

export interface ForecastDeal extends DealAmount {
  /** YYYY-MM-DD or null. */
  expectedCloseDate: string | null
}

export interface ForecastBucket {
  /** YYYY-MM for a month; 'overdue', 'later' and 'undated' for the others. */
  key: string
  count: number
  money: Money[]
}

export interface Forecast {
  /** The next `months` calendar months, starting with the month of `now` (its UTC day). */
  months: ForecastBucket[]
  /** Open deals whose expected close date is before the current month. */
  overdue: ForecastBucket
  /** Beyond the last month shown. */
  later: ForecastBucket
  /** Open deals without an expected close date. */
  undated: ForecastBucket
}

export function monthKey(date: Date): string {
  return date.toISOString().slice(0, 7)
}

/** YYYY-MM keys of `count` months starting with the month of `now` (UTC). */
export function monthKeys(now: Date, count: number): string[] {
  const keys: string[] = []
  for (let i = 0; i < count; i++)
    keys.push(monthKey(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1))))
  return keys
}

/** Weighted amounts of open deals by expected-close month. Won and lost deals are not forecast. */
export function forecastBuckets(deals: readonly ForecastDeal[], now: Date, months = 6): Forecast {
  const keys = monthKeys(now, months)
  const groups = new Map<string, ForecastGroup>()
  for (const d of deals) {
    if (!OPEN_STAGES.includes(d.stage)) continue
    const bucket = bucketOf(d.expectedCloseDate, keys)
    const key = `${bucket} ${d.stage} ${d.currency}`
    const g = groups.get(key) ?? {
      bucket,
      stage: d.stage,
      currency: d.currency,
      count: 0,
      totalCents: 0,
    }
    g.count += 1
    g.totalCents += d.amountCents ?? 0
    groups.set(key, g)
  }
  return forecastOf([...groups.values()], now, months)
}

/** Open deals of one bucket, stage and currency, summed (what the SQL aggregate returns). */
export interface ForecastGroup extends AmountGroup {
  bucket: string
}

export function forecastOf(groups: readonly ForecastGroup[], now: Date, months = 6): Forecast {
  const keys = monthKeys(now, months)
  const bucket = (key: string): ForecastBucket => {
    const list = groups.filter((g) => g.bucket === key)
    return { key, count: list.reduce((n, g) => n + g.count, 0), money: moneyOf(list) }
  }
  return {
    months: keys.map(bucket),
    overdue: bucket('overdue'),
    later: bucket('later'),
    undated: bucket('undated'),
  }
}

/** Which forecast bucket an expected close date falls in, given the month keys shown. */
export function bucketOf(date: string | null, keys: readonly string[]): string {
  if (!date) return 'undated'
  const month = date.slice(0, 7)
  if (month < keys[0]!) return 'overdue'
  if (month > keys[keys.length - 1]!) return 'later'
  return month
}

// ── Stale flags ──────────────────────────────────────────────────────────────────────────────

export function daysInStage(stageEnteredAt: Date, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - stageEnteredAt.getTime()) / DAY_MS))
}

/** Stale: an open deal that has sat in its stage longer than the stage's threshold. */
export function isStale(
  deal: { stage: StageKey; stageEnteredAt: Date },
  thresholds: StaleThresholds,
  now: Date,
): boolean {
  const limit = thresholdOf(deal.stage, thresholds)
  if (limit === null || stageOf(deal.stage).closed) return false
  return now.getTime() - deal.stageEnteredAt.getTime() > limit * DAY_MS
}

export function thresholdOf(stage: StageKey, thresholds: StaleThresholds): number | null {
  const value = thresholds[stage]
  return value === undefined ? stageOf(stage).staleAfterDays : value
}

// ── Stage history: conversion and time in stage ──────────────────────────────────────────────

/** One entry of the stage history: a deal created at a stage, or moved from one to another. */
export interface StageEvent {
  dealId: string
  type: 'created' | 'stage_changed'
  fromStage: StageKey | null
  toStage: StageKey
  at: Date
}

/** A span a deal spent in one stage; `exitedAt` null while it is still there. */
export interface Stay {
  dealId: string
  stage: StageKey
  enteredAt: Date
  exitedAt: Date | null
  /** Where it went next. */
  next: StageKey | null
}

/** The stays of every deal, from its stage events in any order. */
export function staysFrom(events: readonly StageEvent[]): Stay[] {
  const byDeal = new Map<string, StageEvent[]>()
  for (const e of events) byDeal.set(e.dealId, [...(byDeal.get(e.dealId) ?? []), e])
  const stays: Stay[] = []
  for (const [dealId, list] of byDeal) {
    list.sort((a, b) => a.at.getTime() - b.at.getTime())
    let open: Stay | null = null
    for (const e of list) {
      if (open) {
        open.exitedAt = e.at
        open.next = e.toStage
        stays.push(open)
      }
      open = { dealId, stage: e.toStage, enteredAt: e.at, exitedAt: null, next: null }
    }
    if (open) stays.push(open)
  }
  return stays
}

export type Outcome = 'advanced' | 'lost' | 'back'

/** Leaving a stage forward (to a later stage, or won), to lost, or back to an earlier one. */
export function outcomeOf(from: StageKey, to: StageKey): Outcome {
  if (to === 'lost') return 'lost'
  return stageOf(to).order > stageOf(from).order ? 'advanced' : 'back'
}

export interface Period {
  from: Date
  /** Exclusive. */
  to: Date
}

export interface StageStats {
  stage: StageKey
  /** Stays in this stage that ended during the period. */
  exits: number
  advanced: number
  lost: number
  back: number
  /** advanced / exits; null without exits. */
  conversion: number | null
  /** Median days spent in the stage by the stays that ended in the period; null without exits. */
  medianDays: number | null
}

/**
 * For each open stage: of the stays that ended in the period, how many moved forward (conversion
 * to the next stage), were lost or moved back, and the median time they spent there. Counting
 * exits rather than entries keeps deals still in progress from lowering the rates.
 */
export function stageStats(stays: readonly Stay[], period: Period): StageStats[] {
  return OPEN_STAGES.map((stage) => {
    const ended = stays.filter(
      (s) => s.stage === stage && s.exitedAt && s.next && inPeriod(s.exitedAt, period),
    )
    const count = (o: Outcome) => ended.filter((s) => outcomeOf(stage, s.next!) === o).length
    const advanced = count('advanced')
    const days = ended.map((s) => (s.exitedAt!.getTime() - s.enteredAt.getTime()) / DAY_MS)
    return {
      stage,
      exits: ended.length,
      advanced,
      lost: count('lost'),
      back: count('back'),
      conversion: ended.length ? advanced / ended.length : null,
      medianDays: median(days),
    }
  })
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function inPeriod(at: Date, period: Period): boolean {
  return at.getTime() >= period.from.getTime() && at.getTime() < period.to.getTime()
}

export interface FunnelStep {
  stage: StageKey
  /** Moves during the period that reached this stage, or passed it on the way to a later one. */
  reached: number
}

/**
 * The funnel of a period: for each stage from target to won, how many moves during the period
 * reached it — entered it, or jumped past it to a later stage (a new deal created at target
 * reaches target). Moves back and moves to lost reach nothing; a deal that moves back and
 * forward again reaches the stage again, as it would enter the stage again on the board.
 * A lost deal reopened reaches the stage it is reopened at, and only that one: lost is off the
 * path (its order, 7, is past won's), so by order alone a move out of lost reached nothing and a
 * lost deal moved straight to won never reached won; the stages before the one it reopens at it
 * passed before it was lost.
 */
export function funnelFrom(events: readonly StageEvent[], period: Period): FunnelStep[] {
  const path = FUNNEL_PATH.slice(FUNNEL_PATH.indexOf('target'))
  return path.map((stage) => {
    const order = stageOf(stage).order
    const reached = events.filter((e) => {
      if (e.toStage === 'lost' || !inPeriod(e.at, period)) return false
      if (e.fromStage && isReopening(e.fromStage, e.toStage)) return e.toStage === stage
      const from = e.fromStage ? stageOf(e.fromStage).order : -1
      return from < order && stageOf(e.toStage).order >= order
    }).length
    return { stage, reached }
  })
}
