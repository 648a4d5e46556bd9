// npm run db:restore -- FILE
// Restores a backup (npm run db:backup) into an empty database: a new or empty DATA_DIR, or the
// empty PostgreSQL database in DATABASE_URL (how to move from the embedded database to a server).
// A cut-short or damaged file, or a non-empty target, is refused before anything is written.
import { resolve } from 'node:path'
import { BackupError, restoreBackup } from '../api/db/backup.ts'
import { DatabaseUnreachableError, DataDirInUseError } from '../api/db/client.ts'
import { clickJournalDir, journaledClicks } from '../api/tracking/click-journal.ts'
import { cliEnv } from './cli-env.ts'

function die(message: string, code = 1): never {
  console.error(`db:restore: ${message}`)
  process.exit(code)
}

const file = process.argv[2]
if (!file || process.argv.length > 3) die('usage: npm run db:restore -- FILE', 2)
const env = cliEnv('db:restore')
const dataDir = `${env.DATA_DIR}/pglite`
const started = performance.now()
try {
  const journal = env.DATABASE_URL ? null : await journaledClicks(env.DATA_DIR)
  const summary = await restoreBackup(file, {
    databaseUrl: env.DATABASE_URL,
    dataDir,
    journal: journal && { dir: clickJournalDir(env.DATA_DIR), count: journal.count },
  })
  const where = env.DATABASE_URL ? 'the PostgreSQL database' : resolve(dataDir)
  console.log(
    `Restored ${summary.rows} rows in ${summary.tables} tables into ${where} (${((performance.now() - started) / 1000).toFixed(1)} s).`,
  )
} catch (err) {
  if (
    err instanceof BackupError ||
    err instanceof DataDirInUseError ||
    err instanceof DatabaseUnreachableError
  )
    die(err.message)
  throw err
}
