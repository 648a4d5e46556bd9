import { count, eq } from 'drizzle-orm'
import { beforeEach, describe, expect, it } from 'vitest'
import {
  consentEvents,
  contacts,
  dealEvents,
  deals,
  graderReports,
  outbox,
  submissions,
} from '../../../api/db/schema.ts'
import type { GradeResult } from '../../../api/grader/engine/grade.ts'
import { GRADER_RUBRIC_VERSION } from '../../../api/grader/engine/rubric.ts'
import { API_SCOPES } from '../../../api/accounts/api-scopes.ts'
import { createApiToken } from '../../../api/integrations/api-tokens.ts'
import { FORM_TOKEN_MAX_USES, issueFormToken } from '../../../api/leads/form-tokens.ts'
import { hitRateLimit } from '../../../api/rate-limits.ts'
import { ORIGIN, signedInAs } from '../../helpers.ts'
import {
  freshIp,
  getReport,
  gradedReport,
  postGrade,
  postUnlock,
  secureSiteUrl,
  settled,
  siteUrl,
  startGraderTestApp,
  unlockForm,
} from './grader-helpers.ts'

const app = await startGraderTestApp({
  routes: {
    // Accepts the connection and never answers: a timed-out target.
    'silent/': () => {},
    // Answers, but with an error page.
    'down/': (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>Down</title><h1>Service unavailable</h1>')
    },
    // Answers at once, then sends its page a byte every 50 ms, past the grading's time limit.
    'drip/': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      const timer = setInterval(() => res.write('.'), 50)
      res.on('close', () => clearInterval(timer))
    },
  },
  jobs: { deadlineMs: 2_500 },
})
const { ctx, stage } = app
const { db } = ctx.deps
stage.dns.set('silent.frontdoor-fixture.com', ['127.0.0.3'])
stage.dns.set('refused.frontdoor-fixture.com', ['127.0.0.3'])
stage.dns.set('down.frontdoor-fixture.com', ['127.0.0.3'])
stage.dns.set('drip.frontdoor-fixture.com', ['127.0.0.3'])

// Every test starts in a new rate-limit window with no fresh cached reports; no claim is under
// way across the jump (it would lease a job with the time before it: reports.db.test.ts).
beforeEach(async () => {
  await app.jobs.idle()
  ctx.clock.advance(11 * 60_000)
})

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Table = any
const rows = async <T>(table: Table, where: ReturnType<typeof eq>) =>
  (await db.select().from(table).where(where)) as T[]
const countOf = async (table: Table, where: ReturnType<typeof eq>) =>
  (await db.select({ n: count() }).from(table).where(where))[0]!.n

