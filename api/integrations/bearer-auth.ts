import type { Context, Next } from 'hono'
import { SESSION_COOKIE } from '../accounts/sessions.ts'
import type { AppEnv } from '../http/app-env.ts'
import { readCookie } from '../http/cookies.ts'
import { carriesBearer } from '../http/input.ts'
import { rawHeader } from '../http/raw-header.ts'
import { hitRateLimit } from '../rate-limits.ts'
import { validateApiToken } from './api-tokens.ts'

// `Authorization: Bearer <token>` on /api: the token's admin becomes c.var.user and its scopes
// c.var.apiToken, which the route guards (api/accounts/guards.ts) narrow to. A token request
// carries no ambient credential, so the CSRF checks do not apply to it; a request with both a
// session cookie and a token is refused rather than guessed at. Other schemes are not ours: a
// staging site behind an HTTP Basic-auth proxy gets `Authorization: Basic` on every request from
// the browser, which must not refuse its sign-in or its lead forms; such a request goes on
// without credentials (or with its session).

const problem = (c: Context, status: 400 | 401 | 429, code: string, message: string) =>
  c.json({ error: { code, message } }, status)

export async function bearerAuth(c: Context<AppEnv>, next: Next) {
  if (!carriesBearer(c)) return next()
  const match = /^Bearer +([\x21-\x7e]+)$/i.exec((c.req.header('authorization') ?? '').trim())
  if (!match) {
    c.header('WWW-Authenticate', 'Bearer')
    return problem(
      c,
      401,
      'invalid_authorization',
      'Send the API token as "Authorization: Bearer <token>".',
    )
  }
  if (readCookie(rawHeader(c, 'cookie'), SESSION_COOKIE))
    return problem(
      c,
      400,
      'ambiguous_credentials',
      'Send either a session cookie or an API token, not both.',
    )
  const { deps } = c.var
  const now = deps.now()
  const token = await validateApiToken(deps.db, match[1]!, now)
  if (!token) {
    c.header('WWW-Authenticate', 'Bearer error="invalid_token"')
    return problem(c, 401, 'invalid_token', 'The API token is unknown, revoked or expired.')
  }
  const limit = await hitRateLimit(
    deps.db,
    `api-token:${token.id}`,
    { limit: deps.env.API_TOKEN_REQUESTS_PER_MINUTE, windowMs: 60_000 },
    now,
  )
  if (!limit.allowed) {
    c.header('Retry-After', String(limit.retryAfterSeconds))
    return problem(
      c,
      429,
      'rate_limited',
      `This API token made more than ${deps.env.API_TOKEN_REQUESTS_PER_MINUTE} requests this minute; retry in ${limit.retryAfterSeconds} s.`,
    )
  }
  c.set('user', token.user)
  c.set('apiToken', { id: token.id, scopes: token.scopes })
  c.set('log', c.var.log.child({ apiToken: token.id }))
  return next()
}
