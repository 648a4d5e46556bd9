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
    const user = c.var.user
    if (!user) fail(401, 'unauthorized', 'Sign in first.')
    // An API token acts for its admin, narrowed to its scopes; routes no scope opens stay closed.
    const token = c.var.apiToken
    if (token) {
      const scope = permission ? scopeFor(permission) : null
      if (!scope) fail(403, 'forbidden', 'API tokens cannot use this route; sign in instead.')
      if (!token.scopes.includes(scope))
        fail(403, 'insufficient_scope', `This API token lacks the ${scope} scope.`, { scope })
    }
    if (permission && !can(user, permission))
      fail(403, 'forbidden', 'Your role does not allow this.')
    await next()
  })
  // The one place the type is widened to what the check above makes true at run time.
  return check as MiddlewareHandler<SignedInEnv>
}

/**
 * For a handler that decides by itself (no guard): may this request do `permission`? The role
 * allows it and, for an API token, a scope grants it.
 */
export function allows(
  c: { var: Pick<AppEnv['Variables'], 'apiToken' | 'user'> },
  permission: Permission,
): boolean {
  const token = c.var.apiToken
  if (token) {
    const scope = scopeFor(permission)
    if (!scope || !token.scopes.includes(scope)) return false
  }
  return can(c.var.user, permission)
}
