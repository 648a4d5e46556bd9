import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, dealEvents, deals } from '../../../api/db/schema.ts'
import {
  EMAIL_ADDRESS,
  ORIGIN,
  form,
  formAnswer,
  json,
  setupTestApp,
  signedInAs,
  unsigned,
} from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')
const otherRep = await signedInAs(ctx, 'rep')

const post = (path: string, body: unknown, cookie = rep.cookie) =>
  ctx.app.request(path, json(body, { cookie }))
const patch = (path: string, body: unknown, cookie = rep.cookie) =>
  ctx.app.request(path, { ...json(body, { cookie }), method: 'PATCH' })
const get = (path: string, cookie = rep.cookie) => ctx.app.request(path, { headers: { cookie } })

async function snapshot(id: string) {
  const [deal] = await db.select().from(deals).where(eq(deals.id, id))
  const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, id))
  return { deal, events: events.length }
}

describe('a rep working a deal through the API', () => {
  it('takes over a lead, moves it to 30% and 50%, sets amount and close date, and sees the forecast change', async () => {
    const lead = await makeDeal(db, {
      stage: 'target',
      evidence: {
        kind: 'form',
        form: 'whitepaper',
        offer: 'whitepaper:benchmark',
        title: 'The Benchmark',
        pageUrl: 'https://site.example/whitepapers/benchmark',
      },
    })
    const claimed = await ctx.app.request(`/api/deals/${lead.id}/claim`, {
      method: 'POST',
      headers: { cookie: rep.cookie, origin: ORIGIN },
    })
    expect(claimed.status).toBe(200)
    expect((await claimed.json()).deal).toMatchObject({
      ownerId: rep.user.id,
      stage: 'target',
      probability: 10,
    })

    ctx.clock.advance(2 * 86_400_000)
    const demo = await post(`/api/deals/${lead.id}/stage`, { stage: 'demo' })
    expect(demo.status).toBe(200)
    expect((await demo.json()).deal).toMatchObject({ stage: 'demo', probability: 30 })
    ctx.clock.advance(3 * 86_400_000)
    expect((await post(`/api/deals/${lead.id}/stage`, { stage: 'decision_maker' })).status).toBe(
      200,
    )

    const before = (await (await get('/api/deals/forecast?owner=me')).json()).forecast
    const december = (f: { months: Array<{ key: string }> }) =>
      f.months.find((m) => m.key === '2026-12')
    expect(december(before)).toEqual({ key: '2026-12', count: 0, money: [] })
    const updated = await patch(`/api/deals/${lead.id}`, {
      amountCents: 4_800_000,
      currency: 'eur',
      expectedCloseDate: '2026-12-15',
    })
    expect(updated.status).toBe(200)
    const body = await updated.json()
    expect(body.deal).toMatchObject({
      amountCents: 4_800_000,
      currency: 'EUR',
      weightedCents: 2_400_000,
      expectedCloseDate: '2026-12-15',
    })
    expect(body.changed.sort()).toEqual(['amountCents', 'expectedCloseDate'])
    const after = (await (await get('/api/deals/forecast?owner=me')).json()).forecast
    expect(december(after)).toEqual({
      key: '2026-12',
      count: 1,
      money: [{ currency: 'EUR', totalCents: 4_800_000, weightedCents: 2_400_000 }],
    })

    const detail = await (await get(`/api/deals/${lead.id}`)).json()
    const stages = detail.timeline
      .filter((e: { kind: string }) => e.kind === 'stage')
      .map((e: { title: string; actor: string }) => [e.title, e.actor])
    expect(stages).toEqual([
      ['Demo & support won (30%) → Key decision-maker engaged (50%)', rep.user.name],
      ['Target identified (10%) → Demo & support won (30%)', rep.user.name],
    ])
    expect(detail.timeline.find((e: { kind: string }) => e.kind === 'evidence')).toMatchObject({
      title: 'Requested “The Benchmark”',
      badge: 'Whitepaper form',
    })
  })

  it('records stakeholders and shows a decision-maker as engaged', async () => {
    const deal = await makeDeal(db, { stage: 'decision_maker', ownerId: rep.user.id })
    const added = await post(`/api/deals/${deal.id}/stakeholders`, {
      email: 'cfo@buyer.example',
      name: 'Casey Finance',
      jobTitle: 'CFO',
      role: 'decision_maker',
      stance: 'supportive',
    })
    expect(added.status).toBe(201)
    let detail = await (await get(`/api/deals/${deal.id}`)).json()
    expect(detail.decisionMakerEngaged).toBe(true)
    expect(detail.stakeholders).toEqual([
      expect.objectContaining({
        firstName: 'Casey',
        lastName: 'Finance',
        role: 'decision_maker',
        stance: 'supportive',
      }),
    ])
    const sid = detail.stakeholders[0].id
    expect(
      (
        await post(`/api/deals/${deal.id}/stakeholders`, {
          contactId: detail.stakeholders[0].contactId,
          role: 'decision_maker',
          stance: 'opposed',
        })
      ).status,
    ).toBe(201)
    detail = await (await get(`/api/deals/${deal.id}`)).json()
    expect(detail.decisionMakerEngaged).toBe(false)
    const removed = await ctx.app.request(`/api/deals/${deal.id}/stakeholders/${sid}`, {
      method: 'DELETE',
      headers: { cookie: rep.cookie, origin: ORIGIN },
    })
    expect(removed.status).toBe(204)
    expect((await (await get(`/api/deals/${deal.id}`)).json()).stakeholders).toEqual([])
    const elsewhere = await makeDeal(db, { stage: 'demo' })
    expect(
      (
        await post(`/api/deals/${deal.id}/stakeholders`, {
          contactId: elsewhere.contactId,
          role: 'champion',
          stance: 'neutral',
        })
      ).status,
    ).toBe(422)
  })

  it('takes no other existing contact as a stakeholder of a deal without a company, by id or by email', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const other = await makeDeal(db, { stage: 'demo', ownerId: otherRep.user.id })
    await db.update(deals).set({ companyId: null }).where(eq(deals.id, deal.id))
    await db.update(contacts).set({ companyId: null }).where(eq(contacts.id, other.contactId))
    const [person] = await db.select().from(contacts).where(eq(contacts.id, other.contactId))
    for (const who of [{ contactId: person!.id }, { email: person!.email, name: 'Pat Person' }]) {
      const res = await post(`/api/deals/${deal.id}/stakeholders`, {
        ...who,
        role: 'champion',
        stance: 'neutral',
      })
      expect(res.status).toBe(422)
      const { error } = await res.json()
      expect(error.code).toBe('not_at_company')
      // An address typed is the email field's problem.
      if ('email' in who) expect(error.fields).toEqual({ email: expect.any(String) })
    }
    // The page's form comes back with the email field marked, and no address in the URL.
    const page = `/app/deals/${deal.id}`
    const viaForm = await ctx.app.request(
      `/api/deals/${deal.id}/stakeholders`,
      form(
        {
          next: page,
          email: person!.email,
          name: 'Pat Person',
          role: 'champion',
          stance: 'neutral',
        },
        { cookie: rep.cookie },
      ),
    )
    expect(viaForm.status).toBe(303)
    const back = formAnswer(ctx, viaForm, rep.user.id)
    expect(back.url.pathname).toBe(page)
    expect(back.query).not.toMatch(EMAIL_ADDRESS)
    expect(back.flash).toMatchObject({
      values: { email: person!.email },
      fields: { email: expect.stringMatching(/another company/) },
    })
    // A new person by email is fine: they become a contact of their own.
    const added = await post(`/api/deals/${deal.id}/stakeholders`, {
      email: 'new.person@elsewhere.example',
      name: 'New Person',
      role: 'champion',
      stance: 'neutral',
    })
    expect(added.status).toBe(201)
  })

  it('refuses won without the signed and paid dates, then accepts it with them', async () => {
    const deal = await makeDeal(db, {
      stage: 'signed',
      ownerId: rep.user.id,
      amountCents: 1_000_000,
    })
    const before = await snapshot(deal.id)
    const refused = await post(`/api/deals/${deal.id}/stage`, {
      stage: 'won',
      contractSignedOn: '2026-11-20',
    })
    expect(refused.status).toBe(422)
    expect((await refused.json()).error).toMatchObject({
      code: 'won_needs_signed_and_paid',
      message: expect.stringContaining('payment was received'),
    })
    expect(await snapshot(deal.id)).toEqual(before)
    const won = await post(`/api/deals/${deal.id}/stage`, {
      stage: 'won',
      contractSignedOn: '2026-11-20',
      paymentReceivedOn: '2026-11-28',
    })
    expect(won.status).toBe(200)
    expect((await won.json()).deal).toMatchObject({
      stage: 'won',
      probability: 100,
      contractSignedOn: '2026-11-20',
      paymentReceivedOn: '2026-11-28',
      closedAt: ctx.clock.now().toISOString(),
    })
  })

  it('marks a deal lost only with a reason, and can reopen it (recorded as reopened, not a move back)', async () => {
    const deal = await makeDeal(db, { stage: 'negotiation', ownerId: rep.user.id })
    expect((await post(`/api/deals/${deal.id}/stage`, { stage: 'lost' })).status).toBe(422)
    const lost = await post(`/api/deals/${deal.id}/stage`, {
      stage: 'lost',
      lostReason: 'Budget frozen until Q3',
    })
    expect((await lost.json()).deal).toMatchObject({
      stage: 'lost',
      lostReason: 'Budget frozen until Q3',
      probability: 0,
    })
    const reopened = await post(`/api/deals/${deal.id}/stage`, { stage: 'negotiation' })
    expect((await reopened.json()).deal).toMatchObject({
      stage: 'negotiation',
      lostReason: null,
      closedAt: null,
    })
    const detail = await (await get(`/api/deals/${deal.id}`)).json()
    expect(
      detail.timeline
        .filter((e: { kind: string }) => e.kind === 'stage')
        .map((e: { badge: string | null }) => e.badge),
    ).toEqual(['reopened', 'lost'])
  })

  it('answers plain HTML form posts with a 303 back to the page, with a notice or the error', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const next = `/app/deals/${deal.id}?tab=x`
    const ok = await ctx.app.request(
      `/api/deals/${deal.id}`,
      form(
        { amount: '12,500.50', currency: 'USD', expectedCloseDate: '2027-02-01', next },
        { cookie: rep.cookie },
      ),
    )
    expect(ok.status).toBe(303)
    const location = new URL(ok.headers.get('location')!, ORIGIN)
    expect(location.pathname).toBe(`/app/deals/${deal.id}`)
    expect(location.searchParams.get('notice')).toBe('Saved.')
    expect(location.searchParams.get('tab')).toBe('x')
    expect((await snapshot(deal.id)).deal).toMatchObject({
      amountCents: 1_250_050,
      currency: 'USD',
      expectedCloseDate: '2027-02-01',
    })

    const bad = await ctx.app.request(
      `/api/deals/${deal.id}`,
      form({ amount: '-3', next }, { cookie: rep.cookie }),
    )
    expect(bad.status).toBe(303)
    expect(new URL(bad.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      'The amount cannot be negative.',
    )
    const cleared = await ctx.app.request(
      `/api/deals/${deal.id}`,
      form({ amount: '', expectedCloseDate: '', next }, { cookie: rep.cookie }),
    )
    expect(cleared.status).toBe(303)
    expect((await snapshot(deal.id)).deal).toMatchObject({
      amountCents: null,
      expectedCloseDate: null,
      currency: 'USD',
    })

    const moved = await ctx.app.request(
      `/api/deals/${deal.id}/stage`,
      form(
        { stage: 'won', contractSignedOn: '', paymentReceivedOn: '', next: '/app/pipeline' },
        { cookie: rep.cookie },
      ),
    )
    expect(moved.status).toBe(303)
    const back = new URL(moved.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe('/app/pipeline')
    expect(back.searchParams.get('error')).toContain('stamped contract is back and paid')
    const offsite = await ctx.app.request(
      `/api/deals/${deal.id}/stage`,
      form({ stage: 'negotiation', next: 'https://evil.example/' }, { cookie: rep.cookie }),
    )
    expect(new URL(offsite.headers.get('location')!, ORIGIN).origin).toBe(ORIGIN)
  })

  it('adds notes to the timeline', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    expect(
      (await post(`/api/deals/${deal.id}/notes`, { body: 'Demo went well; IT wants SSO.' })).status,
    ).toBe(201)
    const detail = await (await get(`/api/deals/${deal.id}`)).json()
    expect(detail.timeline[0]).toMatchObject({
      kind: 'note',
      detail: 'Demo went well; IT wants SSO.',
      actor: rep.user.name,
    })
  })
})

