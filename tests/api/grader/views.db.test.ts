import { describe, expect, it } from 'vitest'
import { contacts, deals, graderReports, graderUnlocks } from '../../../api/db/schema.ts'
import { teaserOf, type GradeResult } from '../../../api/grader/engine/grade.ts'
import type { CheckResult } from '../../../api/grader/engine/checks/check.ts'
import { scoreChecks } from '../../../api/grader/engine/scoring.ts'
import { categoryReports, unlockTokenHash } from '../../../api/grader/reports.ts'
import {
  recentReportsView,
  reportView,
  reportViewJson,
  repReportView,
} from '../../../api/grader/views.ts'
import { newId } from '../../../api/ids.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'

// The grader's pages and GET /api/grader/:id read a report through one view, so what a visitor
// may see (teaser, or the full report once unlocked) is decided once.

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')

const check = (
  id: string,
  category: CheckResult['category'],
  score: number | null,
): CheckResult => ({
  id,
  category,
  title: `Check ${id}`,
  score,
  weight: 1,
  evidence: { summary: `What we found for ${id}`, items: [{ url: `https://shop.example/${id}` }] },
  fix: score === 1 ? '' : `How to fix ${id}`,
})
const checks = [
  check('lcp', 'performance', 0.2),
  check('cls', 'performance', 1),
  check('title', 'seo', 0.5),
  check('viewport', 'mobile', 1),
  check('https', 'security', 0),
]
const card = scoreChecks(checks)
const result: GradeResult = {
  requestedUrl: 'shop.example',
  normalizedUrl: 'https://shop.example/',
  finalUrl: 'https://shop.example/',
  gradedAt: '2026-11-29T09:00:00.000Z',
  total: card.total,
  band: card.band,
  categories: card.categories,
  checks,
  platform: null,
  topProblems: card.topProblems,
  otherIssueCount: card.issueCount - card.topProblems.length,
  rubricVersion: 'test',
  durationMs: 60,
}

async function report(status: 'pending' | 'done', createdAt: Date, host = 'shop.example') {
  const [row] = await db
    .insert(graderReports)
    .values({
      id: newId(createdAt.getTime()),
      normalizedUrl: `https://${host}/`,
      host,
      status,
      createdAt,
      ...(status === 'done'
        ? {
            finalUrl: result.finalUrl,
            total: result.total,
            band: result.band,
            result,
            teaser: teaserOf(result),
            rubricVersion: result.rubricVersion,
            completedAt: createdAt,
          }
        : {}),
    })
    .returning()
  return row!
}

const done = await report('done', new Date('2026-11-29T09:00:00Z'))
const grading = await report('pending', new Date('2026-11-29T09:30:00Z'), 'slow.example')
// The browser that unlocked `done` holds this token in its cookie; the emailed link another.
const cookieToken = 'abcdefghijklmnopqrstuvwxyz234567'
const linkToken = 'zyxwvutsrqponmlkjihgfedcba765432'
const contactId = newId()
await db.insert(contacts).values({
  id: contactId,
  email: 'ann@shop.example',
  emailDisplay: 'ann@shop.example',
  firstName: 'Ann',
  lastName: 'Buyer',
  companyName: 'Shop',
  source: 'grader',
})
const dealId = newId()
await db.insert(deals).values({
  id: dealId,
  contactId,
  title: 'Shop',
  stage: 'target',
  source: 'grader',
  stageEnteredAt: new Date('2026-11-29T09:05:00Z'),
})
await db.insert(graderUnlocks).values([
  {
    id: newId(),
    reportId: done.id,
    contactId,
    tokenHash: unlockTokenHash(done.id, cookieToken),
    createdAt: new Date('2026-11-29T09:05:00Z'),
  },
  {
    id: newId(),
    reportId: done.id,
    contactId,
    tokenHash: unlockTokenHash(done.id, linkToken),
    createdAt: new Date('2026-11-29T09:06:00Z'),
  },
])

const apiReport = async (id: string, init: { cookie?: string; key?: string } = {}) => {
  const res = await ctx.app.request(`/api/grader/${id}${init.key ? `?key=${init.key}` : ''}`, {
    headers: init.cookie ? { cookie: init.cookie } : {},
  })
  return { status: res.status, body: await res.json() }
}
/** What a value looks like once it went through JSON (dates become strings). */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value))

