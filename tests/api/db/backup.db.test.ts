import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { BackupError, restoreBackup, writeBackup } from '../../../api/db/backup.ts'
import { openDatabase, type Db } from '../../../api/db/client.ts'
import { seedDemo } from '../../../api/demo/seed.ts'
import { setupTestDb } from '../../db.ts'

// Backups are taken from either engine and restored into a new embedded data directory: the
// round trip compares every table, row for row.
const ctx = await setupTestDb()
const dir = await mkdtemp(join(tmpdir(), 'frontdoor-backup-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

async function everyTable(db: Db): Promise<Record<string, string[]>> {
  const tables = (
    (await db.execute(
      sql`select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r' order by 1`,
    )) as unknown as { rows: { name: string }[] }
  ).rows
  const out: Record<string, string[]> = {}
  for (const { name } of tables) {
    const rows = (
      (await db.execute(
        sql`select row_to_json(t)::text as j from ${sql.identifier(name)} t order by 1`,
      )) as unknown as { rows: { j: string }[] }
    ).rows
    out[name] = rows.map((r) => r.j)
  }
  return out
}

// Seeding the demo, backing it up and restoring it into a second database is seconds of CPU on a
// quiet machine; the budget is for a loaded one (it ran out at 30 s with the CPUs shared 5 ways).
describe('db:backup and db:restore', { timeout: 120_000 }, () => {
  const file = join(dir, 'seeded.backup')

  it('round-trips a seeded database: every table, row for row, into a new data directory', async () => {
    expect(await seedDemo(ctx.deps.db, ctx.clock.now())).toMatchObject({ status: 'seeded' })
    const summary = await writeBackup(ctx.deps.db, file, {
      engine: ctx.database.engine,
      now: ctx.clock.now(),
    })
    const before = await everyTable(ctx.deps.db)
    expect(summary.rows).toBe(Object.values(before).reduce((n, rows) => n + rows.length, 0))
    expect(before.deals!.length).toBeGreaterThan(100)

    const target = join(dir, 'restored', 'pglite')
    const restored = await restoreBackup(file, { dataDir: target })
    expect(restored.rows).toBe(summary.rows)
    const database = await openDatabase({ dataDir: target })
    try {
      expect(await everyTable(database.db)).toEqual(before)
    } finally {
      await database.close()
    }
  })

  it('fails, rather than hanging, when the file cannot be written (no such directory, disk full)', async () => {
    // The seeded database is far more than a write stream buffers: the writer waits for a drain
    // that a failed stream never emits. (Seeded by the first test; seeding again is refused.)
    await seedDemo(ctx.deps.db, ctx.clock.now())
    const missing = join(dir, 'no-such-directory', 'x.backup')
    const failed = writeBackup(ctx.deps.db, missing, {
      engine: ctx.database.engine,
      now: ctx.clock.now(),
    })
    await expect(failed).rejects.toThrow(BackupError)
    await expect(failed).rejects.toThrow(/cannot write .*no-such-directory.*directory exists/)
    // The database is not left inside the backup's transaction.
    expect(await ctx.deps.database.ping()).toBe(true)
  })

  it('refuses to restore into a data directory that is not empty, and leaves it as it was', async () => {
    const target = join(dir, 'restored', 'pglite')
    await expect(restoreBackup(file, { dataDir: target })).rejects.toThrow(/is not empty/)
    const database = await openDatabase({ dataDir: target })
    try {
      const [row] = (
        (await database.db.execute(sql`select count(*)::int as n from deals`)) as unknown as {
          rows: { n: number }[]
        }
      ).rows
      expect(row!.n).toBeGreaterThan(100)
    } finally {
      await database.close()
    }
  })

  it('refuses a backup cut short, or with a changed byte, before writing anything', async () => {
    const whole = await readFile(file)
    const cut = join(dir, 'cut.backup')
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)))
    const cutTarget = join(dir, 'from-cut', 'pglite')
    await expect(restoreBackup(cut, { dataDir: cutTarget })).rejects.toThrow(BackupError)
    expect(existsSync(cutTarget)).toBe(false)

    // Cut exactly at a line end: every line parses, only the missing end marker tells.
    const atLine = join(dir, 'at-line.backup')
    const text = whole.toString('utf8')
    await writeFile(atLine, text.slice(0, text.lastIndexOf('\n', text.length / 2) + 1))
    await expect(restoreBackup(atLine, { dataDir: cutTarget })).rejects.toThrow(/cut short/)

    const changed = join(dir, 'changed.backup')
    await writeFile(changed, text.replace('@frontdoor.example', '@frontdoor.exampla'))
    await expect(restoreBackup(changed, { dataDir: cutTarget })).rejects.toThrow(/checksum/)
    expect(existsSync(cutTarget)).toBe(false)
  })

  it('restores into a PostgreSQL server only when its tables are empty', async () => {
    if (ctx.database.engine !== 'postgres') return
    // This file's own database (it holds the seeded rows), never the shared one it was made from.
    const [row] = (
      (await ctx.deps.db.execute(sql`select current_database() as name`)) as unknown as {
        rows: { name: string }[]
      }
    ).rows
    const url = new URL(process.env.TEST_DATABASE_URL!)
    url.pathname = `/${row!.name}`
    expect(row!.name).not.toBe(new URL(process.env.TEST_DATABASE_URL!).pathname.slice(1))
    await expect(
      restoreBackup(file, { databaseUrl: url.toString(), dataDir: join(dir, 'unused') }),
    ).rejects.toThrow(/not empty/)
  })
})
