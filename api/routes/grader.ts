import { Hono, type Context } from 'hono'
import { z } from 'zod'
import {
  findReport,
  GRADER_COOKIE,
  GRADER_COOKIE_MAX_AGE,
  graderSettingsFrom,
  plausibleToken,
  reportJson,
  requestGrade,
} from '../grader/reports.ts'
import { checkUnlockPost, unlockReport } from '../grader/unlocks.ts'
import { reportView, reportViewJson } from '../grader/views.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { readCookie, secureCookies } from '../http/cookies.ts'
import { clipEncoded, refuse } from '../http/form-or-json.ts'
import { fail, readBody, wantsJson } from '../http/input.ts'
import { newToken } from '../ids.ts'
import { leadContext } from '../leads/context.ts'
import { FIRST_TOUCH_COOKIE, parseFirstTouch } from '../leads/first-touch.ts'
import { postSchema } from '../leads/lead-form.ts'
import { requestHash } from '../idempotency.ts'
import { quarantineAdvice, screenLeadPost } from '../leads/spam.ts'

// The website grader. POST / starts a grading (or reuses a fresh one) and answers at once: the
// plain form gets a 303 to the progress page /grader/<id>, JSON callers the report's id and
// status to poll. GET /:id is the report as this viewer may see it (teaser, or full when this
// browser unlocked it or a signed-in user with grader:read asks). POST /:id/unlock is the lead
// form that opens the full report.

const gradeSchema = z.strictObject({
  url: z
    .string({ message: 'Enter the address of a website.' })
    .max(2100, 'That address is too long.'),
})

export const graderRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { deps } = c.var
    const json = wantsJson(c)
    const { data } = await readBody(c, ['json', 'form'])
    const typed = typeof data.url === 'string' ? data.url.slice(0, 2100) : ''
    const parsed = gradeSchema.safeParse(data)
    if (!parsed.success) {
      const message = parsed.error.issues[0]?.message ?? 'Enter the address of a website.'
      return gradeError(c, 422, 'invalid_url', message, typed)
    }
    const ip = c.var.ip === 'unknown' ? null : c.var.ip
    const outcome = await requestGrade(
      deps.db,
      { url: parsed.data.url, ip },
      graderSettingsFrom(deps.env),
      deps.now(),
    )
    if (outcome.kind === 'invalid') return gradeError(c, 422, 'invalid_url', outcome.message, typed)
    if (outcome.kind === 'rate_limited') {
      c.header('Retry-After', String(outcome.retryAfterSeconds))
      return gradeError(c, 429, 'rate_limited', outcome.message, typed)
    }
    if (outcome.kind === 'started') deps.wakeups.wake('grader')
    const { report } = outcome
    c.var.log.info('grade requested', {
      reportId: report.id,
      host: report.host,
      reused: outcome.kind === 'reused',
    })
    const location = `/grader/${report.id}`
    if (!json) return c.redirect(location, 303)
    c.header('Location', location)
    return c.json(
      { report: reportJson(report, { full: false }), reused: outcome.kind === 'reused' },
      outcome.kind === 'started' ? 202 : 200,
    )
  })

  .get('/:id', async (c) => {
    const view = await reportView(c.var.db, c.req.param('id'), {
      // A signed-in person sees full reports; an API token has no scope for them.
      user: c.var.apiToken ? null : c.var.user,
      tokens: [readCookie(c.req.header('cookie'), GRADER_COOKIE), c.req.query('key')],
    })
    if (!view.ok) fail(view.status, view.code, view.message)
    c.header('Cache-Control', 'private, no-store')
    return c.json({ report: reportViewJson(view) })
  })

  .post('/:id/unlock', async (c) => {
    const { deps } = c.var
    const id = c.req.param('id')
    const json = wantsJson(c)
    const { data } = await readBody(c, ['form', 'json'])
    const report = await findReport(deps.db, id)
    if (!report) fail(404, 'not_found', 'There is no grader report with this id.')
    const checked = checkUnlockPost(data, id)
    if (!checked.ok)
      return unlockError(c, id, 422, 'invalid_input', checked.message, checked.fields)
    const form = checked.data

    const now = deps.now()
    const ip = c.var.ip === 'unknown' ? null : c.var.ip
    const reasons = await screenLeadPost(deps, {
      ip: c.var.ip,
      form,
      path: `/grader/${id}`,
      now,
      emailsAddress: true,
    })
    const cookie = readCookie(c.req.header('cookie'), GRADER_COOKIE)
    const visitorToken = plausibleToken(cookie) ? cookie : newToken()
    const result = await unlockReport(
      deps.db,
      {
        reportId: id,
        form,
        visitorToken,
        firstTouch: parseFirstTouch(readCookie(c.req.header('cookie'), FIRST_TOUCH_COOKIE)),
        ip,
        userAgent: c.req.header('user-agent')?.slice(0, 500) ?? null,
        spamReasons: reasons,
        requestHash: requestHash(data),
      },
      await leadContext(deps, now),
    )

    switch (result.kind) {
      case 'not_found':
        fail(404, 'not_found', 'There is no grader report with this id.')
      case 'not_ready':
        return unlockError(
          c,
          id,
          409,
          'not_ready',
          'This report is not ready yet. Wait until the grading has finished.',
        )
      case 'conflict':
        return unlockError(
          c,
          id,
          422,
          'idempotency_conflict',
          'This form was already sent with other details. Reload the page to send it again.',
        )
      case 'quarantined':
        c.var.log.info('grader unlock quarantined', { submissionId: result.submissionId, reasons })
        return unlockError(c, id, 422, 'not_confirmed', quarantineAdvice(reasons))
      case 'unlocked':
      case 'replayed': {
        if (result.kind === 'unlocked')
          c.var.log.info('grader report unlocked', {
            reportId: id,
            submissionId: result.submissionId,
            dealId: result.dealId,
          })
        c.header('Set-Cookie', visitorCookie(visitorToken, secureCookies(deps.env)), {
          append: true,
        })
        const redirect = `/grader/${id}?unlocked=1#report`
        if (!json) return c.redirect(redirect, 303)
        return c.json(
          { ok: true, redirect, report: reportJson(report, { full: true }) },
          result.kind === 'unlocked' ? 201 : 200,
        )
      }
    }
  })

