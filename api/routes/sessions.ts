import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { readCookie, safeNextPath, secureCookies } from '../http/cookies.ts'
import { nextField, readInput, refuse } from '../http/form-or-json.ts'
import { readBody, wantsJson } from '../http/input.ts'
import {
  clearedSessionCookie,
  createSession,
  invalidateSession,
  SESSION_COOKIE,
  sessionCookie,
} from '../accounts/sessions.ts'
import { enqueueSignInAlert } from '../accounts/sign-in-alert.ts'
import { signIn } from '../accounts/users.ts'
import { emailAddressField } from '../email-address.ts'

const signInSchema = z.object({
  email: z.string().trim().min(3, 'Enter your email.').pipe(emailAddressField),
  password: z.string().min(1, 'Enter your password.').max(256, 'Password is too long.'),
  next: nextField,
})

/** What the sign-out button posts (HTML forms cannot send DELETE); described, checked by hand. */
const signOutFormSchema = z.object({ _method: z.literal('DELETE') })

const INVALID = 'Email or password is incorrect.'

export const sessionRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { deps } = c.var
    // The login page shows its own text for an error code, never text from the query.
    // A refused form comes back with the email typed (never the password: form-flash.ts).
    const input = await readInput(
      c,
      signInSchema,
      (data) => toLogin(c, 'invalid_input', data.next),
      {
        formError: 'invalid_input',
      },
    )
    if (input instanceof Response) return input
    const next = safeNextPath(input.next, deps.env.APP_ORIGIN)
    const now = deps.now()
    const result = await signIn(
      deps.db,
      { email: input.email, password: input.password, ip: c.var.ip },
      now,
      {
        onGuessing: async (user, failures) => {
          await enqueueSignInAlert(deps.db, deps.env, user, failures, now)
          c.var.log.warn('account being guessed at', { userId: user.id, failures })
        },
      },
    )
    if (!result.ok) {
      // Back with the code as ?error= (the page's own words for it) and the email typed.
      if (!wantsJson(c))
        return refuse(c, toLogin(c, result.code, input.next), {
          status: result.code === 'throttled' ? 429 : 401,
          code: result.code,
          message: result.code,
        })
      if (result.code === 'throttled') {
        c.header('Retry-After', String(result.retryAfterSeconds))
        return c.json(
          { error: { code: 'throttled', message: 'Too many failed sign-ins. Try again later.' } },
          429,
        )
      }
      return c.json({ error: { code: 'invalid_credentials', message: INVALID } }, 401)
    }
    // A new session at every sign-in (no fixation); the previous one, if any, ends.
    const previous = readCookie(c.req.header('cookie'), SESSION_COOKIE)
    if (previous) await invalidateSession(deps.db, previous.split('.')[0] ?? '')
    const { token } = await createSession(deps.db, result.user.id, now, {
      ip: c.var.ip,
      userAgent: c.req.header('user-agent') ?? null,
    })
    const expiresAt = new Date(
      now.getTime() + Math.min(deps.sessionPolicy.inactivityMs, deps.sessionPolicy.absoluteMs),
    )
    c.header('Set-Cookie', sessionCookie(token, expiresAt, secureCookies(deps.env), now))
    const user = {
      id: result.user.id,
      email: result.user.email,
      name: result.user.name,
      role: result.user.role,
    }
    if (wantsJson(c)) return c.json({ user }, 201)
    return c.redirect(input.next ? next : '/app', 303)
  })
  .delete('/current', (c) => signOut(c))
  // HTML forms cannot send DELETE: the sign-out button posts here with _method=DELETE.
  .post('/current', async (c) => {
    const { data } = await readBody(c, ['form'])
    if (data._method !== 'DELETE')
      return c.json(
        { error: { code: 'bad_request', message: 'Send _method=DELETE to sign out.' } },
        400,
      )
    return signOut(c)
  })

async function signOut(c: Context<AppEnv>) {
  if (c.var.sessionId) await invalidateSession(c.var.deps.db, c.var.sessionId)
  c.header('Set-Cookie', clearedSessionCookie(secureCookies(c.var.deps.env)))
  if (wantsJson(c) || c.req.method === 'DELETE') return c.body(null, 204)
  return c.redirect('/login?signed_out=1', 303)
}

/** The sign-in page with an error code, keeping where to go after signing in. */
function toLogin(c: Context<AppEnv>, error: string, next: unknown): string {
  const params = new URLSearchParams({ error })
  const path = safeNextPath(next, c.var.deps.env.APP_ORIGIN)
  if (path !== '/app') params.set('next', path)
  return `/login?${params}`
}

export const operations: Operation<Permission>[] = [
  {
    method: 'post',
    path: '/api/sessions',
    summary:
      'Sign in with email and password; sets the session cookie. A plain form is sent on to `next` (or /app), or back to /login with ?error=.',
    auth: 'none',
    body: signInSchema,
    ok: [201, '{ user }, and the session cookie.'],
    errors: {
      401: 'Email or password is incorrect (`invalid_credentials`).',
      429: 'Too many failed sign-ins (`throttled`); see Retry-After.',
    },
  },
  {
    method: 'delete',
    path: '/api/sessions/current',
    summary: 'Sign out: ends this session and clears the cookie.',
    auth: 'none',
    ok: [204, 'Signed out (also when no one was signed in).'],
  },
  {
    method: 'post',
    path: '/api/sessions/current',
    summary: 'Sign out from a plain HTML form (`_method=DELETE`).',
    auth: 'none',
    body: signOutFormSchema,
    bodyTypes: ['form'],
    ok: [204, 'Signed out (a JSON caller).'],
    other: { 303: 'Signed out: on to /login?signed_out=1.' },
    errors: { 400: 'The form does not say `_method=DELETE`.' },
  },
]
