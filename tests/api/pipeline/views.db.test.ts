import { describe, expect, it } from 'vitest'
import { saveStakeholder, type Deal } from '../../../api/pipeline/deals.ts'
import {
  boardView,
  dealView,
  forecastView,
  funnelView,
  homeView,
  leadsQueueView,
  pipelineView,
  stageCardsView,
} from '../../../api/pipeline/views.ts'
import { newId } from '../../../api/ids.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'

// The pipeline pages and the JSON routes read through the same view functions: these tests hold
// each page's view to what the matching route answers, and check who is refused and why.

const ctx = await setupTestApp()
const db = ctx.deps.db
const now = ctx.clock.now()
const DAY = 86_400_000
const rep = await signedInAs(ctx, 'rep')
const otherRep = await signedInAs(ctx, 'rep')
const admin = await signedInAs(ctx, 'admin')
const sdr = await signedInAs(ctx, 'sdr')

const daysAgo = (n: number) => new Date(now.getTime() - n * DAY)
const get = async (path: string, cookie: string) => {
  const res = await ctx.app.request(path, { headers: { cookie } })
  return { status: res.status, body: await res.json() }
}
/** What a value looks like once it went through JSON (dates become strings). */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value))
function ok<T extends { ok: boolean }>(view: T): Extract<T, { ok: true }> {
  if (!view.ok) throw new Error(`refused: ${JSON.stringify(view)}`)
  return view as Extract<T, { ok: true }>
}

// The rep's pipeline: 27 deals waiting in demo (ten of them stale), one in negotiation with an
// amount and a close date, one won recently; another rep's deal; three leads in the queue.
const demo: Deal[] = []
for (let i = 0; i < 27; i++)
  demo.push(
    await makeDeal(db, {
      stage: 'demo',
      ownerId: rep.user.id,
      amountCents: 100_000,
      stageEnteredAt: daysAgo(i < 10 ? 30 + i : 1 + i / 10),
    }),
  )
const negotiation = await makeDeal(db, {
  stage: 'negotiation',
  ownerId: rep.user.id,
  amountCents: 5_000_000,
  currency: 'USD',
  expectedCloseDate: '2026-12-15',
  stageEnteredAt: daysAgo(2),
  evidence: { kind: 'form', form: 'trial', offer: 'trial', title: 'Free trial' },
})
await makeDeal(db, {
  stage: 'won',
  ownerId: rep.user.id,
  amountCents: 700_000,
  stageEnteredAt: daysAgo(5),
})
const theirs = await makeDeal(db, { stage: 'demo', ownerId: otherRep.user.id })
const leads: Deal[] = []
for (const [source, at] of [
  ['inbound', 3],
  ['grader', 2],
  ['outbound', 1],
] as const)
  leads.push(await makeDeal(db, { stage: 'target', source, stageEnteredAt: daysAgo(at) }))
await saveStakeholder(
  db,
  negotiation.id,
  rep.user,
  {
    email: 'cfo@buyer.example',
    name: 'Casey Finance',
    jobTitle: 'CFO',
    role: 'economic_buyer',
    stance: 'supportive',
    notes: null,
  },
  now,
)

describe('the board', () => {
  it('is the same numbers on the page and in GET /api/deals/board, for a rep and for the team', async () => {
    for (const [who, owner, query] of [
      [rep, null, ''],
      [admin, 'team', '?owner=team'],
      [sdr, rep.user.id, `?owner=${rep.user.id}`],
    ] as const) {
      const view = ok(await boardView(db, who.user, now, { owner }))
      const api = await get(`/api/deals/board${query}`, who.cookie)
      expect(api.status).toBe(200)
      expect(api.body).toEqual({ columns: asJson(view.columns) })
    }
  })

  it('adds up the open columns for the summary above it', async () => {
    const view = ok(await boardView(db, rep.user, now, { owner: null }))
    expect(view.open).toEqual({
      count: 28,
      money: [
        { currency: 'USD', totalCents: 5_000_000, weightedCents: 3_500_000 },
        { currency: 'EUR', totalCents: 2_700_000, weightedCents: 810_000 },
      ],
      stale: 10,
      // None of these deals has a next step planned.
      noNextStep: 28,
    })
  })

  it('counts among the deals without a next step only those its columns show', async () => {
    // A 0% prospect handed to a rep (an admin's assignment, or a move back before 0% was
    // refused): the board has no column for it, so the summary does not count it either.
    const solo = await signedInAs(ctx, 'rep')
    await makeDeal(db, { stage: 'opportunity', ownerId: solo.user.id, source: 'outbound' })
    await makeDeal(db, { stage: 'target', ownerId: solo.user.id })
    const view = ok(await boardView(db, solo.user, now, { owner: null }))
    expect(view.open.count).toBe(1)
    expect(view.open.noNextStep).toBe(1)
    expect(view.noNextStep).toEqual({ target: 1 })
  })

  it('refuses a rep who asks for the team or someone else, with the API’s message', async () => {
    for (const owner of ['team', otherRep.user.id]) {
      const view = await boardView(db, rep.user, now, { owner })
      expect(view).toEqual({
        ok: false,
        status: 403,
        code: 'forbidden',
        message: 'Reps see their own pipeline; ask an admin for the team view.',
      })
      const api = await get(`/api/deals/board?owner=${owner}`, rep.cookie)
      expect(api.status).toBe(403)
      expect(api.body.error.message).toBe(view.ok ? '' : view.message)
    }
  })

  it('refuses someone who is not signed in', async () => {
    for (const view of [
      await boardView(db, null, now, {}),
      await pipelineView(db, null, now, {}),
      await homeView(db, null, now),
      await leadsQueueView(db, null, {}),
      await forecastView(db, null, now, {}),
      await dealView(db, null, negotiation.id),
      await funnelView(db, null, now, { period: { from: daysAgo(90), to: now } }),
    ])
      expect(view).toMatchObject({
        ok: false,
        status: 403,
        message: 'Your role cannot see the pipeline.',
      })
  })
})

