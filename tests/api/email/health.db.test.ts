import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { outbox } from '../../../api/db/schema.ts'
import { pauseTransport } from '../../../api/email/transport-status.ts'
import { setupTestApp } from '../../helpers.ts'
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

  it('says when the transport is paused, and why, while the instance stays healthy', async () => {
    await pauseTransport(db, 'dev', 'dev: EAUTH: Invalid login', ctx.clock.now())
    const res = await ctx.app.request('/api/health')
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.status).toBe('ok')
    expect(body.outbox).toMatchObject({
      transport: 'dev',
      transportState: 'paused',
      transportReason: 'dev: EAUTH: Invalid login',
    })
  })
})
