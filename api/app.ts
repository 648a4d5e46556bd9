import { Hono, type Context, type Next } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Deps } from './deps.ts'
import { clientIp } from './http/client-ip.ts'
import { fastRedirect } from './http/redirect.ts'
import { rawHeader } from './http/raw-header.ts'
import type { AppEnv } from './http/app-env.ts'
import { readCookie, secureCookies } from './http/cookies.ts'
import { pathForLog } from './http/bearer-path.ts'
import { logRequest, requestIdOf } from './http/access-log.ts'
import { refusalWrite } from './http/form-or-json.ts'
import { wantsPage } from './http/input.ts'
import { isDatabaseUnavailable } from './db/unavailable.ts'
import {
  internalErrorPage,
  UNAVAILABLE_RETRY_AFTER_S,
  unavailablePage,
} from './content/error-pages.ts'
import { contactRoutes } from './routes/contacts.ts'
import { companyRoutes } from './routes/companies.ts'
import { dealRoutes } from './routes/deals.ts'
import { downloadRoutes } from './routes/downloads.ts'
import { emailAdminRoutes } from './routes/email-admin.ts'
import { emailEventRoutes } from './routes/email-events.ts'
import { graderRoutes } from './routes/grader.ts'
import { healthRoutes } from './routes/health.ts'
import { leadRoutes } from './routes/leads.ts'
import { pipelineSettingsRoutes } from './routes/pipeline-settings.ts'
import { sessionRoutes } from './routes/sessions.ts'
import { setupRoutes } from './routes/setup.ts'
import { submissionRoutes } from './routes/submissions.ts'
import { unsubscribeRoutes } from './routes/unsubscribe.ts'
import { CAMPAIGN_UPLOAD_PATH, campaignRoutes, uploadTooLarge } from './routes/campaigns.ts'
import { IMPORT_MAX_BYTES } from './campaigns/imports.ts'
import { userRoutes } from './routes/users.ts'
import { beaconRoutes } from './routes/beacon.ts'
import { campaignResultRoutes } from './routes/campaign-results.ts'
import {
  clearedSessionCookie,
  SESSION_COOKIE,
  sessionCookie,
  validateSessionToken,
} from './accounts/sessions.ts'
import { createClickWriter, type ClickWriter } from './tracking/click-writer.ts'
import { bearerAuth } from './integrations/bearer-auth.ts'
import { apiTokenRoutes } from './routes/api-tokens.ts'
import { syncRoutes } from './routes/sync.ts'
import { webhookRoutes } from './routes/webhooks.ts'
import { openApiRoutes } from './routes/openapi.ts'
import { searchRoutes } from './routes/search.ts'
import { activityRoutes } from './routes/activities.ts'
import { trackedLinkRedirect, type TrackedLinkRedirect } from './tracking/redirect.ts'

/**
 * The Hono app: /api and the reserved hot paths (/r, /u, /d). No Astro here; api/server.ts puts
 * the page renderer behind it and tests call `app.request()` directly.
 *
 * Two layers. In front, the hot GET routes (the API root; tracked-link redirects later): no
 * middleware at all, so Hono calls the one handler and hands a synchronous Response to
 * @hono/node-server, which writes it without a promise or a close listener. Everything else falls
 * through to the full API with the per-request context (request id, logger, client IP, session).
 * Measured with server and wrk on separate cores: the same 302 answered ~29k req/s behind the
 * context middleware and ~34k in front of it (bare node:http ~40k in the same runs).
 */
export function createApp(
  deps: Deps,
  clicks: ClickWriter = createClickWriter(deps.db, deps.logger),
  /** The tracked-link redirect, when the composition root also serves it on node:http (api/server.ts). */
  trackedLink: TrackedLinkRedirect = trackedLinkRedirect(deps, clicks),
) {
  const api = createApiApp(deps, clicks)
  // Deliberately untyped variables: a hot route cannot read c.var.deps (there is none); it gets
  // what it needs from `deps` and logs only failures.
  const front = new Hono()
  front.get('/api', (c) => fastRedirect(c, '/api/health'))
  // Tracked links: every GET (and HEAD) under /r/, so a malformed token gets the HTML 404 page
  // here instead of the API's JSON one. Not in the access log, which would hold the token. The
  // click writer comes from the composition root (api/server.ts drains it before the database
  // closes); without one, this app gets its own.
  front.get('/r', trackedLink.hono)
  front.get('/r/*', trackedLink.hono)
  // c.env carries Node's request and response (client IP, raw headers) on to the API.
  front.notFound((c) => api.fetch(c.req.raw, c.env))
  front.onError((err, c) => {
    deps.logger.error('unhandled error', {
      err,
      method: c.req.method,
      path: pathForLog(c.req.path),
    })
    return internalError(c, err)
  })
  return front
}

