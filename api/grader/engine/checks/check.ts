import type { SiteData } from '../site-data.ts'

// What a check is: a pure function of SiteData with a weight inside its category.

export type CategoryId = 'performance' | 'seo' | 'mobile' | 'security'

export const CATEGORIES: ReadonlyArray<{ id: CategoryId; title: string; points: number }> = [
  { id: 'performance', title: 'Performance', points: 30 },
  { id: 'seo', title: 'SEO', points: 30 },
  { id: 'mobile', title: 'Mobile', points: 30 },
  { id: 'security', title: 'Security', points: 10 },
]

export type EvidenceItem = Record<string, string | number | boolean | null>

export type Evidence = { summary: string; items: EvidenceItem[] }

export type CheckResult = {
  id: string
  category: CategoryId
  /** Worded for the verdict: "Page is blocked from indexing" / "Page isn't blocked from indexing". */
  title: string
  /** 0..1; null when not applicable or not measurable here (left out of the category). */
  score: number | null
  weight: number
  evidence: Evidence
  /** What to do about it; empty when there is nothing to do. */
  fix: string
}

export type CheckOutcome = {
  score: number | null
  summary: string
  items?: EvidenceItem[]
}

export type CheckDefinition = {
  id: string
  category: CategoryId
  weight: number
  /** Neutral name for the published rubric. */
  title: string
  passTitle: string
  failTitle: string
  /** How it is measured and scored, for the published rubric. */
  scoring: string
  /** The same logic in Lighthouse, when there is one. */
  lighthouse: string | null
  fix: string
  run: (site: SiteData) => CheckOutcome
}

/** A check at or above this score is not a problem (Lighthouse's "pass" threshold). */
export const PASS_THRESHOLD = 0.9

export function runCheck(definition: CheckDefinition, site: SiteData): CheckResult {
  const outcome = definition.run(site)
  const score = outcome.score === null ? null : Math.min(1, Math.max(0, outcome.score))
  const passed = score === null || score >= PASS_THRESHOLD
  return {
    id: definition.id,
    category: definition.category,
    title:
      score === null
        ? `${definition.title} (not measured)`
        : passed
          ? definition.passTitle
          : definition.failTitle,
    score,
    weight: definition.weight,
    evidence: { summary: outcome.summary, items: outcome.items ?? [] },
    fix: passed ? '' : definition.fix,
  }
}

export function kib(bytes: number): string {
  return `${Math.round(bytes / 1024).toLocaleString('en-US')} KiB`
}

/** KiB under a MiB, MiB (one decimal at most) from there: "850 KiB", "10 MiB", "12.5 MiB". */
export function byteSize(bytes: number): string {
  if (bytes < 1024 * 1024) return kib(bytes)
  const value = bytes / (1024 * 1024)
  return `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} MiB`
}
