import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  defaultPipelineSettings,
  loadPipelineSettings,
  savePipelineSettings,
} from '../../../api/pipeline/settings.ts'
import { setupTestDb } from '../../db.ts'
import { eventually } from '../../eventually.ts'

const ctx = await setupTestDb()
const db = ctx.database.db

describe('pipeline settings', () => {
  it('keep what was not sent: saving one field leaves the others as stored', async () => {
    await savePipelineSettings(db, { notifyEveryMinutes: 45 }, null, ctx.clock.now())
    await savePipelineSettings(db, { staleDays: { demo: 21 } }, null, ctx.clock.now())
    const saved = await loadPipelineSettings(db)
    expect(saved.notifyEveryMinutes).toBe(45)
    expect(saved.staleDays.demo).toBe(21)
    expect(saved.staleDays.target).toBe(defaultPipelineSettings().staleDays.target)
  })

  // Several connections: two saves can read the stored settings before either writes.
  it.skipIf(ctx.database.engine !== 'postgres')(
    'keep both of two admins’ changes saved at the same moment',
    async () => {
      await savePipelineSettings(db, { notifyEveryMinutes: 15 }, null, ctx.clock.now())
      // Another transaction holds the row: both saves start and wait behind it.
      const locked = Promise.withResolvers<void>()
      const release = Promise.withResolvers<void>()
      const holder = db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from settings where key = 'pipeline' for update`)
        locked.resolve()
        await release.promise
      })
      await locked.promise
      const saves = Promise.all([
        savePipelineSettings(db, { notifyEveryMinutes: 90 }, null, ctx.clock.now()),
        savePipelineSettings(db, { staleDays: { negotiation: 40 } }, null, ctx.clock.now()),
      ])
      await eventually(async () => {
        const waiting = await db.execute(
          sql`select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
        )
        return (waiting as unknown as { rows: { n: number }[] }).rows[0]!.n >= 2
      })
      release.resolve()
      await holder
      await saves
      const saved = await loadPipelineSettings(db)
      expect(saved.notifyEveryMinutes).toBe(90)
      expect(saved.staleDays.negotiation).toBe(40)
    },
  )
})
