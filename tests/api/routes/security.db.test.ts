import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { companies, contacts, deals, rateLimitHits } from '../../../api/db/schema.ts'
import { newId, newToken } from '../../../api/ids.ts'
import { createLogger } from '../../../api/logger.ts'
import { ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'

const ctx = await setupTestApp()

describe('cross-site requests without a body', () => {
  it('refuses a bodiless POST that does not come from this site, and accepts one that does', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await signedInAs(ctx, 'rep')
    const url = `/api/users/${rep.user.id}/disable`
    const bare = await ctx.app.request(url, { method: 'POST', headers: { cookie } })
    expect(bare.status).toBe(403)
    expect((await bare.json()).error.code).toBe('cross_site_request')
    const crossSite = await ctx.app.request(url, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
    })
    expect(crossSite.status).toBe(403)
    const ours = await ctx.app.request(url, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'same-origin', accept: 'application/json' },
    })
    expect(ours.status).toBe(200)
  })
})

describe('a contact seen by a rep', () => {
  it('shows their own and unclaimed deals, not another rep’s deal and its notes', async () => {
    const alice = await signedInAs(ctx, 'rep')
    const bob = await signedInAs(ctx, 'rep')
    const companyId = newId()
    await ctx.deps.db
      .insert(companies)
      .values({ id: companyId, domain: 'private-deal.example', name: 'Private Deal Co' })
    const contactId = newId()
    await ctx.deps.db.insert(contacts).values({
      id: contactId,
      email: 'buyer@private-deal.example',
      emailDisplay: 'buyer@private-deal.example',
      companyId,
      source: 'inbound',
    })
    await ctx.deps.db.insert(deals).values({
      id: newId(),
      contactId,
      companyId,
      title: 'Private Deal Co',
      stage: 'negotiation',
      source: 'inbound',
      ownerId: alice.user.id,
      amountCents: 4_800_000,
      budgetNotes: 'CFO approved 50k',
    })
    const asBob = await ctx.app.request(`/api/contacts/${contactId}`, {
      headers: { cookie: bob.cookie },
    })
    expect(asBob.status).toBe(200)
    const bobView = await asBob.text()
    expect(bobView).not.toContain('CFO approved')
    expect(JSON.parse(bobView)).toMatchObject({ hiddenDeals: 1, deals: [] })
    const asAlice = await (
      await ctx.app.request(`/api/contacts/${contactId}`, { headers: { cookie: alice.cookie } })
    ).json()
    expect(asAlice.deals).toHaveLength(1)
    expect(asAlice.hiddenDeals).toBe(0)
  })
})

describe('access log', () => {
  it('never writes download or unsubscribe tokens', async () => {
    const lines: string[] = []
    const app = createApp({
      ...ctx.deps,
      logger: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
    })
    await app.request('/d/secret-download-token-123')
    await app.request('/u/secret-unsubscribe-token-456', {
      method: 'POST',
      headers: { origin: ORIGIN },
    })
    const log = lines.join('\n')
    expect(log).not.toContain('secret-download-token-123')
    expect(log).not.toContain('secret-unsubscribe-token-456')
    expect(log).toContain('"path":"/d/…"')
  })
})

describe('hot routes in front of the API', () => {
  const logged = () => {
    const lines: string[] = []
    const app = createApp({
      ...ctx.deps,
      logger: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
    })
    return { app, lines }
  }

  it('answers GET /api synchronously, past every middleware', async () => {
    // @hono/node-server writes a Response it gets synchronously without a promise or a close
    // listener: a middleware on this route (even an empty one) would hand it a promise instead.
    const { app, lines } = logged()
    const res = app.fetch(new Request(`${ORIGIN}/api`))
    expect(res).toBeInstanceOf(Response)
    expect((res as Response).status).toBe(302)
    expect(lines).toEqual([]) // no request context, so no access line either
    await app.request('/api/nope')
    expect(lines.join('\n')).toContain('"path":"/api/nope"') // the rest still has one
  })

  it("hands Node's request on to the API behind them (the client IP comes from the socket)", async () => {
    const app = createApp({ ...ctx.deps, env: { ...ctx.deps.env, TRUST_PROXY: false } })
    const headers = { 'content-type': 'application/json', origin: ORIGIN }
    const incoming = {
      headers,
      socket: { remoteAddress: '198.51.100.23', remotePort: 40000, remoteFamily: 'IPv4' },
    }
    const res = await app.fetch(
      new Request(`${ORIGIN}/api/sessions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ email: 'nobody@front.example', password: 'wrong password here' }),
      }),
      { incoming, outgoing: {} },
    )
    expect(res.status).toBe(401)
    const [hit] = await ctx.deps.db
      .select()
      .from(rateLimitHits)
      .where(eq(rateLimitHits.key, 'signin:ip:198.51.100.23'))
    expect(hit?.count).toBe(1)
  })
})

describe('an unexpected failure', () => {
  it('answers a JSON 500 that shows nothing of the internals, and logs the error with its request id', async () => {
    const lines: string[] = []
    const broken = new Proxy({} as typeof ctx.deps.db, {
      get() {
        throw new Error('connection lost at /srv/frontdoor/api/db/client.ts:42')
      },
    })
    const app = createApp({
      ...ctx.deps,
      db: broken,
      logger: createLogger({ level: 'error', format: 'json', write: (l) => lines.push(l) }),
    })
    const res = await app.request('/api/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN },
      body: JSON.stringify({ email: 'someone@example.com', password: 'a long enough password' }),
    })
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'internal', message: 'Something went wrong on our side. It has been logged.' },
    })
    expect(text).not.toContain('client.ts')
    const requestId = res.headers.get('x-request-id')
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unhandled error')
    expect(logged).toMatchObject({
      requestId,
      path: '/api/sessions',
      err: { message: expect.stringContaining('connection lost') },
    })
  })

  it('logs the path of a bearer link (/u, /d) without its token', async () => {
    const lines: string[] = []
    const broken = new Proxy({} as typeof ctx.deps.db, {
      get() {
        throw new Error('connection lost')
      },
    })
    const app = createApp({
      ...ctx.deps,
      db: broken,
      logger: createLogger({ level: 'error', format: 'json', write: (l) => lines.push(l) }),
    })
    const token = newToken()
    for (const prefix of ['u', 'd']) {
      lines.length = 0
      const res = await app.request(`/${prefix}/${token}`)
      expect(res.status).toBe(500)
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unhandled error')
      expect(logged).toMatchObject({ path: `/${prefix}/…` })
      expect(lines.join('\n')).not.toContain(token)
    }
  })
})
