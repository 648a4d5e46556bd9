import { randomBytes } from 'node:crypto'
import { simpleParser } from 'mailparser'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../../api/db/client.ts'
import { outbox } from '../../../api/db/schema.ts'
import { parseEnv } from '../../../api/env.ts'
import { createLogger } from '../../../api/logger.ts'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'
import { claimDueEmails, createOutboxWorker } from '../../../api/email/outbox-worker.ts'
import type { OutboxWorker } from '../../../api/email/outbox-worker.ts'
import { openTestDatabase, testEngine } from '../../db-fixtures.ts'
import { testClock } from '../../helpers.ts'
import { enqueueAsset } from './outbox-fixtures.ts'
import { startSmtpServer } from './smtp-server.ts'

// Several workers on one real PostgreSQL, each with its own connection pool (as separate
// processes would have), sending into one SMTP sink. PGlite has a single connection, so the
// race this guards against cannot happen there: these tests run in the db-postgres project only
// (TEST_DATABASE_URL set) and are skipped on PGlite.

const url = testEngine() === 'postgres' ? process.env.TEST_DATABASE_URL : undefined
if (!process.env.TEST_DATABASE_URL)
  console.warn(
    '[exactly-once] skipped: set TEST_DATABASE_URL=postgres://… to run the multi-worker tests on PostgreSQL',
  )

describe.skipIf(!url)('outbox workers sharing one PostgreSQL', async () => {
  const primary = url ? await openTestDatabase('postgres') : null!
  const second = url ? await openDatabase({ databaseUrl: primary.url!, poolSize: 4 }) : null!
  const smtp = await startSmtpServer()
  afterAll(async () => {
    await smtp.close()
    await second?.close()
    await primary?.close()
  })
  const env = parseEnv({ NODE_ENV: 'test', MAIL_FROM: 'Frontdoor <hello@frontdoor.example>' })
  const logger = createLogger({ level: 'silent', format: 'json' })
  const clock = testClock()

  function worker(
    db: typeof primary.db,
    workerId: string,
  ): OutboxWorker & { close(): Promise<void> } {
    const transport = createSmtpTransport({ url: smtp.url, maxConnections: 4 })
    const w = createOutboxWorker(db, transport, {
      env,
      logger,
      now: clock.now,
      workerId,
      batchSize: 10,
      concurrency: 4,
    })
    return Object.assign(w, { close: () => transport.close() })
  }

  async function received(): Promise<string[]> {
    return Promise.all(smtp.received.map(async (m) => (await simpleParser(m.raw)).messageId!))
  }

  it('sends each of 500 rows exactly once with two workers draining at the same time', async () => {
    const tag = randomBytes(3).toString('hex')
    const ids: string[] = []
    for (let i = 0; i < 500; i++)
      ids.push(await enqueueAsset(primary.db, clock.now(), `lead${i}.${tag}@northwind.example`))

    const a = worker(primary.db, 'worker-a')
    const b = worker(second.db, 'worker-b')
    const drain = async (w: OutboxWorker) => {
      let sent = 0
      for (;;) {
        const round = await w.drainOnce()
        sent += round.sent
        if (round.claimed === 0) return sent
      }
    }
    const [sentA, sentB] = await Promise.all([drain(a), drain(b)])
    await Promise.all([a.close(), b.close()])

    expect(sentA + sentB).toBe(500)
    // Both really took part: each claimed a share.
    expect(sentA).toBeGreaterThan(50)
    expect(sentB).toBeGreaterThan(50)
    const messageIds = await received()
    expect(messageIds).toHaveLength(500)
    expect(new Set(messageIds)).toEqual(
      new Set(ids.map((id) => `<outbox.${id}@frontdoor.example>`)),
    )
    const rows = await primary.db
      .select({ status: outbox.status, attempts: outbox.attempts })
      .from(outbox)
    expect(rows.filter((r) => r.status === 'sent' && r.attempts === 1)).toHaveLength(500)
    smtp.received.length = 0
  })

  it('sends the rows of a worker killed mid-lease exactly once, after the lease runs out', async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        enqueueAsset(primary.db, clock.now(), `killed${i}@northwind.example`),
      ),
    )
    // The "killed" worker: claims with a two-minute lease and never comes back.
    const claimed = await claimDueEmails(second.db, 'killed-worker', clock.now(), {
      limit: 100,
      leaseMs: 120_000,
    })
    expect(claimed.map((r) => r.id).sort()).toEqual([...ids].sort())

    const survivor = worker(primary.db, 'survivor')
    expect(await survivor.drainOnce()).toMatchObject({ claimed: 0 })
    clock.advance(119_000)
    expect(await survivor.drainOnce()).toMatchObject({ claimed: 0 })
    expect(smtp.received).toHaveLength(0)

    clock.advance(2_000)
    let sent = 0
    for (
      let round = await survivor.drainOnce();
      round.claimed > 0;
      round = await survivor.drainOnce()
    )
      sent += round.sent
    await survivor.close()
    expect(sent).toBe(20)
    expect(new Set(await received())).toEqual(
      new Set(ids.map((id) => `<outbox.${id}@frontdoor.example>`)),
    )
    expect(smtp.received).toHaveLength(20)
  })
})
