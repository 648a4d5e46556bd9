import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// Lighthouse's own implementation, to hold ours to it.
import { getLogNormalScore as lighthouseLogNormal } from 'lighthouse/shared/statistics.js'
import { CATEGORIES, type CheckResult } from '../../../../api/grader/engine/checks/check.ts'
import { gradeSite, teaserOf, type GradeResult } from '../../../../api/grader/engine/grade.ts'
import {
  CHECKS,
  GRADER_RUBRIC,
  GRADER_RUBRIC_VERSION,
} from '../../../../api/grader/engine/rubric.ts'
import { bandOf, getLogNormalScore, scoreChecks } from '../../../../api/grader/engine/scoring.ts'
import { fixtureHost, gradeOptions, startFixtureStage } from './fixture-stage.ts'
import type { Stage } from './loopback.ts'

let stage: Stage
beforeAll(async () => {
  stage = await startFixtureStage({
    'silent/index.html': () => {
      /* never answers */
    },
  })
  stage.dns.set(fixtureHost('silent'), ['127.0.0.3'])
})
afterAll(() => stage.close())

async function grade(url: string, extra = {}): Promise<GradeResult> {
  const outcome = await gradeSite(url, { ...gradeOptions(stage), ...extra })
  if (!outcome.ok) throw new Error(`grading failed: ${outcome.error.cause}`)
  return outcome.result
}

describe('gradeSite', () => {
  it('gives the well-built fixture site an A (90 or more)', async () => {
    const result = await grade(stage.tlsUrl(fixtureHost('good')))
    expect(result.total).toBeGreaterThanOrEqual(90)
    expect(result.band).toBe('A')
    expect(result.categories.map((c) => [c.id, c.points])).toEqual([
      ['performance', 30],
      ['seo', 30],
      ['mobile', 30],
      ['security', 10],
    ])
    expect(result.checks).toHaveLength(CHECKS.length)
    expect(result.platform?.name).toBe('Astro')
    expect(result.rubricVersion).toBe(GRADER_RUBRIC_VERSION)
    expect(result.normalizedUrl).toBe(stage.tlsUrl(fixtureHost('good')))
    expect(result.durationMs).toBeGreaterThan(0)
  })

  it('gives the badly built fixture site 40 or less, and names what costs the most', async () => {
    const result = await grade(stage.url(fixtureHost('bad'), '/start'))
    expect(result.total).toBeLessThanOrEqual(40)
    expect(result.band).toBe('F')
    expect(result.finalUrl).toBe(stage.url(fixtureHost('bad'), '/index.html'))
    expect(result.topProblems).toEqual([
      'Does not have a <meta name="viewport"> tag with width or initial-scale',
      'Page is blocked from indexing',
      'Document doesn’t use legible font sizes',
    ])
    expect(result.otherIssueCount).toBeGreaterThan(10)
    const failing = result.checks.filter((c) => c.score !== null && c.score < 0.9 && c.weight > 0)
    expect(failing).toHaveLength(result.otherIssueCount + 3)
    expect(
      result.checks.find((c) => c.id === 'vulnerable-libraries')?.evidence.items[0],
    ).toMatchObject({
      library: 'jquery',
      version: '1.8.2',
    })
  })

  it('detects the platform from generator, headers and asset paths', async () => {
    const result = await grade(stage.url(fixtureHost('wordpress')))
    expect(result.platform).toEqual({
      name: 'WordPress',
      evidence: [
        'generator: WordPress 6.6.2',
        expect.stringMatching(/^asset .*\/wp-(content|includes)\//),
      ],
    })
  })

  it('answers invalid input with a clear message and no request', async () => {
    const before = stage.requests.length
    const outcome = await gradeSite('not a url at all', gradeOptions(stage))
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: 'invalid_url', message: 'That is not a valid web address.' },
    })
    expect(stage.requests.length).toBe(before)
  })

  it('tries plain http when an address typed without a scheme has no https', async () => {
    const result = await grade(`${fixtureHost('pages')}:${stage.port}/seo-pass.html`)
    expect(result.normalizedUrl).toBe(`https://${fixtureHost('pages')}:${stage.port}/seo-pass.html`)
    expect(result.finalUrl).toBe(stage.url(fixtureHost('pages'), '/seo-pass.html'))
  })

  it('reports a refused, a blocked and a silent site the same way, within the deadline', async () => {
    const outcomes = await Promise.all([
      gradeSite(`http://127.0.0.1:${stage.port}/`, gradeOptions(stage)),
      gradeSite(stage.url(fixtureHost('nowhere')), gradeOptions(stage)),
      // The request may wait a minute, past the test's own timeout: only the deadline ends it.
      gradeSite(stage.url(fixtureHost('silent'), '/index.html'), {
        ...gradeOptions(stage),
        deadlineMs: 1_000,
        requestTimeoutMs: 60_000,
      }),
    ])
    const visible = outcomes.map((o) =>
      o.ok ? null : { code: o.error.code, message: o.error.message },
    )
    expect(new Set(visible.map((v) => JSON.stringify(v))).size).toBe(1)
    expect(visible[0]?.code).toBe('unreachable')
    expect(stage.canary.connections).toBe(0)
  })
})

