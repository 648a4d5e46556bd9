import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, rmdir } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { finished } from 'node:stream/promises'
import { sql, type SQL } from 'drizzle-orm'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { migrationsFolder, openDatabase, type Db } from './client.ts'
import { acquireOwnership } from './owner.ts'

// Backup and restore (`npm run db:backup -- FILE`, `npm run db:restore -- FILE`).
//
// The format is a logical dump of our own, the same from both engines and restorable into both:
// JSON lines — a header (format, the migrations the schema is at, when), then per table a
// section line and one line per row (row_to_json), then a trailer with the row counts and the
// SHA-256 of every line before it. Why not PGlite's dumpDataDir: it runs only inside the owning
// process (not through its socket) and restores only into PGlite of the same major version. Why
// not pg_dump: the installed pg_dump must be at least the server's major version (PGlite 0.5 is
// PostgreSQL 18, Debian 12 ships 15) and a plain dump cannot say it is complete. The schema is
// not in the file: restore runs this code's migrations and refuses a backup taken at another
// schema. Rows are read in one REPEATABLE READ, read-only transaction: a consistent snapshot while
// the server writes (through the owner's socket it holds PGlite for the duration, measured in
// the benchmarks). The file is written beside FILE and renamed into place only when complete.

export const BACKUP_FORMAT = 'frontdoor-backup'
export const BACKUP_VERSION = 1
const INSERT_BATCH = 1000
const FETCH_ROWS = 5000

export class BackupError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BackupError'
  }
}

interface Header {
  format: typeof BACKUP_FORMAT
  version: number
  takenAt: string
  engine: string
  migrations: string[]
}
interface Section {
  table: string
  columns: string[]
  rows: number
}
interface Trailer {
  end: true
  tables: number
  rows: number
  sequences: Record<string, number>
  sha256: string
}

export interface BackupSummary {
  tables: number
  rows: number
  bytes: number
}

/**
 * Rows durable outside the database that it may not hold yet: the embedded database's click
 * journal (api/tracking/click-journal.ts), whose rows reach click_events a moment after the 302.
 * `select` yields them under the table's column names (`columns`, an `id` among them); those
 * whose id the snapshot does not hold are backed up in a section of their own after the table's
 * rows, and restore gives the table's other columns their defaults. Read them before the backup
 * starts: a row that leaves the journal before the snapshot is in the database by then.
 */
export interface PendingRows {
  table: string
  columns: readonly string[]
  select: SQL
}