describe('POST /api/grader', () => {
  it('sends the plain form to the progress page, which turns into a graded report', async () => {
    const res = await postGrade(ctx, secureSiteUrl(app, 'good'), { js: false })
    expect(res.status).toBe(303)
    const location = res.headers.get('location')!
    expect(location).toMatch(/^\/grader\/[0-9a-f-]{36}$/)
    const id = location.split('/').pop()!
    const pending = await getReport(ctx, id)
    expect(['pending', 'running', 'done']).toContain(pending.body.report.status)

    const row = await settled(ctx, id)
    expect(row.status).toBe('done')
    expect(row.total).toBeGreaterThanOrEqual(90)
    expect(row.band).toBe('A')
    expect(row.platform).toBe('Astro')
    expect(row.rubricVersion).toBe(GRADER_RUBRIC_VERSION)
    const { body } = await getReport(ctx, id)
    expect(body.report.teaser.total).toBe(row.total)
    expect(body.report.teaser.categories.map((c: { id: string }) => c.id)).toEqual([
      'performance',
      'seo',
      'mobile',
      'security',
    ])
  })

  it('answers a JSON caller with 202, the report to poll and its address', async () => {
    const res = await postGrade(ctx, siteUrl(app, 'wordpress'))
    expect(res.status).toBe(202)
    const body = await res.json()
    expect(body.reused).toBe(false)
    expect(body.report).toMatchObject({
      status: 'pending',
      host: 'wordpress.frontdoor-fixture.com',
    })
    expect(res.headers.get('location')).toBe(`/grader/${body.report.id}`)
    await settled(ctx, body.report.id)
  })

  it('identifies itself to the graded site with the product’s user agent', async () => {
    const before = stage.requests.length
    await gradedReport(app, siteUrl(app, 'wordpress', '/?ua'))
    const seen = stage.requests.slice(before).map((r) => r.userAgent)
    expect(seen.length).toBeGreaterThan(0)
    expect(new Set(seen)).toEqual(new Set([`FrontdoorGrader/1.0 (+${ORIGIN}/grader)`]))
  })

  it('reuses a report of the same URL for 10 minutes without fetching the site again', async () => {
    const first = await gradedReport(app, siteUrl(app, 'wordpress', '/?cached'))
    const fetched = stage.requests.length

    ctx.clock.advance(9 * 60_000)
    const again = await postGrade(ctx, `${siteUrl(app, 'wordpress', '/?cached')}#section`)
    expect(again.status).toBe(200)
    const body = await again.json()
    expect(body.reused).toBe(true)
    expect(body.report.id).toBe(first.id)
    expect(body.report.status).toBe('done')
    expect(stage.requests.length).toBe(fetched)

    ctx.clock.advance(2 * 60_000)
    const later = await postGrade(ctx, siteUrl(app, 'wordpress', '/?cached'))
    expect(later.status).toBe(202)
    const fresh = (await later.json()).report.id
    expect(fresh).not.toBe(first.id)
    await settled(ctx, fresh)
  })

  it('does not reuse a failed grading: the visitor may have fixed the site', async () => {
    const failed = await gradedReport(
      app,
      `http://refused.frontdoor-fixture.com:${app.closedPort}/`,
    )
    expect(failed.status).toBe('failed')
    const retry = await postGrade(ctx, `http://refused.frontdoor-fixture.com:${app.closedPort}/`)
    expect(retry.status).toBe(202)
    expect((await retry.json()).report.id).not.toBe(failed.id)
  })

  describe('refuses bad input with a 4xx that says what is wrong', () => {
    it.each([
      ['an empty address', { url: '' }, 'Enter the address of a website.'],
      [
        'a non-http scheme',
        { url: 'ftp://files.example.com/' },
        'Only http:// and https:// addresses can be graded.',
      ],
      [
        'a non-standard port',
        { url: 'https://example.com:8443/' },
        'Only websites on the standard ports (80 and 443) can be graded.',
      ],
      [
        'credentials in the URL',
        { url: 'https://user:pw@example.com/' },
        'Remove the user name and password from the address.',
      ],
      [
        'something that is no address',
        { url: 'http://exa mple.com/' },
        'That is not a valid web address.',
      ],
      ['a number instead of text', { url: 42 }, 'Invalid input: expected string, received number'],
    ])('%s → 422', async (_, body, message) => {
      const res = await ctx.app.request('/api/grader', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': freshIp() },
        body: JSON.stringify(body),
      })
      expect(res.status).toBe(422)
      const { error } = await res.json()
      expect(error.code).toBe('invalid_url')
      if (typeof body.url === 'string') expect(error.message).toBe(message)
      expect(error.fields.url).toBe(error.message)
    })

    it('a missing url or an unknown field → 422', async () => {
      for (const body of [{}, { url: 'example.com', extra: 1 }]) {
        const res = await ctx.app.request('/api/grader', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': freshIp() },
          body: JSON.stringify(body),
        })
        expect(res.status).toBe(422)
      }
    })

    it('an over-long address → 422', async () => {
      const res = await postGrade(ctx, `https://example.com/${'a'.repeat(2100)}`)
      expect(res.status).toBe(422)
    })

    it('a body that is not JSON or a form → 415; broken JSON → 400', async () => {
      const text = await ctx.app.request('/api/grader', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN },
        body: 'https://example.com',
      })
      expect(text.status).toBe(415)
      const broken = await ctx.app.request('/api/grader', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"url":',
      })
      expect(broken.status).toBe(400)
    })

    it('sends the plain form back to /grader with the message and what was typed', async () => {
      const res = await postGrade(ctx, 'ftp://files.example.com/', { js: false })
      expect(res.status).toBe(303)
      const location = new URL(res.headers.get('location')!, ORIGIN)
      expect(location.pathname).toBe('/grader')
      expect(location.searchParams.get('error')).toBe(
        'Only http:// and https:// addresses can be graded.',
      )
      expect(location.searchParams.get('url')).toBe('ftp://files.example.com/')
    })

    it('keeps the Location small enough for any proxy when what was typed is long', async () => {
      // 2,100 characters of "é" (the most the route reads): 18 KB once percent-encoded, which a
      // proxy with nginx's default 4 KiB header buffer answers with a 502 instead of the form.
      const typed = `https://example.com/${'é'.repeat(2_080)}`
      const res = await postGrade(ctx, typed, { js: false })
      expect(res.status).toBe(303)
      const raw = res.headers.get('location')!
      expect(raw.length).toBeLessThan(4096)
      const location = new URL(raw, ORIGIN)
      expect(location.searchParams.get('error')).toBe(
        'That address is longer than 2048 characters.',
      )
      const echoed = location.searchParams.get('url')!
      expect(echoed.length).toBeGreaterThan(200)
      expect(typed.startsWith(echoed)).toBe(true)
    })

    it('refuses a cross-site form post', async () => {
      const res = await ctx.app.request('/api/grader', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: 'https://evil.example',
        },
        body: 'url=example.com',
      })
      expect(res.status).toBe(403)
    })
  })
})

