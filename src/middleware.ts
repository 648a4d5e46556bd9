import { STATUS_CODES } from 'node:http'
import { defineMiddleware, sequence } from 'astro:middleware'
import { pathForLog } from '#api/http/bearer-path.ts'
import { isDatabaseUnavailable } from '#api/db/unavailable.ts'
import { issueFormToken } from '#api/leads/form-tokens.ts'
import { MAX_LOGIN_NEXT, secureCookies } from '#api/http/cookies.ts'
import {
  clearedFormFlashCookie,
  FORM_FLASH_COOKIE,
  keepsFormFlash,
  takeFormFlash,
} from '#api/http/form-flash.ts'
import { FIRST_TOUCH_COOKIE, firstTouchCookie, firstTouchOf } from '#api/leads/first-touch.ts'
import {
  clearedSessionCookie,
  SESSION_COOKIE,
  sessionCookie,
  validateSessionToken,
} from '#api/accounts/sessions.ts'

// A page that fails on our side: logged once through the project's logger, in the API's shape
// (`unhandled error` with the request id, method, path and the error), and answered with
// src/pages/500.astro, which shows that request id; when the database could not be reached, as a
// 503 "try again in a minute" with Retry-After (src/fetch.ts), as the API answers. Astro never
// sees the error, so it prints nothing of its own: it writes what it catches to stderr in its own
// format, without the request id, and the query's parameters with it.
const failures = defineMiddleware(async (ctx, next) => {
  const { deps, requestId } = ctx.locals
  try {
    const response = await next()
    // Astro streams a page: its status and head go out before the components below run, so one
    // that throws there would cut the page off under a 200, and the adapter prints the error to
    // stderr itself (console.error, past any logger setting). Read to its end here, a page that
    // fails anywhere fails before anything is sent.
    const page = response.body && response.headers.get('content-type')?.startsWith('text/html')
    if (!page && response.status < 400) return response
    const answer = new Response(page ? await response.arrayBuffer() : response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
    // As the API's errors: the id a visitor can quote to support.
    if (answer.status >= 400) answer.headers.set('X-Request-Id', requestId)
    return answer
  } catch (err) {
    deps.logger.child({ requestId }).error('unhandled error', {
      err,
      method: ctx.request.method,
      path: pathForLog(ctx.url.pathname),
    })
    // In development, Astro's error overlay shows the stack. The 500 page failing too (it comes
    // back through here) is left to Astro: it renders that page once more without middleware.
    if (import.meta.env.DEV || ctx.locals.failed) throw err
    ctx.locals.failed = isDatabaseUnavailable(err) ? 'unavailable' : 'error'
    // An empty 500: Astro answers it with src/pages/500.astro, through this middleware again.
    return new Response(null, { status: 500 })
  }
})

// Pages: who is signed in, /app behind sign-in, a time-trap token for forms, a refused form's
// values carried back, security headers.
const site = defineMiddleware(async (ctx, next) => {
  const { deps } = ctx.locals
  // The 500 page after a failure: its headers only, none of the visitor's state (reading it may
  // be what failed).
  if (ctx.locals.failed) return withHeaders(await next(), [], secureCookies(deps.env), true)
  const now = deps.now()
  const secure = secureCookies(deps.env)
  ctx.locals.user = null
  ctx.locals.sessionId = null
  const setCookies: string[] = []
  const token = ctx.cookies.get(SESSION_COOKIE)?.value
  if (token) {
    const valid = await validateSessionToken(deps.db, token, now, deps.sessionPolicy)
    if (valid) {
      ctx.locals.user = valid.user
      ctx.locals.sessionId = valid.session.id
      if (valid.session.lastVerifiedAt.getTime() === now.getTime())
        setCookies.push(sessionCookie(token, valid.expiresAt, secure, now))
    } else {
      setCookies.push(clearedSessionCookie(secure))
    }
  }
  const path = ctx.url.pathname
  const isApp = path === '/app' || path.startsWith('/app/')
  if (isApp && !ctx.locals.user) {
    // Back to the page after signing in; past MAX_LOGIN_NEXT (a huge query) to its path alone.
    const next = [path + ctx.url.search, path].find((p) => p.length <= MAX_LOGIN_NEXT)
    const response = ctx.redirect(
      next === undefined ? '/login' : `/login?${new URLSearchParams({ next })}`,
      303,
    )
    return withHeaders(response, setCookies, secure, true)
  }
  ctx.locals.formToken = issueFormToken(deps.secret, now, path)
  // A refused plain form's values, for this page once: read, then cleared.
  ctx.locals.formFlash = null
  if (keepsFormFlash(path) && ctx.cookies.has(FORM_FLASH_COOKIE)) {
    const header = ctx.request.headers.get('cookie')
    ctx.locals.formFlash = await takeFormFlash(
      deps.db,
      deps.secret,
      header,
      path,
      ctx.locals.user?.id ?? null,
      now,
    )
    setCookies.push(clearedFormFlashCookie(path, secure))
  }
  // First-touch attribution: the first page view that carries UTM parameters sets fd_ft.
  if (!isApp && ctx.request.method === 'GET' && !ctx.cookies.has(FIRST_TOUCH_COOKIE)) {
    const touch = firstTouchOf(ctx.url, ctx.request.headers.get('referer'), now)
    if (touch) setCookies.push(firstTouchCookie(touch, secure))
  }
  const response = await next()
  // A page filled with what someone typed is theirs alone, not for a shared cache.
  return withHeaders(response, setCookies, secure, isApp || ctx.locals.formFlash !== null)
})

export const onRequest = sequence(failures, site)

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

function withHeaders(
  response: Response,
  cookies: string[],
  secure: boolean,
  isPrivate: boolean,
): Response {
  const copy = (statusText: string) =>
    new Response(response.body, { status: response.status, statusText, headers: response.headers })
  let res = response
  if (res.status !== 200 && res.statusText === 'OK') {
    // Astro gives a page's answer the status text "OK" whatever its status ("404 OK").
    res = copy(STATUS_CODES[res.status] ?? '')
  } else {
    // Responses from redirects and some endpoints have immutable headers: copy into a new one.
    try {
      res.headers.set('X-Content-Type-Options', 'nosniff')
    } catch {
      res = copy(response.statusText)
    }
  }
  const h = res.headers
  h.set('X-Content-Type-Options', 'nosniff')
  h.set('Referrer-Policy', 'strict-origin-when-cross-origin')
  h.set('X-Frame-Options', 'DENY')
  h.set('Cross-Origin-Opener-Policy', 'same-origin')
  h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()')
  // Vite's dev server injects inline scripts; the policy applies to built pages.
  if (import.meta.env.PROD) h.set('Content-Security-Policy', CSP)
  if (secure) h.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains')
  if (isPrivate) h.set('Cache-Control', 'private, no-store')
  for (const cookie of cookies) h.append('Set-Cookie', cookie)
  return res
}
