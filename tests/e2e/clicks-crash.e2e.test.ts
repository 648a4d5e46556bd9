import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { like } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '../../api/db/client.ts'
import { clickEvents } from '../../api/db/schema.ts'
import { openTestDatabase } from '../db-fixtures.ts'
import { addTrackedLinks } from '../api/tracking/fixtures.ts'
import { newDataDir, startServer, type TestServer } from './harness.ts'

// Every click answered with a 302 was committed before the answer: the production server is
// killed with SIGKILL while clicks pour in, restarted on the same data, and every click whose
// 302 reached the client must be in the database. Several cycles, on PGlite and on PostgreSQL.
// Needs the built site (server.ts serves it): `npm run build` first; skipped with a notice without.

const root = new URL('../..', import.meta.url).pathname
const built = existsSync(join(root, 'dist/server/entry.mjs'))
if (!built) console.warn('[clicks crash test] skipped: dist/ is missing, run `npm run build` first')

const CYCLES = 3
const CONNECTIONS = 16

interface Engine {
  label: string
  /** Runs `fn` on the database while no server owns it (PGlite has one owner at a time). */
  withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T>
  /** The server's DATA_DIR, kept across restarts. */
  dataDir: string
  env: Record<string, string>
  dispose(): Promise<void>
}

async function pgliteEngine(): Promise<Engine> {
  const dataDir = await newDataDir()
  return {
    label: 'PGlite',
    env: {},
    async withDatabase(fn) {
      const database = await openDatabase({ dataDir: join(dataDir, 'pglite') })
      try {
        return await fn(database)
      } finally {
        await database.close()
      }
    },
    dataDir,
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  }
}

async function postgresEngine(): Promise<Engine> {
  const database = await openTestDatabase('postgres')
  const dataDir = await newDataDir({ emptyDataDir: true })
  return {
    label: 'PostgreSQL',
    env: { DATABASE_URL: database.url! },
    withDatabase: (fn) => fn(database),
    dataDir,
    dispose: async () => {
      await database.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Clicks from CONNECTIONS concurrent clients, each with a user agent naming the click, until the
 * server is gone; the server is killed once `killAfter` 302s have come back. Returns the names
 * of the clicks that got their 302.
 */
async function clickUntilKilled(
  server: TestServer,
  tokens: string[],
  cycle: number,
  killAfter: number,
): Promise<string[]> {
  const answered: string[] = []
  let killing: Promise<void> | null = null
  const client = async (id: number) => {
    for (let n = 0; ; n++) {
      const name = `crash/${cycle}/${id}/${n}`
      let res: Response
      try {
        res = await fetch(`${server.url}/r/${tokens[(id + n) % tokens.length]}`, {
          redirect: 'manual',
          headers: { 'user-agent': name },
        })
      } catch {
        return // the server is gone
      }
      if (res.status !== 302) throw new Error(`click answered ${res.status}: ${await res.text()}`)
      answered.push(name)
      if (answered.length >= killAfter) killing ??= server.kill()
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, id) => client(id)))
  await killing
  return answered
}

describe.skipIf(!built)('tracked-link clicks across kill -9 (production server)', () => {
  const engines: Array<() => Promise<Engine>> = [
    pgliteEngine,
    ...(process.env.TEST_DATABASE_URL ? [postgresEngine] : []),
  ]
  const disposers: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const dispose of disposers) await dispose()
  })

  for (const makeEngine of engines) {
    it(
      `keeps every click that got a 302, over ${CYCLES} crashes (${makeEngine === pgliteEngine ? 'PGlite' : 'PostgreSQL'})`,
      { timeout: 300_000 },
      async () => {
        const engine = await makeEngine()
        disposers.push(() => engine.dispose())
        const { tokens } = await engine.withDatabase((database) =>
          addTrackedLinks(
            database.db,
            Array.from({ length: 8 }, (_, i) => `https://www.example.com/page-${i}`),
          ),
        )
        const answered: string[] = []
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const server = await startServer(engine.env, { dataDir: engine.dataDir })
          try {
            // Killed after a random number of answered clicks: at a random point of the stream.
            const killAfter = 50 + Math.floor(Math.random() * 400)
            const got = await clickUntilKilled(server, tokens, cycle, killAfter)
            expect(got.length).toBeGreaterThanOrEqual(killAfter)
            answered.push(...got)
          } finally {
            await server.kill()
          }
        }
        // Restart once more on the same data (crash recovery), and stop cleanly.
        const last = await startServer(engine.env, { dataDir: engine.dataDir })
        const res = await fetch(`${last.url}/r/${tokens[0]}`, {
          redirect: 'manual',
          headers: { 'user-agent': 'crash/after' },
        })
        expect(res.status).toBe(302)
        expect(await last.stop()).toBe(0)

        const recorded = await engine.withDatabase(async (database) => {
          const rows = await database.db
            .select({ userAgent: clickEvents.userAgent })
            .from(clickEvents)
            .where(like(clickEvents.userAgent, 'crash/%'))
          return new Set(rows.map((r) => r.userAgent))
        })
        const missing = answered.filter((name) => !recorded.has(name))
        expect(missing).toEqual([])
        expect(recorded.has('crash/after')).toBe(true)
        // Clicks committed but cut off before their 302 went out may be there too; nothing else.
        expect(recorded.size).toBeGreaterThanOrEqual(answered.length + 1)
      },
    )
  }
})
