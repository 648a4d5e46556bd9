import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { requirePermission, requireUser } from '../../../api/accounts/guards.ts'
import type { SessionUser } from '../../../api/accounts/sessions.ts'
import type { AppEnv } from '../../../api/http/app-env.ts'

// Behind a guard a handler sees the signed-in user, typed non-null: no `c.var.user!`.

const rep: SessionUser = {
  id: 'u1',
  email: 'rep@example.com',
  name: 'Rep',
  role: 'rep',
  timeZone: 'UTC',
}

function appAs(user: SessionUser | null) {
  return new Hono<AppEnv>()
    .use((c, next) => {
      c.set('user', user)
      return next()
    })
    .get('/me', requireUser, (c) => {
      expectTypeOf(c.var.user).toEqualTypeOf<SessionUser>()
      return c.json({ id: c.var.user.id })
    })
    .get('/admin', requirePermission('users:manage'), (c) => c.json({ id: c.var.user.id }))
    .onError((err, c) =>
      err instanceof HTTPException ? err.getResponse() : c.json({ error: 'unexpected' }, 500),
    )
}

describe('route guards', () => {
  it('let a signed-in user through to a handler that sees them', async () => {
    const res = await appAs(rep).request('/me')
    expect(await res.json()).toEqual({ id: 'u1' })
  })

  it('answer 401 to nobody and 403 to a role without the permission', async () => {
    const nobody = await appAs(null).request('/me')
    expect(nobody.status).toBe(401)
    expect((await nobody.json()).error.code).toBe('unauthorized')
    const denied = await appAs(rep).request('/admin')
    expect(denied.status).toBe(403)
    expect((await denied.json()).error.code).toBe('forbidden')
    const admin = await appAs({ ...rep, role: 'admin' }).request('/admin')
    expect(admin.status).toBe(200)
  })
})
