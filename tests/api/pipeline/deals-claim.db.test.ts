import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { dealEvents, deals, users } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { createSession, SESSION_COOKIE } from '../../../api/accounts/sessions.ts'
import { ORIGIN, setupTestApp } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'

const ctx = await setupTestApp()

/** Reps with live sessions (created directly: twenty password hashes would only slow the test). */
async function reps(count: number) {
  const out: Array<{ id: string; name: string; cookie: string }> = []
  for (let i = 0; i < count; i++) {
    const id = newId()
    const name = `Rep ${i + 1}`
    await ctx.deps.db
      .insert(users)
      .values({ id, email: `rep${i + 1}-${id.slice(-6)}@example.com`, name, role: 'rep' })
    const { token } = await createSession(ctx.deps.db, id, ctx.clock.now())
    out.push({ id, name, cookie: `${SESSION_COOKIE}=${token}` })
  }
  return out
}

const claim = (dealId: string, cookie: string) =>
  ctx.app.request(`/api/deals/${dealId}/claim`, {
    method: 'POST',
    headers: { cookie, origin: ORIGIN, accept: 'application/json' },
  })

describe('taking over a lead when many reps click at once', () => {
  it('gives the deal to exactly one of 20 concurrent claimants and tells the other 19 who won', async () => {
    const team = await reps(20)
    const deal = await makeDeal(ctx.deps.db, { stage: 'target', ownerId: null })
    const responses = await Promise.all(team.map((r) => claim(deal.id, r.cookie)))
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(19)

    const winner = team[statuses.indexOf(200)]!
    const [row] = await ctx.deps.db.select().from(deals).where(eq(deals.id, deal.id))
    expect(row!.ownerId).toBe(winner.id)
    expect(row!.claimedAt).toEqual(ctx.clock.now())

    const loser = await responses[statuses.indexOf(409)]!.json()
    expect(loser.error.code).toBe('already_claimed')
    expect(loser.error.message).toContain(`${winner.name} took over this lead first`)

    const claims = await ctx.deps.db.select().from(dealEvents).where(eq(dealEvents.dealId, deal.id))
    expect(claims.filter((e) => e.type === 'claimed')).toEqual([
      expect.objectContaining({ actorId: winner.id }),
    ])
  })

  it('lets the winner click again without an error, and keeps the deal theirs', async () => {
    const [first, second] = await reps(2)
    const deal = await makeDeal(ctx.deps.db, { stage: 'target', ownerId: null })
    expect((await claim(deal.id, first!.cookie)).status).toBe(200)
    const again = await claim(deal.id, first!.cookie)
    expect(again.status).toBe(200)
    expect((await again.json()).alreadyYours).toBe(true)
    expect((await claim(deal.id, second!.cookie)).status).toBe(409)
  })
})
