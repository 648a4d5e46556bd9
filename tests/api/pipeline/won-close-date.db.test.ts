import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { users } from '../../../api/db/schema.ts'
import { moveDealStage } from '../../../api/pipeline/deals.ts'
import { createDeal } from '../../../api/pipeline/manual-deals.ts'
import { addUser, setupTestDb } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'

// A won deal's expected close date becomes the day it was won, which the forecast reads. That day
// is the rep's, on their clock (as the contract and payment dates are checked), not UTC's: a rep
// in Los Angeles closing at 18:00 on 30 November closed in November, and one in Tokyo closing at
// 08:00 on 1 December (signed that morning) closed in December.

const ctx = await setupTestDb()
const db = ctx.deps.db

async function repIn(timeZone: string) {
  const user = await addUser(ctx, 'rep')
  await db.update(users).set({ timeZone }).where(eq(users.id, user.id))
  return { id: user.id, role: 'rep' as const }
}

const cases = [
  // [zone, now, the rep's day then]
  ['America/Los_Angeles', '2026-12-01T02:00:00Z', '2026-11-30'],
  ['Asia/Tokyo', '2026-11-30T23:00:00Z', '2026-12-01'],
] as const

describe('the close date of a deal won', () => {
  it.each(cases)('moved to won in %s at %s is %s', async (zone, at, day) => {
    const rep = await repIn(zone)
    const deal = await makeDeal(db, {
      stage: 'signed',
      ownerId: rep.id,
      expectedCloseDate: '2027-02-15',
      contractSignedOn: '2026-11-20',
    })
    const moved = await moveDealStage(
      db,
      deal.id,
      rep,
      { stage: 'won', paymentReceivedOn: day },
      new Date(at),
    )
    if (!moved.ok) throw new Error(moved.message)
    expect(moved.deal.expectedCloseDate).toBe(day)
  })

  it.each(cases)('entered as won in %s at %s is %s', async (zone, at, day) => {
    const rep = await repIn(zone)
    const created = await createDeal(
      db,
      rep,
      {
        stage: 'won',
        contractSignedOn: day,
        paymentReceivedOn: day,
        contact: { email: `won-${zone.replace('/', '-').toLowerCase()}@example.com` },
      } as never,
      new Date(at),
    )
    if (!created.ok) throw new Error(created.message)
    expect(created.deal.expectedCloseDate).toBe(day)
  })
})
