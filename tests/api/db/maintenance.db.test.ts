import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { maintainEmbedded, startMaintenance } from '../../../api/db/maintenance.ts'
import { createLogger } from '../../../api/logger.ts'
import { setupTestApp } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db

/** Pages of stage_moves the visibility map says are all-visible, and the planner's row estimate. */
async function stageMovesState() {
  const [row] = (
    (await db.execute(
      sql`select relallvisible::int as visible, reltuples::float8 as tuples from pg_class where relname = 'stage_moves'`,
    )) as unknown as { rows: Array<{ visible: number; tuples: number }> }
  ).rows
  return row!
}

describe('embedded database maintenance', () => {
  it('vacuums and analyzes PGlite, and leaves a PostgreSQL server to its autovacuum', async () => {
    for (let i = 0; i < 50; i++) await makeDeal(db)
    if (ctx.database.engine !== 'pglite') {
      expect(await maintainEmbedded(ctx.database)).toBe(false)
      return
    }
    const before = await stageMovesState()
    expect(before.visible).toBe(0)
    expect(await maintainEmbedded(ctx.database)).toBe(true)
    const after = await stageMovesState()
    expect(after.visible).toBeGreaterThan(0)
    expect(after.tuples).toBe(50)
  })

  it('runs again on its interval until stopped', async () => {
    if (ctx.database.engine !== 'pglite') return
    for (let i = 0; i < 20; i++) await makeDeal(db)
    const lines: string[] = []
    const logger = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
    const job = startMaintenance(ctx.database, logger, 50)
    await expect.poll(() => lines.length, { timeout: 5_000 }).toBeGreaterThan(0)
    await job.stop()
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'database maintenance' })
    expect((await stageMovesState()).tuples).toBe(70)
    const runs = lines.length
    await new Promise((r) => setTimeout(r, 200))
    expect(lines.length).toBe(runs)
  })
})