describe('bad input changes nothing', () => {
  const cases: Array<[string, string, Record<string, unknown>, number]> = [
    ['an unknown stage', 'stage', { stage: 'closed_won' }, 422],
    ['a stage in the wrong case', 'stage', { stage: 'Demo' }, 422],
    ['a misspelt field', 'stage', { stage: 'negotiation', lostReasn: 'x' }, 422],
    [
      'an impossible date',
      'stage',
      { stage: 'won', contractSignedOn: '2026-02-30', paymentReceivedOn: '2026-03-01' },
      422,
    ],
    ['a negative amount', '', { amountCents: -100 }, 422],
    ['an absurd amount', '', { amountCents: 10 ** 15 }, 422],
    ['a fractional cent', '', { amountCents: 12.5 }, 422],
    ['an amount as text that is not a number', '', { amount: '12k' }, 422],
    ['an amount in the far future currency', '', { currency: 'XYZ1' }, 422],
    ['an unknown currency code', '', { currency: 'ABC' }, 422],
    ['a close date that is not a date', '', { expectedCloseDate: 'next March' }, 422],
    ['a close date in year 3000', '', { expectedCloseDate: '3000-01-01' }, 422],
    ['a signed date in the future', '', { contractSignedOn: '2027-06-01' }, 422],
    ['an empty note', 'notes', { body: '   ' }, 422],
    [
      'a stakeholder with an unknown role',
      'stakeholders',
      { email: 'a@b.example', name: 'A', role: 'ceo', stance: 'neutral' },
      422,
    ],
  ]
  it.each(cases)('refuses %s', async (_name, action, body, status) => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id, amountCents: 500_000 })
    const before = await snapshot(deal.id)
    const res = await post(`/api/deals/${deal.id}${action ? `/${action}` : ''}`, body)
    expect(res.status).toBe(status)
    expect((await res.json()).error.message).toBeTruthy()
    expect(await snapshot(deal.id)).toEqual(before)
  })

  it('refuses another rep’s deal with 403, an unknown deal with 404 and a malformed id with 422', async () => {
    const deal = await makeDeal(db, {
      stage: 'demo',
      ownerId: otherRep.user.id,
      amountCents: 500_000,
    })
    const before = await snapshot(deal.id)
    for (const [path, body] of [
      [`/api/deals/${deal.id}/stage`, { stage: 'negotiation' }],
      [`/api/deals/${deal.id}`, { amountCents: 1 }],
      [`/api/deals/${deal.id}/notes`, { body: 'mine now' }],
    ] as const) {
      const res = await post(path, body)
      expect(res.status).toBe(403)
      expect((await res.json()).error.code).toBe('not_your_deal')
    }
    expect((await get(`/api/deals/${deal.id}`)).status).toBe(403)
    expect(await snapshot(deal.id)).toEqual(before)
    expect(
      (await post('/api/deals/0190a000-0000-7000-8000-000000000000/stage', { stage: 'demo' }))
        .status,
    ).toBe(404)
    expect((await post('/api/deals/not-an-id/stage', { stage: 'demo' })).status).toBe(422)
  })

  it('makes a rep take over a lead before changing it', async () => {
    const lead = await makeDeal(db, { stage: 'target' })
    const res = await post(`/api/deals/${lead.id}/stage`, { stage: 'demo' })
    expect(res.status).toBe(403)
    expect((await res.json()).error.code).toBe('claim_first')
  })

  it('refuses a take-over of a deal that left the queue', async () => {
    const gone = await makeDeal(db, { stage: 'lost' })
    const res = await ctx.app.request(`/api/deals/${gone.id}/claim`, {
      method: 'POST',
      headers: { cookie: rep.cookie, origin: ORIGIN },
    })
    expect(res.status).toBe(409)
    expect((await res.json()).error.code).toBe('not_in_queue')
  })

  it('answers a malformed or unknown deal id as JSON to an API client, and 303 back to a plain form', async () => {
    // A malformed id used to answer JSON whatever asked: with JavaScript off, the rep got a JSON
    // page instead of the page they came from saying why.
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const before = await snapshot(deal.id)
    const unknown = '0190a000-0000-7000-8000-000000000000'
    const next = '/app/leads'
    // Path, body, JSON status, code and message.
    type Case = [string, Record<string, string>, number, string, string]
    const malformed = (path: string, body: Record<string, string>): Case => [
      path,
      body,
      422,
      'invalid_input',
      'Unknown deal.',
    ]
    const cases: Case[] = [
      malformed('/api/deals/not-a-uuid/stage', { stage: 'negotiation' }),
      malformed('/api/deals/not-a-uuid/notes', { body: 'hello' }),
      malformed('/api/deals/not-a-uuid/stakeholders', { email: 'a@b.example', name: 'A' }),
      malformed('/api/deals/not-a-uuid', { title: 'Renamed' }),
      malformed('/api/deals/not-a-uuid/claim', {}),
      malformed(`/api/deals/not-a-uuid/stakeholders/${unknown}/delete`, {}),
      // A malformed stakeholder id reads as an unknown one does, not as an unknown deal.
      [
        `/api/deals/${deal.id}/stakeholders/not-a-uuid/delete`,
        {},
        422,
        'invalid_input',
        'That person is not on this deal.',
      ],
      [
        `/api/deals/${unknown}/stage`,
        { stage: 'negotiation' },
        404,
        'not_found',
        'There is no such deal.',
      ],
      [
        `/api/deals/${unknown}/notes`,
        { body: 'hello' },
        404,
        'not_found',
        'There is no such deal.',
      ],
    ]
    for (const [path, body, status, code, message] of cases) {
      const api = await post(path, { ...body, next })
      expect(api.status, path).toBe(status)
      const { error } = (await api.json()) as { error: Record<string, unknown> }
      expect(error, path).toEqual({
        code,
        message,
        ...(status === 422 ? { fields: { _: message } } : {}),
      })
      const page = await ctx.app.request(path, form({ ...body, next }, { cookie: rep.cookie }))
      expect(page.status, path).toBe(303)
      const back = new URL(page.headers.get('location')!, ORIGIN)
      expect(back.pathname, path).toBe(next)
      expect(back.searchParams.get('error'), path).toBe(message)
    }
    // Without `next`, a plain form goes back to the pipeline; a bare POST is still an API call.
    const bare = form({ stage: 'negotiation' }, { cookie: rep.cookie })
    const page = await ctx.app.request('/api/deals/not-a-uuid/stage', bare)
    expect(unsigned(page.headers.get('location'))).toBe('/app/pipeline?error=Unknown+deal.')
    const api = await ctx.app.request('/api/deals/not-a-uuid/claim', {
      method: 'POST',
      headers: { cookie: rep.cookie, origin: ORIGIN },
    })
    expect(api.status).toBe(422)
    expect(await snapshot(deal.id)).toEqual(before)
  })
})

