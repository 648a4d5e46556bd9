import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { deals } from '../../../api/db/schema.ts'
import { signedDateProblem } from '../../../api/pipeline/deals.ts'
import { json, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'

// Issue 19, item 6: a contract-signed date could predate the deal's creation.

const ctx = await setupTestApp()
const rep = await signedInAs(ctx, 'rep')
const created = new Date('2026-11-10T15:00:00Z')

describe('signedDateProblem', () => {
  it('refuses a date before the deal was created, with a day of slack for time zones', () => {
    expect(signedDateProblem(created, '2026-11-08')).toMatchObject({
      status: 422,
      code: 'signed_before_created',
    })
    expect(signedDateProblem(created, '2026-11-09')).toBeNull()
    expect(signedDateProblem(created, '2026-11-10')).toBeNull()
    expect(signedDateProblem(created, null)).toBeNull()
  })
})

describe('a contract-signed date before the deal existed', () => {
  it('is refused when set on the deal, and nothing changes', async () => {
    const deal = await makeDeal(ctx.deps.db, {
      ownerId: rep.user.id,
      stage: 'signed',
      createdAt: created,
    })
    const patch = (contractSignedOn: string) =>
      ctx.app.request(`/api/deals/${deal.id}`, {
        ...json({ contractSignedOn }, { cookie: rep.cookie }),
        method: 'PATCH',
      })
    const early = await patch('2026-01-05')
    expect(early.status).toBe(422)
    expect((await early.json()).error.code).toBe('signed_before_created')
    const [row] = await ctx.deps.db.select().from(deals).where(eq(deals.id, deal.id))
    expect(row!.contractSignedOn).toBeNull()
    expect((await patch('2026-11-12')).status).toBe(200)
  })

  it('is refused when given with the move to won', async () => {
    const deal = await makeDeal(ctx.deps.db, {
      ownerId: rep.user.id,
      stage: 'signed',
      createdAt: created,
    })
    const move = (contractSignedOn: string) =>
      ctx.app.request(
        `/api/deals/${deal.id}/stage`,
        json(
          { stage: 'won', contractSignedOn, paymentReceivedOn: '2026-11-20' },
          { cookie: rep.cookie },
        ),
      )
    const early = await move('2025-12-31')
    expect(early.status).toBe(422)
    const [row] = await ctx.deps.db.select().from(deals).where(eq(deals.id, deal.id))
    expect(row!.stage).toBe('signed')
    expect((await move('2026-11-15')).status).toBe(200)
  })
})