describe('the pipeline page', () => {
  it('shows the first eight cards of each column, longest waiting first', async () => {
    const view = ok(await pipelineView(db, rep.user, now, {}))
    expect(view.listStage).toBeNull()
    const column = view.cards.get('demo')!
    expect(column.cards).toHaveLength(8)
    expect(column.cards[0]!.id).toBe(demo[9]!.id)
    expect(view.owners).toEqual([])
  })

  it('lists one stage 25 at a time, the same pages as GET /api/deals?stage=', async () => {
    const first = ok(await pipelineView(db, rep.user, now, { stage: 'demo' }))
    expect(first.listStage).toBe('demo')
    expect([...first.cards.keys()]).toEqual(['demo'])
    const page = first.cards.get('demo')!
    expect(page.cards).toHaveLength(25)
    const api = await get('/api/deals?stage=demo', rep.cookie)
    expect(api.body).toEqual(asJson(page))
    expect(asJson(ok(await stageCardsView(db, rep.user, now, { stage: 'demo' })).page)).toEqual(
      api.body,
    )

    const second = ok(await pipelineView(db, rep.user, now, { stage: 'demo', after: page.next }))
    expect(second.cards.get('demo')!.cards).toHaveLength(2)
    const apiNext = await get(`/api/deals?stage=demo&after=${page.next}`, rep.cookie)
    expect(apiNext.body).toEqual(asJson(second.cards.get('demo')))
  })

  it('shows the board for a stage that has no column', async () => {
    const view = ok(await pipelineView(db, rep.user, now, { stage: 'opportunity' }))
    expect(view.listStage).toBeNull()
    expect(view.cards.size).toBeGreaterThan(1)
  })

  it('offers the team view’s switch to those who may look at others’ pipelines', async () => {
    const view = ok(await pipelineView(db, admin.user, now, {}))
    expect(view.owner).toBe('team')
    expect(view.owners.map((o) => o.id)).toEqual(
      expect.arrayContaining([rep.user.id, otherRep.user.id, admin.user.id]),
    )
  })
})

describe('the start page', () => {
  it('shows the newest leads, this month’s forecast, won deals and at most six stale deals, oldest first', async () => {
    const view = ok(await homeView(db, rep.user, now))
    expect(view.team).toBe(false)
    expect(view.queue.leads.map((l) => l.id)).toEqual([leads[2]!.id, leads[1]!.id, leads[0]!.id])
    expect(view.queue.count).toBe(3)
    expect(view.month.key).toBe('2026-11')
    expect(view.won?.count).toBe(1)
    // Only the first three cards of each column are looked at: the three oldest demo deals.
    expect(view.attention.map((c) => c.id)).toEqual([demo[9]!.id, demo[8]!.id, demo[7]!.id])
  })
})

describe('the leads queue', () => {
  it('is the same page as GET /api/deals/queue, filtered by source', async () => {
    for (const [source, query] of [
      [null, ''],
      ['grader', '?source=grader'],
    ] as const) {
      const view = ok(await leadsQueueView(db, rep.user, { source }))
      const api = await get(`/api/deals/queue${query}`, rep.cookie)
      expect(api.body).toEqual(asJson(view.queue))
    }
    expect(ok(await leadsQueueView(db, rep.user, { source: 'grader' })).queue.leads).toHaveLength(1)
  })

  it('lets reps and admins take leads over, and SDRs only read', async () => {
    expect(ok(await leadsQueueView(db, rep.user, {})).canClaim).toBe(true)
    expect(ok(await leadsQueueView(db, sdr.user, {})).canClaim).toBe(false)
  })
})

