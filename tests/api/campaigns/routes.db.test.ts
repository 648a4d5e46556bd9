import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { claimImport, runImport } from '../../../api/campaigns/imports.ts'
import {
  campaignRecipients,
  campaigns,
  outbox,
  suppressions,
  trackedLinks,
} from '../../../api/db/schema.ts'
import { enqueueEmail } from '../../../api/email/outbox.ts'
import {
  EMAIL_ADDRESS,
  form,
  formAnswer,
  json,
  ORIGIN,
  setupTestApp,
  signedInAs,
} from '../../helpers.ts'
import { CAMPAIGN_ENV, campaignInput, csv, makeCampaign } from './fixtures.ts'

const ctx = await setupTestApp(CAMPAIGN_ENV)
const db = ctx.deps.db
const owner = await signedInAs(ctx, 'sdr')
const people = {
  anonymous: { cookie: '' },
  rep: await signedInAs(ctx, 'rep'),
  owner,
  'other sdr': await signedInAs(ctx, 'sdr'),
  admin: await signedInAs(ctx, 'admin'),
}
type Who = keyof typeof people

function upload(text: string, cookie: string, filename = 'prospects.csv'): RequestInit {
  const body = new FormData()
  body.set('file', new File([text], filename, { type: 'text/csv' }))
  return { method: 'POST', headers: { cookie, origin: ORIGIN, accept: 'application/json' }, body }
}

async function runImports() {
  for (;;) {
    const job = await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 'test' })
    if (!job) return
    await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 'test' })
  }
}

// Each file's people at a domain of their own: a person still waiting in one campaign is not
// imported into another, and most campaigns here are left live.
let domains = 0
const acme = () => `acme${++domains}.example`
const prospects = (domain = acme()) =>
  csv([
    ['email', 'first name', 'company'],
    [`ana@${domain}`, 'Ana', 'Acme'],
  ])

/** A campaign of the owner, with a recipient, in the given status (completed: sent to them). */
async function campaignIn(status: 'draft' | 'sending' | 'paused' | 'completed') {
  const c = await makeCampaign(ctx, owner.user)
  await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(prospects(), owner.cookie))
  await runImports()
  if (status !== 'draft') await db.update(campaigns).set({ status }).where(eq(campaigns.id, c.id))
  if (status === 'completed')
    await db
      .update(campaignRecipients)
      .set({ status: 'sent' })
      .where(eq(campaignRecipients.campaignId, c.id))
  return c.id
}

const recipientsOf = (id: string) =>
  db
    .select()
    .from(campaignRecipients)
    .where(eq(campaignRecipients.campaignId, id))
    .orderBy(campaignRecipients.line)

type Call = (
  id: string,
  recipientId: string,
) => { method: string; path: string; body?: unknown; upload?: string }
const routes: Array<
  [string, 'draft' | 'sending' | 'paused' | 'completed', Call, Record<Who, number>]
