import type { Database, Db } from './db/client.ts'
import type { Env } from './env.ts'
import type { Logger } from './logger.ts'
import type { SessionPolicy } from './accounts/sessions.ts'

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
}
