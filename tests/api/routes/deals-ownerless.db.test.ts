import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { dealEvents, deals } from '../../../api/db/schema.ts'
import { json, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

// A deal past 10% without an owner is in nobody's pipeline, not in the team's board or forecast
// (those count claimed deals) and not in the queue (10% only), and no rep can take it over: it
// would silently drop out of every number. Only 10% leads go back to the queue.

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')
const admin = await signedInAs(ctx, 'admin')

const post = (path: string, body: unknown) =>
  ctx.app.request(path, json(body, { cookie: admin.cookie, accept: 'application/json' }))
const row = async (id: string) => (await db.select().from(deals).where(eq(deals.id, id)))[0]!
const events = async (id: string) =>
  (await db.select().from(dealEvents).where(eq(dealEvents.dealId, id))).length

describe('an admin cannot leave a deal past 10% without an owner', () => {
  it('refuses to send a demo deal "back to the queue", keeping it in the rep’s pipeline', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id, amountCents: 10_000 })
    const before = await events(deal.id)
    const res = await post(`/api/deals/${deal.id}/owner`, { ownerId: null })
    expect(res.status).toBe(422)
    expect((await res.json()).error.code).toBe('owner_needed')
    expect((await row(deal.id)).ownerId).toBe(rep.user.id)
    expect(await events(deal.id)).toBe(before)
  })

  it('still returns a 10% lead to the queue', async () => {
    const deal = await makeDeal(db, { stage: 'target', ownerId: rep.user.id })
    expect((await post(`/api/deals/${deal.id}/owner`, { ownerId: null })).status).toBe(200)
    expect((await row(deal.id)).ownerId).toBeNull()
  })

  it('refuses to move an unclaimed lead on to 30% (take it over or assign it first)', async () => {
    const lead = await makeDeal(db, { stage: 'target', ownerId: null })
    const res = await post(`/api/deals/${lead.id}/stage`, { stage: 'demo' })
    expect(res.status).toBe(422)
    expect((await res.json()).error.code).toBe('owner_needed')
    expect((await row(lead.id)).stage).toBe('target')
  })

  it('still lets an admin mark an unclaimed lead lost', async () => {
    const lead = await makeDeal(db, { stage: 'target', ownerId: null })
    const res = await post(`/api/deals/${lead.id}/stage`, { stage: 'lost', lostReason: 'Spam' })
    expect(res.status).toBe(200)
    expect((await row(lead.id)).stage).toBe('lost')
  })
})

// The 0% stage holds prospects no rep owns yet (ownedProblem): the board has no column for it, so
// a prospect given to a rep sat in their pipeline where their board never showed it.
describe('nobody is given a 0% prospect', () => {
  const asRep = (path: string, body: unknown) =>
    ctx.app.request(path, json(body, { cookie: rep.cookie, accept: 'application/json' }))

  it('refuses an admin’s assignment with a reason, leaving the prospect nobody’s', async () => {
    const prospect = await makeDeal(db, { stage: 'opportunity', source: 'outbound' })
    const before = await events(prospect.id)
    const res = await post(`/api/deals/${prospect.id}/owner`, { ownerId: rep.user.id })
    expect(res.status).toBe(422)
    const { error } = await res.json()
    expect(error.code).toBe('owned_not_prospect')
    expect(error.message).toMatch(/0% prospect.*human click or a form qualifies it/)
    expect((await row(prospect.id)).ownerId).toBeNull()
    expect(await events(prospect.id)).toBe(before)
    // Made a target first, it is given to the rep.
    expect((await post(`/api/deals/${prospect.id}/stage`, { stage: 'target' })).status).toBe(200)
    expect((await post(`/api/deals/${prospect.id}/owner`, { ownerId: rep.user.id })).status).toBe(
      200,
    )
    expect((await row(prospect.id)).ownerId).toBe(rep.user.id)
  })

  it('refuses a take-over, one at a time or in a batch, with the same reason', async () => {
    const prospect = await makeDeal(db, { stage: 'opportunity', source: 'outbound' })
    const lead = await makeDeal(db, { stage: 'target' })
    const one = await asRep(`/api/deals/${prospect.id}/claim`, {})
    expect(one.status).toBe(422)
    expect((await one.json()).error.code).toBe('owned_not_prospect')
    const batch = await asRep('/api/deals/claim', { ids: [lead.id, prospect.id] })
    expect(batch.status).toBe(422)
    expect((await batch.json()).error.deals).toEqual([
      expect.objectContaining({ id: prospect.id, code: 'owned_not_prospect' }),
    ])
    expect((await row(prospect.id)).ownerId).toBeNull()
    expect((await row(lead.id)).ownerId).toBeNull()
  })

  it('refuses handing over a rep’s deals while one sits at 0%, naming it, moving none', async () => {
    const leaving = await signedInAs(ctx, 'rep')
    // Left at 0% with an owner before moves there were refused.
    const stuck = await makeDeal(db, { stage: 'opportunity', ownerId: leaving.user.id })
    const demo = await makeDeal(db, { stage: 'demo', ownerId: leaving.user.id })
    const res = await post('/api/deals/reassign', {
      fromOwnerId: leaving.user.id,
      toOwnerId: rep.user.id,
    })
    expect(res.status).toBe(422)
    expect((await res.json()).error.deals).toEqual([
      expect.objectContaining({ id: stuck.id, code: 'owned_not_prospect' }),
    ])
    expect((await row(demo.id)).ownerId).toBe(leaving.user.id)
    expect((await row(stuck.id)).ownerId).toBe(leaving.user.id)
  })
})
