import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { secureCookies } from '../http/cookies.ts'
import { readInput, refuse } from '../http/form-or-json.ts'
import { wantsJson } from '../http/input.ts'
import { passwordProblem } from '../accounts/passwords.ts'
import { createSession, invalidateUserSessions, sessionCookie } from '../accounts/sessions.ts'
import {
  consumeUserToken,
  countUsers,
  createUser,
  DISABLED_ACCOUNT_LINK,
  findUser,
  findUserToken,
  lockSetupLinks,
  PASSWORD_LINKS,
  readPasswordLink,
  revokeUserTokens,
  setPassword,
} from '../accounts/users.ts'
import { emailAddressField } from '../email-address.ts'

const setupSchema = z.object({
  token: z.string().min(1).max(200),
  email: emailAddressField,
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
    const input = await readInput(c, setupSchema, (data) => withToken('/setup', data.token), {
      labels: { name: 'Your name', email: 'Work email' },
    })
    if (input instanceof Response) return input
    const { db } = c.var.deps
    const now = c.var.deps.now()
    const problem = passwordProblem(input.password, input.email)
    if (problem)
      return refuse(c, withToken('/setup', input.token), {
        status: 422,
        code: 'weak_password',
        message: problem,
      })
    const created = await db.transaction(async (tx) => {
      const token = await findUserToken(tx, input.token, now)
      if (!token || token.purpose !== 'setup') return null
      if (!(await lockSetupLinks(tx, token.id, now)) || (await countUsers(tx)) > 0) return null
      if (!(await consumeUserToken(tx, token.id, now))) return null
      const result = await createUser(tx, {
        email: input.email,
        name: input.name,
        role: 'admin',
        password: input.password,
      })
      if (!result.ok) return null
      // The other servers' links are spent too: there is an admin now.
      await revokeUserTokens(tx, 'setup', now)
      return result.user
    })
    // A plain form goes back to the link's page, which says the link is spent and what to do;
    // the sign-in page shows no text it was sent, so the person saw a bare sign-in form.
    if (!created)
      return refuse(c, withToken('/setup', input.token), {
        status: 410,
        code: 'link_used',
        message: 'This setup link has expired or was already used.',
      })
    return signInAndGo(c, created.id, now)
  })
  .post('/password', async (c) => {
    const input = await readInput(c, passwordSchema, (data) => withToken('/password', data.token), {
      labels: { password: 'New password' },
    })
    if (input instanceof Response) return input
    const { db } = c.var.deps
    const now = c.var.deps.now()
    // Also where a spent link sends a plain form: the page says so (see /api/setup).
    const back = withToken('/password', input.token)
    // A disabled account's password is not set through a link (nor is a session made): the
    // person is told so, not that the link is spent, which a new link would not mend.
    const disabled = () =>
      refuse(c, back, { status: 403, code: 'account_disabled', message: DISABLED_ACCOUNT_LINK })
    const link = await readPasswordLink(db, input.token, now)
    if (link.state === 'disabled') {
      // Used up: enabling the account later does not bring it back (a disable ends them all).
      await consumeUserToken(db, link.tokenId, now)
      return disabled()
    }
    if (link.state === 'spent')
      return refuse(c, back, {
        status: 410,
        code: 'link_used',
        message: 'This link has expired or was already used. Ask an admin for a new one.',
      })
    const userId = link.user.id
    const outcome = await db
      .transaction(async (tx) => {
        if (!(await consumeUserToken(tx, link.tokenId, now))) return 'used' as const
        // Disabled since it was read: the link stays used up.
        if ((await findUser(tx, userId, { lock: true }))?.disabledAt) return 'disabled' as const
        const set = await setPassword(tx, userId, input.password, now)
        if (!set.ok) throw new PasswordRejected(set.message)
        await invalidateUserSessions(tx, userId)
        // Any other link still out (an older reset, the invitation) would set it again.
        await revokeUserTokens(tx, PASSWORD_LINKS, now, userId)
        return 'set' as const
      })
      .catch((err) => {
        if (err instanceof PasswordRejected) return err
        throw err
      })
    if (outcome instanceof PasswordRejected)
      return refuse(c, back, { status: 422, code: 'weak_password', message: outcome.message })
    if (outcome === 'disabled') return disabled()
    if (outcome === 'used')
      return refuse(c, back, {
        status: 410,
        code: 'link_used',
        message: 'This link was already used.',
      })
    return signInAndGo(c, userId, now)
  })

class PasswordRejected extends Error {}

/** The link's page again, with its token, for a plain form to go back to. */
function withToken(page: string, token: unknown): string {
  return `${page}?${new URLSearchParams({ token: typeof token === 'string' ? token : '' })}`
}

async function signInAndGo(c: Context<AppEnv>, userId: string, now: Date) {
  const { deps } = c.var
  const { token } = await createSession(deps.db, userId, now, {
    ip: c.var.ip,
    userAgent: c.req.header('user-agent') ?? null,
  })
  const expiresAt = new Date(
    now.getTime() + Math.min(deps.sessionPolicy.inactivityMs, deps.sessionPolicy.absoluteMs),
  )
  c.header('Set-Cookie', sessionCookie(token, expiresAt, secureCookies(deps.env), now))
  return wantsJson(c) ? c.json({ ok: true }, 201) : c.redirect('/app', 303)
}

export const operations: Operation<Permission>[] = [
  {
    method: 'post',
    path: '/api/setup',
    summary:
      'Create the first admin with the one-time setup link’s token, and sign in as them (while no user exists).',
    auth: 'none',
    body: setupSchema,
    ok: [201, '{ ok: true }, and the session cookie.'],
    errors: {
      410: 'The setup link has expired or was already used (`link_used`).',
      422: 'Invalid input, or a password too weak (`weak_password`).',
    },
  },
  {
    method: 'post',
    path: '/api/setup/password',
    summary:
      'Set a password with an invitation or reset link’s token; ends the user’s other sessions and signs in.',
    auth: 'none',
    body: passwordSchema,
    ok: [201, '{ ok: true }, and the session cookie.'],
    errors: {
      403: 'The account is disabled (`account_disabled`): an admin must enable it first.',
      410: 'The link has expired or was already used (`link_used`).',
      422: 'Invalid input, or a password too weak (`weak_password`).',
    },
  },
]
