import { eq, inArray, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  companies,
  contacts,
  dealEvents,
  deals,
  recordChanges,
  users,
  webhookDeliveries,
  webhookEvents,
} from '../../../api/db/schema.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { newId } from '../../../api/ids.ts'
import { createSession, SESSION_COOKIE } from '../../../api/accounts/sessions.ts'
import {
  EMAIL_ADDRESS,
  ORIGIN,
  form,
  formAnswer,
  json,
  setupTestApp,
  signedInAs,
} from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

// Deals and contacts entered and corrected by hand, bulk take-over and reassignment, and the
// board's filters and list: through the routes, against a real database. Every refusal is
// checked to have written nothing (a snapshot before and after).

const ctx = await setupTestApp()
const db = ctx.deps.db
const rep = await signedInAs(ctx, 'rep')
const otherRep = await signedInAs(ctx, 'rep')
const admin = await signedInAs(ctx, 'admin')
const sdr = await signedInAs(ctx, 'sdr')

const headers = (cookie: string) => ({ cookie, origin: ORIGIN, accept: 'application/json' })
const post = (path: string, body: unknown, cookie = rep.cookie) =>
  ctx.app.request(path, json(body, headers(cookie)))
const patch = (path: string, body: unknown, cookie = rep.cookie) =>
  ctx.app.request(path, { ...json(body, headers(cookie)), method: 'PATCH' })
const get = (path: string, cookie = rep.cookie) =>
  ctx.app.request(path, { headers: headers(cookie) })

/** Everything a refused call could have written. */
async function snapshot() {
  const count = async (table: typeof deals | typeof contacts | typeof companies) =>
    (await db.select().from(table)).length
  return {
    deals: await db.select().from(deals).orderBy(deals.id),
    contacts: await db.select().from(contacts).orderBy(contacts.id),
    companies: await count(companies),
    events: (await db.select().from(dealEvents)).length,
    changes: (await db.select().from(recordChanges)).length,
  }
}

