import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { outbox } from '../../../api/db/schema.ts'
import { pauseTransport, resumeTransport } from '../../../api/email/transport-status.ts'
import { json, ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'
import { enqueueAsset, mailboxTransport, testWorker } from './outbox-fixtures.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db

async function outboxHealth() {
  const res = await ctx.app.request('/api/health')
  expect(res.status).toBe(200)
  return (await res.json()).outbox
}

describe('GET /api/health: outbox', () => {
  it('reports the backlog, its oldest age, failures, the transport and its state', async () => {
    expect(await outboxHealth()).toEqual({
      pending: 0,
      oldestPendingSeconds: 0,
      failed: 0,
      transport: 'dev',
      transportState: 'ok',
    })

    const first = await enqueueAsset(db, ctx.clock.now(), 'one@northwind.example')
    ctx.clock.advance(90_000)
    await enqueueAsset(db, ctx.clock.now(), 'two@northwind.example')
    expect(await outboxHealth()).toMatchObject({ pending: 2, oldestPendingSeconds: 90, failed: 0 })

    await db.update(outbox).set({ status: 'failed' }).where(eq(outbox.id, first))
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect(await outboxHealth()).toMatchObject({ pending: 0, oldestPendingSeconds: 0, failed: 1 })
  })

  it('says when the transport is paused, and to an admin why, while the instance stays healthy', async () => {
    const pausedAt = ctx.clock.now()
    await pauseTransport(db, 'dev', 'dev: EAUTH: Invalid login', pausedAt)
    const { cookie } = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request('/api/health', { headers: { cookie } })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.status).toBe('ok')
    expect(body.outbox).toMatchObject({
      transport: 'dev',
      transportState: 'paused',
      transportReason: 'dev: EAUTH: Invalid login',
      pausedSince: pausedAt.toISOString(),
    })
    // An admin's answer carries the mail server's words: no shared cache may keep it.
    expect(res.headers.get('cache-control')).toBe('private, no-store')
  })

  it('tells anyone else that the transport is paused and since when, but not why', async () => {
    await resumeTransport(db, 'dev', ctx.clock.now())
    ctx.clock.advance(60_000)
    const pausedAt = ctx.clock.now()
    await pauseTransport(db, 'dev', 'dev: EAUTH: Invalid login', pausedAt)
    const rep = await signedInAs(ctx, 'rep')
    // An API token acts for its admin, narrowed to its scopes, and no scope opens the outbox.
    const admin = await signedInAs(ctx, 'admin')
    const made = await ctx.app.request(
      '/api/admin/api-tokens',
      json({ name: 'monitor', scopes: ['deals:read'] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    expect(made.status).toBe(201)
    const { token } = await made.json()
    const callers: Record<string, Record<string, string>> = {
      anonymous: {},
      rep: { cookie: rep.cookie },
      'API token': { authorization: `Bearer ${token}` },
    }
    for (const [caller, headers] of Object.entries(callers)) {
      const res = await ctx.app.request('/api/health', { headers })
      expect(res.status, caller).toBe(200)
      const text = await res.text()
      expect(text, caller).not.toContain('EAUTH')
      const { outbox } = JSON.parse(text)
      expect(outbox, caller).toMatchObject({
        transport: 'dev',
        transportState: 'paused',
        pausedSince: pausedAt.toISOString(),
      })
      expect(outbox, caller).not.toHaveProperty('transportReason')
    }
  })
})
