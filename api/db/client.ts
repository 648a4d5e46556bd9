import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'
import * as schema from './schema.ts'

export type Schema = typeof schema
/** The one database type the domain code sees: a PGlite or node-postgres Drizzle instance, or a transaction of either. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>
export type Engine = 'pglite' | 'postgres'

export interface Database {
  db: Db
  engine: Engine
  migrate(): Promise<void>
  ping(): Promise<boolean>
  close(): Promise<void>
}

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url))

export interface DatabaseOptions {
  databaseUrl?: string | undefined
  /** PGlite data directory; `memory://` for an in-memory database. */
  dataDir?: string
  /** A PGlite data directory dump to start from (tests clone a migrated database). */
  loadDataDir?: Blob | File
  poolSize?: number
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? 10)
  return openPglite(options.dataDir ?? 'memory://', options.loadDataDir)
}

async function openPglite(dataDir: string, loadDataDir?: Blob | File): Promise<Database> {
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true })
  const client = await PGlite.create({ dataDir, ...(loadDataDir ? { loadDataDir } : {}) })
  const db = drizzlePglite({ client, schema }) as unknown as Db
  let closed = false
  return {
    db,
    engine: 'pglite',
    migrate: () => migratePglite(drizzlePglite({ client, schema }), { migrationsFolder }),
    ping: () => ping(db),
    close: async () => {
      if (closed) return
      closed = true
      await client.close()
    },
  }
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max })
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {})
  const db = drizzlePg({ client: pool, schema }) as unknown as Db
  let closed = false
  return {
    db,
    engine: 'postgres',
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

async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute(sql`select 1`)
    return true
  } catch {
    return false
  }
}
