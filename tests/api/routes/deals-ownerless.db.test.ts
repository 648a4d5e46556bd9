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