function visitorCookie(token: string, secure: boolean): string {
  return `${GRADER_COOKIE}=${token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${GRADER_COOKIE_MAX_AGE}${secure ? '; Secure' : ''}`
}

/** The URL form's errors: JSON for API callers, back to /grader with the message for the form. */
function gradeError(
  c: Context<AppEnv>,
  status: 422 | 429,
  code: string,
  message: string,
  typed: string,
) {
  const echoed = typed ? echoOf(typed) : ''
  const params: Record<string, string> = echoed ? { url: echoed } : {}
  return refuse(c, '/grader#grade', { status, code, message, fields: { url: message } }, { params })
}

/**
 * How long what was typed may be once percent-encoded in the way back: with the error (at most
 * MAX_BACK_MESSAGE_ENCODED) the Location stays under the 4 KiB header buffer of nginx's default,
 * which answers a bigger one with a 502. 2,100 characters of "é" are 18 KB encoded.
 */
const MAX_TYPED_ENCODED = 2_048

/** What was typed, cut by code point until its encoded form fits MAX_TYPED_ENCODED. */
const echoOf = (typed: string) => clipEncoded(typed, MAX_TYPED_ENCODED)

function unlockError(
  c: Context<AppEnv>,
  id: string,
  status: 409 | 422,
  code: string,
  message: string,
  fields: Record<string, string> = {},
) {
  const field = Object.keys(fields)[0]
  const params: Record<string, string> = field ? { field } : {}
  return refuse(c, `/grader/${id}#unlock`, { status, code, message, fields }, { params })
}

const reportId = z.object({ id: z.string() })

export const operations: Operation<Permission>[] = [
  {
    method: 'post',
    path: '/api/grader',
    summary:
      'Grade a website (or reuse a fresh grading of it); answers at once with the report to poll.',
    auth: 'none',
    body: gradeSchema,
    ok: [202, '{ report, reused: false }: grading started; Location: the progress page.'],
    other: {
      200: '{ report, reused: true }: a fresh grading of the same site.',
      303: 'A plain form: on to the progress page /grader/<id>, or back with ?error=.',
    },
    errors: {
      422: 'Not the address of a public website (`invalid_url`).',
      429: 'Too many gradings from this address (`rate_limited`); see Retry-After.',
    },
  },
  {
    method: 'get',
    path: '/api/grader/{id}',
    summary:
      'A report as this viewer may see it: the teaser for everyone; the full report once done, for the browser that unlocked it, the emailed link’s key, or a signed-in user who may read gradings (never an API token).',
    auth: 'none',
    params: reportId,
    query: z.object({ key: z.string().optional().describe('The key from the report email.') }),
    ok: [200, '{ report }'],
  },
  {
    method: 'post',
    path: '/api/grader/{id}/unlock',
    summary:
      'The lead form that opens the full report (offer `grader:<id>`); the browser is given access.',
    auth: 'none',
    params: reportId,
    body: postSchema,
    ok: [201, '{ ok: true, redirect, report }; 200 when the same form is sent again.'],
    other: { 303: 'A plain form: on to the report, or back to the form with ?error=.' },
    errors: {
      409: 'The report is not ready yet (`not_ready`).',
      422: 'Invalid input, the form already sent with other details, or a post that could not be confirmed.',
    },
  },
]