describe('the deal page', () => {
  it('shows what GET /api/deals/:id answers, plus what the page needs to act on it', async () => {
    const view = ok(await dealView(db, rep.user, negotiation.id))
    const api = await get(`/api/deals/${negotiation.id}`, rep.cookie)
    expect(api.status).toBe(200)
    expect(api.body.deal).toMatchObject({ id: negotiation.id, stage: 'negotiation' })
    expect(api.body.contact.id).toBe(view.contact.id)
    expect(api.body.company).toEqual({
      id: view.company!.id,
      name: view.company!.name,
      domain: view.company!.domain,
    })
    expect(api.body.stakeholders).toEqual(asJson(view.stakeholders))
    expect(api.body.decisionMakerEngaged).toBe(true)
    expect(view.decisionMakerEngaged).toBe(true)
    expect(api.body.timeline).toEqual(asJson(view.timeline))
    expect(view.evidence).toHaveLength(1)
    expect(view.access).toEqual({ read: true, edit: true, claim: false })
    // Only admins reassign deals: only they get the list of reps.
    expect(view.owners).toEqual([])
    expect(ok(await dealView(db, admin.user, negotiation.id)).owners.length).toBeGreaterThan(0)
  })

  it('refuses another rep’s deal and an unknown one with the API’s messages', async () => {
    for (const [id, status, message] of [
      [theirs.id, 403, 'This deal belongs to another rep.'],
      [newId(), 404, 'There is no such deal.'],
    ] as const) {
      expect(await dealView(db, rep.user, id)).toMatchObject({ ok: false, status, message })
      const api = await get(`/api/deals/${id}`, rep.cookie)
      expect(api.status).toBe(status)
      expect(api.body.error.message).toBe(message)
    }
    // The page takes the id from its URL as it comes: no database error for a malformed one.
    expect(await dealView(db, rep.user, 'not-a-deal')).toMatchObject({ ok: false, status: 404 })
  })
})

describe('the forecast page', () => {
  it('shows the forecast of GET /api/deals/forecast, the chart currency and the undated deals', async () => {
    const view = ok(await forecastView(db, rep.user, now, {}))
    const api = await get('/api/deals/forecast', rep.cookie)
    expect(api.body).toEqual({ forecast: asJson(view.forecast) })
    expect(view.summary.currency).toBe('USD')
    expect(view.summary.months).toEqual([
      { currency: 'USD', totalCents: 5_000_000, weightedCents: 3_500_000 },
    ])
    expect(view.undated!.cards).toHaveLength(25)
    expect(view.undated!.cards.map((c) => c.id)).not.toContain(negotiation.id)
  })

  it('shows a rep the team’s forecast as totals, without the deals that make them up', async () => {
    const team = ok(await forecastView(db, rep.user, now, { owner: 'team' }))
    const asAdmin = ok(await forecastView(db, admin.user, now, { owner: 'team' }))
    expect(team.owner).toBe('team')
    expect(team.forecast).toEqual(asAdmin.forecast)
    // Another rep's deal counts in the team's totals, not in the rep's own.
    const mine = ok(await forecastView(db, rep.user, now, { owner: 'me' }))
    expect(team.forecast.undated.count).toBeGreaterThan(mine.forecast.undated.count)
    expect(team.undated).toBeNull()
    expect(asAdmin.undated!.cards.map((c) => c.id)).toContain(theirs.id)
    expect(team.owners).toEqual([])
    const api = await get('/api/deals/forecast?owner=team', rep.cookie)
    expect(api.status).toBe(200)
    expect(api.body).toEqual({ forecast: asJson(team.forecast) })
    // One other rep's forecast stays theirs and the admins'.
    const theirsOnly = await forecastView(db, rep.user, now, { owner: otherRep.user.id })
    expect(theirsOnly).toMatchObject({ ok: false, status: 403 })
  })
})

describe('the funnel page', () => {
  it('shows new contacts only in the team view, and the stale deals per stage', async () => {
    const period = { from: daysAgo(90), to: now }
    const mine = ok(await funnelView(db, rep.user, now, { period }))
    expect(mine.contacts).toBeNull()
    expect(mine.contactTotal).toBe(0)
    expect(mine.stale.demo).toBe(10)
    const team = ok(await funnelView(db, admin.user, now, { owner: 'team', period }))
    expect(team.contacts).not.toBeNull()
    expect(team.contactTotal).toBeGreaterThanOrEqual(33)
    // …and the other rep's deal, in demo since the 1st of the month.
    expect(team.stale.demo).toBe(11)
  })
})
