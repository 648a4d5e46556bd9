import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { setUserRole } from '../../../api/accounts/users.ts'
import { apiTokens, contacts, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { json, ORIGIN, setupTestApp, signedInAs, type TestContext } from '../../helpers.ts'

// API tokens: made by an admin, shown once, stored as a hash; a bearer token opens exactly the
// routes its scopes map to, and nothing once revoked, expired, tampered with, or sent with a cookie.

let ctx: TestContext
let admin: { cookie: string; user: { id: string } }
let dealId: string

async function makeToken(body: Record<string, unknown>, cookie = admin.cookie) {
  const res = await ctx.app.request('/api/admin/api-tokens', json(body, { cookie, origin: ORIGIN }))
  expect(res.status).toBe(201)
  return (await res.json()) as { token: string; apiToken: { id: string } }
}

const bearer = (token: string, init: RequestInit = {}) => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
})

beforeAll(async () => {
  ctx = await setupTestApp({ API_TOKEN_REQUESTS_PER_MINUTE: '5' })
  admin = await signedInAs(ctx, 'admin')
  const contactId = newId()
  await ctx.deps.db.insert(contacts).values({
    id: contactId,
    email: 'ann@buyer.example',
    emailDisplay: 'ann@buyer.example',
    source: 'inbound',
  })
  dealId = newId()
  await ctx.deps.db
    .insert(deals)
    .values({ id: dealId, contactId, title: 'Buyer Ltd', stage: 'target', source: 'inbound' })
})

