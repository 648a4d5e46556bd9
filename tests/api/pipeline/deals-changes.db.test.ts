import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { dealEvents } from '../../../api/db/schema.ts'
import { qualifyContact } from '../../../api/pipeline/qualification.ts'
import { ORIGIN, json, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal, type DealSeed } from './fixtures.ts'

// Every deal command is one change: the deal's updatedAt moves to now and the timeline gains
// the entry that says what happened. (removeStakeholder once forgot the first half.)

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')
const admin = await signedInAs(ctx, 'admin')

const HOUR = 3_600_000

async function dealSeen(id: string) {
  const res = await ctx.app.request(`/api/deals/${id}`, { headers: { cookie: admin.cookie } })
  expect(res.status).toBe(200)
  const body = await res.json()
  return { updatedAt: body.deal.updatedAt as string, timeline: body.timeline.length as number }
}

const post = (path: string, body: unknown, cookie = rep.cookie) =>
  ctx.app.request(path, json(body, { cookie }))

describe('every deal command updates the deal and appends to its timeline', () => {
  it.each([
    [
      'take over',
      async (id: string) =>
        ctx.app.request(`/api/deals/${id}/claim`, {
          method: 'POST',
          headers: { cookie: rep.cookie, origin: ORIGIN, accept: 'application/json' },
        }),
      { stage: 'target', ownerId: null },
    ],
    [
      'assign',
      async (id: string) =>
        post(`/api/deals/${id}/owner`, { ownerId: admin.user.id }, admin.cookie),
    ],
    ['move stage', async (id: string) => post(`/api/deals/${id}/stage`, { stage: 'negotiation' })],
    ['edit details', async (id: string) => post(`/api/deals/${id}`, { amountCents: 990_000 })],
    ['add a note', async (id: string) => post(`/api/deals/${id}/notes`, { body: 'Called them.' })],
    [
      'add a stakeholder',
      async (id: string) =>
        post(`/api/deals/${id}/stakeholders`, {
          email: `cfo-${id.slice(-6)}@buyer.example`,
          name: 'Casey Finance',
          role: 'economic_buyer',
          stance: 'neutral',
        }),
    ],
    [
      'remove a stakeholder',
      async (id: string) => {
        const added = await post(`/api/deals/${id}/stakeholders`, {
          email: `cto-${id.slice(-6)}@buyer.example`,
          name: 'Chris Tech',
          role: 'influencer',
          stance: 'supportive',
        })
        const { stakeholder } = await added.json()
        // The removal happens an hour after the addition: only it can move updatedAt there.
        ctx.clock.advance(HOUR)
        return ctx.app.request(`/api/deals/${id}/stakeholders/${stakeholder.id}`, {
          method: 'DELETE',
          headers: { cookie: rep.cookie, origin: ORIGIN },
        })
      },
    ],
  ] as const)('%s', async (_name, act, seed: DealSeed = {}) => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id, ...seed })
    const before = await dealSeen(deal.id)
    ctx.clock.advance(HOUR)
    const res = await act(deal.id)
    expect(res.status).toBeLessThan(300)
    const after = await dealSeen(deal.id)
    expect(after.updatedAt).toBe(ctx.clock.now().toISOString())
    expect(after.updatedAt > before.updatedAt).toBe(true)
    expect(after.timeline).toBeGreaterThan(before.timeline)
  })

  it('new evidence on an open deal moves its updatedAt too', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    ctx.clock.advance(HOUR)
    const now = ctx.clock.now()
    const result = await db.transaction((tx) =>
      qualifyContact(tx, {
        contactId: deal.contactId,
        companyId: deal.companyId,
        source: 'inbound',
        title: 'Again',
        evidence: { kind: 'form', offer: 'whitepaper:x' },
        now,
      }),
    )
    expect(result).toEqual({ dealId: deal.id, created: false, advanced: false })
    expect((await dealSeen(deal.id)).updatedAt).toBe(now.toISOString())
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal.id))
    expect(events.filter((e) => e.type === 'evidence')).toHaveLength(1)
  })

  it('a prospect at 0% that qualifies moves to target with its stage change and evidence', async () => {
    const prospect = await makeDeal(db, { stage: 'opportunity', source: 'outbound' })
    ctx.clock.advance(HOUR)
    const now = ctx.clock.now()
    const result = await db.transaction((tx) =>
      qualifyContact(tx, {
        contactId: prospect.contactId,
        companyId: null,
        source: 'outbound',
        title: 'Prospect',
        evidence: { kind: 'click' },
        now,
      }),
    )
    expect(result).toEqual({ dealId: prospect.id, created: false, advanced: true })
    const seen = await dealSeen(prospect.id)
    expect(seen.updatedAt).toBe(now.toISOString())
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, prospect.id))
    expect(events.map((e) => e.type).sort()).toEqual(['created', 'evidence', 'stage_changed'])
  })
})