> = [
  [
    'GET the list',
    'draft',
    () => ({ method: 'GET', path: '/api/campaigns' }),
    { anonymous: 401, rep: 200, owner: 200, 'other sdr': 200, admin: 200 },
  ],
  [
    'POST a campaign',
    'draft',
    () => ({ method: 'POST', path: '/api/campaigns', body: campaignInput() }),
    { anonymous: 401, rep: 403, owner: 201, 'other sdr': 201, admin: 201 },
  ],
  [
    'GET a campaign',
    'draft',
    (id) => ({ method: 'GET', path: `/api/campaigns/${id}` }),
    { anonymous: 401, rep: 200, owner: 200, 'other sdr': 200, admin: 200 },
  ],
  [
    'POST an edit',
    'draft',
    (id) => ({
      method: 'POST',
      path: `/api/campaigns/${id}`,
      body: campaignInput({ name: 'Renamed' }),
    }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'GET the preview',
    'draft',
    (id) => ({ method: 'GET', path: `/api/campaigns/${id}/preview` }),
    { anonymous: 401, rep: 200, owner: 200, 'other sdr': 200, admin: 200 },
  ],
  [
    'GET the recipients',
    'draft',
    (id) => ({ method: 'GET', path: `/api/campaigns/${id}/recipients` }),
    { anonymous: 401, rep: 200, owner: 200, 'other sdr': 200, admin: 200 },
  ],
  [
    'POST an import',
    'draft',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/imports`, upload: prospects() }),
    { anonymous: 401, rep: 403, owner: 202, 'other sdr': 403, admin: 202 },
  ],
  [
    'POST ready',
    'draft',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/ready` }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'POST start',
    'draft',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/start` }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'POST pause',
    'sending',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/pause` }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'POST resume',
    'paused',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/resume` }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'POST complete',
    'paused',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/complete` }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'POST a take-out of a recipient',
    'sending',
    (id, recipientId) => ({
      method: 'POST',
      path: `/api/campaigns/${id}/recipients/${recipientId}/remove`,
    }),
    { anonymous: 401, rep: 403, owner: 200, 'other sdr': 403, admin: 200 },
  ],
  [
    'POST a follow-up',
    'completed',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/follow-up` }),
    { anonymous: 401, rep: 403, owner: 201, 'other sdr': 403, admin: 201 },
  ],
  [
    'POST a test message',
    'sending',
    (id) => ({ method: 'POST', path: `/api/campaigns/${id}/test` }),
    { anonymous: 401, rep: 403, owner: 202, 'other sdr': 403, admin: 202 },
  ],
]

describe('who may use the campaign routes', () => {
  for (const [name, status, call, expected] of routes) {
    it(name, async () => {
      for (const who of Object.keys(people) as Who[]) {
        const id = await campaignIn(status)
        const [recipient] = await recipientsOf(id)
        const { method, path, body, upload: file } = call(id, recipient!.id)
        const cookie = people[who].cookie
        const init: RequestInit = file
          ? upload(file, cookie)
          : body
            ? json(body, { cookie, origin: ORIGIN })
            : { method, headers: { cookie, origin: ORIGIN, accept: 'application/json' } }
        const res = await ctx.app.request(path, { ...init, method })
        expect(res.status, `${who}: ${await res.clone().text()}`).toBe(expected[who])
      }
    })
  }

  it('lets an admin create a campaign for an SDR, and not for a rep', async () => {
    const res = await ctx.app.request(
      '/api/campaigns',
      json(campaignInput({ ownerId: owner.user.id }), { cookie: people.admin.cookie }),
    )
    expect(res.status).toBe(201)
    expect((await res.json()).campaign.ownerId).toBe(owner.user.id)
    const forRep = await ctx.app.request(
      '/api/campaigns',
      json(campaignInput({ ownerId: people.rep.user.id }), { cookie: people.admin.cookie }),
    )
    expect(forRep.status).toBe(422)
    const sdrForOther = await ctx.app.request(
      '/api/campaigns',
      json(campaignInput({ ownerId: people['other sdr'].user.id }), { cookie: owner.cookie }),
    )
    expect(sdrForOther.status).toBe(403)
  })
})

describe('the recipients as JSON', () => {
  it('lists a page of them with their outcome, and refuses an unknown status', async () => {
    const id = await campaignIn('sending')
    const res = await ctx.app.request(`/api/campaigns/${id}/recipients?status=pending`, {
      headers: { cookie: owner.cookie },
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({ total: 1, page: 1, pageCount: 1 })
    expect(body.rows[0]).toMatchObject({
      email: expect.stringMatching(/^ana@acme\d+\.example$/),
      status: 'pending',
      clicks: { raw: 0, human: 0 },
      deal: { stage: 'opportunity' },
    })
    const sent = await ctx.app.request(`/api/campaigns/${id}/recipients?status=sent`, {
      headers: { cookie: owner.cookie },
    })
    expect((await sent.json()).total).toBe(0)
    const bad = await ctx.app.request(`/api/campaigns/${id}/recipients?status=opened`, {
      headers: { cookie: owner.cookie },
    })
    expect(bad.status).toBe(422)
    expect((await bad.json()).error.message).toContain('status must be one of pending')
    const missing = await ctx.app.request(
      '/api/campaigns/0190a000-0000-7000-8000-000000000000/recipients',
      { headers: { cookie: owner.cookie } },
    )
    expect(missing.status).toBe(404)
  })

  it('answers a stop with who stopped it and when, its recipients never sent as stopped', async () => {
    const id = await campaignIn('sending')
    const stop = await ctx.app.request(`/api/campaigns/${id}/complete`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(stop.status).toBe(200)
    expect((await stop.json()).campaign).toMatchObject({
      status: 'completed',
      stoppedAt: ctx.clock.now().toISOString(),
      stoppedBy: owner.user.id,
    })
    const read = await ctx.app.request(`/api/campaigns/${id}`, {
      headers: { cookie: owner.cookie },
    })
    expect(await read.json()).toMatchObject({
      campaign: { status: 'completed', stoppedBy: owner.user.id },
      progress: { recipients: 1, pending: 0, stopped: 1 },
    })
    const listed = await ctx.app.request(`/api/campaigns/${id}/recipients?status=stopped`, {
      headers: { cookie: owner.cookie },
    })
    expect(await listed.json()).toMatchObject({
      total: 1,
      rows: [
        { email: expect.stringMatching(/^ana@acme\d*\.example$/), status: 'stopped', sentAt: null },
      ],
    })
    const results = await ctx.app.request(`/api/campaigns/${id}/results`, {
      headers: { cookie: owner.cookie },
    })
    expect(await results.json()).toMatchObject({ recipients: 1, sent: 0, stopped: 1 })
  })
})

describe('taking a recipient out', () => {
  const takeOut = (
    id: string,
    recipientId: string,
    headers: Record<string, string>,
    body?: string,
  ) =>
    ctx.app.request(`/api/campaigns/${id}/recipients/${recipientId}/remove`, {
      method: 'POST',
      headers: { origin: ORIGIN, ...headers },
      ...(body === undefined ? {} : { body }),
    })
  const two = (domain: string) =>
    csv([
      ['email', 'first name'],
      [`ana@${domain}`, 'Ana'],
      [`bo@${domain}`, 'Bo'],
    ])

  it('takes a waiting one out from the list’s button, back to the list as it was, and lists them by status', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const domain = acme()
    await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(two(domain), owner.cookie))
    await runImports()
    await db.update(campaigns).set({ status: 'paused' }).where(eq(campaigns.id, c.id))
    const [ana, bo] = await recipientsOf(c.id)
    const next = `/app/campaigns/${c.id}?status=pending&page=1#recipients`
    const res = await takeOut(
      c.id,
      ana!.id,
      { cookie: owner.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ next }).toString(),
    )
    expect(res.status).toBe(303)
    const back = new URL(res.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/app/campaigns/${c.id}`)
    expect(back.searchParams.get('status')).toBe('pending')
    expect(back.searchParams.get('page')).toBe('1')
    expect(back.hash).toBe('#recipients')
    // No address in the URL (it lands in histories, logs and Referers).
    expect(back.searchParams.get('notice')).toBe(
      'Recipient taken out: they get nothing from this campaign.',
    )
    expect((await recipientsOf(c.id)).map((r) => r.status)).toEqual(['removed', 'pending'])
    // The list filters by the new status.
    const listed = await ctx.app.request(`/api/campaigns/${c.id}/recipients?status=removed`, {
      headers: { cookie: owner.cookie },
    })
    expect(await listed.json()).toMatchObject({ total: 1, rows: [{ email: `ana@${domain}` }] })
    expect(bo!.status).toBe('pending')
    // Again: 409 with the reason, back to the same list.
    const again = await takeOut(
      c.id,
      ana!.id,
      { cookie: owner.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ next }).toString(),
    )
    expect(again.status).toBe(303)
    const refused = new URL(again.headers.get('location')!, ORIGIN)
    expect(refused.searchParams.get('status')).toBe('pending')
    expect(refused.searchParams.get('error')).toBe(
      'That recipient was already taken out of this campaign.',
    )
    const json = await takeOut(c.id, ana!.id, { cookie: owner.cookie, accept: 'application/json' })
    expect(json.status).toBe(409)
    expect((await json.json()).error.code).toBe('already_removed')
  })

  it('lets a draft start once the row whose message cannot be merged is taken out', async () => {
    const c = await makeCampaign(ctx, owner.user, { subjectTemplate: 'For the {{title}}' })
    const domain = acme()
    const rows = csv([
      ['email', 'first name', 'title'],
      [`ana@${domain}`, 'Ana', 'CTO'],
      [`bo@${domain}`, 'Bo', ''],
    ])
    await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(rows, owner.cookie))
    await runImports()
    const headers = { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' }
    const start = () => ctx.app.request(`/api/campaigns/${c.id}/start`, { method: 'POST', headers })
    const blocked = await start()
    expect(blocked.status).toBe(409)
    expect((await blocked.json()).error.message).toContain(`bo@${domain}`)
    const [, bo] = await recipientsOf(c.id)
    expect((await takeOut(c.id, bo!.id, headers)).status).toBe(200)
    const preview = await ctx.app.request(`/api/campaigns/${c.id}/preview`, { headers })
    expect(await preview.json()).toMatchObject({ problems: [], total: 1 })
    expect((await start()).status).toBe(200)
  })

  it('refuses a sent one, another campaign’s, an unknown one and a completed campaign’s, changing nothing', async () => {
    const c = await makeCampaign(ctx, owner.user)
    await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(two(acme()), owner.cookie))
    await runImports()
    await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, c.id))
    const [ana, bo] = await recipientsOf(c.id)
    await db
      .update(campaignRecipients)
      .set({ status: 'sent' })
      .where(eq(campaignRecipients.id, ana!.id))
    const headers = { cookie: owner.cookie, accept: 'application/json' }
    const sent = await takeOut(c.id, ana!.id, headers)
    expect(sent.status).toBe(409)
    expect((await sent.json()).error).toEqual({
      code: 'not_pending',
      message:
        'That recipient cannot be taken out: their message is sent already (handed to the outbox).',
    })
    const other = await campaignIn('sending')
    expect((await takeOut(other, bo!.id, headers)).status).toBe(404)
    expect((await takeOut(c.id, 'not-an-id', headers)).status).toBe(404)
    expect((await takeOut(c.id, `${bo!.id}%00`, headers)).status).toBe(404)
    // An unknown campaign: a plain form goes back to the list.
    const gone = await takeOut(
      '0190a000-0000-7000-8000-000000000000',
      bo!.id,
      {
        cookie: owner.cookie,
        'content-type': 'application/x-www-form-urlencoded',
      },
      '',
    )
    expect(gone.headers.get('location')).toMatch(/^\/app\/campaigns\?error=/)
    // A next off the campaign's page is not followed.
    await db.update(campaigns).set({ status: 'completed' }).where(eq(campaigns.id, c.id))
    const done = await takeOut(
      c.id,
      bo!.id,
      { cookie: owner.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ next: '/app/admin/users' }).toString(),
    )
    expect(done.status).toBe(303)
    const back = new URL(done.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/app/campaigns/${c.id}`)
    expect(back.searchParams.get('error')).toBe(
      'A completed campaign cannot have recipients taken out.',
    )
    expect((await recipientsOf(c.id)).map((r) => r.status)).toEqual(['sent', 'pending'])
  })
})

