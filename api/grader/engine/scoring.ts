import { CATEGORIES, PASS_THRESHOLD, type CategoryId, type CheckResult } from './checks/check.ts'

// From check scores to category points, a total out of 100 and a grade band.

// The exact doubles Lighthouse clamps to, so a value at p10 scores exactly 0.9 and one at the
// median exactly 0.5.
const MIN_PASSING_SCORE = 0.90000000000000002220446049250313080847263336181640625
const MAX_AVERAGE_SCORE = 0.899999999999999911182158029987476766109466552734375
const MIN_AVERAGE_SCORE = 0.5
const MAX_FAILING_SCORE = 0.499999999999999944488848768742172978818416595458984375

// Abramowitz and Stegun 7.1.26, as in Lighthouse.
function erf(x: number): number {
  const sign = Math.sign(x)
  const ax = Math.abs(x)
  const a1 = 0.254829592
  const a2 = -0.284496736
  const a3 = 1.421413741
  const a4 = -1.453152027
  const a5 = 1.061405429
  const p = 0.3275911
  const t = 1 / (1 + p * ax)
  const y = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))))
  return sign * (1 - y * Math.exp(-ax * ax))
}

export type LogNormalCurve = { p10: number; median: number }

/**
 * Lighthouse's getLogNormalScore (lighthouse 13.5.0 shared/statistics.js, Apache-2.0): the share
 * of a log-normal distribution above `value`, with the curve set by the value scoring 0.9 (p10)
 * and the one scoring 0.5 (median). Values ≤ 0 score 1.
 */
export function getLogNormalScore({ median, p10 }: LogNormalCurve, value: number): number {
  if (median <= 0) throw new Error('median must be greater than zero')
  if (p10 <= 0) throw new Error('p10 must be greater than zero')
  if (p10 >= median) throw new Error('p10 must be less than the median')
  if (value <= 0) return 1
  const INVERSE_ERFC_ONE_FIFTH = 0.9061938024368232
  const xLogRatio = Math.log(Math.max(Number.MIN_VALUE, value / median))
  const p10LogRatio = -Math.log(Math.max(Number.MIN_VALUE, p10 / median))
  const standardizedX = (xLogRatio * INVERSE_ERFC_ONE_FIFTH) / p10LogRatio
  const complementaryPercentile = (1 - erf(standardizedX)) / 2
  if (value <= p10) return Math.max(MIN_PASSING_SCORE, Math.min(1, complementaryPercentile))
  if (value <= median) {
    return Math.max(MIN_AVERAGE_SCORE, Math.min(MAX_AVERAGE_SCORE, complementaryPercentile))
  }
  return Math.max(0, Math.min(MAX_FAILING_SCORE, complementaryPercentile))
}

export type Band = 'A' | 'B' | 'C' | 'D' | 'F'

export const BANDS: ReadonlyArray<{ band: Band; min: number }> = [
  { band: 'A', min: 90 },
  { band: 'B', min: 80 },
  { band: 'C', min: 70 },
  { band: 'D', min: 60 },
  { band: 'F', min: 0 },
]

export function bandOf(total: number): Band {
  return BANDS.find((b) => total >= b.min)?.band ?? 'F'
}

/** When the page may not be indexed, the SEO category earns at most this many points. */
export const SEO_CAP_WHEN_NOT_INDEXABLE = { checkId: 'is-crawlable', maxPoints: 9 } as const

export type CategoryScore = {
  id: CategoryId
  title: string
  /** Points available. */
  points: number
  /** Points earned, one decimal; null when nothing in the category could be measured. */
  score: number | null
  /** Whether a cap (SEO when indexing is blocked) lowered the score. */
  capped: boolean
}

export type Scorecard = {
  total: number
  band: Band
  categories: CategoryScore[]
  /** Titles of the (up to) three checks losing the most points. */
  topProblems: string[]
  /** Checks below the pass threshold that carry weight (top problems included). */
  issueCount: number
}

function measured(check: CheckResult): check is CheckResult & { score: number } {
  return check.score !== null && check.weight > 0
}

/** Points a check loses in its category (before any cap). */
export function pointsLost(check: CheckResult, all: CheckResult[]): number {
  if (!measured(check)) return 0
  const category = CATEGORIES.find((c) => c.id === check.category)
  if (category === undefined) return 0
  const weights = all
    .filter((c) => c.category === check.category && measured(c))
    .reduce((sum, c) => sum + c.weight, 0)
  return weights === 0 ? 0 : (category.points * check.weight * (1 - check.score)) / weights
}

export function scoreChecks(checks: CheckResult[]): Scorecard {
  const categories: CategoryScore[] = CATEGORIES.map((category) => {
    const scored = checks.filter((c) => c.category === category.id && measured(c))
    const weights = scored.reduce((sum, c) => sum + c.weight, 0)
    if (weights === 0) {
      return { ...category, score: null, capped: false }
    }
    let earned =
      (category.points * scored.reduce((s, c) => s + c.weight * (c.score ?? 0), 0)) / weights
    let capped = false
    if (category.id === 'seo') {
      const crawlable = checks.find((c) => c.id === SEO_CAP_WHEN_NOT_INDEXABLE.checkId)
      if (crawlable?.score === 0 && earned > SEO_CAP_WHEN_NOT_INDEXABLE.maxPoints) {
        earned = SEO_CAP_WHEN_NOT_INDEXABLE.maxPoints
        capped = true
      }
    }
    return { ...category, score: Math.round(earned * 10) / 10, capped }
  })
  const counted = categories.filter((c) => c.score !== null)
  const available = counted.reduce((sum, c) => sum + c.points, 0)
  const earned = counted.reduce((sum, c) => sum + (c.score ?? 0), 0)
  // A category with nothing measurable would leave its points out of reach, so the total is
  // scaled to what could be measured (in practice every category has a measured check).
  const total = available === 0 ? 0 : Math.round((earned / available) * 100)
  const issues = checks
    .filter((c) => measured(c) && c.score < PASS_THRESHOLD)
    .map((c) => ({ check: c, lost: pointsLost(c, checks) }))
    .sort((a, b) => b.lost - a.lost)
  return {
    total,
    band: bandOf(total),
    categories,
    topProblems: issues.slice(0, 3).map((i) => i.check.title),
    issueCount: issues.length,
  }
}
