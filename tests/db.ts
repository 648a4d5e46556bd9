import { afterAll, expect, onTestFinished } from 'vitest'
import { eq } from 'drizzle-orm'
import { hashPassword } from '../api/accounts/passwords.ts'
import { createUser, type Role } from '../api/accounts/users.ts'
import type { Database } from '../api/db/client.ts'
import { users } from '../api/db/schema.ts'
import { createWakeups, sessionPolicyFrom, type Deps } from '../api/deps.ts'
import { parseEnv } from '../api/env.ts'
import { createLogger } from '../api/logger.ts'
import { openTestDatabase, type TestDatabaseOptions } from './db-fixtures.ts'

// What a database test needs: a fresh migrated database, the dependencies the domain functions
// take, a clock the test moves, and users. No app: route tests add it (tests/helpers.ts).

export const ORIGIN = 'http://localhost:4321'

/** A clock tests can move. */
export function testClock(start = new Date('2026-11-29T10:00:00Z')) {
  let now = start.getTime()
  return {
    now: () => new Date(now),
    advance: (ms: number) => {
      now += ms
    },
    set: (d: Date) => {
      now = d.getTime()
    },
  }
}

export interface DbContext {
  database: Database
  deps: Deps
  clock: ReturnType<typeof testClock>
}

/**
 * A fresh database for the calling file, given back after it; called inside a test, for that
 * test only.
 */
export async function setupTestDb(
  envOverrides: Record<string, string> = {},
  options: TestDatabaseOptions = {},
): Promise<DbContext> {
  // What an earlier file of this worker set up in a hook is given back first (see below).
  await releaseEarlierFiles()
  const database = await openTestDatabase(undefined, options)
  const close = once(() => database.close())
  // Inside a test, for that test; anywhere else for the file.
  try {
    onTestFinished(close)
  } catch {
    // At a file's top level afterAll gives it back. In a hook (beforeAll, beforeEach) vitest
    // never runs an afterAll registered there and onTestFinished throws: the database is given
    // back when the next file of this worker sets up (a worker runs its files one at a time),
    // or when the worker exits. Before, such a file kept the worker's shared PGlite to the end,
    // and every later file in the worker opened a PGlite of its own (~1.5 s of CPU each: 80 of
    // the 81 files in one run).
    afterAll(close)
    heldByFile.push({ file: currentFile(), close })
  }
  const env = parseEnv({
    NODE_ENV: 'test',
    APP_ORIGIN: ORIGIN,
    LOG_LEVEL: 'silent',
    ...envOverrides,
  })
  const clock = testClock()
  const deps: Deps = {
    env,
    database,
    db: database.db,
    logger: createLogger({ level: 'silent', format: 'json' }),
    now: clock.now,
    sessionPolicy: sessionPolicyFrom(env),
    secret: 'test-secret-test-secret-test-secret!',
    version: 'test',
    wakeups: createWakeups(),
  }
  return { database, deps, clock }
}

/** Databases a file set up outside a test, with the file; given back by the next file's setup. */
const heldByFile: { file: string; close: () => Promise<void> }[] = []

const currentFile = (): string => expect.getState().testPath ?? ''

async function releaseEarlierFiles(): Promise<void> {
  const file = currentFile()
  const earlier = heldByFile.filter((h) => h.file !== file)
  if (earlier.length === 0) return
  heldByFile.splice(0, heldByFile.length, ...heldByFile.filter((h) => h.file === file))
  for (const h of earlier) await h.close()
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null
  return () => (done ??= fn())
}

export const PASSWORD = 'correct horse battery'

// One argon2id hash of PASSWORD per worker, shared by the users tests add (~40 ms of CPU each
// otherwise, 150-odd times a run). It is a real hash: signing in verifies it as it would any.
let passwordHash: Promise<string> | null = null

export async function addUser(
  ctx: { deps: Pick<Deps, 'db'> },
  role: Role,
  email = `${role}-${Math.random().toString(36).slice(2, 7)}@example.com`,
) {
  const result = await createUser(ctx.deps.db, { email, name: `${role} person`, role })
  if (!result.ok) throw new Error(result.message)
  passwordHash ??= hashPassword(PASSWORD)
  const [user] = await ctx.deps.db
    .update(users)
    .set({ passwordHash: await passwordHash })
    .where(eq(users.id, result.user.id))
    .returning()
  return user!
}
