import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { migrationsFolder, openDatabase, type Database } from '../api/db/client.ts'

// Each test file gets a fresh, migrated database: a clone of one migrated PGlite data directory,
// or a PostgreSQL database created from a migrated template (when TEST_DATABASE_URL is set).

function migrationsHash(): string {
  const hash = createHash('sha256')
  for (const file of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
    const full = join(migrationsFolder, file)
    if (file.endsWith('.sql') || file.endsWith('.json')) hash.update(file).update(readFileSync(full))
  }
  return hash.digest('hex').slice(0, 12)
}

const hash = migrationsHash()
const dumpPath = join(tmpdir(), 'frontdoor-tests', `pglite-${hash}.tar`)
const templateName = `fd_template_${hash}`

export async function preparePgliteTemplate(): Promise<void> {
  if (existsSync(dumpPath)) return
  await mkdir(join(tmpdir(), 'frontdoor-tests'), { recursive: true })
  const database = await openDatabase({ dataDir: 'memory://' })
  await database.migrate()
  const client = (database.db as unknown as { $client: { dumpDataDir(c: 'none'): Promise<Blob> } }).$client
  const dump = await client.dumpDataDir('none')
  await database.close()
  const partial = `${dumpPath}.${process.pid}`
  await writeFile(partial, new Uint8Array(await dump.arrayBuffer()))
  await rename(partial, dumpPath)
}

const dataDirPath = join(tmpdir(), 'frontdoor-tests', `pglite-${hash}.datadir`)

/**
 * A migrated PGlite data directory to copy for servers started by end-to-end tests: a server
 * starting on an empty directory spends ~5 s in initdb and migrations (measured), which only
 * the first-run test needs to see.
 */
export async function preparePgliteDataDir(): Promise<string> {
  if (existsSync(dataDirPath)) return dataDirPath
  await preparePgliteTemplate()
  const partial = `${dataDirPath}.${process.pid}`
  const database = await openDatabase({ dataDir: partial, loadDataDir: new Blob([await readFile(dumpPath)]) })
  await database.close()
  await rename(partial, dataDirPath)
  return dataDirPath
}

function adminUrl(url: string, database = 'postgres'): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

export async function preparePostgresTemplate(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query('select pg_advisory_lock(7243002)')
    const exists = await admin.query('select 1 from pg_database where datname = $1', [templateName])
    if (exists.rowCount === 0) {
      await admin.query(`create database "${templateName}"`)
      const database = await openDatabase({ databaseUrl: adminUrl(url, templateName), poolSize: 1 })
      try {
        await database.migrate()
      } finally {
        await database.close()
      }
    }
    await admin.query('select pg_advisory_unlock(7243002)')
  } finally {
    await admin.end()
  }
}

export type TestEngine = 'pglite' | 'postgres'

export function testEngine(): TestEngine {
  return process.env.TEST_DB_ENGINE === 'postgres' ? 'postgres' : 'pglite'
}

/** A fresh migrated database for one test file; `close()` removes it. */
export async function openTestDatabase(engine: TestEngine = testEngine()): Promise<Database & { url?: string }> {
  if (engine === 'pglite') {
    await preparePgliteTemplate()
    const dump = new Blob([await readFile(dumpPath)])
    return openDatabase({ loadDataDir: dump })
  }
  const url = process.env.TEST_DATABASE_URL
  if (!url) throw new Error('TEST_DATABASE_URL is not set')
  await preparePostgresTemplate(url)
  const name = `fd_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`create database "${name}" template "${templateName}"`)
  await admin.end()
  const databaseUrl = adminUrl(url, name)
  const database = await openDatabase({ databaseUrl, poolSize: 12 })
  return {
    ...database,
    url: databaseUrl,
    close: async () => {
      await database.close()
      const drop = new pg.Client({ connectionString: url })
      await drop.connect()
      await drop.query(`drop database if exists "${name}" with (force)`).catch(() => {})
      await drop.end()
    },
  }
}
