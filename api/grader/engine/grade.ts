import type { CheckResult } from './checks/check.ts'
import { collectSite, type CollectLimits } from './collect.ts'
import {
  createGuardedFetcher,
  type FetchFailure,
  type GuardedFetcherOptions,
} from './guarded-fetch.ts'
import type { PageFailure } from './failures.ts'
import { detectPlatform, type Platform } from './platform.ts'
import { GRADER_RUBRIC_VERSION, runChecks } from './rubric.ts'
import { scoreChecks, type Band, type CategoryScore } from './scoring.ts'
import type { SiteData } from './site-data.ts'
import { normalizeGraderUrl } from './target-url.ts'

// The grader's entry point: URL in, graded report out. Everything below it is either the guarded
// fetcher (I/O) or pure functions of the collected SiteData.

export type GradeOptions = Omit<GuardedFetcherOptions, 'signal'> & {
  /** The whole grading, fetches included (the spec's ≈25 s). */
  deadlineMs?: number
  /** Cancels the grading (e.g. server shutdown). */
  signal?: AbortSignal
  limits?: Partial<CollectLimits>
  /** When the report is dated; defaults to now. */
  now?: Date
  /** The plain-HTTP address probed for an https site; default `http://<host>/`. */
  httpProbeUrl?: (finalUrl: URL) => string
  /** Every failed request with its server-side cause: wire it to the server log. */
  onFetchFailure?: (failure: FetchFailure) => void
}

export type GradeResult = {
  requestedUrl: string
  normalizedUrl: string
  finalUrl: string
  gradedAt: string
  total: number
  band: Band
  categories: CategoryScore[]
  checks: CheckResult[]
  platform: Platform | null
  topProblems: string[]
  /** Failing checks beyond the top problems. */
  otherIssueCount: number
  rubricVersion: string
  durationMs: number
}

/** For the visitor; blocked, refused and timed-out targets all read `unreachable`. */
export type GradeFailure = (PageFailure | { code: 'invalid_url' }) & {
  message: string
  /** Server log only. */
  cause: string
}

export type GradeOutcome = { ok: true; result: GradeResult } | { ok: false; error: GradeFailure }

export type Teaser = {
  total: number
  band: Band
  categories: Array<{
    id: CategoryScore['id']
    title: string
    points: number
    score: number | null
  }>
  topProblems: string[]
  otherIssueCount: number
}

export const DEFAULT_DEADLINE_MS = 25_000

/** Scores a collected site: pure, so a stored SiteData can be re-graded under a new rubric. */
export function scoreSite(site: SiteData) {
  const checks = runChecks(site)
  const scorecard = scoreChecks(checks)
  return { checks, ...scorecard, platform: detectPlatform(site) }
}

export async function gradeSite(input: string, options: GradeOptions): Promise<GradeOutcome> {
  const started = performance.now()
  const normalized = normalizeGraderUrl(input, { allowPorts: options.allowPorts })
  if (!normalized.ok) {
    return {
      ok: false,
      error: {
        code: 'invalid_url',
        message: normalized.message,
        cause: `invalid input: ${input.slice(0, 200)}`,
      },
    }
  }
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS
  const signals = [AbortSignal.timeout(deadlineMs)]
  if (options.signal !== undefined) signals.push(options.signal)
  const fetcher = createGuardedFetcher({
    ...options,
    signal: AbortSignal.any(signals),
    requestTimeoutMs: options.requestTimeoutMs ?? Math.min(15_000, deadlineMs),
  })
  // Subresources stop starting a little before the deadline so the page still gets graded.
  const softDeadline = started + Math.max(deadlineMs * 0.6, deadlineMs - 3_000)
  const collectOptions = {
    limits: options.limits,
    now: options.now,
    httpProbeUrl: options.httpProbeUrl,
    softDeadline,
    onFetchFailure: options.onFetchFailure,
  }
  try {
    let collected = await collectSite(fetcher, normalized.url, collectOptions)
    let gradedUrl = normalized.url
    if (!collected.ok && collected.error.code === 'unreachable' && !normalized.schemeGiven) {
      // "example.com" was typed without a scheme and https did not answer: try plain http.
      gradedUrl = normalized.url.replace(/^https:/, 'http:')
      const retry = await collectSite(fetcher, gradedUrl, collectOptions)
      if (retry.ok) collected = retry
    }
    if (!collected.ok) return { ok: false, error: collected.error }
    const site = collected.site
    const scored = scoreSite(site)
    return {
      ok: true,
      result: {
        requestedUrl: input,
        normalizedUrl: normalized.url,
        finalUrl: site.finalUrl,
        gradedAt: site.fetchedAt,
        total: scored.total,
        band: scored.band,
        categories: scored.categories,
        checks: scored.checks,
        platform: scored.platform,
        topProblems: scored.topProblems,
        otherIssueCount: Math.max(0, scored.issueCount - scored.topProblems.length),
        rubricVersion: GRADER_RUBRIC_VERSION,
        durationMs: Math.round(performance.now() - started),
      },
    }
  } finally {
    await fetcher.close()
  }
}

/** What a visitor sees before unlocking: scores and problem titles, none of the evidence. */
export function teaserOf(result: GradeResult): Teaser {
  return {
    total: result.total,
    band: result.band,
    categories: result.categories.map((c) => ({
      id: c.id,
      title: c.title,
      points: c.points,
      score: c.score,
    })),
    topProblems: [...result.topProblems],
    otherIssueCount: result.otherIssueCount,
  }
}
