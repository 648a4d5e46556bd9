import { describe, expect, it } from 'vitest'
import { setupTestApp } from '../helpers.ts'

// Issue 19, item 6: an invalid session cookie was cleared on answers the route built itself, but
// not on the 401 the guards throw, so a browser kept sending a dead cookie.

const ctx = await setupTestApp()

describe('an invalid session cookie', () => {
  it.each(['/api/users', '/api/deals', '/api/contacts'])(
    'is cleared on the 401 from %s',
    async (path) => {
      const res = await ctx.app.request(path, { headers: { cookie: 'fd_session=abc.def' } })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect((await res.json()).error.code).toBeTruthy()
      const cleared = res.headers.getSetCookie().find((c) => c.startsWith('fd_session='))
      expect(cleared).toMatch(/^fd_session=;/)
      expect(cleared).toMatch(/Max-Age=0/i)
    },
  )
})
