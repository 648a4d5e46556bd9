import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../http/app-env.ts'
import { clearedSessionCookie, readCookie, safeNextPath, secureCookies, sessionCookie } from '../http/cookies.ts'
import { readBody, validate, wantsJson } from '../http/input.ts'
import { createSession, invalidateSession, SESSION_COOKIE } from '../accounts/sessions.ts'
import { signIn } from '../accounts/users.ts'

const signInSchema = z.object({
  email: z.string().trim().min(3, 'Enter your email.').max(320).email('Enter a valid email address.'),
  password: z.string().min(1, 'Enter your password.').max(256, 'Password is too long.'),
  next: z.string().max(2048).optional(),
})

const INVALID = 'Email or password is incorrect.'

export const sessionRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { kind, data } = await readBody(c)
    const { deps } = c.var
    const parsed = signInSchema.safeParse(data)
    const next = safeNextPath(data.next, deps.env.APP_ORIGIN)
    if (!parsed.success) {
      if (kind === 'form') return backToLogin(c, 'invalid_input', next)
      validate(signInSchema, data) // throws the 422 with field messages
    }
    const input = parsed.data!
    const now = deps.now()
    const result = await signIn(deps.db, { email: input.email, password: input.password, ip: c.var.ip }, now)
    if (!result.ok) {
      if (kind === 'form') return backToLogin(c, result.code, next)
      if (result.code === 'throttled') {
        c.header('Retry-After', String(result.retryAfterSeconds))
        return c.json({ error: { code: 'throttled', message: 'Too many failed sign-ins. Try again later.' } }, 429)
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
    const expiresAt = new Date(now.getTime() + Math.min(deps.sessionPolicy.inactivityMs, deps.sessionPolicy.absoluteMs))
    c.header('Set-Cookie', sessionCookie(token, expiresAt, secureCookies(deps.env), now))
    const user = { id: result.user.id, email: result.user.email, name: result.user.name, role: result.user.role }
    if (kind === 'form' && !wantsJson(c)) return c.redirect(input.next ? next : '/app', 303)
    return c.json({ user }, 201)
  })
  .delete('/current', (c) => signOut(c))
  // HTML forms cannot send DELETE: the sign-out button posts here with _method=DELETE.
  .post('/current', async (c) => {
    const { data } = await readBody(c, ['form'])
    if (data._method !== 'DELETE')
      return c.json({ error: { code: 'bad_request', message: 'Send _method=DELETE to sign out.' } }, 400)
    return signOut(c)
  })

async function signOut(c: Context<AppEnv>) {
  if (c.var.sessionId) await invalidateSession(c.var.deps.db, c.var.sessionId)
  c.header('Set-Cookie', clearedSessionCookie(secureCookies(c.var.deps.env)))
  if (wantsJson(c) || c.req.method === 'DELETE') return c.body(null, 204)
  return c.redirect('/login?signed_out=1', 303)
}

function backToLogin(c: Context<AppEnv>, error: string, next: string) {
  const params = new URLSearchParams({ error })
  if (next !== '/app') params.set('next', next)
  return c.redirect(`/login?${params}`, 303)
}
