import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { users } from '../../../api/db/schema.ts'
import { moveDealStage, updateDeal, type StageMove } from '../../../api/pipeline/deals.ts'
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

describe('the close date of a won deal moved back', () => {
  const wonAt = new Date('2026-11-30T12:00:00Z')
  const later = new Date('2026-12-03T12:00:00Z')
  async function move(dealId: string, rep: { id: string; role: 'rep' }, to: StageMove, at: Date) {
    const moved = await moveDealStage(db, dealId, rep, to, at)
    if (!moved.ok) throw new Error(moved.message)
    return moved.deal
  }
  const WIN = { stage: 'won', paymentReceivedOn: '2026-11-30' } as const

  it('is the date it had before it was won, not the day it was won', async () => {
    const rep = await repIn('UTC')
    const deal = await makeDeal(db, {
      stage: 'signed',
      ownerId: rep.id,
      expectedCloseDate: '2027-02-15',
      contractSignedOn: '2026-11-20',
    })
    expect((await move(deal.id, rep, WIN, wonAt)).expectedCloseDate).toBe('2026-11-30')
    const reopened = await move(deal.id, rep, { stage: 'negotiation' }, later)
    expect(reopened.expectedCloseDate).toBe('2027-02-15')
  })

  it('is none when it had none before it was won', async () => {
    const rep = await repIn('UTC')
    const deal = await makeDeal(db, {
      stage: 'signed',
      ownerId: rep.id,
      expectedCloseDate: null,
      contractSignedOn: '2026-11-20',
    })
    await move(deal.id, rep, WIN, wonAt)
    expect((await move(deal.id, rep, { stage: 'signed' }, later)).expectedCloseDate).toBeNull()
  })

  it('is none for a deal entered as won, which had no date before', async () => {
    const rep = await repIn('UTC')
    const created = await createDeal(
      db,
      rep,
      {
        stage: 'won',
        contractSignedOn: '2026-11-30',
        paymentReceivedOn: '2026-11-30',
        contact: { email: 'entered-won@example.com' },
      } as never,
      wonAt,
    )
    if (!created.ok) throw new Error(created.message)
    const reopened = await move(created.deal.id, rep, { stage: 'signed' }, later)
    expect(reopened.expectedCloseDate).toBeNull()
  })

  it('keeps a date someone set after the win', async () => {
    const rep = await repIn('UTC')
    const deal = await makeDeal(db, {
      stage: 'signed',
      ownerId: rep.id,
      expectedCloseDate: '2027-02-15',
      contractSignedOn: '2026-11-20',
    })
    await move(deal.id, rep, WIN, wonAt)
    const edited = await updateDeal(db, deal.id, rep, { expectedCloseDate: '2027-01-10' }, later)
    if (!edited.ok) throw new Error(edited.message)
    const reopened = await move(deal.id, rep, { stage: 'signed' }, later)
    expect(reopened.expectedCloseDate).toBe('2027-01-10')
  })
})
