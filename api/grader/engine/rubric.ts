import { CATEGORIES, runCheck, type CheckDefinition, type CheckResult } from './checks/check.ts'
import { MOBILE_CHECKS } from './checks/mobile.ts'
import { PERFORMANCE_CHECKS } from './checks/performance.ts'
import { SECURITY_CHECKS } from './checks/security.ts'
import { SEO_CHECKS } from './checks/seo.ts'
import { BANDS, SEO_CAP_WHEN_NOT_INDEXABLE } from './scoring.ts'

// The rubric: every check, its weight and how it scores. Published on the grader page as is.
// Bump the version whenever a weight, curve or rule changes: stored reports carry the version
// they were graded under.

export const GRADER_RUBRIC_VERSION = '1.2.0'

export const CHECKS: readonly CheckDefinition[] = [
  ...PERFORMANCE_CHECKS,
  ...SEO_CHECKS,
  ...MOBILE_CHECKS,
  ...SECURITY_CHECKS,
]

/** Runs every check of the rubric on one collected site. Pure. */
export function runChecks(site: Parameters<CheckDefinition['run']>[0]): CheckResult[] {
  return CHECKS.map((definition) => runCheck(definition, site))
}

export const GRADER_RUBRIC = {
  version: GRADER_RUBRIC_VERSION,
  total: 100,
  categories: CATEGORIES.map((category) => ({
    id: category.id,
    title: category.title,
    points: category.points,
    checks: CHECKS.filter((c) => c.category === category.id).map((c) => ({
      id: c.id,
      title: c.title,
      weight: c.weight,
      scoring: c.scoring,
      lighthouse: c.lighthouse,
    })),
  })),
  bands: BANDS.map((b) => ({ band: b.band, min: b.min })),
  rules: [
    'Only a page that loads is graded: an address whose final answer (after redirects) is an HTTP error (4xx or 5xx) gets no report, and the visitor is told the status.',
    'Each check scores between 0 and 1. A category earns its points in proportion to the weighted scores of its checks.',
    'A check that does not apply or cannot be measured without a browser is shown as "not measured" and left out: the other checks of its category share its weight.',
    `When the page may not be indexed (${SEO_CAP_WHEN_NOT_INDEXABLE.checkId}), SEO earns at most ${SEO_CAP_WHEN_NOT_INDEXABLE.maxPoints} of its 30 points.`,
    'Continuous measurements (bytes, requests, time) use Lighthouse’s log-normal curve: the p10 value scores 0.9 and the median scores 0.5.',
    'Checks with weight 0 are reported, not scored.',
  ],
} as const
