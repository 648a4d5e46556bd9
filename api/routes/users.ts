import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { enqueueInvitationEmail, enqueuePasswordResetEmail } from '../email/account-emails.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { readInput, readParam, refuse, respond, type RefuseOptions } from '../http/form-or-json.ts'
import { wantsJson } from '../http/input.ts'
import { requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import {
  type AccountChange,
  createUser,
  createUserToken,
  findUser,
  listUsers,
  PASSWORD_LINKS,
  revokeUserTokens,
  ROLES,
  setUserDisabled,
  setUserRole,
  type User,
} from '../accounts/users.ts'
import { emailAddressField } from '../email-address.ts'
import { accountLinkCookie } from '../accounts/link-cookie.ts'
import { secureCookies } from '../http/cookies.ts'
import { openDealCounts } from '../pipeline/bulk-actions.ts'

const createSchema = z.object({
  email: emailAddressField,
  name: z.string().trim().min(1, 'Enter a name.').max(200),
  role: z.enum(ROLES as ['admin', 'rep', 'sdr'], { message: 'Role must be admin, rep or sdr.' }),
  password: z.string().max(256).optional(),
})
const roleSchema = z.object({ role: createSchema.shape.role })
const idSchema = z.string().uuid('Unknown user.')

const PAGE = '/app/admin/users'

/** Disable, enable and reset have no body: a bare POST is an API call; the page's buttons post a form. */
const BODYLESS = { bodyless: 'json' } as const

const UNKNOWN_USER = { code: 'not_found', message: 'Unknown user.' } as const

export const userRoutes = new Hono<AppEnv>()
  .use(requirePermission('users:manage'))
  .get('/', async (c) => c.json({ users: (await listUsers(c.var.db)).map(publicUser) }))
  .post('/', async (c) => {
    const input = await readInput(c, createSchema, PAGE, { prepare: withoutEmptyPassword })
    if (input instanceof Response) return input
    const { env, now } = c.var.deps
    // Without a password: the user, the invitation token and its email commit together.
    const { created, inviteLink } = input.password
      ? {
          created: await createUser(c.var.db, { ...input, password: input.password }),
          inviteLink: null,
        }
      : await c.var.db.transaction(async (tx) => {
          const created = await createUser(tx, { ...input, password: null })
          if (!created.ok) return { created, inviteLink: null }
          const { token, expiresAt } = await createUserToken(tx, 'invite', created.user.id, now())
          const url = `${env.APP_ORIGIN}/password?token=${token}`
          const inviter = c.var.user
          await enqueueInvitationEmail(
            tx,
            env,
            { invitee: created.user, inviter, url, expiresAt },
            now(),
          )
          return { created, inviteLink: url }
        })
    if (!created.ok)
      return refuse(c, PAGE, {
        status: created.code === 'duplicate_email' ? 409 : 422,
        code: created.code,
        message: created.message,
      })
    showOnce(c, inviteLink)
    return respond(c, PAGE, { notice: 'User added.' }, () =>
      c.json({ user: publicUser(created.user), inviteLink }, 201),
    )
  })
  .post('/:id/disable', (c) => toggle(c, true))
  .post('/:id/enable', (c) => toggle(c, false))
  .post('/:id/role', async (c) => {
    const id = await userIdOf(c)
    if (id instanceof Response) return id
    const input = await readInput(c, roleSchema, PAGE)
    if (input instanceof Response) return input
    if (id === c.var.user.id && input.role !== 'admin')
      return refuse(c, PAGE, {
        status: 409,
        code: 'own_role',
        message: 'You cannot remove your own admin role.',
      })
    const changed = await setUserRole(c.var.db, id, input.role, c.var.deps.now())
    if (!changed.ok) return refuseChange(c, changed)
    const { user } = changed
    return respond(c, PAGE, { notice: `Role changed to ${user.role}.` }, () =>
      c.json({ user: publicUser(user) }),
    )
  })
  .post('/:id/reset-password', async (c) => {
    const id = await userIdOf(c, BODYLESS)
    if (id instanceof Response) return id
    const user = await findUser(c.var.db, id)
    if (!user) return refuse(c, PAGE, { status: 404, ...UNKNOWN_USER }, BODYLESS)
    const { env, now } = c.var.deps
    const admin = c.var.user
    const link = await c.var.db.transaction(async (tx) => {
      // A disabled account's password is not set through a link (/api/setup/password refuses
      // it): a mail inviting them to would only fail. Read under lock, so a disable at the same
      // time comes after, and ends this link with the others.
      if ((await findUser(tx, user.id, { lock: true }))?.disabledAt) return null
      // The newest link is the only live one: an earlier one may be why a new one was asked for.
      await revokeUserTokens(tx, PASSWORD_LINKS, now(), user.id)
      const { token, expiresAt } = await createUserToken(tx, 'reset', user.id, now())
      const url = `${env.APP_ORIGIN}/password?token=${token}`
      const requestedFrom = admin.id === user.id ? null : `an admin, ${admin.name}`
      await enqueuePasswordResetEmail(tx, env, { user, url, expiresAt, requestedFrom }, now())
      return url
    })
    if (!link)
      return refuse(
        c,
        PAGE,
        {
          status: 409,
          code: 'account_disabled',
          message: 'That account is disabled: enable it first, then reset their password.',
        },
        BODYLESS,
      )
    showOnce(c, link)
    return respond(
      c,
      PAGE,
      { notice: 'Password reset link created.' },
      () => c.json({ link }),
      BODYLESS,
    )
  })

/** The user id the path names, or the refusal to return (a malformed id names no user). */
function userIdOf(c: Context<SignedInEnv>, options?: RefuseOptions) {
  return readParam(c, idSchema, 'id', PAGE, options)
}

async function toggle(c: Context<SignedInEnv>, disabled: boolean) {
  const id = await userIdOf(c, BODYLESS)
  if (id instanceof Response) return id
  if (id === c.var.user.id)
    return refuse(
      c,
      PAGE,
      {
        status: 409,
        code: 'own_account',
        // Signed in, your account is enabled: only disabling it could change anything.
        message: disabled
          ? 'You cannot disable your own account.'
          : 'Your own account is enabled: another admin enables or disables it.',
      },
      BODYLESS,
    )
  const changed = await setUserDisabled(c.var.db, id, disabled, c.var.deps.now())
  if (!changed.ok) return refuseChange(c, changed, BODYLESS)
  // Disabling ended their sessions and links with it (setUserDisabled).
  const { user } = changed
  // A rep who leaves usually leaves open deals: the page offers to hand them over at once.
  const openDeals = disabled ? ((await openDealCounts(c.var.db)).get(id) ?? 0) : 0
  const offer: Record<string, string> = openDeals ? { reassign: id } : {}
  const more = openDeals
    ? ` They have ${openDeals} open deal${openDeals === 1 ? '' : 's'}: hand them to someone below.`
    : ''
  return respond(
    c,
    PAGE,
    { notice: `Account ${disabled ? 'disabled' : 'enabled'}.${more}`, ...offer },
    () => c.json({ user: publicUser(user), ...(disabled ? { openDeals } : {}) }),
    BODYLESS,
  )
}

function refuseChange(
  c: Context<SignedInEnv>,
  refused: Extract<AccountChange, { ok: false }>,
  options?: RefuseOptions,
): Response {
  const status = refused.code === 'not_found' ? 404 : 409
  return refuse(c, PAGE, { status, code: refused.code, message: refused.message }, options)
}

/**
 * A plain form's 303 carries the one-time link to the users page in a short-lived cookie, shown
 * there once, never in the URL (browser history). JSON callers get it in the body.
 */
function showOnce(c: Context<SignedInEnv>, link: string | null): void {
  const token = link && new URL(link).searchParams.get('token')
  if (!token || wantsJson(c, BODYLESS)) return
  c.header('Set-Cookie', accountLinkCookie(token, secureCookies(c.var.deps.env)), { append: true })
}

/** The form's password field is empty when the user is to be invited instead. */
function withoutEmptyPassword(data: Record<string, unknown>): Record<string, unknown> {
  const { password, ...rest } = data
  return password === '' ? rest : data
}

function publicUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    disabled: !!user.disabledAt,
    invited: !user.passwordHash,
    createdAt: user.createdAt,
  }
}