/** Writes a consistent backup of every table of `db` to `file` (atomically: all or nothing). */
export async function writeBackup(
  db: Db,
  file: string,
  options: { engine: string; now: Date; pending?: readonly PendingRows[] },
): Promise<BackupSummary> {
  const partial = `${file}.partial-${process.pid}`
  const out = createWriteStream(partial, { mode: 0o600 })
  const hash = createHash('sha256')
  let bytes = 0
  let failed: Error | null = null
  out.on('error', (err) => (failed ??= err))
  // A stream that failed (no such directory, disk full) never drains: wait for either.
  const drained = () =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed)
      const onDrain = () => {
        out.off('error', onError)
        resolve()
      }
      const onError = (err: Error) => {
        out.off('drain', onDrain)
        reject(err)
      }
      out.once('drain', onDrain)
      out.once('error', onError)
    })
  const write = async (value: unknown, hashed = true) => {
    const line = `${JSON.stringify(value)}\n`
    if (hashed) hash.update(line)
    bytes += Buffer.byteLength(line)
    if (!out.write(line)) await drained()
    if (failed) throw failed
  }
  try {
    const summary = await db.transaction(
      async (tx) => {
        const migrations = await rowsOf<{ hash: string }>(
          tx,
          sql`select hash from drizzle.__drizzle_migrations order by created_at, id`,
        )
        const header: Header = {
          format: BACKUP_FORMAT,
          version: BACKUP_VERSION,
          takenAt: options.now.toISOString(),
          engine: options.engine,
          migrations: migrations.map((m) => m.hash),
        }
        await write(header)
        const tables = await tablesInInsertOrder(tx)
        let rows = 0
        let sections = 0
        // A cursor, so neither side holds a whole table (deal_events at 100k deals: ~500k rows).
        const copy = async (section: Section, rowsQuery: SQL) => {
          await write(section)
          await tx.execute(
            sql`declare backup_rows no scroll cursor for select row_to_json(t)::text as j from (${rowsQuery}) t`,
          )
          let written = 0
          for (;;) {
            const data = await rowsOf<{ j: string }>(
              tx,
              sql`fetch ${sql.raw(String(FETCH_ROWS))} from backup_rows`,
            )
            if (!data.length) break
            for (const row of data) {
              const line = `${row.j}\n`
              hash.update(line)
              bytes += Buffer.byteLength(line)
              if (!out.write(line)) await drained()
            }
            if (failed) throw failed
            written += data.length
          }
          await tx.execute(sql`close backup_rows`)
          if (written !== section.rows)
            throw new BackupError(
              `${section.table}: counted ${section.rows} rows but read ${written}`,
            )
          rows += written
          sections++
        }
        for (const table of tables) {
          const columns = await columnsOf(tx, table)
          const all = sql`select * from ${sql.identifier(table)}`
          await copy({ table, columns, rows: await countOf(tx, all) }, all)
          for (const p of options.pending ?? []) {
            if (p.table !== table) continue
            // Journaled rows the snapshot does not hold yet, each once.
            const missing = sql`select distinct on (p.id) p.* from (${p.select}) p
              where not exists (select 1 from ${sql.identifier(table)} t where t.id = p.id)`
            const count = await countOf(tx, missing)
            if (count > 0) await copy({ table, columns: [...p.columns], rows: count }, missing)
          }
        }
        const sequences: Record<string, number> = {}
        for (const s of await rowsOf<{ name: string; value: string | null }>(
          tx,
          sql`select sequencename as name, last_value::text as value from pg_sequences where schemaname = 'public'`,
        ))
          if (s.value !== null) sequences[s.name] = Number(s.value)
        const trailer: Trailer = {
          end: true,
          tables: sections,
          rows,
          sequences,
          sha256: hash.copy().digest('hex'),
        }
        await write(trailer, false)
        return { tables: tables.length, rows }
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    )
    out.end()
    await finished(out)
    if (failed) throw failed
    const handle = await open(partial, 'r')
    await handle.sync()
    await handle.close()
    await rename(partial, file)
    return { ...summary, bytes }
  } catch (err) {
    out.destroy()
    await rm(partial, { force: true })
    if (failed && err === failed)
      throw new BackupError(
        `cannot write ${file}: ${(failed as Error).message}. Check that its directory exists and has space; no backup was written.`,
      )
    throw err
  }
}

