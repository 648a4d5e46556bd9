import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { unaccent } from '@electric-sql/pglite/contrib/unaccent'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'
import { serveLocalSocket, type LocalSocketServer } from './local-socket.ts'
import { acquireOwnership, DataDirInUseError, type Ownership } from './owner.ts'
import * as schema from './schema.ts'

export type Schema = typeof schema
/** The one database type the domain code sees: a PGlite or node-postgres Drizzle instance, or a transaction of either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>
export type Engine = 'pglite' | 'postgres'

export interface Database {
  db: Db
  engine: Engine
  /**
   * `own`: this process opened the database (and, for an embedded data directory, owns it);
   * `owner`: connected through the running owner's local socket (api/db/local-socket.ts).
   */
  via: 'own' | 'owner'
  /** The owner's PostgreSQL-protocol socket (a Unix socket in a 0700 directory), when it serves one. */
  socketPath: string | null
  /** The owner tells later processes where it listens (its URL goes into the lock file). */
  announce(url: string): Promise<void>
  migrate(): Promise<void>
  ping(): Promise<boolean>
  close(): Promise<void>
}

/**
 * PGlite's buffer cache, inside its WASM heap. PostgreSQL's default (128MB) grows the heap from
 * its 128 MB floor to ~200 MB once warm; 32MB keeps it at the floor (measured: idle RSS −110 MB
 * with the demo data). Pages that miss it come from the OS page cache through PGlite's file system.
 */
export const PGLITE_SHARED_BUFFERS = '32MB'

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url))

export interface DatabaseOptions {
  databaseUrl?: string | undefined
  /** PGlite data directory; `memory://` for an in-memory database. */
  dataDir?: string
  /** A PGlite data directory dump to start from (tests clone a migrated database). */
  loadDataDir?: Blob | File
  poolSize?: number
  /**
   * Command-line tools: when another process owns the embedded data directory and serves its
   * socket, connect through it instead of failing with DataDirInUseError.
   */
  throughOwner?: boolean
}

export { DataDirInUseError }

/** DATABASE_URL names a server this process cannot reach or sign in to: said once, plainly. */
export class DatabaseUnreachableError extends Error {}

/** The URL without its password, to name it in a message. */
function withoutPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    if (url.password) url.password = '***'
    return url.href
  } catch {
    return 'postgres://…'
  }
}

/**
 * A PostgreSQL server (databaseUrl), or the embedded PGlite in dataDir. An embedded data
 * directory on disk has one owner: this process takes its lock (api/db/owner.ts) and serves it
 * on a local socket, or, when another live process owns it, throws DataDirInUseError naming
 * that process — or with `throughOwner` connects through the owner's socket. A databaseUrl
 * it cannot use throws DatabaseUnreachableError.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const database = await openPostgres(
      { connectionString: options.databaseUrl },
      options.poolSize ?? 10,
    )
    // The first connection here, not deep in a migration: a wrong host, port, database name or
    // password reads as what it is.
    try {
      await database.db.execute(sql`select 1`)
    } catch (err) {
      await database.close()
      // The driver's own words (drizzle wraps them in a "Failed query" error).
      const driver = err instanceof Error && err.cause instanceof Error ? err.cause : err
      const reason = driver instanceof Error ? driver.message || String(driver) : String(driver)
      throw new DatabaseUnreachableError(
        `Cannot use the PostgreSQL database in DATABASE_URL (${withoutPassword(options.databaseUrl)}): ${reason}`,
      )
    }
    return database
  }
  const dataDir = options.dataDir ?? 'memory://'
  if (dataDir.startsWith('memory://')) return openPglite(dataDir, null, options.loadDataDir)
  let ownership: Ownership
  try {
    ownership = await acquireOwnership(dataDir)
  } catch (err) {
    if (err instanceof DataDirInUseError && options.throughOwner && err.owner.socketDir) {
      return openPostgres(
        { host: err.owner.socketDir, database: 'postgres', user: 'postgres' },
        4,
        {
          engine: 'pglite',
          via: 'owner',
          socketPath: null,
        },
      )
    }
    throw err
  }
  try {
    return await openPglite(dataDir, ownership, options.loadDataDir)
  } catch (err) {
    await ownership.release()
    throw err
  }
}

async function openPglite(
  dataDir: string,
  ownership: Ownership | null,
  loadDataDir?: Blob | File,
): Promise<Database> {
  if (ownership) await mkdir(dataDir, { recursive: true })
  const fresh =
    !loadDataDir && (dataDir.startsWith('memory://') || !existsSync(join(dataDir, 'PG_VERSION')))
  const client = await PGlite.create({
    dataDir,
    ...(loadDataDir ? { loadDataDir } : {}),
    // Search (api/search/): its trigram indexes, and unaccent under the indexes' search_fold
    // (migration 0031). A data directory migrated with an extension cannot even be queried by an
    // instance that has not loaded it, so every instance loads both.
    extensions: { pg_trgm, unaccent },
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  })
  // initdb runs in a WASM instance of its own that is garbage once done, but V8 does not count
  // its ~260 MB as pressure on the JS heap and keeps it until some later full GC (measured: RSS
  // 658 → 393 MB after one). One full collection gives it back at once.
  if (fresh) collectGarbage()
  const db = drizzlePglite({ client, schema }) as unknown as Db
  // Whoever owns the directory serves it, so other processes go through it. A data directory
  // whose socket path is too long for a Unix socket (~107 bytes) is served without one.
  let socket: LocalSocketServer | null = null
  if (ownership) {
    socket = await serveLocalSocket(client, ownership.socketDir).catch(() => null)
    if (socket) await ownership.update({ socketDir: ownership.socketDir })
  }
  let closed = false
  return {
    db,
    engine: 'pglite',
    via: 'own',
    socketPath: socket?.path ?? null,
    announce: async (url) => {
      await ownership?.update({ url })
    },
    migrate: () => migratePglite(drizzlePglite({ client, schema }), { migrationsFolder }),
    ping: () => ping(db),
    close: async () => {
      if (closed) return
      closed = true
      try {
        // Clients first: what they left open is rolled back before PGlite closes.
        await socket?.close()
        if (ownership) await rm(ownership.socketDir, { recursive: true, force: true })
        await client.close()
        // The same for a closed instance's WASM memory (tests open and close many).
        collectGarbage()
      } finally {
        await ownership?.release()
      }
    },
  }
}

async function openPostgres(
  connection: pg.PoolConfig,
  max: number,
  through: Pick<Database, 'engine' | 'via' | 'socketPath'> = {
    engine: 'postgres',
    via: 'own',
    socketPath: null,
  },
): Promise<Database> {
  const pool = new pg.Pool({ ...connection, max })
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {})
  // A connection lost mid-query rejects that query; the client's own 'error' event must not
  // also crash the process (a CLI tool then cleans up, e.g. db:backup its partial file).
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = drizzlePg({ client: pool, schema }) as unknown as Db
  let closed = false
  return {
    db,
    ...through,
    announce: async () => {},
    migrate: async () => {
      // Several processes may start at once: one migrates, the others wait for it.
      const client = await pool.connect()
      try {
        await client.query('select pg_advisory_lock(7243001)')
        await migratePg(drizzlePg({ client, schema }), { migrationsFolder })
      } finally {
        await client.query('select pg_advisory_unlock(7243001)').catch(() => {})
        client.release()
      }
    },
    ping: () => ping(db),
    close: async () => {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}

let gc: (() => void) | null = null
/** A full V8 collection; `--expose-gc` is set here rather than asked of every way Node is started. */
function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
}

async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute(sql`select 1`)
    return true
  } catch {
    return false
  }
}