describe('the lists’ query parameters', () => {
  it('answer 422 for a close month the database cannot hold, not 500', async () => {
    await makeDeal(db, { stage: 'demo', ownerId: rep.user.id, expectedCloseDate: '2026-12-15' })
    for (const month of ['0000-01', '9999-12', '1999-12', '2101-01'])
      for (const path of ['/api/deals/board', '/api/deals/list', '/api/deals?stage=demo&']) {
        const res = await get(`${path}${path.endsWith('&') ? '' : '?'}closeMonth=${month}`)
        expect(res.status, `${path} ${month}`).toBe(422)
        expect((await res.json()).error.message).toMatch(/closeMonth/)
      }
    const board = await (await get('/api/deals/board?closeMonth=2026-12')).json()
    expect(board.columns.find((c: { stage: string }) => c.stage === 'demo').count).toBe(1)
  })

  it('read a cursor in year 0000 or on a day that does not exist as no cursor: the first page', async () => {
    const deal = await makeDeal(db, { stage: 'negotiation', ownerId: rep.user.id })
    const lead = await makeDeal(db, { stage: 'target' })
    for (const at of ['0000-01-01T00:00:00.000Z', '2026-02-30T00:00:00.000Z']) {
      const column = await get(`/api/deals?stage=negotiation&after=${at}_x`)
      expect(column.status, at).toBe(200)
      expect((await column.json()).cards.map((c: { id: string }) => c.id)).toContain(deal.id)
      const queue = await get(`/api/deals/queue?after=${at}_x`)
      expect(queue.status, at).toBe(200)
      expect((await queue.json()).leads.map((l: { id: string }) => l.id)).toContain(lead.id)
    }
  })
})