const userId = z.object({ id: idSchema })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/users',
    summary: 'List the users.',
    auth: 'users:manage',
    ok: [200, '{ users }'],
  },
  {
    method: 'post',
    path: '/api/users',
    summary:
      'Add a user: with a password, or without one to email them an invitation (the link is in the answer).',
    auth: 'users:manage',
    body: createSchema,
    ok: [201, '{ user, inviteLink }'],
    errors: { 409: 'A user with this email exists (`duplicate_email`).' },
  },
  {
    method: 'post',
    path: '/api/users/{id}/disable',
    summary:
      'Disable a user and end their sessions; openDeals says how many open deals they leave (POST /api/deals/reassign hands them over).',
    auth: 'users:manage',
    params: userId,
    ok: [200, '{ user, openDeals }'],
    errors: {
      409: 'You cannot disable your own account (`own_account`), nor the last active admin (`last_admin`).',
    },
  },
  {
    method: 'post',
    path: '/api/users/{id}/enable',
    summary: 'Enable a disabled user.',
    auth: 'users:manage',
    params: userId,
    ok: [200, '{ user }'],
    errors: { 409: 'You cannot change your own account (`own_account`).' },
  },
  {
    method: 'post',
    path: '/api/users/{id}/role',
    summary: 'Change a user’s role.',
    auth: 'users:manage',
    params: userId,
    body: roleSchema,
    ok: [200, '{ user }'],
    errors: {
      409: 'You cannot remove your own admin role (`own_role`), nor the last active admin’s (`last_admin`).',
    },
  },
  {
    method: 'post',
    path: '/api/users/{id}/reset-password',
    summary: 'Email the user a password reset link (also in the answer, once).',
    auth: 'users:manage',
    params: userId,
    ok: [200, '{ link }'],
    errors: {
      409: 'The account is disabled (`account_disabled`): enable it first; nothing is emailed.',
    },
  },
]
