// npm run db:shell [-- psql arguments, e.g. -c "select count(*) from deals"]
// psql on the database: DATABASE_URL, or the embedded one in DATA_DIR — through the running
// server's local socket, or, while the server is stopped, opened here (and locked) for the session.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  DatabaseUnreachableError,
  DataDirInUseError,
  openDatabase,
  type Database,
} from '../api/db/client.ts'
import { liveOwner } from '../api/db/owner.ts'
import { cliEnv } from './cli-env.ts'

function die(message: string, code = 1): never {
  console.error(`db:shell: ${message}`)
  process.exit(code)
}

const env = cliEnv('db:shell')
const args = process.argv.slice(2)
let target: string[]
let database: Database | null = null
if (env.DATABASE_URL) {
  target = [env.DATABASE_URL]
} else {
  const dataDir = `${env.DATA_DIR}/pglite`
  if (!existsSync(dataDir)) die(`no embedded database in ${resolve(dataDir)}`)
  const owner = await liveOwner(dataDir)
  let socketDir = owner?.socketDir ?? null
  if (!owner) {
    try {
      database = await openDatabase({ dataDir })
    } catch (err) {
      if (err instanceof DataDirInUseError) die(err.message, 75)
      if (err instanceof DatabaseUnreachableError) die(err.message, 69)
      throw err
    }
    socketDir = database.socketPath ? resolve(database.socketPath, '..') : null
  }
  if (!socketDir)
    die(
      `the embedded database in ${resolve(dataDir)} is in use by PID ${owner?.pid}, which serves no socket; try again when it has finished`,
      75,
    )
  target = [`host=${socketDir} dbname=postgres user=postgres`]
}
const psql = spawn('psql', [...target, ...args], { stdio: 'inherit' })
// psql handles Ctrl-C itself (it cancels the query); this process must not die of it.
process.on('SIGINT', () => {})
const code = await new Promise<number>((resolveExit) => {
  psql.once('error', (err) => {
    console.error(
      `db:shell: cannot run psql (${(err as NodeJS.ErrnoException).code}); install the PostgreSQL client (apt-get install postgresql-client)`,
    )
    resolveExit(127)
  })
  psql.once('exit', (exitCode) => resolveExit(exitCode ?? 1))
})
await database?.close()
process.exit(code)