describe('a rep adds a deal by hand', () => {
  it('creates the contact, its company from the email domain and the deal at the chosen stage, all recorded as theirs', async () => {
    const res = await post('/api/deals', {
      stage: 'demo',
      email: 'Ann.Lee@Referral-Co.example',
      firstName: 'Ann',
      lastName: 'Lee',
      phone: '+44 20 7946 0958',
      amount: '12,500',
      currency: 'usd',
      expectedCloseDate: '2027-01-31',
      reason: 'Referral from Bob at Acme',
    })
    expect(res.status, await res.clone().text()).toBe(201)
    const body = await res.json()
    expect(body.deal).toMatchObject({
      stage: 'demo',
      source: 'manual',
      ownerId: rep.user.id,
      amountCents: 1_250_000,
      currency: 'USD',
      title: 'referral-co.example',
    })
    expect(body.contact.existing).toBe(false)
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, body.contact.id))
    expect(contact).toMatchObject({
      email: 'ann.lee@referral-co.example',
      emailDisplay: 'Ann.Lee@Referral-Co.example',
      source: 'manual',
      phone: '+44 20 7946 0958',
    })
    const [company] = await db.select().from(companies).where(eq(companies.id, contact!.companyId!))
    expect(company!.domain).toBe('referral-co.example')

    const deal = await (await get(`/api/deals/${body.deal.id}`)).json()
    const titles = deal.timeline.map((e: { title: string; actor: string | null }) => [
      e.title,
      e.actor,
    ])
    expect(titles).toEqual(
      expect.arrayContaining([
        ['Became a deal at Demo & support won (30%)', rep.user.name],
        ['Referral from Bob at Acme', rep.user.name],
        ['Contact added by hand', rep.user.name],
        ['Company added by hand', rep.user.name],
      ]),
    )
    // The stage history counts it from its first stage.
    const board = await (await get('/api/deals/board?owner=me')).json()
    expect(board.columns.find((c: { stage: string }) => c.stage === 'demo').count).toBe(1)
  })

  it('puts the deal on the existing contact when the address is known, and says so', async () => {
    const known = await makeDeal(db, { stage: 'won', ownerId: otherRep.user.id })
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, known.contactId))
    const res = await post('/api/deals', {
      stage: 'target',
      email: `  ${contact!.email.toUpperCase()} `,
      firstName: 'Someone Else',
    })
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.contact).toEqual({ id: contact!.id, existing: true })
    const [after] = await db.select().from(contacts).where(eq(contacts.id, contact!.id))
    expect(after).toEqual(contact) // left as it was
    expect(body.deal.companyId).toBe(contact!.companyId)

    // A plain form is told in words on the new deal's page.
    const again = await makeDeal(db, { stage: 'lost', ownerId: rep.user.id })
    const [other] = await db.select().from(contacts).where(eq(contacts.id, again.contactId))
    const page = await ctx.app.request(
      '/api/deals',
      form(
        { stage: 'target', email: other!.emailDisplay, next: '/app/deals/new' },
        { cookie: rep.cookie },
      ),
    )
    expect(page.status).toBe(303)
    const location = new URL(page.headers.get('location')!, ORIGIN)
    expect(location.pathname).toMatch(/^\/app\/deals\/[0-9a-f-]{36}$/)
    expect(location.searchParams.get('notice')).toContain('was already a contact')
    // What was typed stays out of the URL.
    expect(formAnswer(ctx, page, rep.user.id).query).not.toMatch(EMAIL_ADDRESS)
  })

  it('refuses a second open deal for a contact, naming the open one, and writes nothing', async () => {
    const open = await makeDeal(db, { stage: 'demo', ownerId: otherRep.user.id })
    const before = await snapshot()
    const res = await post('/api/deals', { stage: 'target', contactId: open.contactId })
    expect(res.status).toBe(409)
    const { error } = await res.json()
    expect(error).toMatchObject({ code: 'open_deal_exists', openDealId: open.id })
    expect(await snapshot()).toEqual(before)

    // Typed as an address on the plain form: beside the email field, the address not in the URL.
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, open.contactId))
    const typed = await ctx.app.request(
      '/api/deals',
      form(
        { stage: 'target', email: contact!.emailDisplay, next: '/app/deals/new' },
        { cookie: rep.cookie },
      ),
    )
    expect(typed.status).toBe(303)
    const back = formAnswer(ctx, typed, rep.user.id)
    expect(back.url.pathname).toBe('/app/deals/new')
    expect(back.url.searchParams.get('error')).toMatch(/already has an open deal/)
    expect(back.query).not.toMatch(EMAIL_ADDRESS)
    expect(back.flash).toMatchObject({
      values: { email: contact!.emailDisplay },
      fields: { email: expect.stringMatching(/already has an open deal/) },
    })
    expect(await snapshot()).toEqual(before)
  })

  it('refuses a new contact and company when the deal cannot be made, leaving no trace', async () => {
    const before = await snapshot()
    // Won without the payment date: the won gate applies to deals entered by hand too.
    const res = await post('/api/deals', {
      stage: 'won',
      email: 'new.person@brand-new-co.example',
      contractSignedOn: '2026-11-20',
    })
    expect(res.status).toBe(422)
    expect((await res.json()).error.code).toBe('won_needs_signed_and_paid')
    expect(await snapshot()).toEqual(before)
  })

  const invalid: Array<[string, Record<string, unknown>]> = [
    ['no contact at all', { stage: 'demo' }],
    ['both a contact and an email', { stage: 'demo', contactId: newId(), email: 'a@b.example' }],
    ['an invalid email', { stage: 'demo', email: 'not-an-address' }],
    ['the 0% stage', { stage: 'opportunity', email: 'x@y-co.example' }],
    ['lost', { stage: 'lost', email: 'x@y-co.example' }],
    ['a negative amount', { stage: 'demo', email: 'x@y-co.example', amount: '-5' }],
    ['a made-up currency', { stage: 'demo', email: 'x@y-co.example', currency: 'XYZ1' }],
    [
      'a bad close date',
      { stage: 'demo', email: 'x@y-co.example', expectedCloseDate: '2026-02-30' },
    ],
    ['a phone of letters', { stage: 'demo', email: 'x@y-co.example', phone: 'call me' }],
    ['an unknown field', { stage: 'demo', email: 'x@y-co.example', ownerName: 'me' }],
    ['an unknown contact', { stage: 'demo', contactId: newId() }],
    ['an unknown company', { stage: 'demo', email: 'x@y-co.example', companyId: newId() }],
  ]
  it.each(invalid)('refuses %s with 422 and writes nothing', async (_name, body) => {
    const before = await snapshot()
    const res = await post('/api/deals', body)
    expect(res.status, await res.clone().text()).toBe(422)
    expect((await res.json()).error.message).toBeTruthy()
    expect(await snapshot()).toEqual(before)
  })

  it('lets a rep add deals only for themselves, an admin for a rep or the queue, and an SDR not at all', async () => {
    const before = await snapshot()
    const forOther = await post('/api/deals', {
      stage: 'demo',
      email: 'p1@owner-test.example',
      ownerId: otherRep.user.id,
    })
    expect(forOther.status).toBe(403)
    expect(
      (await post('/api/deals', { stage: 'demo', email: 'p2@owner-test.example' }, sdr.cookie))
        .status,
    ).toBe(403)
    expect(
      (await ctx.app.request('/api/deals', json({ stage: 'demo', email: 'p3@owner-test.example' })))
        .status,
    ).toBe(401)
    expect(await snapshot()).toEqual(before)

    const assigned = await post(
      '/api/deals',
      { stage: 'negotiation', email: 'p4@owner-test.example', ownerId: otherRep.user.id },
      admin.cookie,
    )
    expect((await assigned.json()).deal.ownerId).toBe(otherRep.user.id)
    const queued = await post(
      '/api/deals',
      { stage: 'target', email: 'p5@owner-test.example', ownerId: null },
      admin.cookie,
    )
    expect((await queued.json()).deal).toMatchObject({ ownerId: null, stage: 'target' })
    const queue = await (await get('/api/deals/queue')).json()
    expect(queue.leads.map((l: { contactEmail: string }) => l.contactEmail)).toContain(
      'p5@owner-test.example',
    )
  })
})

