import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../http/app-env.ts'
import { fail } from '../http/input.ts'
import { scopeFor } from './api-scopes.ts'
import { can, type Permission } from './permissions.ts'
import type { SessionUser } from './sessions.ts'

// Route guards. Behind one, a handler sees `c.var.user` as the signed-in user, never null:
// Hono merges a middleware's Env into the handlers registered after it.

/** The request context behind a guard. */
export type SignedInEnv = AppEnv & { Variables: { user: SessionUser } }

/** Someone is signed in (401 otherwise). */
export const requireUser: MiddlewareHandler<SignedInEnv> = guard(null)

/** Someone is signed in (401) whose role allows `permission` (403). */
export function requirePermission(permission: Permission): MiddlewareHandler<SignedInEnv> {
  return guard(permission)
}

function guard(permission: Permission | null): MiddlewareHandler<SignedInEnv> {
  const check = createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.user) unauthenticated(permission)
    const problem = permissionProblem(c, permission)
    if (problem) fail(problem.status, problem.code, problem.message, problem.extra, problem.headers)
    await next()
  })
  // The one place the type is widened to what the check above makes true at run time.
  return check as MiddlewareHandler<SignedInEnv>
}

/**
 * The 401 of a request without credentials. A route an API token may use says so the way RFC 6750
 * asks (a `WWW-Authenticate: Bearer` challenge) and in words for the API client that forgot its
 * token; a route only people use asks them to sign in.
 */
function unauthenticated(permission: Permission | null): never {
  if (permission && scopeFor(permission))
    fail(
      401,
      'unauthorized',
      'Send an API token as "Authorization: Bearer <token>", or sign in.',
      undefined,
      { 'WWW-Authenticate': 'Bearer' },
    )
  fail(401, 'unauthorized', 'Sign in first.')
}

export interface PermissionProblem {
  status: 403
  code: 'forbidden' | 'insufficient_scope'
  message: string
  /** The scope an API token lacks, for its error body. */
  extra?: { scope: string }
  /** RFC 6750's challenge naming that scope, for the answer's headers. */
  headers?: { 'WWW-Authenticate': string }
}

/**
 * Why this signed-in request may not do `permission`, or null when it may: an API token acts for
 * its admin, narrowed to its scopes (routes no scope opens stay closed to tokens), so a token is
 * told the scope it lacks; a person is told their role does not allow it (`roleMessage`, when the
 * route words it for its action). Null `permission`: anyone signed in (a token still needs a
 * route a scope opens).
 */
export function permissionProblem(
  c: { var: Pick<AppEnv['Variables'], 'apiToken' | 'user'> },
  permission: Permission | null,
  roleMessage = 'Your role does not allow this.',
): PermissionProblem | null {
  const token = c.var.apiToken
  if (token) {
    const scope = permission ? scopeFor(permission) : null
    if (!scope)
      return {
        status: 403,
        code: 'forbidden',
        message: 'API tokens cannot use this route; sign in instead.',
      }
    if (!token.scopes.includes(scope))
      return {
        status: 403,
        code: 'insufficient_scope',
        message: `This API token lacks the ${scope} scope.`,
        extra: { scope },
        headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
      }
  }
  if (permission && !can(c.var.user, permission))
    return { status: 403, code: 'forbidden', message: roleMessage }
  return null
}
