import pkg from '../package.json' with { type: 'json' }
import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { openDatabase, type Database, type DatabaseOptions, type Db } from './db/client.ts'
import { settings } from './db/schema.ts'
import { migrateStoredAddresses } from './db/stored-addresses.ts'
import type { Env } from './env.ts'
import { createLogger, type Logger } from './logger.ts'

/** How long a session lives: idle, and at most (from SESSION_INACTIVITY_DAYS / _ABSOLUTE_DAYS). */
export interface SessionPolicy {
  inactivityMs: number
  absoluteMs: number
}

/** Background jobs a request can nudge in its own process; other processes find the work by polling. */
export type JobName = 'grader' | 'campaigns' | 'verdicts'

export interface Wakeups {
  /** Tell this process's job to look for work now (a request just queued some). */
  wake(job: JobName): void
  /** The job's runner listens; returns the function that stops listening. */
  on(job: JobName, listener: () => void): () => void
}

/** Everything the app needs from the outside world; built once by the composition root. */
export interface Deps {
  env: Env
  database: Database
  db: Db
  logger: Logger
  now: () => Date
  sessionPolicy: SessionPolicy
  /** HMAC key for signed form tokens; from SECRET or generated once and kept in the database. */
  secret: string
  version: string
  wakeups: Wakeups
}

export function createWakeups(): Wakeups {
  const listeners = new Map<JobName, Set<() => void>>()
  return {
    wake(job) {
      for (const listener of listeners.get(job) ?? []) listener()
    },
    on(job, listener) {
      const set = listeners.get(job) ?? new Set()
      listeners.set(job, set)
      set.add(listener)
      return () => set.delete(listener)
    },
  }
}

export function sessionPolicyFrom(
  env: Pick<Env, 'SESSION_INACTIVITY_DAYS' | 'SESSION_ABSOLUTE_DAYS'>,
): SessionPolicy {
  const day = 24 * 60 * 60 * 1000
  return {
    inactivityMs: env.SESSION_INACTIVITY_DAYS * day,
    absoluteMs: env.SESSION_ABSOLUTE_DAYS * day,
  }
}

export function loggerFor(env: Env): Logger {
  return createLogger({
    level: env.NODE_ENV === 'test' && env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL,
    format: env.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty'),
  })
}

/** Opens and migrates the database and assembles the dependencies every entry point shares. */
export async function createDeps(
  env: Env,
  overrides: Partial<Deps> = {},
  /** Command-line tools pass throughOwner: through the running server's socket when it owns DATA_DIR. */
  open: Pick<DatabaseOptions, 'throughOwner'> = {},
): Promise<Deps> {
  const logger = overrides.logger ?? loggerFor(env)
  const database =
    overrides.database ??
    (await openDatabase({
      databaseUrl: env.DATABASE_URL,
      dataDir: `${env.DATA_DIR}/pglite`,
      ...open,
    }))
  if (!overrides.database) {
    await database.migrate()
    // Addresses stored before there was one canonical form (JavaScript: PostgreSQL has no IDNA).
    await migrateStoredAddresses({ db: database.db, logger })
  }
  const secret = env.SECRET ?? (await storedSecret(database.db))
  return {
    env,
    database,
    db: database.db,
    logger,
    now: () => new Date(),
    sessionPolicy: sessionPolicyFrom(env),
    secret,
    version: pkg.version,
    wakeups: createWakeups(),
    ...overrides,
  }
}

/** Without SECRET, one is generated on first start and shared through the database. */
async function storedSecret(db: Db): Promise<string> {
  const candidate = randomBytes(32).toString('base64url')
  await db.insert(settings).values({ key: 'secret', value: candidate }).onConflictDoNothing()
  const [row] = await db.select().from(settings).where(eq(settings.key, 'secret'))
  return row!.value as string
}