/** Reads the whole file and checks it: complete, undamaged, and taken at this code's schema. */
export async function verifyBackup(
  file: string,
): Promise<{ header: Header; trailer: Trailer; sections: Section[] }> {
  let header: Header | null = null
  let trailer: Trailer | null = null
  const sections: Section[] = []
  let expectRows = 0
  let lineNo = 0
  const hash = createHash('sha256')
  const damaged = (why: string) =>
    new BackupError(`${file} is not a complete Frontdoor backup (${why}); nothing was restored.`)
  try {
    for await (const line of lines(file)) {
      lineNo++
      if (trailer) throw damaged(`data after the end marker, line ${lineNo}`)
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        throw damaged(`line ${lineNo} is cut short or damaged`)
      }
      if (!header) {
        const h = value as Partial<Header>
        if (h?.format !== BACKUP_FORMAT) throw damaged('no backup header')
        if (h.version !== BACKUP_VERSION)
          throw new BackupError(
            `${file} is a version ${h.version} backup; this code reads version ${BACKUP_VERSION}.`,
          )
        header = h as Header
      } else if (expectRows > 0) {
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          throw damaged(`line ${lineNo} is not a row`)
        expectRows--
      } else if ((value as Trailer).end === true) {
        trailer = value as Trailer
        continue
      } else {
        const s = value as Section
        if (typeof s.table !== 'string' || !Array.isArray(s.columns) || !Number.isInteger(s.rows))
          throw damaged(`line ${lineNo} is not a table section`)
        sections.push(s)
        expectRows = s.rows
      }
      hash.update(`${line}\n`)
    }
  } catch (err) {
    if (err instanceof BackupError) throw err
    throw new BackupError(`${file} cannot be read: ${(err as Error).message}`)
  }
  if (!header) throw damaged('empty file')
  if (!trailer) throw damaged('it ends before its end marker: cut short')
  if (trailer.sha256 !== hash.digest('hex')) throw damaged('its checksum does not match: damaged')
  const rows = sections.reduce((n, s) => n + s.rows, 0)
  if (trailer.tables !== sections.length || trailer.rows !== rows) throw damaged('counts differ')
  const code = readMigrationFiles({ migrationsFolder }).map((m) => m.hash)
  if (header.migrations.join() !== code.join())
    throw new BackupError(
      `${file} was taken at a different schema (${header.migrations.length} migrations; this code has ${code.length}). ` +
        'Restore it with the version of Frontdoor that took it. Nothing was restored.',
    )
  return { header, trailer, sections }
}

export interface RestoreTarget {
  databaseUrl?: string | undefined
  /** The embedded data directory (DATA_DIR/pglite): must not exist or be empty. */
  dataDir: string
  /**
   * Clicks left in the embedded database's journal (DATA_DIR/clicks; journaledClicks reads them):
   * refused, since the next start would replay another database's clicks into the restored one.
   */
  journal?: { dir: string; count: number } | null | undefined
}

/**
 * Restores a verified backup into an empty database: a new embedded data directory (built
 * beside it and renamed into place, so a failed restore leaves nothing), or a PostgreSQL
 * database whose tables are all empty. Everything is written in one transaction.
 */