describe('teaserOf', () => {
  it('gives the total, band, category scores, top-3 titles and a count, and nothing else', async () => {
    const result = await grade(stage.url(fixtureHost('bad'), '/start'))
    const teaser = teaserOf(result)
    expect(Object.keys(teaser).sort()).toEqual([
      'band',
      'categories',
      'otherIssueCount',
      'topProblems',
      'total',
    ])
    for (const category of teaser.categories) {
      expect(Object.keys(category).sort()).toEqual(['id', 'points', 'score', 'title'])
    }
    const text = JSON.stringify(teaser)
    // No evidence, fixes, URLs or per-check detail from the gated report.
    for (const check of result.checks) {
      if (check.evidence.summary !== '') expect(text).not.toContain(check.evidence.summary)
      if (check.fix !== '') expect(text).not.toContain(check.fix)
    }
    expect(text).not.toContain('frontdoor-fixture.com')
    expect(text).not.toContain('jquery')
  })
})

describe('the rubric', () => {
  it('splits 100 points as Performance 30, SEO 30, Mobile 30, Security 10, with weights that add up', () => {
    expect(CATEGORIES.reduce((s, c) => s + c.points, 0)).toBe(100)
    for (const category of GRADER_RUBRIC.categories) {
      const weights = category.checks.reduce((s, c) => s + c.weight, 0)
      expect(weights, category.id).toBe(category.points)
    }
    expect(JSON.parse(JSON.stringify(GRADER_RUBRIC)).version).toBe(GRADER_RUBRIC_VERSION)
  })

  it('has the checks and weights of the spec', () => {
    const weights = Object.fromEntries(CHECKS.map((c) => [c.id, c.weight]))
    expect(weights).toEqual({
      'page-weight': 6,
      'request-count': 4,
      'response-time': 6,
      redirects: 3,
      'cache-headers': 3,
      'minified-code': 3,
      'text-compression': 2,
      'image-optimization': 3,
      'is-crawlable': 8,
      'document-title': 4,
      'meta-description': 4,
      'http-status-code': 3,
      'link-text': 2,
      'crawlable-anchors': 1,
      'single-h1': 2,
      'image-alt': 2,
      canonical: 1,
      hreflang: 1,
      'robots-txt': 1,
      sitemap: 1,
      viewport: 14,
      'font-size': 6,
      'tap-targets': 6,
      'responsive-images': 4,
      'is-on-https': 5,
      'vulnerable-libraries': 2,
      'redirects-http': 1,
      hsts: 1,
      'mixed-content': 1,
      'security-headers': 0,
    })
  })
})

describe('scoring', () => {
  it('computes the log-normal score exactly as Lighthouse does', () => {
    const curves = [
      { p10: 2667 * 1024, median: 4000 * 1024 },
      { p10: 600, median: 1600 },
      { p10: 1, median: 2 },
    ]
    for (const curve of curves) {
      for (const factor of [0, 0.01, 0.3, 0.9, 1, 1.2, 2, 3.5, 10, 1e6]) {
        const value = curve.median * factor
        expect(getLogNormalScore(curve, value)).toBe(lighthouseLogNormal(curve, value))
      }
    }
  })

  it('puts band boundaries at 90, 80, 70 and 60', () => {
    expect([100, 90, 89, 80, 79, 70, 69, 60, 59, 0].map(bandOf)).toEqual([
      'A',
      'A',
      'B',
      'B',
      'C',
      'C',
      'D',
      'D',
      'F',
      'F',
    ])
  })

  const result = (
    id: string,
    category: CheckResult['category'],
    weight: number,
    score: number | null,
  ): CheckResult => ({
    id,
    category,
    title: id,
    score,
    weight,
    evidence: { summary: '', items: [] },
    fix: '',
  })

  it('leaves a check that was not measured out of its category', () => {
    const card = scoreChecks([
      result('viewport', 'mobile', 14, 1),
      result('font-size', 'mobile', 6, 0),
      result('tap-targets', 'mobile', 6, null),
      result('responsive-images', 'mobile', 4, null),
    ])
    // 14 of the 20 measurable weight: 30 × 14/20.
    expect(card.categories.find((c) => c.id === 'mobile')?.score).toBe(21)
  })

  it('scales the total to the categories that could be measured', () => {
    const card = scoreChecks([result('a', 'performance', 6, 1), result('b', 'seo', 8, 0.5)])
    expect(card.categories.map((c) => c.score)).toEqual([30, 15, null, null])
    expect(card.total).toBe(75)
  })
})
