import { describe, expect, it } from 'vitest'
import { findDeal } from '../../../api/pipeline/deals.ts'
import { form, json, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

// A move more than one stage back asks first: the form's script asks in a dialog, and a plain
// form (JavaScript off) is sent to a page that asks, the deal untouched until the yes comes back.
// An API client's move is made as sent.

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')
const move = (dealId: string, body: Record<string, string>) =>
  ctx.app.request(`/api/deals/${dealId}/stage`, form(body, { cookie: rep.cookie }))
const where = (res: Response) => new URL(res.headers.get('location')!, 'http://x')

describe('moving a deal back more than one stage with a plain form', () => {
  it('is not made without a yes: the form is sent to the page that asks, with the move and where to go back', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    const res = await move(deal.id, { stage: 'demo', next: '/app/pipeline' })
    expect(res.status).toBe(303)
    const to = where(res)
    expect(to.pathname).toBe(`/app/deals/${deal.id}/move`)
    expect(to.searchParams.get('stage')).toBe('demo')
    expect(to.searchParams.get('next')).toBe('/app/pipeline')
    expect(to.searchParams.get('notice')).toBeNull()
    expect((await findDeal(db, deal.id))!.stage).toBe('signed')
  })

  it('is made with the yes the page (or the script’s dialog) sends, and says so', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    const res = await move(deal.id, { stage: 'demo', confirmBack: 'yes', next: '/app/pipeline' })
    expect(res.status).toBe(303)
    expect(where(res).pathname).toBe('/app/pipeline')
    expect(where(res).searchParams.get('notice')).toBe(
      'Moved back from Contract signed (90%) to Demo & support won (30%).',
    )
    expect((await findDeal(db, deal.id))!.stage).toBe('demo')
  })

  it('asks nothing for one stage back, a move forward, or a lost deal reopened', async () => {
    const signed = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    const oneBack = await move(signed.id, { stage: 'negotiation', next: '/app/pipeline' })
    expect(where(oneBack).searchParams.get('notice')).toMatch(/^Moved back from/)
    expect((await findDeal(db, signed.id))!.stage).toBe('negotiation')

    const demo = await makeDeal(db, { ownerId: rep.user.id, stage: 'demo' })
    await move(demo.id, { stage: 'signed', next: '/app/pipeline' })
    expect((await findDeal(db, demo.id))!.stage).toBe('signed')

    const lost = await makeDeal(db, { ownerId: rep.user.id, stage: 'lost' })
    const reopened = await move(lost.id, { stage: 'target', next: '/app/pipeline' })
    expect(where(reopened).searchParams.get('notice')).toBe('Reopened at Target identified (10%).')
  })

  it('is made as sent by an API client (JSON): an integration moving a deal back means it', async () => {
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'signed' })
    const res = await ctx.app.request(
      `/api/deals/${deal.id}/stage`,
      json({ stage: 'target' }, { cookie: rep.cookie, accept: 'application/json' }),
    )
    expect(res.status).toBe(200)
    expect((await findDeal(db, deal.id))!.stage).toBe('target')
  })
})
