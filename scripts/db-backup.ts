// npm run db:backup -- FILE
// A consistent backup of DATA_DIR's embedded database (through the running server when it owns
// it, or opened here when it is stopped) or of DATABASE_URL. Format and why: api/db/backup.ts.
// The embedded database's clicks still in its journal (answered, not moved into click_events
// yet) are in the backup too: read before the snapshot, each one the snapshot lacks.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { BackupError, writeBackup } from '../api/db/backup.ts'
import { DatabaseUnreachableError, DataDirInUseError, openDatabase } from '../api/db/client.ts'
import { journaledClicks } from '../api/tracking/click-journal.ts'
import { cliEnv } from './cli-env.ts'

function die(message: string, code = 1): never {
  console.error(`db:backup: ${message}`)
  process.exit(code)
}

const file = process.argv[2]
if (!file || process.argv.length > 3) die('usage: npm run db:backup -- FILE', 2)
const env = cliEnv('db:backup')
const dataDir = `${env.DATA_DIR}/pglite`
if (!env.DATABASE_URL && !existsSync(dataDir)) die(`no embedded database in ${resolve(dataDir)}`)
const started = performance.now()
// Before the snapshot: a click that leaves the journal after this read is in the database by then.
const journal = env.DATABASE_URL ? null : await journaledClicks(env.DATA_DIR)
let database
try {
  database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir, throughOwner: true })
} catch (err) {
  if (err instanceof DataDirInUseError) die(err.message, 75)
  if (err instanceof DatabaseUnreachableError) die(err.message, 69)
  throw err
}
try {
  const summary = await writeBackup(database.db, file, {
    engine: database.engine,
    now: new Date(),
    pending: journal ? [journal] : [],
  })
  const how =
    database.via === 'owner'
      ? 'through the running server'
      : database.engine === 'pglite'
        ? 'embedded'
        : 'PostgreSQL'
  console.log(
    `Backed up ${summary.rows} rows in ${summary.tables} tables to ${file} (${(summary.bytes / 1e6).toFixed(1)} MB, ${how}${journal?.count ? `, ${journal.count} clicks read from the journal` : ''}, ${((performance.now() - started) / 1000).toFixed(1)} s).`,
  )
} catch (err) {
  if (err instanceof BackupError) die(err.message)
  throw err
} finally {
  await database.close()
}