describe('targets the grader must not reach, and ones that do not answer', () => {
  it('tells the visitor the same thing for blocked, refused and timed-out targets', async () => {
    const canaryBefore = stage.canary.connections
    const targets = [
      `http://127.0.0.1:${stage.port}/`, // loopback, not on the allow-list (a canary listens there)
      'http://127.0.0.1/',
      'http://10.0.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://localhost/',
      'http://printer.local/',
      'intranet',
      `http://inward-name.frontdoor-fixture.com:${stage.port}/`, // a public-looking name pointing inward
      `http://refused.frontdoor-fixture.com:${app.closedPort}/`, // connection refused
      `http://silent.frontdoor-fixture.com:${stage.port}/`, // never answers
    ]
    const answers = []
    for (const target of targets) {
      const res = await postGrade(ctx, target)
      expect(res.status, target).toBe(202)
      const { report } = await res.json()
      await settled(ctx, report.id)
      const { body } = await getReport(ctx, report.id)
      answers.push({
        target,
        status: body.report.status,
        error: body.report.error,
        keys: Object.keys(body.report).sort(),
      })
    }
    for (const answer of answers) {
      expect(answer, answer.target).toEqual({
        target: answer.target,
        status: 'failed',
        error: {
          code: 'unreachable',
          message: 'We could not reach that website. Check the address and try again.',
        },
        keys: answers[0]!.keys,
      })
    }
    expect(stage.canary.connections).toBe(canaryBefore)
  })
})

describe('sites that answer but cannot be graded', () => {
  it('gives an error page no grade, and tells the visitor its status', async () => {
    const row = await gradedReport(app, siteUrl(app, 'down'))
    expect(row).toMatchObject({ status: 'failed', error: 'http_error:503', total: null })
    const { body } = await getReport(ctx, row.id)
    expect(body.report.error).toEqual({
      code: 'http_error',
      httpStatus: 503,
      message:
        'That page answered 503 Service Unavailable: we can only grade a page that loads. Check the address, or try again once the site is back.',
    })
    expect(body.report.teaser).toBeUndefined()
  })

  it('says a page that kept dripping past the time limit was too slow, not unreachable', async () => {
    const row = await gradedReport(app, siteUrl(app, 'drip'))
    const { body } = await getReport(ctx, row.id)
    // The grading's limit here is 2.5 s (jobs.deadlineMs), the request's too.
    const { seconds } = body.report.error
    expect(seconds).toBeGreaterThanOrEqual(2)
    expect(body.report.error).toEqual({
      code: 'too_slow',
      seconds,
      message: `That website answered but took too long to send its page (over ${seconds} s). Try again in a while.`,
    })
  })
})

