import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, deals, downloadTokens } from '../../../api/db/schema.ts'
import { createDownloadToken } from '../../../api/leads/downloads.ts'
import { dealTimeline } from '../../../api/pipeline/timeline.ts'
import { findDeal } from '../../../api/pipeline/deals.ts'
import { json, ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

// Issue 15, items 4 and 8, through the API and the timeline the deal page shows.

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')
const post = (path: string, body: unknown) =>
  ctx.app.request(path, json(body, { cookie: rep.cookie, accept: 'application/json' }))

const OFFER = 'whitepaper:mid-market-pipeline-benchmark-2026'

async function timelineOf(dealId: string) {
  const deal = (await findDeal(db, dealId))!
  const [contact] = await db.select().from(contacts).where(eq(contacts.id, deal.contactId))
  return dealTimeline(db, deal, contact!.email)
}

describe('item 8: evidence says what happened, no more', () => {
  it('a form lead "Requested" the whitepaper until its download link is used, then "Downloaded" it', async () => {
    const deal = await makeDeal(db, {
      evidence: { kind: 'form', form: 'whitepaper', offer: OFFER, assetTitle: 'The Benchmark' },
    })
    const titles = async () =>
      (await timelineOf(deal.id)).filter((e) => e.kind === 'evidence').map((e) => e.title)
    expect(await titles()).toEqual(['Requested “The Benchmark”'])
    const link = await createDownloadToken(
      db,
      { contactId: deal.contactId, offer: OFFER, file: 'x.pdf' },
      { secret: ctx.deps.secret, now: ctx.clock.now(), days: 7 },
    )
    expect(await titles()).toEqual(['Requested “The Benchmark”'])
    // The person opens /d/<token>: the file is gone here, but the link counts only when served.
    await db.update(downloadTokens).set({ downloads: 1 }).where(eq(downloadTokens.id, link.id))
    expect(await titles()).toEqual(['Downloaded “The Benchmark”'])
  })

  it('a stakeholder row names the person and says the role in words', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'decision_maker' })
    const res = await post(`/api/deals/${deal.id}/stakeholders`, {
      email: 'casey@buyer.example',
      name: 'Casey Finance',
      role: 'economic_buyer',
      stance: 'supportive',
    })
    expect(res.status).toBe(201)
    const row = (await timelineOf(deal.id)).find((e) => e.kind === 'updated')!
    expect(row.title).toBe('Stakeholder: Casey Finance')
    expect(row.detail).toBe('Economic buyer, supportive')
  })

  it("a won deal's expected close date becomes the day it was won", async () => {
    const deal = await makeDeal(db, {
      ownerId: rep.user.id,
      stage: 'signed',
      expectedCloseDate: '2027-03-31',
    })
    const res = await post(`/api/deals/${deal.id}/stage`, {
      stage: 'won',
      contractSignedOn: '2026-11-20',
      paymentReceivedOn: '2026-11-25',
    })
    expect(res.status).toBe(200)
    const [row] = await db.select().from(deals).where(eq(deals.id, deal.id))
    expect(row!.expectedCloseDate).toBe(ctx.clock.now().toISOString().slice(0, 10))
  })
})

describe('item 4: a move back says so', () => {
  it('the notice a plain form gets back names both stages when the move went backwards', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    const back = await ctx.app.request(`/api/deals/${deal.id}/stage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        cookie: rep.cookie,
      },
      // Four stages back: the form says yes to the question it was asked first.
      body: new URLSearchParams({
        stage: 'target',
        confirmBack: 'yes',
        next: `/app/deals/${deal.id}`,
      }).toString(),
    })
    expect(back.status).toBe(303)
    expect(new URL(back.headers.get('location')!, 'http://x').searchParams.get('notice')).toBe(
      'Moved back from Contract signed (90%) to Target identified (10%).',
    )
    const forward = await post(`/api/deals/${deal.id}/stage`, { stage: 'demo' })
    expect(forward.status).toBe(200)
  })

  it('a rep’s deal goes back as far as 10%: 0% is for prospects no rep owns, and has no column on the board', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'demo' })
    const res = await post(`/api/deals/${deal.id}/stage`, { stage: 'opportunity' })
    expect(res.status).toBe(422)
    expect((await res.json()).error.code).toBe('owned_not_prospect')
    expect((await findDeal(db, deal.id))!.stage).toBe('demo')
  })

  it('a lost deal moved to a stage is reopened there, not moved back (lost is past won by order), in the notice and the timeline', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    expect(
      (await post(`/api/deals/${deal.id}/stage`, { stage: 'lost', lostReason: 'Budget' })).status,
    ).toBe(200)
    const res = await ctx.app.request(`/api/deals/${deal.id}/stage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        cookie: rep.cookie,
      },
      body: new URLSearchParams({ stage: 'demo', next: `/app/deals/${deal.id}` }).toString(),
    })
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!, 'http://x').searchParams.get('notice')).toBe(
      'Reopened at Demo & support won (30%).',
    )
    // …and a real move back after it still says so.
    expect((await post(`/api/deals/${deal.id}/stage`, { stage: 'target' })).status).toBe(200)
    const moves = (await timelineOf(deal.id)).filter((e) => e.kind === 'stage')
    expect(moves.map((e) => [e.title, e.badge ?? null])).toEqual(
      expect.arrayContaining([
        ['Lost (0%) → Demo & support won (30%)', 'reopened'],
        ['Demo & support won (30%) → Target identified (10%)', 'moved back'],
        ['Contract signed (90%) → Lost (0%)', 'lost'],
      ]),
    )
  })

  it('an empty stage (the placeholder option) is refused with a message, and nothing moves', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    const res = await post(`/api/deals/${deal.id}/stage`, { stage: '' })
    expect(res.status).toBe(422)
    expect((await findDeal(db, deal.id))!.stage).toBe('signed')
  })
})
