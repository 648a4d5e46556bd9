import { afterAll } from 'vitest'
import { createApp } from '../api/app.ts'
import type { Database } from '../api/db/client.ts'
import type { Deps } from '../api/deps.ts'
import { parseEnv } from '../api/env.ts'
import { createLogger } from '../api/logger.ts'
import { createWakeups, sessionPolicyFrom } from '../api/deps.ts'
import { createUser, type Role } from '../api/accounts/users.ts'
import { openTestDatabase } from './db-fixtures.ts'

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

export interface TestContext {
  database: Database
  deps: Deps
  app: ReturnType<typeof createApp>
  clock: ReturnType<typeof testClock>
}

/** A fresh database and app for the calling test file, closed after it. */
export async function setupTestApp(envOverrides: Record<string, string> = {}): Promise<TestContext> {
  const database = await openTestDatabase()
  afterAll(() => database.close())
  const env = parseEnv({ NODE_ENV: 'test', APP_ORIGIN: ORIGIN, LOG_LEVEL: 'silent', ...envOverrides })
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
  return { database, deps, app: createApp(deps), clock }
}

export const PASSWORD = 'correct horse battery'

export async function addUser(ctx: TestContext, role: Role, email = `${role}-${Math.random().toString(36).slice(2, 7)}@example.com`) {
  const result = await createUser(ctx.deps.db, { email, name: `${role} person`, role, password: PASSWORD })
  if (!result.ok) throw new Error(result.message)
  return result.user
}

/** Signs in through the API and returns the Cookie header value to send. */
export async function signInCookie(ctx: TestContext, email: string, password = PASSWORD): Promise<string> {
  const res = await ctx.app.request('/api/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`)
  return res.headers.get('set-cookie')!.split(';')[0]!
}

export async function signedInAs(ctx: TestContext, role: Role) {
  const user = await addUser(ctx, role)
  return { user, cookie: await signInCookie(ctx, user.email) }
}

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }
}

export function form(body: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...headers },
    body: new URLSearchParams(body).toString(),
  }
}