describe('contacts entered and corrected by hand', () => {
  it('adds a contact, and answers a known address with that contact instead of a second one', async () => {
    const res = await post('/api/contacts', {
      email: 'Zoe@Bücher.example',
      firstName: 'Zoe',
      companyName: 'Bücher GmbH',
    })
    expect(res.status).toBe(201)
    const { contact } = await res.json()
    expect(contact).toMatchObject({ email: 'zoe@xn--bcher-kva.example', source: 'manual' })
    const before = await snapshot()
    const again = await post('/api/contacts', { email: 'zoe@xn--bcher-kva.example', lastName: 'X' })
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ existing: true, contact: { id: contact.id } })
    expect(await snapshot()).toEqual(before)

    const viaForm = await ctx.app.request(
      '/api/contacts',
      form({ email: 'ZOE@bücher.example' }, { cookie: rep.cookie }),
    )
    const location = new URL(viaForm.headers.get('location')!, ORIGIN)
    expect(location.pathname).toBe(`/app/contacts/${contact.id}`)
    expect(location.searchParams.get('notice')).toContain('already a contact')
    expect(formAnswer(ctx, viaForm, rep.user.id).query).not.toMatch(/zoe|bücher|xn--/i)
  })

  it('finds a typed company by its name as search folds it: case and accents aside', async () => {
    // Free mail says nothing about an employer: the typed name decides.
    const first = await post('/api/contacts', {
      email: 'ana.cafe@gmail.com',
      companyName: 'Café Nero',
    })
    const second = await post('/api/contacts', {
      email: 'ben.cafe@gmail.com',
      companyName: '  CAFE NERO ',
    })
    expect([first.status, second.status]).toEqual([201, 201])
    const ids = [(await first.json()).contact.companyId, (await second.json()).contact.companyId]
    expect(ids[0]).toEqual(expect.any(String))
    expect(ids[1]).toBe(ids[0])
    const named = await db.select().from(companies).where(eq(companies.id, ids[0]))
    expect(named.map((c) => c.name)).toEqual(['Café Nero'])
  })

  it('records each correction with who and when, on the contact and on its deals’ timelines', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    ctx.clock.advance(60_000)
    const res = await patch(`/api/contacts/${deal.contactId}`, {
      jobTitle: 'Head of Ops',
      phone: '+1 (555) 010-2030',
      companyName: 'Renamed Holdings',
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json()).changed.sort()).toEqual(['company', 'jobTitle', 'phone'])
    const detail = await (await get(`/api/contacts/${deal.contactId}`)).json()
    expect(detail.canEdit).toBe(true)
    expect(detail.history[0]).toMatchObject({
      action: 'updated',
      actorName: rep.user.name,
      at: ctx.clock.now().toISOString(),
      changes: { jobTitle: [null, 'Head of Ops'] },
    })
    const timeline = (await (await get(`/api/deals/${deal.id}`)).json()).timeline
    const entry = timeline.find((e: { kind: string }) => e.kind === 'record')
    expect(entry).toMatchObject({ title: 'Contact details changed', actor: rep.user.name })
    expect(entry.detail).toContain('Job title: — → Head of Ops')

    // Sending the same again is no change, and records nothing.
    const changes = (await db.select().from(recordChanges)).length
    const same = await patch(`/api/contacts/${deal.contactId}`, {
      jobTitle: 'Head of Ops',
      companyName: 'renamed holdings',
    })
    expect((await same.json()).changed).toEqual([])
    expect((await db.select().from(recordChanges)).length).toBe(changes)
  })

  it('refuses an address that is another contact’s, naming it, and other reps’ contacts', async () => {
    const mine = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const theirs = await makeDeal(db, { stage: 'demo', ownerId: otherRep.user.id })
    const queued = await makeDeal(db, { stage: 'target', ownerId: null })
    const [their] = await db.select().from(contacts).where(eq(contacts.id, theirs.contactId))
    const before = await snapshot()
    const dup = await patch(`/api/contacts/${mine.contactId}`, {
      email: their!.email.toUpperCase(),
    })
    expect(dup.status).toBe(409)
    expect((await dup.json()).error).toMatchObject({
      code: 'duplicate_contact',
      existingId: theirs.contactId,
    })
    // A plain form comes back to the page with the problem on the field, and that contact's id (not
    // the address) for the page to link to.
    const dupForm = await ctx.app.request(
      `/api/contacts/${mine.contactId}`,
      form({ email: their!.email }, { cookie: rep.cookie }),
    )
    expect(dupForm.status).toBe(303)
    const answer = formAnswer(ctx, dupForm, rep.user.id)
    expect(answer.url.pathname).toBe(`/app/contacts/${mine.contactId}`)
    expect(answer.url.searchParams.get('existing')).toBe(theirs.contactId)
    expect(answer.query).not.toMatch(EMAIL_ADDRESS)
    expect(answer.flash?.fields).toMatchObject({ email: 'Already another contact’s address.' })
    const notMine = await patch(`/api/contacts/${theirs.contactId}`, { jobTitle: 'CEO' })
    expect(notMine.status).toBe(403)
    expect((await notMine.json()).error.code).toBe('not_yours')
    const lead = await patch(`/api/contacts/${queued.contactId}`, { jobTitle: 'CEO' })
    expect((await lead.json()).error.code).toBe('claim_first')
    expect(
      (await patch(`/api/contacts/${theirs.contactId}`, { jobTitle: 'CEO' }, sdr.cookie)).status,
    ).toBe(403)
    for (const bad of [
      { email: 'nope' },
      { phone: 'abc' },
      { firstName: 'x'.repeat(101) },
      { age: 3 },
    ])
      expect((await patch(`/api/contacts/${mine.contactId}`, bad)).status).toBe(422)
    expect(await snapshot()).toEqual(before)
    // An admin may.
    expect(
      (await patch(`/api/contacts/${theirs.contactId}`, { jobTitle: 'CEO' }, admin.cookie)).status,
    ).toBe(200)
  })
})