describe('one report, as the public page and GET /api/grader/:id show it', () => {
  it('shows an anonymous visitor the teaser only, with no check’s evidence or fix', async () => {
    const view = await reportView(db, done.id, { user: null, tokens: [] })
    expect(view).toMatchObject({ ok: true, unlocked: false, result: null, categories: null })
    if (!view.ok) throw new Error('expected the report')
    expect(view.teaser?.total).toBe(result.total)
    const api = await apiReport(done.id)
    expect(api.status).toBe(200)
    expect(api.body.report).toEqual(asJson(reportViewJson(view)))
    expect(api.body.report.unlocked).toBe(false)
    expect(JSON.stringify(api.body)).not.toContain('How to fix')
    expect(JSON.stringify(api.body)).not.toContain('What we found')
  })

  it('opens the full report for the browser that unlocked it and for the emailed link', async () => {
    for (const [tokens, request] of [
      [[cookieToken, null], { cookie: `fd_grader=${cookieToken}` }],
      [[undefined, linkToken], { key: linkToken }],
    ] as const) {
      const view = await reportView(db, done.id, { user: null, tokens: [...tokens] })
      if (!view.ok) throw new Error('expected the report')
      expect(view.unlocked).toBe(true)
      expect(view.categories).toEqual(categoryReports(result))
      const api = await apiReport(done.id, request)
      expect(api.body.report.unlocked).toBe(true)
      expect(api.body.report.full.categories).toEqual(asJson(view.categories))
      expect(api.body.report).toEqual(asJson(reportViewJson(view)))
    }
  })

  it('does not open it for another report’s token or a token of the wrong shape', async () => {
    const other = await report('done', new Date('2026-11-29T08:00:00Z'), 'other.example')
    for (const tokens of [[cookieToken], ['not a token'], [null, '']]) {
      const view = await reportView(db, other.id, { user: null, tokens })
      expect(view).toMatchObject({ ok: true, unlocked: false, categories: null })
    }
    expect(
      (await apiReport(other.id, { cookie: `fd_grader=${cookieToken}` })).body.report,
    ).not.toHaveProperty('full')
  })

  it('shows a signed-in rep the full report, and a report still being graded to nobody in full', async () => {
    const view = await reportView(db, done.id, { user: rep.user, tokens: [] })
    expect(view).toMatchObject({ ok: true, unlocked: true })
    expect((await apiReport(done.id, { cookie: rep.cookie })).body.report.full).toBeDefined()

    const pending = await reportView(db, grading.id, { user: rep.user, tokens: [] })
    expect(pending).toMatchObject({ ok: true, unlocked: false, teaser: null, result: null })
    if (!pending.ok) throw new Error('expected the report')
    const api = await apiReport(grading.id, { cookie: rep.cookie })
    expect(api.body.report).toEqual(asJson(reportViewJson(pending)))
    expect(api.body.report).toMatchObject({ status: 'pending', host: 'slow.example' })
  })

  it('answers an unknown or malformed id with the same 404 message', async () => {
    for (const id of [newId(), 'not-a-report']) {
      const view = await reportView(db, id, { user: null, tokens: [] })
      expect(view).toEqual({
        ok: false,
        status: 404,
        code: 'not_found',
        message: 'There is no grader report with this id.',
      })
      const api = await apiReport(id)
      expect(api.status).toBe(404)
      expect(api.body.error).toEqual({ code: 'not_found', message: view.ok ? '' : view.message })
    }
  })
})

describe('the reps’ grader pages', () => {
  it('show one grading in full with who unlocked it (once per person) and their open deal', async () => {
    const view = await repReportView(db, rep.user, done.id)
    if (!view.ok) throw new Error('expected the report')
    expect(view.categories).toEqual(categoryReports(result))
    expect(view.unlockers).toEqual([
      {
        contactId,
        name: 'Ann Buyer',
        email: 'ann@shop.example',
        company: 'Shop',
        dealId,
        at: new Date('2026-11-29T09:05:00Z'),
      },
    ])
  })

  it('list recent gradings newest first, or only the unlocked ones', async () => {
    const all = await recentReportsView(db, rep.user, {})
    if (!all.ok) throw new Error('expected the list')
    expect(all.items.map((r) => r.host).slice(0, 2)).toEqual(['slow.example', 'shop.example'])
    const unlocked = await recentReportsView(db, rep.user, { unlockedOnly: true })
    if (!unlocked.ok) throw new Error('expected the list')
    expect(unlocked.items.map((r) => r.id)).toEqual([done.id])
    expect(unlocked.items[0]!.unlockedBy.map((u) => u.email)).toEqual(['ann@shop.example'])
  })

  it('refuse someone who is not signed in, and say when a report does not exist', async () => {
    expect(await repReportView(db, null, done.id)).toMatchObject({ ok: false, status: 403 })
    expect(await recentReportsView(db, null, {})).toMatchObject({ ok: false, status: 403 })
    expect(await repReportView(db, rep.user, newId())).toMatchObject({ ok: false, status: 404 })
  })
})
