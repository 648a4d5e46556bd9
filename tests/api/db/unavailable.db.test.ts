import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import {
  databaseUnavailableReason,
  isDatabaseUnavailable,
  OUTAGE_BACKOFF,
  watchDatabaseOutage,
} from '../../../api/db/unavailable.ts'
import { createLogger } from '../../../api/logger.ts'
import { startVerdictJobs } from '../../../api/tracking/verdict-jobs.ts'
import { proxiedDatabase } from '../../db-proxy.ts'
import { eventually } from '../../eventually.ts'
import { setupTestDb } from '../../db.ts'

// The database being unreachable, told apart from other failures with the driver's real errors,
// and a background loop (the verdict job, driven by wake() and the test's clock) that loses its
// database: one short line when the outage starts, rounds backing off meanwhile, one line when
// it ends.

const ctx = await setupTestDb()
const proxy = await proxiedDatabase(ctx.database)
afterAll(() => proxy.close())

/** A real driver error: a query through drizzle to a port where nothing listens. */
async function refusedQueryError(): Promise<unknown> {
  const pool = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'x' })
  try {
    return await drizzle({ client: pool })
      .execute(sql`select 1`)
      .then(
        () => null,
        (err: unknown) => err,
      )
  } finally {
    await pool.end()
  }
}

function capture() {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const logger = createLogger({
    level: 'info',
    format: 'json',
    write: (line) => {
      raw.push(line)
      lines.push(JSON.parse(line) as Record<string, unknown>)
    },
  })
  return { lines, raw, logger }
}

describe('isDatabaseUnavailable', () => {
  it('sees a refused connection under drizzle’s "Failed query"', async () => {
    const err = await refusedQueryError()
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(/^Failed query/)
    expect(isDatabaseUnavailable(err)).toBe(true)
    expect(databaseUnavailableReason(err)).toContain('ECONNREFUSED')
  })

  it('does not take a failed query for an unreachable database', async () => {
    const err = await ctx.deps.db.execute(sql`select 1 / 0`).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(Error)
    expect(isDatabaseUnavailable(err)).toBe(false)
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false)
    expect(isDatabaseUnavailable(null)).toBe(false)
  })

  it.skipIf(ctx.database.engine !== 'postgres')(
    'sees a connection the server terminated (57P01)',
    async () => {
      const url = (ctx.database as { url?: string }).url!
      const client = new pg.Client({ connectionString: url })
      client.on('error', () => {})
      await client.connect()
      try {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
        await ctx.deps.db.execute(sql`select pg_terminate_backend(${rows[0]!.pid})`)
        const err = await client.query('select 1').then(
          () => null,
          (e: unknown) => e,
        )
        expect(isDatabaseUnavailable(err)).toBe(true)
      } finally {
        await client.end().catch(() => {})
      }
    },
  )
})

describe('a loop whose database goes away', () => {
  it('backs off, doubling up to 30 s', async () => {
    const err = await refusedQueryError()
    let now = 0
    const { lines, logger } = capture()
    const outage = watchDatabaseOutage(logger, 'test loop', () => new Date(now))
    const waits: number[] = []
    for (let i = 0; i < 8; i++) {
      expect(outage.failed(err)).toBe(true)
      waits.push(outage.waitMs())
      now += outage.waitMs()
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
    expect(OUTAGE_BACKOFF.maxMs).toBe(30_000)
    expect(lines).toHaveLength(1)
    // Anything else is the caller's to log, as before, and does not back off.
    expect(outage.failed(new Error('boom'))).toBe(false)
  })

  it('says so once, skips rounds until its backoff is over, and says when it is back', async () => {
    const { lines, raw, logger } = capture()
    const deps = { ...ctx.deps, db: proxy.database.db, database: proxy.database, logger }
    const jobs = startVerdictJobs(deps, { pollMs: 3_600_000 })
    try {
      await jobs.idle()
      const pool = (proxy.database.db as unknown as { $client: pg.Pool }).$client
      proxy.cut()
      // The pool notices its cut connections; from here each round opens a new one.
      await eventually(() => pool.totalCount === 0)
      const round = async () => {
        jobs.wake()
        await jobs.idle()
      }

      const attempts = proxy.accepted()
      await round()
      expect(proxy.accepted()).toBe(attempts + 1)
      const errors = () => lines.filter((l) => l.level === 'error')
      expect(errors()).toHaveLength(1)
      expect(errors()[0]).toMatchObject({
        msg: 'database unavailable: backing off',
        component: 'verdicts',
        loop: 'verdicts',
      })
      expect(String(errors()[0]!.reason)).toMatch(/Connection terminated|ECONNRESET/)
      // Short: which loop and why, no SQL.
      expect(raw[0]!.length).toBeLessThan(300)
      expect(raw[0]).not.toMatch(/select|query/i)

      // Within the first second, rounds are skipped: no connection, no line.
      for (let i = 0; i < 5; i++) await round()
      expect(proxy.accepted()).toBe(attempts + 1)

      ctx.clock.advance(1_000)
      await round() // fails again, now 2 s off; said once already
      expect(proxy.accepted()).toBe(attempts + 2)
      ctx.clock.advance(1_000)
      await round()
      expect(proxy.accepted()).toBe(attempts + 2)
      ctx.clock.advance(1_000)
      await round()
      expect(proxy.accepted()).toBe(attempts + 3)
      expect(errors()).toHaveLength(1)

      proxy.restore()
      ctx.clock.advance(4_000)
      await round()
      expect(proxy.accepted()).toBe(attempts + 4)
      expect(errors()).toHaveLength(1)
      const back = lines.filter((l) => l.msg === 'database reachable again')
      expect(back).toHaveLength(1)
      expect(back[0]).toMatchObject({ level: 'info', loop: 'verdicts', failedRounds: 3 })
      expect(back[0]!.downMs).toBe(7_000)

      // And a later failure is news again.
      proxy.cut()
      await eventually(() => pool.totalCount === 0)
      await round()
      expect(errors()).toHaveLength(2)
    } finally {
      proxy.restore()
      await jobs.stop()
    }
  })
})