describe('companies', () => {
  it('are renamed and given a domain by the rep whose deal is there, recorded, and refused to others', async () => {
    const deal = await makeDeal(db, {
      stage: 'demo',
      ownerId: rep.user.id,
      companyName: 'Old Name',
    })
    const taken = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const [other] = await db.select().from(companies).where(eq(companies.id, taken.companyId!))
    const before = await snapshot()
    const refusals: Array<[unknown, string, number]> = [
      [{ domain: other!.domain }, rep.cookie, 409],
      [{ domain: 'gmail.com' }, rep.cookie, 422],
      [{ name: '' }, rep.cookie, 422],
      [{ name: 'Theirs now' }, otherRep.cookie, 403],
      [{ name: 'Theirs now' }, sdr.cookie, 403],
    ]
    for (const [body, cookie, status] of refusals) {
      const res = await patch(`/api/companies/${deal.companyId}`, body, cookie)
      expect(res.status, JSON.stringify(body)).toBe(status)
    }
    expect(await snapshot()).toEqual(before)

    const res = await post(`/api/companies/${deal.companyId}`, {
      name: 'New Name',
      domain: 'https://www.New-Name.example/about',
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json()).company).toMatchObject({
      name: 'New Name',
      domain: 'new-name.example',
    })
    const page = await (await get(`/api/companies/${deal.companyId}`)).json()
    expect(page.canEdit).toBe(true)
    expect(page.deals.map((d: { id: string }) => d.id)).toEqual([deal.id])
    expect(page.history[0]).toMatchObject({
      action: 'updated',
      actorName: rep.user.name,
      changes: { name: ['Old Name', 'New Name'] },
    })
    expect((await get(`/api/companies/${deal.companyId}`, otherRep.cookie)).status).toBe(200)
    expect(
      await (await get(`/api/companies/${deal.companyId}`, otherRep.cookie)).json(),
    ).toMatchObject({
      deals: [],
      hiddenDeals: 1,
      canEdit: false,
    })
  })
})

