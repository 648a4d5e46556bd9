import { afterAll, describe, expect, it } from 'vitest'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { enqueueAsset, freePort, testWorker } from './outbox-fixtures.ts'
import { startSmtpServer } from './smtp-server.ts'

// Issue 19, item 6: /api/health said the transport was "ok" while SMTP was unreachable; only the
// backlog's age grew. Now it says `unreachable`, with the last error and since when.

const smtp = await startSmtpServer()
afterAll(() => smtp.close())
const ctx = await setupTestApp({
  SMTP_URL: smtp.url,
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
})
const db = ctx.deps.db

const admin = await signedInAs(ctx, 'admin')

// As an admin, who alone is told the transport's error.
async function health() {
  const res = await ctx.app.request('/api/health', { headers: { cookie: admin.cookie } })
  expect(res.status).toBe(200)
  return (await res.json()).outbox
}

function worker(url: string) {
  const transport = createSmtpTransport({ url, connectionTimeout: 2_000 })
  return { worker: testWorker(ctx, transport), close: () => transport.close() }
}

describe('an unreachable SMTP server', () => {
  it('shows in /api/health as unreachable with the last error and since when, until a send goes through', async () => {
    expect(await health()).toMatchObject({ transport: 'smtp', transportState: 'ok' })
    await enqueueAsset(db, ctx.clock.now())
    const firstFailure = ctx.clock.now()
    const dead = worker(`smtp://127.0.0.1:${await freePort()}`)
    expect((await dead.worker.drainOnce()).retried).toBe(1)
    const down = await health()
    expect(down).toMatchObject({ transportState: 'unreachable', pending: 1 })
    expect(down.transportReason).toMatch(/^smtp: (ECONNECTION|ECONNREFUSED|ESOCKET)/)
    expect(new Date(down.unreachableSince)).toEqual(firstFailure)

    // Still down an hour later: since stays the first failure's time.
    ctx.clock.advance(3_600_000)
    const again = worker(`smtp://127.0.0.1:${await freePort()}`)
    expect((await again.worker.drainOnce()).retried).toBe(1)
    expect(new Date((await health()).unreachableSince)).toEqual(firstFailure)

    // The server answers again: the next send clears it.
    ctx.clock.advance(3_600_000)
    const live = worker(smtp.url)
    expect((await live.worker.drainOnce()).sent).toBe(1)
    const up = await health()
    expect(up).toMatchObject({ transportState: 'ok', pending: 0 })
    expect(up.transportReason).toBeUndefined()
    await Promise.all([dead.close(), again.close(), live.close()])
  })

  it('tells anonymous callers and reps that it is unreachable and since when, not the server it tried', async () => {
    await enqueueAsset(db, ctx.clock.now())
    const since = ctx.clock.now()
    const port = await freePort()
    const dead = worker(`smtp://127.0.0.1:${port}`)
    expect((await dead.worker.drainOnce()).retried).toBe(1)
    // The error names the host and port it could not reach.
    expect((await health()).transportReason).toContain(`127.0.0.1:${port}`)

    const rep = await signedInAs(ctx, 'rep')
    const callers: Record<string, string>[] = [{}, { cookie: rep.cookie }]
    for (const headers of callers) {
      const res = await ctx.app.request('/api/health', { headers })
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text).not.toContain(`127.0.0.1`)
      const { outbox } = JSON.parse(text)
      expect(outbox).toMatchObject({
        transportState: 'unreachable',
        unreachableSince: since.toISOString(),
      })
      expect(outbox).not.toHaveProperty('transportReason')
    }
    await dead.close()
  })
})