/** The full API behind the hot routes; exported so a test can walk its route table. */
export function createApiApp(deps: Deps, clicks: ClickWriter) {
  const app = new Hono<AppEnv>()
  const secure = secureCookies(deps.env)

  app.use(async (c, next) => {
    const requestId = requestIdOf(rawHeader(c, 'x-request-id'), deps.env.TRUST_PROXY)
    const log = deps.logger.child({ requestId })
    c.set('deps', deps)
    c.set('db', deps.db)
    c.set('log', log)
    c.set('requestId', requestId)
    c.set('ip', clientIp(c, deps.env.TRUST_PROXY))
    c.set('user', null)
    c.set('sessionId', null)
    c.set('apiToken', null)
    const started = performance.now()
    await next()
    const kept = refusalWrite(c.req.raw)
    if (kept) await kept
    // Errors carry the id users can quote to support; hot redirects stay free of extra headers
    // (touching response headers costs a 302 about a third of its throughput, measured).
    if (c.res.status >= 400) c.header('X-Request-Id', requestId)
    // /d/<token> and /u/<token> are bearer links: logRequest never writes the token.
    if (log.enabled('info'))
      logRequest(log, 'info', {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        started,
      })
  })

  // Requests that may carry a body or change state pass the body limit and the CSRF checks;
  // registering them per method keeps GET and HEAD (hot redirects, downloads) from even
  // entering them — each middleware layer costs a trivial 302 about 5% of its throughput.
  const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE']
  const limitTo = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) =>
        c.json(
          {
            error: {
              code: 'payload_too_large',
              message: `The request body is larger than ${maxSize} bytes.`,
            },
          },
          413,
        ),
    })
  const globalLimit = limitTo(deps.env.BODY_LIMIT_BYTES)
  // A campaign's CSV upload has its own cap (the file plus the multipart framing), refused as
  // the route refuses a file over it: the plain form goes back to its page, not to raw JSON.
  const uploadLimit = bodyLimit({
    maxSize: IMPORT_MAX_BYTES + 64 * 1024,
    onError: (c) => uploadTooLarge(c, CAMPAIGN_UPLOAD_PATH.exec(c.req.path)?.[1] ?? ''),
  })
  app.on(UNSAFE, '*', (c, next) =>
    (c.req.method === 'POST' && CAMPAIGN_UPLOAD_PATH.test(c.req.path) ? uploadLimit : globalLimit)(
      c,
      next,
    ),
  )

  // API tokens (Authorization: Bearer) authenticate before the CSRF checks, which they skip.
  app.use('/api/*', bearerAuth)

  // Cross-site form posts are refused; JSON cannot be posted cross-site without a CORS preflight.
  // The RFC 8058 one-click unsubscribe (/u/*) is exempt: mail providers send no Origin.
  const csrfCheck = csrf({
    origin: (origin, c) => origin === deps.env.APP_ORIGIN || origin === new URL(c.req.url).origin,
  })
  app.on(UNSAFE, '/api/*', async (c, next) => {
    if (c.var.apiToken) return next()
    // csrf() only looks at form-like content types; a bodiless POST (no Content-Type) must come
    // from our own pages too, or a same-site page could trigger admin actions with a bare fetch.
    if (!c.req.header('content-type')) {
      const origin = c.req.header('origin')
      const sameOrigin =
        c.req.header('sec-fetch-site') === 'same-origin' ||
        (origin !== undefined &&
          (origin === deps.env.APP_ORIGIN || origin === new URL(c.req.url).origin))
      if (!sameOrigin)
        return c.json(
          {
            error: {
              code: 'cross_site_request',
              message: 'Requests without a body must come from this site.',
            },
          },
          403,
        )
    }
    try {
      return await csrfCheck(c, next)
    } catch (err) {
      if (err instanceof HTTPException && err.status === 403)
        return c.json(
          {
            error: {
              code: 'cross_site_request',
              message: 'Cross-site form posts are not accepted.',
            },
          },
          403,
        )
      throw err
    }
  })

  // Sessions: a valid cookie sets c.var.user; an invalid one is cleared. Without a session
  // cookie the request goes straight on.
  app.use('/api/*', (c, next) => {
    if (c.var.apiToken) return next()
    const token = readCookie(rawHeader(c, 'cookie'), SESSION_COOKIE)
    return token ? withSession(c, next, token) : next()
  })
  const withSession = async (c: Context<AppEnv>, next: Next, token: string) => {
    const now = deps.now()
    const valid = await validateSessionToken(deps.db, token, now, deps.sessionPolicy)
    if (valid) {
      c.set('user', valid.user)
      c.set('sessionId', valid.session.id)
      if (valid.session.lastVerifiedAt.getTime() === now.getTime())
        c.header('Set-Cookie', sessionCookie(token, valid.expiresAt, secure, now), { append: true })
    } else {
      c.header('Set-Cookie', clearedSessionCookie(secure), { append: true })
    }
    await next()
  }

  // GET /api (the API root → the health document, the trivial 302 the HTTP benchmark measures)
  // is answered in front, by createApp.
  app.route('/api/health', healthRoutes(clicks))
  app.route('/api/sessions', sessionRoutes)
  app.route('/api/setup', setupRoutes)
  app.route('/api/users', userRoutes)
  app.route('/api/deals', dealRoutes)
  app.route('/api/search', searchRoutes)
  app.route('/api/activities', activityRoutes)
  app.route('/api/pipeline-settings', pipelineSettingsRoutes)
  app.route('/api/admin/email', emailAdminRoutes)
  app.route('/api/email/events', emailEventRoutes)
  app.route('/api/admin/api-tokens', apiTokenRoutes)
  app.route('/api/sync', syncRoutes)
  app.route('/api/admin/webhooks', webhookRoutes)
  app.route('/api', openApiRoutes)
  app.route('/u', unsubscribeRoutes)
  app.route('/api/leads', leadRoutes)
  app.route('/api/contacts', contactRoutes)
  app.route('/api/companies', companyRoutes)
  app.route('/api/submissions', submissionRoutes)
  app.route('/api/grader', graderRoutes)
  app.route('/api/campaigns', campaignRoutes)
  app.route('/api/beacon', beaconRoutes(clicks))
  app.route('/api/campaigns', campaignResultRoutes)
  app.route('/d', downloadRoutes)

  app.notFound((c) =>
    c.json(
      { error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}.` } },
      404,
    ),
  )

  app.onError(async (err, c) => {
    if (err instanceof HTTPException) {
      const res = err.getResponse()
      // Through c.body(), so headers set before the throw (a cleared session cookie) go out too.
      if (res.headers.get('content-type')?.includes('json'))
        return c.body(await res.text(), {
          status: res.status as ContentfulStatusCode,
          headers: res.headers,
        })
      return c.json(
        { error: { code: codeFor(err.status), message: err.message || res.statusText } },
        err.status,
      )
    }
    c.var.log?.error('unhandled error', {
      err,
      method: c.req.method,
      path: pathForLog(c.req.path),
    })
    return internalError(c, err)
  })

  return app
}

/**
 * What a client sees of an error it did not cause: no stack, no detail. The database being
 * unreachable is a 503 with Retry-After (nothing was saved; send again), anything else a 500; a
 * browser's plain form or page gets either as a page in the site's chrome, an API client JSON.
 */
const internalError = (c: Context, err: unknown) => {
  const unavailable = isDatabaseUnavailable(err)
  if (wantsPage(c))
    return unavailable
      ? unavailablePage(c)
      : internalErrorPage(c, (c as Context<Partial<AppEnv>>).var.requestId)
  if (!unavailable)
    return c.json(
      {
        error: {
          code: 'internal',
          message: 'Something went wrong on our side. It has been logged.',
        },
      },
      500,
    )
  c.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S))
  return c.json(
    {
      error: {
        code: 'unavailable',
        message:
          'The database cannot be reached right now, so nothing was saved. Send the request again in a minute.',
      },
    },
    503,
  )
}

function codeFor(status: number): string {
  return (
    {
      400: 'bad_request',
      401: 'unauthorized',
      403: 'forbidden',
      404: 'not_found',
      409: 'conflict',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
      422: 'invalid_input',
      429: 'rate_limited',
    }[status] ?? 'error'
  )
}

export type App = ReturnType<typeof createApp>