/** Reps with live sessions (created directly: password hashes would only slow the test). */
async function reps(count: number) {
  const out: Array<{ id: string; name: string; cookie: string }> = []
  for (let i = 0; i < count; i++) {
    const id = newId()
    const name = `Racer ${i + 1}`
    await db
      .insert(users)
      .values({ id, email: `racer${i}-${id.slice(-6)}@example.com`, name, role: 'rep' })
    const { token } = await createSession(db, id, ctx.clock.now())
    out.push({ id, name, cookie: `${SESSION_COOKIE}=${token}` })
  }
  return out
}

describe('bulk take-over', () => {
  it('takes a batch all or none: racing reps never share a lead, and the later ones are told which they lost', async () => {
    const team = await reps(4)
    const leads = await Promise.all(
      Array.from({ length: 6 }, () => makeDeal(db, { stage: 'target' })),
    )
    const ids = leads.map((l) => l.id)
    // Every rep ticks all six (in a different order) and sends at once.
    const responses = await Promise.all(
      team.map((r, i) =>
        post('/api/deals/claim', { ids: [...ids.slice(i), ...ids.slice(0, i)] }, r.cookie),
      ),
    )
    const bodies = await Promise.all(responses.map((r) => r.json()))
    const winners = team.filter((_, i) => responses[i]!.status === 200)
    expect(winners).toHaveLength(1)
    const rows = await db.select().from(deals).where(inArray(deals.id, ids))
    for (const row of rows) expect(row.ownerId).toBe(winners[0]!.id)
    for (const [i, body] of bodies.entries()) {
      if (responses[i]!.status === 200) {
        expect(body.claimed).toBe(6)
        continue
      }
      expect(responses[i]!.status).toBe(409)
      expect(body.error.deals).toHaveLength(6)
      for (const d of body.error.deals) expect(d.code).toBe('already_claimed')
      expect(body.error.message).toContain(`${winners[0]!.name} took over this lead first`)
    }
    const claims = await db.select().from(dealEvents).where(inArray(dealEvents.dealId, ids))
    expect(claims.filter((e) => e.type === 'claimed')).toHaveLength(6)
  })

  it('refuses the whole batch when one lead is someone else’s, closed or unknown, changing nothing', async () => {
    const free = await makeDeal(db, { stage: 'target', companyName: 'Free Lead Co' })
    const taken = await makeDeal(db, {
      stage: 'target',
      ownerId: otherRep.user.id,
      companyName: 'Taken Co',
    })
    const lost = await makeDeal(db, { stage: 'lost', companyName: 'Lost Co' })
    const won = await makeDeal(db, { stage: 'won', ownerId: otherRep.user.id })
    const unknown = newId()
    for (const [bad, code, status] of [
      [taken.id, 'already_claimed', 409],
      [lost.id, 'not_in_queue', 409],
      [won.id, 'already_claimed', 409],
      [unknown, 'not_found', 404],
    ] as const) {
      const before = await snapshot()
      const res = await post('/api/deals/claim', { ids: [free.id, bad] })
      expect(res.status, code).toBe(status)
      const body = await res.json()
      expect(body.error.code).toBe(code)
      expect(body.error.message).toMatch(/^Nothing was taken over\./)
      expect(body.error.deals).toEqual([expect.objectContaining({ id: bad, code })])
      expect(await snapshot()).toEqual(before)
    }
    // The queue's plain form: back with an error naming the refused lead, nothing taken.
    const before = await snapshot()
    const res = await ctx.app.request(
      '/api/deals/claim',
      form(
        { [`select.${free.id}`]: 'on', [`select.${taken.id}`]: 'on', next: '/app/leads' },
        { cookie: rep.cookie },
      ),
    )
    expect(res.status).toBe(303)
    const back = new URL(res.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe('/app/leads')
    expect(back.searchParams.get('error')).toMatch(
      `Nothing was taken over. Taken Co: ${otherRep.user.name} took over this lead first`,
    )
    expect(await snapshot()).toEqual(before)
    const multi = await post('/api/deals/claim', { ids: [free.id, taken.id, unknown, lost.id] })
    expect(multi.status).toBe(409)
    expect((await multi.json()).error).toMatchObject({
      code: 'batch_refused',
      deals: [{ id: taken.id }, { id: unknown, title: null }, { id: lost.id, title: 'Lost Co' }],
    })
    expect(await snapshot()).toEqual(before)
  })

  it('takes the whole batch, counting leads already yours as done; a plain form gets the summary', async () => {
    const free = await makeDeal(db, { stage: 'target' })
    const mine = await makeDeal(db, { stage: 'target', ownerId: rep.user.id })
    const res = await ctx.app.request(
      '/api/deals/claim',
      form(
        { [`select.${free.id}`]: 'on', [`select.${mine.id}`]: 'on', next: '/app/leads' },
        { cookie: rep.cookie },
      ),
    )
    expect(res.status).toBe(303)
    const notice = new URL(res.headers.get('location')!, ORIGIN).searchParams.get('notice')
    expect(notice).toBe('Took over 1 of 2. 1 already yours.')
    const rows = await db
      .select()
      .from(deals)
      .where(inArray(deals.id, [free.id, mine.id]))
    for (const row of rows) expect(row.ownerId).toBe(rep.user.id)
  })

  it('refuses SDRs, an empty selection and malformed ids, taking nothing', async () => {
    const lead = await makeDeal(db, { stage: 'target' })
    const before = await snapshot()
    expect((await post('/api/deals/claim', { ids: [lead.id] }, sdr.cookie)).status).toBe(403)
    expect((await post('/api/deals/claim', { ids: [] })).status).toBe(422)
    expect((await post('/api/deals/claim', { ids: ['x'] })).status).toBe(422)
    expect((await post('/api/deals/claim', { ids: Array(201).fill(lead.id) })).status).toBe(422)
    // The queue's form with nothing ticked: the sentence alone, not prefixed with a field name.
    const none = await ctx.app.request(
      '/api/deals/claim',
      form({ next: '/app/leads' }, { cookie: rep.cookie }),
    )
    expect(none.status).toBe(303)
    const error = new URL(none.headers.get('location')!, ORIGIN).searchParams.get('error')
    expect(error).toBe('Tick at least one lead first.')
    expect(await snapshot()).toEqual(before)
  })
})

describe('admins reassign a rep’s open deals', () => {
  it('hands over every open deal of a disabled rep, leaves closed ones, and is offered on disabling', async () => {
    const [leaving, taking] = await reps(2)
    const open = await Promise.all(
      ['demo', 'negotiation', 'target'].map((stage) =>
        makeDeal(db, { stage: stage as 'demo', ownerId: leaving!.id }),
      ),
    )
    const won = await makeDeal(db, { stage: 'won', ownerId: leaving!.id })
    const disabled = await post(`/api/users/${leaving!.id}/disable`, {}, admin.cookie)
    expect((await disabled.json()).openDeals).toBe(3)
    const viaForm = await ctx.app.request(
      `/api/users/${leaving!.id}/enable`,
      form({}, { cookie: admin.cookie }),
    )
    expect(viaForm.status).toBe(303)
    const offer = await ctx.app.request(
      `/api/users/${leaving!.id}/disable`,
      form({}, { cookie: admin.cookie }),
    )
    expect(new URL(offer.headers.get('location')!, ORIGIN).searchParams.get('reassign')).toBe(
      leaving!.id,
    )

    const before = await snapshot()
    for (const [body, cookie, status] of [
      [{ fromOwnerId: leaving!.id, toOwnerId: taking!.id }, rep.cookie, 403],
      [{ fromOwnerId: leaving!.id, toOwnerId: taking!.id }, sdr.cookie, 403],
      [{ fromOwnerId: leaving!.id, toOwnerId: leaving!.id }, admin.cookie, 422],
      [{ fromOwnerId: leaving!.id, toOwnerId: sdr.user.id }, admin.cookie, 422],
      [{ fromOwnerId: leaving!.id }, admin.cookie, 422],
    ] as const) {
      const res = await post('/api/deals/reassign', body, cookie)
      expect(res.status, JSON.stringify(body)).toBe(status)
    }
    expect(await snapshot()).toEqual(before)

    const res = await post(
      '/api/deals/reassign',
      { fromOwnerId: leaving!.id, toOwnerId: taking!.id },
      admin.cookie,
    )
    expect(res.status).toBe(200)
    expect((await res.json()).moved).toBe(3)
    const rows = await db
      .select()
      .from(deals)
      .where(inArray(deals.id, [...open.map((d) => d.id), won.id]))
    for (const row of rows) expect(row.ownerId).toBe(row.id === won.id ? leaving!.id : taking!.id)
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, open[0]!.id))
    expect(events.find((e) => e.type === 'claimed')).toMatchObject({
      actorId: admin.user.id,
      data: { ownerId: taking!.id, previousOwnerId: leaving!.id, assigned: true },
    })
  })
  it('hands over none when one deal of the batch fails midway', async () => {
    const [leaving, taking] = await reps(2)
    const open = await Promise.all(
      ['demo', 'target', 'signed'].map((stage) =>
        makeDeal(db, { stage: stage as 'demo', ownerId: leaving!.id }),
      ),
    )
    // The deal handled last (they go in id order) fails in the database, as no refusal would.
    const last = open.map((d) => d.id).sort()[2]!
    await db.execute(
      sql.raw(
        `create function fail_for_test() returns trigger language plpgsql as $$ begin raise exception 'failing for the test'; end $$`,
      ),
    )
    await db.execute(
      sql.raw(
        `create trigger fail_for_test before update on deals for each row when (old.id = '${last}') execute function fail_for_test()`,
      ),
    )
    try {
      const before = await snapshot()
      const res = await post(
        '/api/deals/reassign',
        { fromOwnerId: leaving!.id, toOwnerId: taking!.id },
        admin.cookie,
      )
      expect(res.status).toBe(500)
      expect(await snapshot()).toEqual(before)
    } finally {
      await db.execute(sql.raw('drop trigger fail_for_test on deals'))
      await db.execute(sql.raw('drop function fail_for_test()'))
    }
  })
})