describe('a test message', () => {
  const sendTest = (id: string, cookie: string, headers: Record<string, string> = {}) =>
    ctx.app.request(`/api/campaigns/${id}/test`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, ...headers },
    })
  const testsTo = (email: string) =>
    db
      .select()
      .from(outbox)
      .where(
        sql`${outbox.recipient} = ${email} and ${outbox.payload}->>'template' = 'outreach-test'`,
      )

  it('sends the asker the first recipient’s message from the campaign’s sender, its links not tracked', async () => {
    const id = await campaignIn('draft')
    const before = await db.$count(trackedLinks)
    const res = await sendTest(id, owner.cookie, { accept: 'application/json' })
    expect(res.status).toBe(202)
    expect(await res.json()).toMatchObject({ to: owner.user.email })
    const [mail] = await testsTo(owner.user.email)
    const payload = mail!.payload as { subject: string; text: string; from: { address: string } }
    expect(mail!.category).toBe('transactional')
    expect(payload.subject).toBe('[Test] Quick question, Ana')
    expect(payload.from.address).toBe('taylor@frontdoor.example')
    expect(payload.text).toContain('Hi Ana,')
    // The destination itself, not a /r/ link: a test's clicks are nobody's.
    expect(payload.text).toContain('https://frontdoor.example/whitepapers/benchmark')
    expect(payload.text).not.toContain('/r/')
    expect(await db.$count(trackedLinks)).toBe(before)
    // Nothing of the campaign changed: no recipient was queued or marked.
    const [campaign] = await db.select().from(campaigns).where(eq(campaigns.id, id))
    expect(campaign!.status).toBe('draft')
  })

  it('has an unsubscribe link that says it is a test’s, and unsubscribes nobody', async () => {
    const id = await campaignIn('draft')
    expect((await sendTest(id, owner.cookie, { accept: 'application/json' })).status).toBe(202)
    const [mail] = (await testsTo(owner.user.email)).slice(-1)
    const payload = mail!.payload as { text: string; html: string }
    const link = new RegExp(`${ctx.deps.env.APP_ORIGIN}(/u/[^\\s"<]+)`).exec(payload.text)![1]!
    expect(payload.html).toContain(`${ctx.deps.env.APP_ORIGIN}${link}`)
    const before = await db.$count(suppressions)
    for (const method of ['GET', 'POST']) {
      const res = await ctx.app.request(link, {
        method,
        ...(method === 'POST'
          ? {
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: 'List-Unsubscribe=One-Click',
            }
          : {}),
      })
      expect(res.status).toBe(200)
      const page = await res.text()
      expect(page).toContain('This is a test message’s unsubscribe link')
      expect(page).toContain('nobody was unsubscribed')
    }
    expect(await db.$count(suppressions)).toBe(before)
  })

  it('goes back to the preview with a notice for a plain form, and refuses what cannot be sent', async () => {
    const id = await campaignIn('draft')
    const sent = (await testsTo(people.admin.user.email)).length
    const page = await sendTest(id, people.admin.cookie, {
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(page.status).toBe(303)
    const back = new URL(page.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/app/campaigns/${id}/preview`)
    // The notice travels in the URL, so it says whose address without quoting it.
    expect(back.searchParams.get('notice')).toMatch(/^Test sent to your address: /)
    expect(back.search).not.toContain(people.admin.user.email.split('@')[1]!)
    expect(await testsTo(people.admin.user.email)).toHaveLength(sent + 1)

    // An unknown campaign: a plain form goes back to the list, an API client gets a 404.
    const unknown = '0190a000-0000-7000-8000-000000000000'
    const gone = await sendTest(unknown, owner.cookie, {
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(gone.status).toBe(303)
    expect(gone.headers.get('location')).toMatch(/^\/app\/campaigns\?error=/)
    expect((await sendTest(unknown, owner.cookie, { accept: 'application/json' })).status).toBe(404)

    // No recipients yet: nothing to show.
    const empty = await makeCampaign(ctx, owner.user)
    const none = await sendTest(empty.id, owner.cookie, { accept: 'application/json' })
    expect(none.status).toBe(409)
    expect((await none.json()).error.code).toBe('no_recipients')
    // A merge field the first recipient lacks: the reason, and no mail.
    const unmergeable = await campaignIn('draft')
    await db
      .update(campaigns)
      .set({ subjectTemplate: 'Hi {{title}}' })
      .where(eq(campaigns.id, unmergeable))
    const count = (await testsTo(owner.user.email)).length
    const merge = await sendTest(unmergeable, owner.cookie, { accept: 'application/json' })
    expect(merge.status).toBe(422)
    expect((await merge.json()).error).toMatchObject({
      code: 'merge_fields',
      message: expect.stringContaining('title'),
    })
    expect(await testsTo(owner.user.email)).toHaveLength(count)
  })

  it('keeps a merge value inside a link in it, percent-encoded, in the text and HTML parts', async () => {
    const c = await makeCampaign(ctx, owner.user, {
      bodyTemplate:
        'Book: https://calendly.com/taylor/30min?name={{firstName}}&email={{email}}&co={{company|none}} and see you then.',
    })
    const file = csv([
      ['email', 'first name', 'company'],
      ['ab@smith.example', 'A&B', 'Smith & Sons #1?x=y'],
    ])
    await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(file, owner.cookie))
    await runImports()
    const sent = await sendTest(c.id, owner.cookie, { accept: 'application/json' })
    expect(sent.status).toBe(202)
    const { outboxId } = await sent.json()
    const [mail] = await db.select().from(outbox).where(eq(outbox.id, outboxId))
    const payload = mail!.payload as { text: string; html: string }
    const booking =
      'https://calendly.com/taylor/30min?name=A%26B&email=ab%40smith.example&co=Smith%20%26%20Sons%20%231%3Fx%3Dy'
    // Straight to the page, the whole link, and the sentence after it.
    expect(payload.text.startsWith(`Book: ${booking} and see you then.\n`)).toBe(true)
    const href = booking.replaceAll('&', '&amp;')
    expect(payload.html).toContain(
      `<a href="${href}" style="color:#2f54eb;">${href}</a> and see you then.`,
    )
  })

  it('allows ten an hour per person, then answers 429 with Retry-After', async () => {
    const sdr = await signedInAs(ctx, 'sdr')
    const c = await makeCampaign(ctx, sdr.user)
    await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(prospects(), sdr.cookie))
    await runImports()
    for (let i = 0; i < 10; i++)
      expect((await sendTest(c.id, sdr.cookie, { accept: 'application/json' })).status).toBe(202)
    const over = await sendTest(c.id, sdr.cookie, { accept: 'application/json' })
    expect(over.status).toBe(429)
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await testsTo(sdr.user.email)).toHaveLength(10)
  })
})

describe('creating a campaign', () => {
  it('names the field a refusal is about, to API clients and beside the field of a plain form', async () => {
    const admin = people.admin
    const credited = await ctx.app.request(
      '/api/campaigns',
      json(campaignInput({ ownerId: people.rep.user.id }), { cookie: admin.cookie }),
    )
    expect(credited.status).toBe(422)
    expect((await credited.json()).error).toMatchObject({
      code: 'owner_not_sdr',
      fields: { ownerId: expect.stringMatching(/SDR/) },
    })
    // An edit refuses the sender as a new campaign does.
    const c = await makeCampaign(ctx, owner.user)
    const typed = campaignInput({ name: 'Renamed', senderEmail: 'taylor@gmail.com' })
    const edit = await ctx.app.request(
      `/api/campaigns/${c.id}`,
      form(Object.fromEntries(Object.entries(typed).map(([k, v]) => [k, String(v)])), {
        cookie: owner.cookie,
      }),
    )
    expect(edit.status).toBe(303)
    const back = formAnswer(ctx, edit, owner.user.id)
    expect(back.url.pathname).toBe(`/app/campaigns/${c.id}/edit`)
    expect(back.query).not.toMatch(EMAIL_ADDRESS)
    expect(back.flash).toMatchObject({
      values: { name: 'Renamed', senderEmail: 'taylor@gmail.com' },
      fields: { senderEmail: expect.stringMatching(/verified sending domain/) },
    })
  })

  it('refuses a sender outside the verified sending domain, and transactional mail keeps flowing', async () => {
    const before = await db.select().from(campaigns)
    const res = await ctx.app.request(
      '/api/campaigns',
      json(campaignInput({ senderEmail: 'taylor@gmail.com' }), { cookie: owner.cookie }),
    )
    expect(res.status).toBe(422)
    expect((await res.json()).error).toMatchObject({
      code: 'sender_not_verified',
      message: expect.stringContaining('@frontdoor.example'),
      fields: { senderEmail: expect.stringContaining('@frontdoor.example') },
    })
    expect(await db.select().from(campaigns)).toHaveLength(before.length)
    // A plain form goes back to the form with the reason, the field marked, the address typed
    // in the form flash and not in the URL.
    const typed = campaignInput({ senderEmail: 'x@evil.example' })
    const refused = await ctx.app.request(
      '/api/campaigns',
      form(Object.fromEntries(Object.entries(typed).map(([k, v]) => [k, String(v)])), {
        cookie: owner.cookie,
      }),
    )
    expect(refused.status).toBe(303)
    const back = formAnswer(ctx, refused, owner.user.id)
    expect(back.url.pathname).toBe('/app/campaigns/new')
    expect(back.url.searchParams.get('error')).toMatch(/verified/)
    expect(back.query).not.toMatch(EMAIL_ADDRESS)
    expect(back.flash).toMatchObject({
      values: { senderEmail: 'x@evil.example' },
      fields: { senderEmail: expect.stringMatching(/verified sending domain/) },
    })
    // Transactional mail is untouched by campaign senders.
    const id = await enqueueEmail(db, {
      category: 'transactional',
      to: { address: 'x@y.example' },
      recipient: 'x@y.example',
      subject: 's',
      html: 'h',
      text: 't',
      template: 'test',
    })
    expect((await db.select().from(outbox).where(eq(outbox.id, id!)))[0]!.status).toBe('pending')
  })

  it('refuses bad input with 422 and a clear message', async () => {
    const bad = async (over: Record<string, unknown>) => {
      const res = await ctx.app.request(
        '/api/campaigns',
        json({ ...campaignInput(), ...over }, { cookie: owner.cookie }),
      )
      expect(res.status).toBe(422)
      return (await res.json()).error.message as string
    }
    expect(await bad({ timezone: 'Mars/Base' })).toMatch(/not an IANA time zone/)
    expect(await bad({ timezone: '+02:00' })).toMatch(/not an IANA time zone/)
    expect(await bad({ windowStartHour: 18, windowEndHour: 8 })).toMatch(/end after it starts/)
    expect(await bad({ ratePerHour: 0 })).toMatch(/at least 1/)
    expect(await bad({ bodyTemplate: 'Hi {{firstName' })).toMatch(/unmatched braces/)
    expect(await bad({ name: '' })).toMatch(/name/)
    expect(await bad({ surprise: 1 })).toBeTruthy()
  })

  it('names the sending hour that is out of bounds', async () => {
    for (const [over, field, message] of [
      [
        { windowStartHour: -5 },
        'windowStartHour',
        'The window starts at a whole hour from 0 to 23.',
      ],
      [
        { windowStartHour: 24 },
        'windowStartHour',
        'The window starts at a whole hour from 0 to 23.',
      ],
      [{ windowEndHour: 25 }, 'windowEndHour', 'The window ends at a whole hour from 1 to 24.'],
      [{ windowEndHour: 0 }, 'windowEndHour', 'The window ends at a whole hour from 1 to 24.'],
    ] as const) {
      const res = await ctx.app.request(
        '/api/campaigns',
        json({ ...campaignInput(), ...over }, { cookie: owner.cookie }),
      )
      expect(res.status).toBe(422)
      expect((await res.json()).error.fields).toEqual({ [field]: message })
    }
  })

  it('refuses a null or empty sending hour, not read as midnight (0)', async () => {
    for (const [field, what] of [
      ['windowStartHour', 'start'],
      ['windowEndHour', 'end'],
    ] as const)
      for (const value of [null, '', false]) {
        const res = await ctx.app.request(
          '/api/campaigns',
          json({ ...campaignInput(), [field]: value }, { cookie: owner.cookie }),
        )
        expect(res.status).toBe(422)
        expect((await res.json()).error.message).toContain(`The window ${what} is a whole hour.`)
      }
    // A form's digits are still read as the hour.
    const res = await ctx.app.request(
      '/api/campaigns',
      json(
        { ...campaignInput(), windowStartHour: '0', windowEndHour: '24' },
        { cookie: owner.cookie },
      ),
    )
    expect(res.status).toBe(201)
    expect((await res.json()).campaign).toMatchObject({ windowStartHour: 0, windowEndHour: 24 })
  })
})

describe('the CSV upload', () => {
  it('works as a plain multipart form, and goes to the import progress page', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const body = new FormData()
    body.set('file', new File([prospects()], 'p.csv', { type: 'text/csv' }))
    const res = await ctx.app.request(`/api/campaigns/${c.id}/imports`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN },
      body,
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(
      new RegExp(`^/app/campaigns/${c.id}/imports/[0-9a-f-]{36}\\?notice=`),
    )
  })

  it('accepts a file over the global 64 KiB body limit, and refuses one over its own cap', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const rows = [['email', 'first name', 'notes']]
    for (let i = 0; i < 2000; i++) rows.push([`big${i}@big.example`, `B${i}`, 'x'.repeat(60)])
    const text = csv(rows)
    expect(text.length).toBeGreaterThan(64 * 1024)
    const ok = await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(text, owner.cookie))
    expect(ok.status).toBe(202)
    const huge = 'email\n' + 'a@b.example\n'.repeat(Math.ceil((21 * 1024 * 1024) / 12))
    const tooBig = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(huge, owner.cookie),
    )
    expect(tooBig.status).toBe(413)
    // Other routes keep the global limit.
    const other = await ctx.app.request(
      '/api/campaigns',
      json({ ...campaignInput(), bodyTemplate: 'x'.repeat(70 * 1024) }, { cookie: owner.cookie }),
    )
    expect(other.status).toBe(413)
  })

  it('refuses a body over the upload cap as the route does: the plain form back to its page, JSON for API clients', async () => {
    const c = await makeCampaign(ctx, owner.user)
    // Over the file cap and its framing: the body limit stops it before the route reads it.
    const huge = 'email\n' + 'a@b.example\n'.repeat(Math.ceil((21 * 1024 * 1024) / 12))
    const form = new FormData()
    form.set('file', new File([huge], 'p.csv', { type: 'text/csv' }))
    const plain = await ctx.app.request(`/api/campaigns/${c.id}/imports`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN },
      body: form,
    })
    expect(plain.status).toBe(303)
    const back = new URL(plain.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/app/campaigns/${c.id}`)
    expect(back.searchParams.get('error')).toBe('The file is larger than 20 MB.')
    const api = await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(huge, owner.cookie))
    expect(api.status).toBe(413)
    expect((await api.json()).error).toEqual({
      code: 'payload_too_large',
      message: 'The file is larger than 20 MB.',
    })
    const asJson = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      json({ file: huge }, { cookie: owner.cookie }),
    )
    expect(asJson.status).toBe(413)
    expect((await asJson.json()).error.message).toBe('The file is larger than 20 MB.')
  })

  it('refuses a wide header without an email column in a redirect a proxy passes', async () => {
    // A CRM export: 150 columns, the address under a name no alias knows.
    const header = Array.from({ length: 150 }, (_, i) => `Contact property number ${i}`)
    header.push('E-Mail-Adresse')
    const c = await makeCampaign(ctx, owner.user)
    const body = new FormData()
    body.set('file', new File([csv([header])], 'export.csv', { type: 'text/csv' }))
    const res = await ctx.app.request(`/api/campaigns/${c.id}/imports`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN },
      body,
    })
    expect(res.status).toBe(303)
    const location = res.headers.get('location')!
    // nginx's default proxy buffer (4 KiB) holds the whole head of the response.
    expect(location.length).toBeLessThan(2048)
    expect(new URL(location, ORIGIN).searchParams.get('error')).toMatch(
      /^The file has no email column \(the header line reads: "Contact property number 0", .*\)\. Name one "email"\.$/,
    )
  })

  it('answers a missing file or a form-encoded post with a 4xx', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const empty = new FormData()
    empty.set('note', 'no file')
    const res = await ctx.app.request(`/api/campaigns/${c.id}/imports`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' },
      body: empty,
    })
    expect(res.status).toBe(422)
    const urlencoded = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      json({ file: 'x' }, { cookie: owner.cookie }),
    )
    expect(urlencoded.status).toBe(415)
  })

  it('reports bad rows by line, downloadable as CSV', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const res = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(csv([['email'], ['ok@fine.example'], ['nope']]), owner.cookie),
    )
    const { importId } = await res.json()
    await runImports()
    const status = await ctx.app.request(`/api/campaigns/${c.id}/imports/${importId}`, {
      headers: { cookie: people.rep.cookie },
    })
    expect(await status.json()).toMatchObject({
      import: { status: 'done', imported: 1, invalid: 1 },
      errors: [{ line: 3, email: 'nope', reason: '"nope" is not an email address' }],
    })
    const download = await ctx.app.request(
      `/api/campaigns/${c.id}/imports/${importId}/errors.csv`,
      { headers: { cookie: owner.cookie } },
    )
    expect(download.headers.get('content-type')).toMatch(/text\/csv/)
    expect(await download.text()).toContain('"""nope"" is not an email address","3","nope"')
  })
})