describe('API tokens', () => {
  it('shows the secret once and stores only its hash', async () => {
    const { token, apiToken } = await makeToken({ name: 'CRM sync', scopes: ['deals:read'] })
    expect(token).toMatch(/^fdt_[a-z2-7]{32}\.[a-z2-7]{32}$/)
    const [row] = await ctx.deps.db.select().from(apiTokens).where(eq(apiTokens.id, apiToken.id))
    expect(Buffer.from(row!.secretHash).toString('utf8')).not.toContain(token.split('.')[1])
    const list = await ctx.app.request('/api/admin/api-tokens', {
      headers: { cookie: admin.cookie },
    })
    const text = await list.text()
    expect(text).toContain('CRM sync')
    expect(text).not.toContain(token.split('.')[1])
  })

  it('opens the routes its scopes allow and records the last use', async () => {
    const { token, apiToken } = await makeToken({ name: 'reader', scopes: ['deals:read'] })
    const res = await ctx.app.request(`/api/deals/${dealId}`, bearer(token))
    expect(res.status).toBe(200)
    const [row] = await ctx.deps.db.select().from(apiTokens).where(eq(apiTokens.id, apiToken.id))
    expect(row!.lastUsedAt?.toISOString()).toBe(ctx.deps.now().toISOString())
  })

  it('refuses a route outside its scopes with the scope it lacks', async () => {
    const { token } = await makeToken({ name: 'leads only', scopes: ['leads:read'] })
    const res = await ctx.app.request(`/api/deals/${dealId}`, bearer(token))
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({
      error: { code: 'insufficient_scope', scope: 'deals:read' },
    })
    // As RFC 6750 asks, with the scope that would do.
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="deals:read"',
    )
    // A read scope does not take over a lead (the claim route decides by itself).
    const reader = await makeToken({ name: 'deals reader', scopes: ['deals:read'] })
    const claim = await ctx.app.request(
      `/api/deals/${dealId}/claim`,
      bearer(reader.token, { method: 'POST' }),
    )
    expect(claim.status).toBe(403)
    expect(claim.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", scope="deals:write"',
    )
    // …and says it is the token's scope, not the admin's role, that is missing.
    expect(await claim.json()).toEqual({
      error: { code: 'insufficient_scope', message: 'This API token lacks the deals:write scope.' },
    })
    const [deal] = await ctx.deps.db.select().from(deals).where(eq(deals.id, dealId))
    expect(deal!.ownerId).toBeNull()
  })

  it('never opens routes for people only (users, tokens)', async () => {
    const { token } = await makeToken({
      name: 'all scopes',
      scopes: ['leads:read', 'deals:read', 'deals:write', 'campaigns:read', 'webhooks:manage'],
    })
    expect((await ctx.app.request('/api/users', bearer(token))).status).toBe(403)
    const res = await ctx.app.request(
      '/api/admin/api-tokens',
      bearer(token, json({ name: 'escalate', scopes: ['deals:read'] })),
    )
    expect(res.status).toBe(403)
  })

  it('writes with deals:write and needs no CSRF header', async () => {
    const { token } = await makeToken({ name: 'writer', scopes: ['deals:read', 'deals:write'] })
    // No Origin, no Sec-Fetch-Site, no body: a session request like this is refused as cross-site.
    const res = await ctx.app.request(
      `/api/deals/${dealId}/claim`,
      bearer(token, { method: 'POST' }),
    )
    expect(res.status).toBe(200)
    const [deal] = await ctx.deps.db.select().from(deals).where(eq(deals.id, dealId))
    expect(deal!.ownerId).toBe(admin.user.id)
  })

  it('answers a form-encoded body in JSON, never with a browser’s redirect', async () => {
    const { token } = await makeToken({ name: 'curl', scopes: ['deals:read', 'deals:write'] })
    const form = (body: string) =>
      bearer(token, {
        method: 'PATCH',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    const saved = await ctx.app.request(`/api/deals/${dealId}`, form('title=Wayne Enterprises'))
    expect(saved.status).toBe(200)
    expect(saved.headers.get('content-type')).toMatch(/^application\/json/)
    const [deal] = await ctx.deps.db.select().from(deals).where(eq(deals.id, dealId))
    expect(deal!.title).toBe('Wayne Enterprises')
    // JSON sent with curl's default form type is read as the form it says it is, and refused.
    const refused = await ctx.app.request(`/api/deals/${dealId}`, form('{"title":"x"}'))
    expect(refused.status).toBe(422)
    expect((await refused.json()).error.code).toBe('invalid_input')
  })

  it('refuses a revoked token', async () => {
    const { token, apiToken } = await makeToken({ name: 'soon revoked', scopes: ['deals:read'] })
    const revoke = await ctx.app.request(`/api/admin/api-tokens/${apiToken.id}/revoke`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    expect(revoke.status).toBe(200)
    const res = await ctx.app.request(`/api/deals/${dealId}`, bearer(token))
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('invalid_token')
  })

  it('refuses an expired token', async () => {
    const { token } = await makeToken({ name: 'one day', scopes: ['deals:read'], expiresInDays: 1 })
    expect((await ctx.app.request(`/api/deals/${dealId}`, bearer(token))).status).toBe(200)
    ctx.clock.advance(24 * 60 * 60 * 1000)
    expect((await ctx.app.request(`/api/deals/${dealId}`, bearer(token))).status).toBe(401)
  })

  it('refuses a tampered or malformed token', async () => {
    const { token } = await makeToken({ name: 'tamper', scopes: ['deals:read'] })
    const last = token.at(-1) === 'a' ? 'b' : 'a'
    for (const bad of [
      token.slice(0, -1) + last,
      token.replace('fdt_', 'fdx_'),
      `${token}.x`,
      'fdt_',
    ])
      expect((await ctx.app.request(`/api/deals/${dealId}`, bearer(bad))).status).toBe(401)
    const basic = await ctx.app.request(`/api/deals/${dealId}`, {
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    })
    expect(basic.status).toBe(401)
  })

  it('leaves other schemes alone: behind a Basic-auth proxy the session and public routes work', async () => {
    const basic = 'Basic Zm9vOmJhcg=='
    const signedIn = await ctx.app.request(`/api/deals/${dealId}`, {
      headers: { authorization: basic, cookie: admin.cookie },
    })
    expect(signedIn.status).toBe(200)
    expect(
      (await ctx.app.request('/api/health', { headers: { authorization: basic } })).status,
    ).toBe(200)
    // A Bearer header that is no token is still refused, not ignored.
    const empty = await ctx.app.request(`/api/deals/${dealId}`, {
      headers: { authorization: 'Bearer', cookie: admin.cookie },
    })
    expect(empty.status).toBe(401)
  })

  it('refuses a session cookie and a bearer token together', async () => {
    const { token } = await makeToken({ name: 'both', scopes: ['deals:read'] })
    const res = await ctx.app.request(
      `/api/deals/${dealId}`,
      bearer(token, { headers: { cookie: admin.cookie } }),
    )
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { code: 'ambiguous_credentials' } })
  })

  it('stops working when its admin is no longer an admin', async () => {
    const other = await signedInAs(ctx, 'admin')
    const { token } = await makeToken({ name: 'theirs', scopes: ['deals:read'] }, other.cookie)
    await setUserRole(ctx.deps.db, other.user.id, 'rep', ctx.deps.now())
    expect((await ctx.app.request(`/api/deals/${dealId}`, bearer(token))).status).toBe(401)
    // The list says so, where it showed the token as active.
    const listed = await ctx.app.request('/api/admin/api-tokens', {
      headers: { cookie: admin.cookie },
    })
    const { tokens } = (await listed.json()) as {
      tokens: { name: string; createdBy: { canAct: boolean } }[]
    }
    expect(tokens.find((t) => t.name === 'theirs')?.createdBy.canAct).toBe(false)
    expect(tokens.every((t) => t.name === 'theirs' || t.createdBy.canAct)).toBe(true)
  })

  it('limits each token per minute with 429 and Retry-After', async () => {
    ctx.clock.set(new Date('2026-12-01T10:00:10Z'))
    const { token } = await makeToken({ name: 'busy', scopes: ['deals:read'] })
    const statuses: number[] = []
    for (let i = 0; i < 6; i++)
      statuses.push((await ctx.app.request(`/api/deals/${dealId}`, bearer(token))).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
    const limited = await ctx.app.request(`/api/deals/${dealId}`, bearer(token))
    expect(limited.headers.get('retry-after')).toBe('50')
    // Another token has its own budget.
    const { token: other } = await makeToken({ name: 'quiet', scopes: ['deals:read'] })
    expect((await ctx.app.request(`/api/deals/${dealId}`, bearer(other))).status).toBe(200)
    ctx.clock.advance(50_000)
    expect((await ctx.app.request(`/api/deals/${dealId}`, bearer(token))).status).toBe(200)
  })

  it('validates the token form', async () => {
    for (const body of [
      { name: '', scopes: ['deals:read'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: ['deals:read'], expiresInDays: 0 },
    ]) {
      const res = await ctx.app.request(
        '/api/admin/api-tokens',
        json(body, { cookie: admin.cookie, origin: ORIGIN }),
      )
      expect(res.status).toBe(422)
    }
  })

  it('gives a plain form the secret in a one-minute cookie for the page, not in the URL', async () => {
    const res = await ctx.app.request('/api/admin/api-tokens', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        cookie: admin.cookie,
      },
      body: new URLSearchParams({ name: 'form made', 'scope:leads:read': 'on' }).toString(),
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/app\/admin\/api\?notice=/)
    expect(res.headers.get('location')).not.toContain('fdt_')
    const cookies = res.headers.getSetCookie().join('\n')
    expect(cookies).toMatch(
      /fd_new_api_token=fdt_[a-z2-7.]+; HttpOnly; SameSite=Strict; Path=\/app\/admin\/api; Max-Age=60/,
    )
  })
})
