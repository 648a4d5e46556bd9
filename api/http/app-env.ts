import type { Db } from '../db/client.ts'
import type { Deps } from '../deps.ts'
import type { Logger } from '../logger.ts'
import type { SessionUser } from '../accounts/sessions.ts'

export interface AppEnv {
  Variables: {
    deps: Deps
    db: Db
    log: Logger
    requestId: string
    ip: string
    user: SessionUser | null
    sessionId: string | null
  }
}
