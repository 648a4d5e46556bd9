import { describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { MAX_NEXT_PATH } from '../../../api/http/cookies.ts'
import { readFormFlash } from '../../../api/http/form-flash.ts'
import {
  addUser,
  form,
  json,
  ORIGIN,
  PASSWORD,
  setupTestApp,
  signInCookie,
  unsigned,
} from '../../helpers.ts'

const ctx = await setupTestApp()

/** A JSON body as written, not through JSON.stringify. */
const jsonText = (body: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', origin: ORIGIN },
  body,
})

describe('POST /api/sessions (sign in)', () => {
  it('signs in with JSON and sets an HttpOnly, SameSite=Lax session cookie', async () => {
    const user = await addUser(ctx, 'rep')
    const res = await ctx.app.request(
      '/api/sessions',
      json({ email: user.email.toUpperCase(), password: PASSWORD }),
    )
    expect(res.status).toBe(201)
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/^fd_session=[a-z0-9]+\.[a-z0-9]+;/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Path=/')
    expect(cookie).not.toContain('Secure') // http origin in tests
    expect((await res.json()).user.email).toBe(user.email)
  })

  it('answers an unknown email and a wrong password identically', async () => {
    const user = await addUser(ctx, 'rep')
    const wrong = await ctx.app.request(
      '/api/sessions',
      json({ email: user.email, password: 'nope-nope-nope' }),
      undefined,
    )
    const unknown = await ctx.app.request(
      '/api/sessions',
      json({ email: 'nobody@example.com', password: 'nope-nope-nope' }),
    )
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(await wrong.text()).toBe(await unknown.text())
  })

  it('refuses a disabled account with the same answer', async () => {
    const user = await addUser(ctx, 'rep')
    const { setUserDisabled } = await import('../../../api/accounts/users.ts')
    await setUserDisabled(ctx.deps.db, user.id, true, ctx.clock.now())
    const res = await ctx.app.request(
      '/api/sessions',
      json({ email: user.email, password: PASSWORD }),
    )
    expect(res.status).toBe(401)
  })

  it('throttles an address after 5 failures on an account, even with the right password', async () => {
    const user = await addUser(ctx, 'rep')
    for (let i = 0; i < 5; i++) {
      const r = await ctx.app.request(
        '/api/sessions',
        json({ email: user.email, password: 'wrong-password' }),
      )
      expect(r.status).toBe(401)
    }
    const blocked = await ctx.app.request(
      '/api/sessions',
      json({ email: user.email, password: PASSWORD }),
    )
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    ctx.clock.advance(30 * 60_000) // sliding: failures weigh until a whole window has passed after them
    const again = await ctx.app.request(
      '/api/sessions',
      json({ email: user.email, password: PASSWORD }),
    )
    expect(again.status).toBe(201)
  })

  it('counts an IPv6 client by its /64: rotating addresses in it does not reset the throttle', async () => {
    const app = createApp({ ...ctx.deps, env: { ...ctx.deps.env, TRUST_PROXY: true } })
    const from = (ip: string, password: string, email: string) =>
      app.request('/api/sessions', json({ email, password }, { 'x-forwarded-for': ip }))
    const user = await addUser(ctx, 'rep')
    for (let i = 1; i <= 5; i++)
      expect((await from(`2001:db8:5:1::${i}`, 'wrong-password', user.email)).status).toBe(401)
    // Another address of the same /64, spelled long-hand: still that /64's sixth attempt.
    const blocked = await from('2001:0db8:0005:0001:0000:0000:0000:0099', PASSWORD, user.email)
    expect(blocked.status).toBe(429)
    // Another /64 is another address.
    expect((await from('2001:db8:5:2::1', PASSWORD, user.email)).status).toBe(201)
  })

  it('issues a new token at every sign-in and ends the previous session (no fixation)', async () => {
    const user = await addUser(ctx, 'rep')
    const first = await signInCookie(ctx, user.email)
    const res = await ctx.app.request(
      '/api/sessions',
      json({ email: user.email, password: PASSWORD }, { cookie: first }),
    )
    const second = res.headers.get('set-cookie')!.split(';')[0]!
    expect(second).not.toBe(first)
    const me = await ctx.app.request('/api/users', { headers: { cookie: first } })
    expect(me.status).toBe(401)
  })

  it('signs in with a plain HTML form and redirects to a same-origin next only', async () => {
    const user = await addUser(ctx, 'rep')
    const ok = await ctx.app.request(
      '/api/sessions',
      form({ email: user.email, password: PASSWORD, next: '/app/pipeline' }),
    )
    expect(ok.status).toBe(303)
    expect(ok.headers.get('location')).toBe('/app/pipeline')
    for (const next of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
    ]) {
      const res = await ctx.app.request(
        '/api/sessions',
        form({ email: user.email, password: PASSWORD, next }),
      )
      expect(res.headers.get('location')).toBe('/app')
    }
    const bad = await ctx.app.request(
      '/api/sessions',
      form({ email: user.email, password: 'wrong-one!', next: '/app/deals' }),
    )
    expect(bad.status).toBe(303)
    expect(unsigned(bad.headers.get('location'))).toBe(
      '/login?error=invalid_credentials&next=%2Fapp%2Fdeals',
    )
  })

  it('signs in with a next too long to follow, going to /app instead of refusing', async () => {
    const user = await addUser(ctx, 'rep')
    const next = `/app/search?q=${'acme+'.repeat(450)}`
    const res = await ctx.app.request(
      '/api/sessions',
      form({ email: user.email, password: PASSWORD, next }),
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/app')
    const wrong = await ctx.app.request(
      '/api/sessions',
      form({ email: user.email, password: 'wrong-one!', next }),
    )
    expect(unsigned(wrong.headers.get('location'))).toBe('/login?error=invalid_credentials')
    const atLimit = `/app/search?q=${'a'.repeat(MAX_NEXT_PATH - '/app/search?q='.length)}`
    const kept = await ctx.app.request(
      '/api/sessions',
      form({ email: user.email, password: PASSWORD, next: atLimit }),
    )
    expect(kept.headers.get('location')).toBe(atLimit)
  })

  it('sends a refused sign-in form back with the email typed, never the password', async () => {
    const user = await addUser(ctx, 'rep')
    for (const [password, error] of [
      ['wrong-one!', 'invalid_credentials'],
      ['', 'invalid_input'],
    ] as const) {
      const bad = await ctx.app.request(
        '/api/sessions',
        form({ email: user.email, password, next: '/app/deals' }),
      )
      expect(unsigned(bad.headers.get('location'))).toBe(
        `/login?error=${error}&next=%2Fapp%2Fdeals`,
      )
      const cookie = bad.headers.get('set-cookie')!.split(';')[0]!
      const flash = readFormFlash(ctx.deps.secret, cookie, '/login', null, ctx.deps.now())
      expect(flash?.values).toEqual({ email: user.email })
    }
  })

  it('refuses a cross-site form post (CSRF)', async () => {
    const user = await addUser(ctx, 'rep')
    const res = await ctx.app.request(
      '/api/sessions',
      form({ email: user.email, password: PASSWORD }, { origin: 'https://evil.example' }),
    )
    expect(res.status).toBe(403)
    expect((await res.json()).error.code).toBe('cross_site_request')
    const fetchSite = await ctx.app.request('/api/sessions', {
      ...form({ email: user.email, password: PASSWORD }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'cross-site',
      },
    })
    expect(fetchSite.status).toBe(403)
  })

  it.each([
    ['missing fields', json({}), 422],
    ['wrong types', json({ email: 42, password: true }), 422],
    [
      'not JSON',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' },
      400,
    ],
    ['a JSON array', json([1, 2]), 400],
    [
      'duplicate keys',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"email":"a@b.co","email":"c@d.co","password":"x"}',
      },
      400,
    ],
    [
      'invalid UTF-8 in a form',
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
        body: 'email=%C3%28&password=x',
      },
      400,
    ],
    [
      'invalid UTF-8 bytes',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      },
      400,
    ],
    [
      'a text/plain body',
      { method: 'POST', headers: { 'content-type': 'text/plain', origin: ORIGIN }, body: 'hi' },
      415,
    ],
    ['a huge password', json({ email: 'a@example.com', password: 'x'.repeat(10_000) }), 422],
    [
      // Each would overflow the stack of a check that walks the body recursively (was a 500).
      'a body nested 5,000 objects deep',
      jsonText(`{"email":"a@example.com","x":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`),
      400,
    ],
    [
      'a body nested 20,000 arrays deep',
      jsonText(`{"email":"a@example.com","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`),
      400,
    ],
    ['a body nested 33 deep', jsonText(`{"x":${'['.repeat(32)}${']'.repeat(32)}}`), 400],
  ])('answers %s with a 4xx and a clear JSON error', async (_name, init, status) => {
    const res = await ctx.app.request('/api/sessions', init as RequestInit)
    expect(res.status).toBe(status)
    const body = await res.json()
    expect(body.error.code).toBeTypeOf('string')
    expect(body.error.message.length).toBeGreaterThan(5)
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/)
  })

  it('answers a body over the limit with 413', async () => {
    const res = await ctx.app.request(
      '/api/sessions',
      json({ email: 'a@example.com', password: 'x'.repeat(200_000) }),
    )
    expect(res.status).toBe(413)
    expect((await res.json()).error.code).toBe('payload_too_large')
  })
})

describe('signing out', () => {
  it('DELETE /api/sessions/current ends the session', async () => {
    const user = await addUser(ctx, 'admin')
    const cookie = await signInCookie(ctx, user.email)
    expect((await ctx.app.request('/api/users', { headers: { cookie } })).status).toBe(200)
    const res = await ctx.app.request('/api/sessions/current', {
      method: 'DELETE',
      headers: { cookie, origin: ORIGIN },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await ctx.app.request('/api/users', { headers: { cookie } })).status).toBe(401)
  })

  it('the sign-out form (POST with _method=DELETE) works without JavaScript', async () => {
    const user = await addUser(ctx, 'admin')
    const cookie = await signInCookie(ctx, user.email)
    const res = await ctx.app.request(
      '/api/sessions/current',
      form({ _method: 'DELETE' }, { cookie }),
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login?signed_out=1')
    expect((await ctx.app.request('/api/users', { headers: { cookie } })).status).toBe(401)
  })
})
