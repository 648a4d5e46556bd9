import { createMiddleware } from 'hono/factory'
import type { Permission } from '../accounts/permissions.ts'
import { can } from '../accounts/permissions.ts'
import type { AppEnv } from './app-env.ts'
import { fail } from './input.ts'

export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.user) fail(401, 'unauthorized', 'Sign in first.')
  await next()
})

export function requirePermission(permission: Permission) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.user) fail(401, 'unauthorized', 'Sign in first.')
    if (!can(c.var.user, permission)) fail(403, 'forbidden', 'Your role does not allow this.')
    await next()
  })
}
