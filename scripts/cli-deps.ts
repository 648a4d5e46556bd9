// What every command-line tool opens: DATABASE_URL, or the embedded database in DATA_DIR — through
// the running server's local socket when the server owns it, or opened (and locked) here when not.
import { DatabaseUnreachableError, DataDirInUseError } from '../api/db/client.ts'
import { createDeps, type Deps } from '../api/deps.ts'
import type { Env } from '../api/env.ts'

export async function cliDeps(tool: string, env: Env): Promise<Deps> {
  try {
    return await createDeps(env, {}, { throughOwner: true })
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      console.error(`${tool}: ${err.message}`)
      process.exit(75)
    }
    if (err instanceof DatabaseUnreachableError) {
      console.error(`${tool}: ${err.message}`)
      process.exit(69)
    }
    throw err
  }
}
