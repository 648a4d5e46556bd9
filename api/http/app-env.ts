import type { Db } from '../db/client.ts'
import type { users } from '../db/schema.ts'
import type { Deps } from '../deps.ts'
import type { Logger } from '../logger.ts'

/** Who is signed in, as the request context carries it (accounts' SessionUser is this shape). */
export type RequestUser = Pick<
  typeof users.$inferSelect,
  'id' | 'email' | 'name' | 'role' | 'timeZone'
>

export interface AppEnv {
  Variables: {
    deps: Deps
    db: Db
    log: Logger
    requestId: string
    ip: string
    user: RequestUser | null
    sessionId: string | null
    /** Set when the request authenticated with an API token (Authorization: Bearer) instead of a session. */
    apiToken: { id: string; scopes: readonly string[] } | null
  }
}