describe('the board’s filters and the list view', () => {
  it('narrow the columns’ counts and cards alike, and the list sorts', async () => {
    const [me] = await reps(1)
    const now = ctx.clock.now()
    const day = 86_400_000
    const a = await makeDeal(db, {
      stage: 'demo',
      ownerId: me!.id,
      source: 'manual',
      amountCents: 300,
      expectedCloseDate: '2027-03-10',
      stageEnteredAt: new Date(now.getTime() - 60 * day),
    })
    const b = await makeDeal(db, {
      stage: 'demo',
      ownerId: me!.id,
      source: 'inbound',
      amountCents: 100,
      expectedCloseDate: '2027-03-31',
      stageEnteredAt: new Date(now.getTime() - day),
    })
    const c = await makeDeal(db, {
      stage: 'negotiation',
      ownerId: me!.id,
      source: 'manual',
      amountCents: 200,
      expectedCloseDate: '2027-04-01',
      stageEnteredAt: new Date(now.getTime() - 2 * day),
    })
    await db.update(deals).set({ nextStepOn: '2027-01-05' }).where(eq(deals.id, c.id))
    const ids = async (query: string) =>
      (await (await get(`/api/deals/list?${query}`, me!.cookie)).json()).cards.map(
        (x: { id: string }) => x.id,
      )
    const count = async (query: string) =>
      (await (await get(`/api/deals/board?${query}`, me!.cookie)).json()).columns.reduce(
        (n: number, col: { count: number }) => n + col.count,
        0,
      )
    expect(await count('')).toBe(3)
    expect(await count('source=manual')).toBe(2)
    expect(await ids('source=manual&sort=amount&dir=desc')).toEqual([a.id, c.id])
    expect(await ids('stale=1')).toEqual([a.id])
    expect(await count('stale=1')).toBe(1)
    expect(await ids('closeMonth=2027-03&sort=close')).toEqual([a.id, b.id])
    expect(await ids('noNextStep=1&sort=created')).toEqual([a.id, b.id])
    expect(await ids('sort=amount')).toEqual([b.id, c.id, a.id])
    expect(await ids('sort=age')).toEqual([b.id, c.id, a.id])
    const column = await (await get(`/api/deals?stage=demo&source=inbound`, me!.cookie)).json()
    expect(column.cards.map((x: { id: string }) => x.id)).toEqual([b.id])
    for (const bad of ['source=fax', 'closeMonth=2027-13', 'sort=size', 'stale=maybe', 'page=0'])
      expect((await get(`/api/deals/list?${bad}`, me!.cookie)).status, bad).toBe(422)
    // Reps see only their own, as on the board.
    expect((await get('/api/deals/list?owner=team', me!.cookie)).status).toBe(403)
    expect((await get('/api/deals/list?owner=team', sdr.cookie)).status).toBe(200)
  })
})

