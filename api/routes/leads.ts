import { Hono, type Context } from 'hono'
import { html } from 'hono/html'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { readCookie, secureCookies } from '../http/cookies.ts'
import { readBody, wantsJson } from '../http/input.ts'
import { captureLead, type CaptureResult } from '../leads/capture.ts'
import { leadContext, offersFor } from '../leads/context.ts'
import { downloadCookie } from '../leads/download-cookie.ts'
import { FIRST_TOUCH_COOKIE, parseFirstTouch } from '../leads/first-touch.ts'
import { checkLeadPost, parseLeadPost, postSchema } from '../leads/lead-form.ts'
import { requestHash } from '../idempotency.ts'
import type { OfferInfo } from '../leads/offers.ts'
import { htmlPage, leadFormErrorPage } from '../leads/page.ts'
import { screenLeadPost } from '../leads/spam.ts'

// POST /api/leads: the gated forms. A plain form post gets a 303 to the thank-you page (or the
// form again with its errors); the enhanced form (Accept: application/json) gets JSON.

export const leadRoutes = new Hono<AppEnv>().post('/', async (c) => {
  const { deps } = c.var
  // Form-encoded only: a JSON body where the form is expected is refused (415).
  const { data } = await readBody(c, ['form'])
  const json = wantsJson(c)
  const offers = await offersFor(deps)
  const values = stringValues(data)
  const offerOf = (key: unknown) => (typeof key === 'string' ? offers.find(key) : null)

  const shape = parseLeadPost(data)
  if (!shape.ok) return invalid(c, json, offerOf(data.offer), values, shape.message, shape.fields)
  const offer = offerOf(shape.post.offer)
  if (!offer) {
    const message = 'This form is not available any more. Please reload the page.'
    return invalid(c, json, null, values, message, { offer: message })
  }
  const checked = checkLeadPost(shape.post, offer)
  if (!checked.ok) return invalid(c, json, offer, values, checked.message, checked.fields)
  const form = checked.data

  const now = deps.now()
  // A replay (same idempotency key) is answered inside captureLead, which claims the key first.
  const ip = c.var.ip === 'unknown' ? null : c.var.ip
  const screened = await screenLeadPost(deps, {
    ip: c.var.ip,
    form,
    path: offer.path,
    now,
    emailsAddress: offer.file !== null,
  })
  // Past the per-address limit alone, the post is a lead like any other and its file is on the
  // thank-you page; only the email is withheld (a person keen on several files is not a bot).
  const withholdEmail = screened.length === 1 && screened[0] === 'address_rate_limited'
  const reasons = withholdEmail ? [] : screened
  const result = await captureLead(
    deps.db,
    {
      offer,
      form,
      firstTouch: parseFirstTouch(readCookie(c.req.header('cookie'), FIRST_TOUCH_COOKIE)),
      ip,
      userAgent: c.req.header('user-agent')?.slice(0, 500) ?? null,
      spamReasons: reasons,
      withholdEmail,
      requestHash: requestHash(data),
    },
    await leadContext(deps, now),
  )
  if (result.kind === 'created' && result.answer.status === 'quarantined')
    c.var.log.info('lead quarantined', { submissionId: result.answer.submissionId, reasons })
  if (result.kind === 'created' && withholdEmail)
    c.var.log.info('lead email withheld', {
      submissionId: result.answer.submissionId,
      reason: 'address_rate_limited',
    })
  return respond(c, json, offer, result)
})

function respond(c: Context<AppEnv>, json: boolean, offer: OfferInfo, result: CaptureResult) {
  if (result.kind === 'conflict') {
    const message =
      'This form was already sent with other details. Reload the page to send it again.'
    if (json) return c.json({ error: { code: 'idempotency_conflict', message, fields: {} } }, 422)
    return htmlPage(c, {
      title: 'This form was already sent',
      status: 422,
      body: html`<h1>This form was already sent</h1>
        <p>We already received this form with other details, so we did not send it again.</p>
        <p><a href="${offer.path}">Open the form again</a> to send new details.</p>`,
    })
  }
  // Quarantined posts get the same answer as accepted ones: a bot learns nothing from it. The
  // download token rides in a cookie for the thank-you page, never in its URL.
  const { redirect, download } = result.answer
  if (download)
    c.header('Set-Cookie', downloadCookie(offer.offer, download, secureCookies(c.var.deps.env)))
  if (json) return c.json({ ok: true, redirect }, 201)
  return c.redirect(redirect, 303)
}

function invalid(
  c: Context<AppEnv>,
  json: boolean,
  offer: OfferInfo | null,
  values: Record<string, string>,
  message: string,
  fields: Record<string, string>,
) {
  if (json) return c.json({ error: { code: 'invalid_input', message, fields } }, 422)
  return leadFormErrorPage(c, { offer, values, errors: fields })
}

function stringValues(data: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(data))
    if (typeof value === 'string') out[key] = value.slice(0, 4000)
  return out
}

export const operations: Operation<Permission>[] = [
  {
    method: 'post',
    path: '/api/leads',
    summary:
      'A gated form’s post: the lead, its consent and attribution. Form-encoded only (the page’s form, enhanced or not); send Accept: application/json for JSON back.',
    auth: 'none',
    body: postSchema,
    bodyTypes: ['form'],
    ok: [201, '{ ok: true, redirect } (the thank-you page; the download rides in a cookie).'],
    other: {
      303: 'A plain form: on to the thank-you page; or, when invalid, the form again with its errors (422, HTML).',
    },
    errors: {
      422: 'Invalid input (`invalid_input`, with `fields`), or the form was already sent with other details (`idempotency_conflict`).',
    },
  },
]