describe('rate limits', () => {
  it('allows 10 gradings per client IP in 10 minutes, then answers 429 with a clear message', async () => {
    const ip = freshIp()
    // Cache hits count too: the limit is on the visitor, not on the work.
    for (let i = 0; i < 10; i++) {
      const res = await postGrade(ctx, siteUrl(app, 'good', '/?ip-limit'), { ip })
      expect(res.status).toBe(i === 0 ? 202 : 200)
    }
    const res = await postGrade(ctx, siteUrl(app, 'bad', '/?one-more'), { ip })
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    const { error } = await res.json()
    expect(error.code).toBe('rate_limited')
    expect(error.message).toMatch(
      /^You have graded 10 sites in a short time\. Please try again in \d+ (seconds|minutes)\.$/,
    )

    const form = await postGrade(ctx, siteUrl(app, 'bad', '/?one-more'), { ip, js: false })
    expect(form.status).toBe(303)
    expect(new URL(form.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      error.message,
    )

    // Another visitor is not affected.
    expect((await postGrade(ctx, siteUrl(app, 'bad', '/?other-visitor'))).status).toBe(202)
    await waitForQueue()
  })

  it('starts at most 5 new gradings of one host in 10 minutes, whoever asks', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await postGrade(ctx, siteUrl(app, 'norobots', `/?page-${i}`))
      expect(res.status).toBe(202)
    }
    // A cached report does not touch the site, so it does not count.
    const cached = await postGrade(ctx, siteUrl(app, 'norobots', '/?page-0'))
    expect(cached.status).toBe(200)

    const res = await postGrade(ctx, siteUrl(app, 'norobots', '/?page-5'))
    expect(res.status).toBe(429)
    const { error } = await res.json()
    expect(error.message).toMatch(
      /^norobots\.frontdoor-fixture\.com has been graded several times in the last few minutes\. Please try again in \d+ (seconds|minutes)\.$/,
    )
    // Other hosts are not affected.
    expect((await postGrade(ctx, siteUrl(app, 'wordpress', '/?host-limit'))).status).toBe(202)
    await waitForQueue()
  })
})

describe('the gate', () => {
  it('before unlock, shows scores and the top 3 problem titles, and no check’s evidence or fix', async () => {
    const row = await gradedReport(app, siteUrl(app, 'bad', '/start'))
    const result = row.result as GradeResult
    const { body } = await getReport(ctx, row.id)
    const { report } = body
    expect(Object.keys(report).sort()).toEqual(
      [
        'createdAt',
        'finalUrl',
        'gradedAt',
        'host',
        'id',
        'rubricVersion',
        'status',
        'teaser',
        'unlocked',
        'url',
      ].sort(),
    )
    expect(report.unlocked).toBe(false)
    expect(Object.keys(report.teaser).sort()).toEqual([
      'band',
      'categories',
      'otherIssueCount',
      'topProblems',
      'total',
    ])
    for (const category of report.teaser.categories)
      expect(Object.keys(category).sort()).toEqual(['id', 'points', 'score', 'title'])
    expect(report.teaser.topProblems).toEqual(result.topProblems)
    expect(report.teaser.topProblems).toHaveLength(3)
    expect(report.teaser.otherIssueCount).toBe(result.otherIssueCount)

    const text = JSON.stringify(body)
    for (const check of result.checks) {
      expect(text).not.toContain(JSON.stringify(check.evidence.summary).slice(1, -1))
      if (check.fix) expect(text).not.toContain(JSON.stringify(check.fix).slice(1, -1))
      if (!result.topProblems.includes(check.title))
        expect(text).not.toContain(JSON.stringify(check.title).slice(1, -1))
    }
    expect(text).not.toContain('jquery')
  })

  it('shows a signed-in rep the full report', async () => {
    const row = await gradedReport(app, siteUrl(app, 'bad', '/?reps'))
    const { cookie } = await signedInAs(ctx, 'rep')
    const { body } = await getReport(ctx, row.id, { cookie })
    expect(body.report.unlocked).toBe(true)
    const checks = body.report.full.categories.flatMap((c: { checks: unknown[] }) => c.checks)
    expect(checks).toHaveLength((row.result as GradeResult).checks.length)
  })

  it('does not show the full report to an API token, whatever its scopes', async () => {
    const row = await gradedReport(app, siteUrl(app, 'bad', '/?token'))
    const admin = await signedInAs(ctx, 'admin')
    const { token } = await createApiToken(
      db,
      admin.user.id,
      { name: 'crm', scopes: [...API_SCOPES], expiresAt: null },
      ctx.deps.now(),
    )
    const { status, body } = await getReport(ctx, row.id, { authorization: `Bearer ${token}` })
    expect(status).toBe(200)
    expect(body.report.unlocked).toBe(false)
    expect(body.report.full).toBeFalsy()
  })

  it('answers 404 for a report that does not exist', async () => {
    expect((await getReport(ctx, '0190f5d2-0000-7000-8000-000000000000')).status).toBe(404)
    expect((await getReport(ctx, 'not-an-id')).status).toBe(404)
  })
})