describe('webhooks for a deal added by hand', () => {
  it('queues deal.qualified like any new deal (and deal.won when entered as won), and nothing when refused', async () => {
    const sub = await createSubscription(
      db,
      {
        url: 'https://crm.example.com/manual',
        events: ['deal.qualified', 'deal.won'],
        createdBy: admin.user.id,
      },
      ctx.deps.now(),
    )
    const queued = () =>
      db
        .select({ type: webhookEvents.type, data: webhookEvents.data })
        .from(webhookDeliveries)
        .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
        .where(eq(webhookDeliveries.subscriptionId, sub.id))
        .orderBy(webhookEvents.id)

    const res = await post('/api/deals', {
      stage: 'target',
      email: 'hook@manual-hooks.example',
      reason: 'Met at the fair',
    })
    expect(res.status).toBe(201)
    const { deal, contact } = await res.json()
    expect(await queued()).toEqual([
      {
        type: 'deal.qualified',
        data: expect.objectContaining({
          dealId: deal.id,
          contactId: contact.id,
          source: 'manual',
          evidence: { source: 'manual', kind: 'manual', summary: 'Met at the fair' },
          actorId: rep.user.id,
          deal: expect.objectContaining({ id: deal.id, stage: 'target', source: 'manual' }),
        }),
      },
    ])

    // A second open deal for the contact is refused: nothing more goes out.
    expect((await post('/api/deals', { stage: 'demo', contactId: contact.id })).status).toBe(409)
    expect(await queued()).toHaveLength(1)

    const today = ctx.deps.now().toISOString().slice(0, 10)
    const won = await post('/api/deals', {
      stage: 'won',
      email: 'signed@manual-hooks.example',
      contractSignedOn: today,
      paymentReceivedOn: today,
    })
    expect(won.status, await won.clone().text()).toBe(201)
    const wonId = (await won.json()).deal.id
    const after = await queued()
    expect(
      after.slice(1).map((e) => [e.type, (e.data as { deal: { id: string } }).deal.id]),
    ).toEqual([
      ['deal.qualified', wonId],
      ['deal.won', wonId],
    ])
    expect(after[2]!.data).toMatchObject({ from: null, to: 'won', actorId: rep.user.id })
  })
})