export async function restoreBackup(file: string, target: RestoreTarget): Promise<BackupSummary> {
  const { trailer, sections } = await verifyBackup(file)
  if (target.databaseUrl) {
    const database = await openDatabase({ databaseUrl: target.databaseUrl, poolSize: 1 })
    try {
      await database.migrate()
      const busy = await nonEmptyTables(database.db)
      if (busy.length)
        throw new BackupError(
          `The database is not empty (rows in ${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ', …' : ''}); restore only into an empty one. Nothing was restored.`,
        )
      return await load(database.db, file, sections, trailer)
    } finally {
      await database.close()
    }
  }
  const entries = await readdir(target.dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  if (entries.length)
    throw new BackupError(
      `${target.dataDir} is not empty; restore only into an empty or new data directory (move the current one aside first). Nothing was restored.`,
    )
  if (target.journal?.count)
    throw new BackupError(
      `${target.journal.dir} holds ${target.journal.count} clicks of the database that was here; move it aside with that database (the next start would replay them into the restored one). Nothing was restored.`,
    )
  // Held until the restored directory is in place: no server starts on it half-way.
  const ownership = await acquireOwnership(target.dataDir)
  const building = `${target.dataDir}.restoring-${process.pid}`
  try {
    await rm(building, { recursive: true, force: true })
    const database = await openDatabase({ dataDir: building })
    let summary: BackupSummary
    try {
      await database.migrate()
      summary = await load(database.db, file, sections, trailer)
    } finally {
      await database.close()
    }
    await rmdir(target.dataDir).catch(() => {})
    await mkdir(building, { recursive: true })
    await rename(building, target.dataDir)
    return summary
  } catch (err) {
    await rm(building, { recursive: true, force: true })
    throw err
  } finally {
    await ownership.release()
  }
}

async function load(
  db: Db,
  file: string,
  sections: Section[],
  trailer: Trailer,
): Promise<BackupSummary> {
  let rows = 0
  await db.transaction(async (tx) => {
    // Rows go in as they were: tables a trigger fills (stage_moves from deal_events) come from
    // the backup, not from the trigger firing again. Re-enabled before the commit.
    for (const s of sections)
      await tx.execute(sql`alter table ${sql.identifier(s.table)} disable trigger user`)
    let section = -1
    let left = 0
    let batch: string[] = []
    const flush = async () => {
      if (!batch.length) return
      const s = sections[section]!
      const columns = sql.join(
        s.columns.map((c) => sql.identifier(c)),
        sql`, `,
      )
      await tx.execute(
        sql`insert into ${sql.identifier(s.table)} (${columns}) select ${columns} from json_populate_recordset(null::${sql.identifier(s.table)}, ${`[${batch.join(',')}]`}::json)`,
      )
      rows += batch.length
      batch = []
    }
    let first = true
    for await (const line of lines(file)) {
      if (first) {
        first = false
        continue
      }
      if (left === 0) {
        await flush()
        if (section + 1 >= sections.length) break
        section++
        left = sections[section]!.rows
        continue
      }
      batch.push(line)
      left--
      if (batch.length >= INSERT_BATCH) await flush()
    }
    await flush()
    for (const s of sections)
      await tx.execute(sql`alter table ${sql.identifier(s.table)} enable trigger user`)
    for (const [name, value] of Object.entries(trailer.sequences))
      await tx.execute(sql`select setval(${`public.${quoteIdent(name)}`}::regclass, ${value})`)
  })
  return { tables: new Set(sections.map((s) => s.table)).size, rows, bytes: 0 }
}

async function* lines(file: string): AsyncGenerator<string> {
  const reader = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
  for await (const line of reader) if (line !== '') yield line
}

async function countOf(db: Db, query: SQL): Promise<number> {
  const [counted] = await rowsOf<{ n: number }>(
    db,
    sql`select count(*)::int as n from (${query}) c`,
  )
  return counted!.n
}

async function rowsOf<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] }
  return result.rows
}

/** The public schema's tables, each after the tables its foreign keys point at. */
async function tablesInInsertOrder(db: Db): Promise<string[]> {
  const tables = await rowsOf<{ name: string }>(
    db,
    sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`,
  )
  const edges = await rowsOf<{ child: string; parent: string }>(
    db,
    sql`select c.relname as child, p.relname as parent from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
        join pg_namespace n on n.oid = c.relnamespace
        where k.contype = 'f' and n.nspname = 'public' and c.oid <> p.oid`,
  )
  const ordered: string[] = []
  const placed = new Set<string>()
  const visit = (name: string, path: Set<string>) => {
    if (placed.has(name) || path.has(name)) return
    path.add(name)
    for (const e of edges) if (e.child === name) visit(e.parent, path)
    placed.add(name)
    ordered.push(name)
  }
  for (const t of tables) visit(t.name, new Set())
  return ordered
}

async function columnsOf(db: Db, table: string): Promise<string[]> {
  const columns = await rowsOf<{ name: string }>(
    db,
    sql`select attname as name from pg_attribute
        where attrelid = ${`public.${quoteIdent(table)}`}::regclass and attnum > 0
          and not attisdropped and attgenerated = '' order by attnum`,
  )
  return columns.map((c) => c.name)
}

async function nonEmptyTables(db: Db): Promise<string[]> {
  const busy: string[] = []
  for (const table of await tablesInInsertOrder(db)) {
    const [row] = await rowsOf<{ any: boolean }>(
      db,
      sql`select exists (select 1 from ${sql.identifier(table)}) as any`,
    )
    if (row?.any) busy.push(table)
  }
  return busy
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