describe('POST /api/grader/:id/unlock', () => {
  it('makes one contact, one 10% deal with the grade as evidence and one report email, and opens the report for this browser', async () => {
    const row = await gradedReport(app, siteUrl(app, 'bad', '/?unlock'))
    const result = row.result as GradeResult
    const email = 'robin.hale@northwind-tools.com'
    const res = await postUnlock(ctx, row.id, unlockForm(ctx, row.id, { email }))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/grader/${row.id}?unlocked=1#report`)
    const setCookie = res.headers.get('set-cookie')!
    expect(setCookie).toMatch(
      /^fd_grader=[a-z2-7]{32}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=31536000$/,
    )
    const cookie = setCookie.split(';')[0]!

    const [contact] = await rows<typeof contacts.$inferSelect>(contacts, eq(contacts.email, email))
    expect(contact).toMatchObject({
      firstName: 'Robin',
      lastName: 'Hale',
      source: 'grader',
      companyName: 'Northwind Tools',
    })
    expect(await countOf(contacts, eq(contacts.email, email))).toBe(1)
    const dealRows = await rows<typeof deals.$inferSelect>(deals, eq(deals.contactId, contact!.id))
    expect(dealRows).toHaveLength(1)
    expect(dealRows[0]).toMatchObject({ stage: 'target', source: 'grader' })
    const evidence = await rows<typeof dealEvents.$inferSelect>(
      dealEvents,
      eq(dealEvents.dealId, dealRows[0]!.id),
    )
    const graded = evidence.find((e) => e.type === 'evidence')!.data as Record<string, unknown>
    expect(graded).toMatchObject({
      kind: 'grader',
      source: 'grader',
      score: row.total,
      band: 'F',
      platform: null,
      reportId: row.id,
    })
    expect(graded.failing).toEqual(
      result.checks
        .filter((c) => c.score !== null && c.score < 0.9 && c.weight > 0)
        .map((c) => c.title),
    )

    const [submission] = await rows<typeof submissions.$inferSelect>(
      submissions,
      eq(submissions.contactId, contact!.id),
    )
    expect(submission).toMatchObject({
      kind: 'grader',
      offer: `grader:${row.id}`,
      status: 'accepted',
    })
    expect(await countOf(consentEvents, eq(consentEvents.contactId, contact!.id))).toBe(1)
    // The deal's timeline names the unlock once (its browser's access and the email's key are
    // two rows of one unlock).
    const { cookie: rep } = await signedInAs(ctx, 'admin')
    const page = await ctx.app.request(`/api/deals/${dealRows[0]!.id}`, {
      headers: { cookie: rep },
    })
    const { timeline } = (await page.json()) as { timeline: { kind: string; title: string }[] }
    expect(timeline.filter((t) => t.kind === 'grader').map((t) => t.title)).toEqual([
      'Unlocked the grader report for bad.frontdoor-fixture.com',
    ])

    const mails = await rows<typeof outbox.$inferSelect>(outbox, eq(outbox.recipient, email))
    expect(mails).toHaveLength(1)
    const payload = mails[0]!.payload as { template: string; subject: string; text: string }
    expect(payload.template).toBe('grader-report-ready')
    expect(payload.subject).toBe(
      `Your website grade for bad.frontdoor-fixture.com: ${row.total}/100 (F)`,
    )
    const link = /(http:\/\/\S+\/grader\/\S+)/.exec(payload.text)![1]!
    expect(link).toMatch(new RegExp(`^${ORIGIN}/grader/${row.id}\\?key=[a-z2-7]{32}$`))

    // This browser now sees everything; a stranger still sees the teaser; the emailed link works anywhere.
    const mine = await getReport(ctx, row.id, { cookie })
    expect(mine.body.report.unlocked).toBe(true)
    const checks = mine.body.report.full.categories.flatMap(
      (c: { checks: Array<{ evidence: unknown; fix: string }> }) => c.checks,
    )
    expect(checks).toHaveLength(result.checks.length)
    expect(JSON.stringify(checks)).toContain('jquery')
    expect((await getReport(ctx, row.id)).body.report.unlocked).toBe(false)
    expect(
      (await getReport(ctx, row.id, { cookie: 'fd_grader=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' })).body
        .report.unlocked,
    ).toBe(false)
    const key = new URL(link).searchParams.get('key')!
    expect((await getReport(ctx, `${row.id}?key=${key}`)).body.report.unlocked).toBe(true)
    // A key opens its own report only.
    const other = await gradedReport(app, siteUrl(app, 'bad', '/?other'))
    expect((await getReport(ctx, `${other.id}?key=${key}`)).body.report.unlocked).toBe(false)
    expect((await getReport(ctx, other.id, { cookie })).body.report.unlocked).toBe(false)
  })

  it('answers the enhanced form with JSON it can follow, and keeps the browser’s token for the next report', async () => {
    const first = await gradedReport(app, siteUrl(app, 'wordpress', '/?js-1'))
    const res = await postUnlock(
      ctx,
      first.id,
      unlockForm(ctx, first.id, { email: 'kim@enhanced.example' }),
      { js: true },
    )
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body).toMatchObject({ ok: true, redirect: `/grader/${first.id}?unlocked=1#report` })
    expect(body.report.unlocked).toBe(true)
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!

    const second = await gradedReport(app, siteUrl(app, 'wordpress', '/?js-2'))
    const again = await postUnlock(
      ctx,
      second.id,
      unlockForm(ctx, second.id, { email: 'kim@enhanced.example' }),
      { js: true, cookie },
    )
    expect(again.headers.get('set-cookie')!.split(';')[0]).toBe(cookie)
    expect((await getReport(ctx, first.id, { cookie })).body.report.unlocked).toBe(true)
    expect((await getReport(ctx, second.id, { cookie })).body.report.unlocked).toBe(true)
    // Still one contact and one open deal, now with two pieces of grader evidence.
    const [contact] = await rows<typeof contacts.$inferSelect>(
      contacts,
      eq(contacts.email, 'kim@enhanced.example'),
    )
    const dealRows = await rows<typeof deals.$inferSelect>(deals, eq(deals.contactId, contact!.id))
    expect(dealRows).toHaveLength(1)
    const events = await rows<typeof dealEvents.$inferSelect>(
      dealEvents,
      eq(dealEvents.dealId, dealRows[0]!.id),
    )
    expect(events.filter((e) => e.type === 'evidence')).toHaveLength(2)
    expect(await countOf(outbox, eq(outbox.recipient, 'kim@enhanced.example'))).toBe(2)
  })

  it('treats a resent form (same idempotency key) as the same unlock: nothing new, this browser gets access', async () => {
    const row = await gradedReport(app, siteUrl(app, 'wordpress', '/?retry'))
    const fields = unlockForm(ctx, row.id, { email: 'retry@northwind-tools.com' })
    const first = await postUnlock(ctx, row.id, fields)
    expect(first.status).toBe(303)
    const retry = await postUnlock(ctx, row.id, fields)
    expect(retry.status).toBe(303)
    const cookie = retry.headers.get('set-cookie')!.split(';')[0]!
    expect((await getReport(ctx, row.id, { cookie })).body.report.unlocked).toBe(true)
    expect(await countOf(submissions, eq(submissions.email, 'retry@northwind-tools.com'))).toBe(1)
    expect(await countOf(outbox, eq(outbox.recipient, 'retry@northwind-tools.com'))).toBe(1)

    const changed = await postUnlock(ctx, row.id, { ...fields, name: 'Someone Else' }, { js: true })
    expect(changed.status).toBe(422)
    expect((await changed.json()).error.code).toBe('idempotency_conflict')
  })

  it('keeps a post that looks automated in quarantine: no contact, deal, email or access', async () => {
    const row = await gradedReport(app, siteUrl(app, 'wordpress', '/?bots'))
    const posts: Array<Record<string, string>> = [
      { email: 'bot1@spam.example', fax: 'http://spam.example' },
      { email: 'bot2@spam.example', formToken: '' },
    ]
    for (const fields of posts) {
      const res = await postUnlock(ctx, row.id, unlockForm(ctx, row.id, fields), { js: true })
      expect(res.status).toBe(422)
      expect((await res.json()).error).toMatchObject({
        code: 'not_confirmed',
        message:
          'We could not confirm that request. Please reload the page and send the form again.',
      })
      expect(res.headers.get('set-cookie')).toBeNull()
      const [submission] = await rows<typeof submissions.$inferSelect>(
        submissions,
        eq(submissions.email, fields.email!),
      )
      expect(submission).toMatchObject({ status: 'quarantined', contactId: null, kind: 'grader' })
      expect(await countOf(contacts, eq(contacts.email, fields.email!))).toBe(0)
      expect(await countOf(outbox, eq(outbox.recipient, fields.email!))).toBe(0)
    }
  })

  it('tells a quarantined visitor what gets them through: a few seconds more, or an hour when over the per-IP limit', async () => {
    const row = await gradedReport(app, siteUrl(app, 'wordpress', '/?advice'))
    const unlockAs = async (email: string, ip: string, fields: Record<string, string> = {}) => {
      const res = await postUnlock(ctx, row.id, unlockForm(ctx, row.id, { email, ...fields }), {
        js: true,
        ip,
      })
      expect(res.status).toBe(422)
      return (await res.json()).error
    }
    const renderedNow = issueFormToken(ctx.deps.secret, ctx.clock.now(), `/grader/${row.id}`)
    expect(await unlockAs('quick@advice.example', freshIp(), { formToken: renderedNow })).toEqual({
      code: 'not_confirmed',
      message:
        'We could not confirm that request. Please wait a few seconds and send the form again.',
      fields: {},
    })

    // Over the hourly per-IP limit (shared with the lead forms), a retry in a few seconds is
    // quarantined again: the advice is to come back in an hour, whatever else is wrong.
    const ip = freshIp()
    const limit = { limit: ctx.deps.env.LEADS_PER_IP_PER_HOUR, windowMs: 3_600_000 }
    for (let i = 0; i < limit.limit; i++)
      await hitRateLimit(db, `leads:ip:${ip}`, limit, ctx.clock.now())
    for (const [email, fields] of [
      ['limited@advice.example', {}],
      ['limited-quick@advice.example', { formToken: renderedNow }],
    ] as const) {
      expect((await unlockAs(email, ip, fields)).message).toBe(
        'We could not confirm that request. Please try again in an hour.',
      )
      expect(
        (await rows<typeof submissions.$inferSelect>(submissions, eq(submissions.email, email)))[0],
      ).toMatchObject({ status: 'quarantined' })
    }
  })

  it(`serves one rendered form for ${FORM_TOKEN_MAX_USES} posts, like the lead forms; the next post with it goes to quarantine`, async () => {
    const row = await gradedReport(app, siteUrl(app, 'wordpress', '/?reuse'))
    const { formToken } = unlockForm(ctx, row.id)
    const submissionOf = async (email: string) =>
      (await rows<typeof submissions.$inferSelect>(submissions, eq(submissions.email, email)))[0]!
    for (let i = 0; i < FORM_TOKEN_MAX_USES; i++) {
      const email = `colleague${i}@reuse.example`
      const fields = unlockForm(ctx, row.id, { email, formToken })
      expect((await postUnlock(ctx, row.id, fields)).status).toBe(303)
      // The same post again (a double click) is the same use.
      expect((await postUnlock(ctx, row.id, fields)).status).toBe(303)
      expect((await submissionOf(email)).status).toBe('accepted')
    }
    const res = await postUnlock(
      ctx,
      row.id,
      unlockForm(ctx, row.id, { email: 'one-too-many@reuse.example', formToken }),
      { js: true },
    )
    expect(res.status).toBe(422)
    expect((await res.json()).error).toMatchObject({
      code: 'not_confirmed',
      message: 'We could not confirm that request. Please reload the page and send the form again.',
    })
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await submissionOf('one-too-many@reuse.example')).toMatchObject({
      status: 'quarantined',
      spamReasons: ['form_token_reused'],
    })
    // A fresh page view is a fresh token.
    const fresh = unlockForm(ctx, row.id, { email: 'fresh@reuse.example' })
    expect((await postUnlock(ctx, row.id, fresh)).status).toBe(303)
    expect((await submissionOf('fresh@reuse.example')).status).toBe('accepted')
  })

  it('refuses bad input with its field, and a report that is not graded yet', async () => {
    const row = await gradedReport(app, siteUrl(app, 'wordpress', '/?bad-input'))
    const bad = await postUnlock(
      ctx,
      row.id,
      unlockForm(ctx, row.id, { email: 'not-an-address' }),
      { js: true },
    )
    expect(bad.status).toBe(422)
    expect((await bad.json()).error.fields).toEqual({
      email: 'Enter an email address like name@company.com.',
    })

    const wrongOffer = await postUnlock(
      ctx,
      row.id,
      unlockForm(ctx, row.id, { offer: 'whitepaper:x' }),
      { js: true },
    )
    expect(wrongOffer.status).toBe(422)

    const unknownField = await postUnlock(
      ctx,
      row.id,
      { ...unlockForm(ctx, row.id), admin: 'yes' },
      { js: true },
    )
    expect(unknownField.status).toBe(422)

    const plain = await postUnlock(ctx, row.id, unlockForm(ctx, row.id, { email: '' }))
    expect(plain.status).toBe(303)
    const back = new URL(plain.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/grader/${row.id}`)
    expect(back.searchParams.get('error')).toBe('Enter your work email address.')
    expect(back.searchParams.get('field')).toBe('email')

    const [pending] = await db
      .insert(graderReports)
      .values({
        id: '0190f5d2-1111-7000-8000-000000000001',
        normalizedUrl: 'https://pending.example/',
        host: 'pending.example',
        status: 'pending',
      })
      .returning()
    const early = await postUnlock(ctx, pending!.id, unlockForm(ctx, pending!.id), { js: true })
    expect(early.status).toBe(409)
    const missing = await postUnlock(
      ctx,
      '0190f5d2-2222-7000-8000-000000000002',
      unlockForm(ctx, '0190f5d2-2222-7000-8000-000000000002'),
      { js: true },
    )
    expect(missing.status).toBe(404)
    await db.delete(graderReports).where(eq(graderReports.id, pending!.id))
  })
})

/** Lets the runner finish what a test queued before the clock moves on. */
async function waitForQueue() {
  const open = await db
    .select({ id: graderReports.id, status: graderReports.status })
    .from(graderReports)
  for (const r of open)
    if (r.status === 'pending' || r.status === 'running') await settled(ctx, r.id)
}
