import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../http/app-env.ts'
import { secureCookies, sessionCookie } from '../http/cookies.ts'
import { readBody, validate, wantsJson } from '../http/input.ts'
import { passwordProblem } from '../accounts/passwords.ts'
import { createSession, invalidateUserSessions } from '../accounts/sessions.ts'
import { consumeUserToken, countUsers, createUser, findUserToken, setPassword } from '../accounts/users.ts'

const setupSchema = z.object({
  token: z.string().min(1).max(200),
  email: z.string().trim().email('Enter a valid email address.').max(320),
  name: z.string().trim().min(1, 'Enter your name.').max(200),
  password: z.string().max(256),
})

const passwordSchema = z.object({
  token: z.string().min(1).max(200),
  password: z.string().max(256),
})

/** One-time links: the first admin's setup, invitations and password resets. */
export const setupRoutes = new Hono<AppEnv>()
  .post('/', async (c) => {
    const { kind, data } = await readBody(c)
    const input = formOrJson(c, kind, setupSchema, data, '/setup')
    if (input instanceof Response) return input
    const { db } = c.var.deps
    const now = c.var.deps.now()
    const problem = passwordProblem(input.password, input.email)
    if (problem) return answer(c, kind, 422, 'weak_password', problem, `/setup?token=${encodeURIComponent(input.token)}`)
    const created = await db.transaction(async (tx) => {
      const token = await findUserToken(tx, input.token, now)
      if (!token || token.purpose !== 'setup' || (await countUsers(tx)) > 0) return null
      if (!(await consumeUserToken(tx, token.id, now))) return null
      const result = await createUser(tx, { email: input.email, name: input.name, role: 'admin', password: input.password })
      return result.ok ? result.user : null
    })
    if (!created) return answer(c, kind, 410, 'link_used', 'This setup link has expired or was already used.', '/login')
    return signInAndGo(c, kind, created.id, now)
  })
  .post('/password', async (c) => {
    const { kind, data } = await readBody(c)
    const input = formOrJson(c, kind, passwordSchema, data, '/password')
    if (input instanceof Response) return input
    const { db } = c.var.deps
    const now = c.var.deps.now()
    const back = `/password?token=${encodeURIComponent(input.token)}`
    const token = await findUserToken(db, input.token, now)
    if (!token || token.purpose === 'setup' || !token.userId)
      return answer(c, kind, 410, 'link_used', 'This link has expired or was already used. Ask an admin for a new one.', '/login')
    const userId = token.userId
    const outcome = await db.transaction(async (tx) => {
      if (!(await consumeUserToken(tx, token.id, now))) return { ok: false as const, message: 'This link was already used.' }
      const set = await setPassword(tx, userId, input.password, now)
      if (!set.ok) throw new PasswordRejected(set.message)
      await invalidateUserSessions(tx, userId)
      return { ok: true as const }
    }).catch((err) => {
      if (err instanceof PasswordRejected) return { ok: false as const, message: err.message, weak: true }
      throw err
    })
    if (!outcome.ok)
      return 'weak' in outcome
        ? answer(c, kind, 422, 'weak_password', outcome.message, back)
        : answer(c, kind, 410, 'link_used', outcome.message, '/login')
    return signInAndGo(c, kind, userId, now)
  })

class PasswordRejected extends Error {}

function formOrJson<T extends z.ZodType>(c: Context<AppEnv>, kind: 'json' | 'form', schema: T, data: Record<string, unknown>, page: string): z.infer<T> | Response {
  if (kind === 'json') return validate(schema, data)
  const parsed = schema.safeParse(data)
  if (parsed.success) return parsed.data
  const message = parsed.error.issues[0]?.message ?? 'Invalid input.'
  const token = typeof data.token === 'string' ? data.token : ''
  return c.redirect(`${page}?${new URLSearchParams({ token, error: message })}`, 303)
}

function answer(c: Context<AppEnv>, kind: 'json' | 'form', status: 410 | 422, code: string, message: string, page: string) {
  if (kind === 'json' || wantsJson(c)) return c.json({ error: { code, message } }, status)
  const url = new URL(page, 'http://x')
  url.searchParams.set('error', message)
  return c.redirect(url.pathname + url.search, 303)
}

async function signInAndGo(c: Context<AppEnv>, kind: 'json' | 'form', userId: string, now: Date) {
  const { deps } = c.var
  const { token } = await createSession(deps.db, userId, now, { ip: c.var.ip, userAgent: c.req.header('user-agent') ?? null })
  const expiresAt = new Date(now.getTime() + Math.min(deps.sessionPolicy.inactivityMs, deps.sessionPolicy.absoluteMs))
  c.header('Set-Cookie', sessionCookie(token, expiresAt, secureCookies(deps.env), now))
  if (kind === 'json' || wantsJson(c)) return c.json({ ok: true }, 201)
  return c.redirect('/app', 303)
}

