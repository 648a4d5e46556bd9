import pkg from '../package.json' with { type: 'json' }
import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { openDatabase, type Db } from './db/client.ts'
import { settings } from './db/schema.ts'
import type { Deps } from './deps.ts'
import type { Env } from './env.ts'
import { createLogger, type Logger } from './logger.ts'
import { sessionPolicyFrom } from './accounts/sessions.ts'



export function loggerFor(env: Env): Logger {
  return createLogger({
    level: env.NODE_ENV === 'test' && env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL,
    format: env.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty'),
  })
}

/** Opens and migrates the database and assembles the dependencies every entry point shares. */
export async function createDeps(env: Env, overrides: Partial<Deps> = {}): Promise<Deps> {
  const logger = overrides.logger ?? loggerFor(env)
  const database =
    overrides.database ??
    (await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: `${env.DATA_DIR}/pglite` }))
  if (!overrides.database) await database.migrate()
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