describe('reading a running import', () => {
  it('shows its progress but not which process holds it, on both routes', async () => {
    const c = await makeCampaign(ctx, owner.user)
    const res = await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(prospects(), owner.cookie),
    )
    const { importId } = await res.json()
    const job = await claimImport(db, {
      now: ctx.clock.now(),
      leaseMs: 60_000,
      worker: 'app-host-7:4242:abcd',
    })
    expect(job?.id).toBe(importId)
    const headers = { cookie: people.rep.cookie }
    const campaign = await ctx.app.request(`/api/campaigns/${c.id}`, { headers })
    const one = await ctx.app.request(`/api/campaigns/${c.id}/imports/${importId}`, { headers })
    for (const body of [await campaign.text(), await one.text()]) {
      expect(body).toContain('"status":"running"')
      expect(body).not.toContain('app-host-7')
    }
    await runImport(db, job!, { now: ctx.clock.now, leaseMs: 60_000, worker: job!.lockedBy! })
  })
})

describe('starting', () => {
  it('refuses to start a campaign whose merge fields have problems, naming the line', async () => {
    const c = await makeCampaign(ctx, owner.user, { subjectTemplate: 'Hi {{firstName}}' })
    await ctx.app.request(
      `/api/campaigns/${c.id}/imports`,
      upload(
        csv([
          ['email', 'first name'],
          ['has@name.example', 'Has'],
          ['no@name.example', ''],
        ]),
        owner.cookie,
      ),
    )
    await runImports()
    const res = await ctx.app.request(`/api/campaigns/${c.id}/start`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(res.status).toBe(409)
    expect((await res.json()).error.message).toMatch(
      /row 3 \(no@name\.example\): no value for \{\{firstName\}\}/,
    )
    const preview = await (
      await ctx.app.request(`/api/campaigns/${c.id}/preview`, { headers: { cookie: owner.cookie } })
    ).json()
    expect(preview.mergeFields.missingValues).toHaveLength(1)
    expect(preview.messages[0]).toMatchObject({ line: 2, subject: 'Hi Has', problem: null })
    expect(preview.messages[0].links).toEqual([
      {
        shown: `${ORIGIN}/r/link-1`,
        destination: 'https://frontdoor.example/whitepapers/benchmark',
      },
    ])
    expect(preview.messages[1].problem).toMatch(/no value/)
    expect((await db.select().from(campaigns).where(eq(campaigns.id, c.id)))[0]!.status).toBe(
      'draft',
    )
  })

  it('starts only what it checked: of a start and an edit or an upload at once, one is refused', async () => {
    const headers = { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' }
    const start = (id: string) =>
      ctx.app.request(`/api/campaigns/${id}/start`, { method: 'POST', headers })
    // An edit whose {{industry}} no recipient has, sent while the start checks the campaign.
    const edited = await campaignIn('draft')
    const [started, edit] = await Promise.all([
      start(edited),
      ctx.app.request(
        `/api/campaigns/${edited}`,
        json(campaignInput({ bodyTemplate: 'Hi {{industry}}' }), headers),
      ),
    ])
    expect([started.status, edit.status].sort()).toEqual([200, 409])
    // Whichever came first: what is sending is what the start checked.
    const [afterEdit] = await db.select().from(campaigns).where(eq(campaigns.id, edited))
    if (afterEdit!.status === 'sending')
      expect(afterEdit!.bodyTemplate).toBe(campaignInput().bodyTemplate)
    else expect(afterEdit).toMatchObject({ status: 'draft', bodyTemplate: 'Hi {{industry}}' })
    // An upload of recipients nobody previewed, likewise.
    const uploaded = await campaignIn('draft')
    const [startedToo, upload2] = await Promise.all([
      start(uploaded),
      ctx.app.request(
        `/api/campaigns/${uploaded}/imports`,
        upload(csv([['email'], ['late@acme.example']]), owner.cookie),
      ),
    ])
    // One wins; the other is refused (409), never both.
    expect([
      [200, 409],
      [409, 202],
    ]).toContainEqual([startedToo.status, upload2.status])
  })
})

describe('merge fields of a campaign whose imports have different columns', () => {
  const headers = { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' }
  const preview = async (id: string) =>
    (await ctx.app.request(`/api/campaigns/${id}/preview`, { headers })).json()

  /**
   * A campaign fed by two files, only the second with an Industry column. Its people are its own
   * (`tag`): a waiting recipient of another live campaign is not imported.
   */
  async function twoImports(bodyTemplate: string, tag = '') {
    const c = await makeCampaign(ctx, owner.user, { bodyTemplate })
    const files = [
      csv([
        ['email', 'first name'],
        [`ana${tag}@plain.example`, 'Ana'],
      ]),
      csv([
        ['email', 'first name', 'Industry'],
        [`bo${tag}@shipping.example`, 'Bo', 'shipping'],
      ]),
    ]
    for (const file of files) {
      expect(
        (await ctx.app.request(`/api/campaigns/${c.id}/imports`, upload(file, owner.cookie)))
          .status,
      ).toBe(202)
      await runImports()
    }
    return c.id
  }

  it('uses the fallback for a recipient whose file had no such column: preview, test and start agree', async () => {
    const id = await twoImports('Hi {{firstName}}, how is {{Industry|logistics}} going?')
    const shown = await preview(id)
    expect(shown.problems).toEqual([])
    expect(shown.messages.map((m: { email: string; problem: string | null }) => m.problem)).toEqual(
      [null, null],
    )
    const texts = shown.messages.map((m: { text: string }) => m.text.split('\n')[0])
    expect(texts).toEqual(['Hi Ana, how is logistics going?', 'Hi Bo, how is shipping going?'])

    // The test is the first recipient's message: Ana's, whose file had no Industry column.
    const test = await ctx.app.request(`/api/campaigns/${id}/test`, { method: 'POST', headers })
    expect(test.status).toBe(202)
    const { outboxId } = await test.json()
    const [mail] = await db.select().from(outbox).where(eq(outbox.id, outboxId))
    expect((mail!.payload as { text: string }).text).toMatch(/^Hi Ana, how is logistics going\?/)

    const start = await ctx.app.request(`/api/campaigns/${id}/start`, { method: 'POST', headers })
    expect(start.status).toBe(200)
  })

  it('without a fallback, lists the rows lacking the column as missing values; only a field no file has is unknown', async () => {
    const missing = await twoImports('Hi {{firstName}}, how is {{Industry}} going?', '.missing')
    const shown = await preview(missing)
    const message =
      'row 2 (ana.missing@plain.example): no value for {{Industry}} and no fallback (write {{Industry|…}} or fill the column)'
    expect(shown.problems).toEqual([message])
    expect(shown.mergeFields.unknownFields).toEqual([])
    expect(shown.messages.map((m: { problem: string | null }) => m.problem)).toEqual([
      message,
      null,
    ])
    const test = await ctx.app.request(`/api/campaigns/${missing}/test`, {
      method: 'POST',
      headers,
    })
    expect(test.status).toBe(422)
    expect((await test.json()).error.message).toBe(message)
    const start = await ctx.app.request(`/api/campaigns/${missing}/start`, {
      method: 'POST',
      headers,
    })
    expect(start.status).toBe(409)
    expect((await start.json()).error.message).toContain(message)

    const unknown = await twoImports(
      'Hi {{firstName}}, how is {{Region|your region}} going?',
      '.unknown',
    )
    const refused = await preview(unknown)
    expect(refused.problems).toEqual(['body: unknown field {{Region}}'])
    expect(refused.messages.map((m: { problem: string | null }) => m.problem)).toEqual([
      'body: unknown field {{Region}}',
      'body: unknown field {{Region}}',
    ])
  })
})
