import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { deals, users } from '../../../api/db/schema.ts'
import { reassignOpenDeals } from '../../../api/pipeline/bulk-actions.ts'
import { assignDeal } from '../../../api/pipeline/deals.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { eventually } from '../../eventually.ts'
import { makeDeal } from './fixtures.ts'

const ctx = await setupTestApp()
const db = ctx.database.db

/** Sessions of this database waiting for a lock. */
async function waitingForLocks(): Promise<number> {
  const result = await db.execute(
    sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`,
  )
  return (result as unknown as { rows: { n: number }[] }).rows[0]!.n
}

/**
 * Runs `assign` while another transaction is disabling `userId` (it holds their row), and lets
 * that one commit once the assignment has either finished or is waiting for it.
 */
async function whileDisabling<T>(userId: string, assign: () => Promise<T>): Promise<T> {
  const locked = Promise.withResolvers<void>()
  const commit = Promise.withResolvers<void>()
  const disabling = db.transaction(async (tx) => {
    await tx.update(users).set({ disabledAt: ctx.clock.now() }).where(eq(users.id, userId))
    locked.resolve()
    await commit.promise
  })
  await locked.promise
  let settled = false
  const assigned = assign().finally(() => (settled = true))
  await eventually(async () => settled || (await waitingForLocks()) > 0)
  commit.resolve()
  await disabling
  return assigned
}

// Several connections: a rep's account can be disabled while a deal is being handed to them.
describe.skipIf(ctx.database.engine !== 'postgres')('handing deals to a rep', () => {
  it('never leaves a deal with a rep whose account was disabled meanwhile', async () => {
    const admin = await addUser(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    const deal = await makeDeal(db, { stage: 'target' })
    const result = await whileDisabling(rep.id, () =>
      assignDeal(db, deal.id, admin, rep.id, ctx.clock.now()),
    )
    expect(result).toMatchObject({ ok: false, code: 'invalid_owner' })
    const [row] = await db.select().from(deals).where(eq(deals.id, deal.id))
    expect(row!.ownerId).toBeNull()
  })

  it('never hands a leaving rep’s deals to a rep whose account was disabled meanwhile', async () => {
    const admin = await addUser(ctx, 'admin')
    const [leaving, next] = [await addUser(ctx, 'rep'), await addUser(ctx, 'rep')]
    const deal = await makeDeal(db, { stage: 'demo', ownerId: leaving.id })
    const result = await whileDisabling(next.id, () =>
      reassignOpenDeals(db, admin, leaving.id, next.id, ctx.clock.now()),
    )
    expect(result).toMatchObject({ ok: false, code: 'invalid_owner' })
    const [row] = await db.select().from(deals).where(eq(deals.id, deal.id))
    expect(row!.ownerId).toBe(leaving.id)
  })
})
