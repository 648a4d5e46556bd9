import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { migrationsFolder, openDatabase, type Database } from '../api/db/client.ts'

// Each test file gets a fresh, migrated database. On PGlite that is one database per test worker,
// opened once from a migrated dump and emptied (TRUNCATE … RESTART IDENTITY) each time a file or
// test takes it: opening a clone costs 0.3–0.6 s and ~250 MB of WASM memory that closed instances
// give back lazily, a TRUNCATE ~20 ms. On PostgreSQL (TEST_DATABASE_URL) each file gets a database
// of its own, created from a migrated template while the worker's previous file ran and dropped
// without waiting. The migrations insert no rows, so empty tables are a fresh database; keep it
// so (tests/db-fixtures.test.ts checks).

function migrationsHash(): string {
  const hash = createHash('sha256')
  for (const file of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
    const full = join(migrationsFolder, file)
    if (file.endsWith('.sql') || file.endsWith('.json'))
      hash.update(file).update(readFileSync(full))
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
  const client = (database.db as unknown as { $client: { dumpDataDir(c: 'none'): Promise<Blob> } })
    .$client
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
  const database = await openDatabase({
    dataDir: partial,
    loadDataDir: new Blob([await readFile(dumpPath)]),
  })
  await database.close()
  // Two runs starting at once both build it; the first rename wins, the other copy goes.
  await rename(partial, dataDirPath).catch(async (err) => {
    if (!existsSync(dataDirPath)) throw err
    await rm(partial, { recursive: true, force: true })
  })
  return dataDirPath
}

function adminUrl(url: string, database = 'postgres'): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

/** What this run's workers name their connections that create and drop databases. */
const adminApplicationName = (run: string) => `fd_test_${run}`

/** Drops the databases this run's files created and did not drop (see openTestDatabase). */
export async function dropRunDatabases(url: string, run: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(url) })
  await admin.connect()
  try {
    // A worker's last create (of the database a next file would have taken) or drop may still
    // be running on the server after the worker has gone: the server finishes the statement.
    // Listing before a create commits would leave that database behind; wait until none runs.
    for (let i = 0; i < 600; i++) {
      const { rows } = await admin.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where application_name = $1`,
        [adminApplicationName(run)],
      )
      if (rows[0]!.n === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const { rows } = await admin.query<{ name: string }>(
      `select datname as name from pg_database where datname like $1`,
      [`fd_test_${run}_%`],
    )
    for (const { name } of rows) await admin.query(`drop database if exists "${name}" with (force)`)
  } finally {
    await admin.end()
  }
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

export interface TestDatabaseOptions {
  /**
   * A PGlite instance of its own instead of the worker's shared one: for a test that closes its
   * database on purpose, or that needs two databases at once.
   */
  own?: boolean
}

/** A fresh migrated database for one test file (or test); `close()` gives it back. */
export async function openTestDatabase(
  engine: TestEngine = testEngine(),
  options: TestDatabaseOptions = {},
): Promise<Database & { url?: string }> {
  if (engine === 'pglite') return options.own ? openOwnPglite() : takeSharedPglite()
  const url = process.env.TEST_DATABASE_URL
  if (!url) throw new Error('TEST_DATABASE_URL is not set')
  // The database this file takes was created while the previous file ran, and the next file's
  // is created while this one runs: a create from the template takes ~0.25 s of waiting.
  const taken = nextDatabase ?? createFromTemplate(url)
  nextDatabase = createFromTemplate(url)
  nextDatabase.catch(() => {}) // a failure is the next taker's to see
  const name = await taken
  const databaseUrl = adminUrl(url, name)
  const database = await openDatabase({ databaseUrl, poolSize: 12 })
  return {
    ...database,
    url: databaseUrl,
    close: async () => {
      await database.close()
      // Not waited for (~0.15 s): nothing uses the database any more, and what is still being
      // dropped when the run ends, the run's teardown waits for (dropRunDatabases).
      void runAdmin(url, `drop database if exists "${name}" with (force)`).catch(() => {})
    },
  }
}

let templateReady: Promise<void> | null = null
let nextDatabase: Promise<string> | null = null

async function createFromTemplate(url: string): Promise<string> {
  templateReady ??= preparePostgresTemplate(url)
  await templateReady
  // Named after the run (tests/global-setup.ts drops what a run leaves: the database each worker
  // created for a next file, and a worker's last file that set up in a hook).
  const run = process.env.FD_TEST_RUN ?? 'x'
  const name = `fd_test_${run}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  await runAdmin(url, `create database "${name}" template "${templateName}"`)
  return name
}

async function runAdmin(url: string, statement: string): Promise<void> {
  const admin = new pg.Client({
    connectionString: url,
    application_name: adminApplicationName(process.env.FD_TEST_RUN ?? 'x'),
  })
  await admin.connect()
  try {
    await admin.query(statement)
  } finally {
    await admin.end()
  }
}

async function openOwnPglite(): Promise<Database> {
  await preparePgliteTemplate()
  return openDatabase({ loadDataDir: new Blob([await readFile(dumpPath)]) })
}

// The worker's PGlite. Files in one worker run one after another (and share modules: the PGlite
// project runs with isolate: false), so one file at a time holds it; a second taker while it is
// held (a file that opens two databases) gets an instance of its own.
let shared: { database: Database; held: boolean; tables: string } | null = null

async function takeSharedPglite(): Promise<Database> {
  if (shared?.held) return openOwnPglite()
  if (!shared) {
    const database = await openOwnPglite()
    const rows = (await database.db.execute(
      sql`select quote_ident(tablename) as name from pg_tables where schemaname = 'public' order by 1`,
    )) as unknown as { rows: { name: string }[] }
    const entry = { database, held: false, tables: rows.rows.map((r) => r.name).join(', ') }
    shared = entry
  } else {
    await shared.database.db.execute(sql.raw(`truncate ${shared.tables} restart identity cascade`))
  }
  const entry = shared
  entry.held = true
  return {
    ...entry.database,
    close: async () => {
      entry.held = false
    },
  }
}
