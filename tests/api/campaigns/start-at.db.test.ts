import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { claimImport, runImport } from '../../../api/campaigns/imports.ts'
import { enqueueDueRecipients } from '../../../api/campaigns/sending.ts'
import { sdrDay } from '../../../api/campaigns/sdr-day.ts'
import { campaignRecipients, campaigns, outbox, webhookEvents } from '../../../api/db/schema.ts'
import { form, formAnswer, json, ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from './fixtures.ts'

// "Start at": the start names a day and time on the campaign's clock; the campaign is sending
// at once, but nobody is enqueued before that instant.

const ctx = await setupTestApp(CAMPAIGN_ENV)
const db = ctx.deps.db
const env = ctx.deps.env
const owner = await signedInAs(ctx, 'sdr')
const headers = { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' }
// Friday 6 March 2026, 15:00 in New York (EST, UTC-5); clocks go forward on Sunday the 8th.
ctx.clock.set(new Date('2026-03-06T20:00:00Z'))

let senders = 0
async function draft() {
  const c = await makeCampaign(ctx, owner.user, {
    senderEmail: `start${++senders}@frontdoor.example`,
    timezone: 'America/New_York',
    windowStartHour: 8,
    windowEndHour: 18,
    ratePerHour: 60,
  })
  const body = new FormData()
  body.set(
    'file',
    new File(
      [
        csv([
          ['email', 'first name'],
          // People of their own: one still waiting in another draft is not imported again.
          [`ana@acme${senders}.example`, 'Ana'],
          [`bo@acme${senders}.example`, 'Bo'],
        ]),
      ],
      'p.csv',
      { type: 'text/csv' },
    ),
  )
  await ctx.app.request(`/api/campaigns/${c.id}/imports`, { method: 'POST', headers, body })
  for (;;) {
    const job = await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' })
    if (!job) break
    await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  }
  return c.id
}

const start = (id: string, body?: Record<string, unknown>) =>
  ctx.app.request(
    `/api/campaigns/${id}/start`,
    body ? json(body, headers) : { method: 'POST', headers },
  )
const row = async (id: string) =>
  (await db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!
const enqueued = async (id: string) =>
  (await db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, id))).filter(
    (r) => r.outboxId !== null,
  )
const run = () => enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 30_000 })

describe('starting a campaign at a later time', () => {
  it('is sending at once but enqueues nobody before the start, then at the window and rate', async () => {
    const id = await draft()
    // Monday 9 March 09:00 in New York: EDT by then, so 13:00 UTC (EST would be 14:00).
    const res = await start(id, { startDate: '2026-03-09', startTime: '09:00' })
    expect(res.status).toBe(200)
    const { campaign } = await res.json()
    expect(campaign).toMatchObject({ status: 'sending', startAfter: '2026-03-09T13:00:00.000Z' })
    // Integrations learn the start time with the start.
    const [event] = await db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.type, 'campaign.started'))
    expect(event!.data).toMatchObject({
      campaign: { id, startAfter: '2026-03-09T13:00:00.000Z' },
    })

    // Friday afternoon is inside the window, but before the start: nothing.
    await run()
    expect(await enqueued(id)).toEqual([])
    ctx.clock.set(new Date('2026-03-09T12:59:29Z'))
    await run()
    expect(await enqueued(id)).toEqual([])
    expect(await db.select().from(outbox).where(eq(outbox.category, 'outreach'))).toEqual([])

    // 30 s before the start, the first one is enqueued for the start itself; the next a minute on.
    ctx.clock.set(new Date('2026-03-09T12:59:30Z'))
    await run()
    const [first] = await enqueued(id)
    expect(first).toMatchObject({ scheduledAt: new Date('2026-03-09T13:00:00Z') })
    const [queued] = await db.select().from(outbox).where(eq(outbox.id, first!.outboxId!))
    expect(queued!.runAfter).toEqual(new Date('2026-03-09T13:00:00Z'))
    ctx.clock.set(new Date('2026-03-09T13:00:29Z'))
    await run()
    expect(await enqueued(id)).toHaveLength(1)
    ctx.clock.set(new Date('2026-03-09T13:00:30Z'))
    await run()
    expect((await enqueued(id)).map((r) => r.scheduledAt)).toEqual([
      new Date('2026-03-09T13:00:00Z'),
      new Date('2026-03-09T13:01:00Z'),
    ])
  })

  it('keeps the start time through a pause and a resume, and My day shows it until then', async () => {
    ctx.clock.set(new Date('2026-03-06T20:00:00Z'))
    const id = await draft()
    expect((await start(id, { startDate: '2026-03-09', startTime: '09:00' })).status).toBe(200)
    for (const action of ['pause', 'resume'])
      expect(
        (await ctx.app.request(`/api/campaigns/${id}/${action}`, { method: 'POST', headers }))
          .status,
      ).toBe(200)
    expect(await row(id)).toMatchObject({
      status: 'sending',
      startAfter: new Date('2026-03-09T13:00:00Z'),
    })
    await run()
    expect(await enqueued(id)).toEqual([])
    const line = async () =>
      (await sdrDay(db, owner.user.id, ctx.clock.now())).campaigns.find((c) => c.id === id)
    expect(await line()).toMatchObject({
      startsAt: new Date('2026-03-09T13:00:00Z'),
      timeZone: 'America/New_York',
    })
    ctx.clock.set(new Date('2026-03-09T13:00:00Z'))
    expect(await line()).toMatchObject({ startsAt: null })
  })

  it('starts now with no time, as before', async () => {
    ctx.clock.set(new Date('2026-03-06T20:00:00Z'))
    for (const body of [undefined, {}, { startDate: '', startTime: null }]) {
      const id = await draft()
      expect((await start(id, body)).status).toBe(200)
      expect(await row(id)).toMatchObject({ status: 'sending', startAfter: null })
      await run()
      expect(await enqueued(id)).toHaveLength(1)
    }
  })

  it('refuses a past, too distant, malformed or half-given time with 422, starting nothing', async () => {
    ctx.clock.set(new Date('2026-03-06T20:00:00Z'))
    const id = await draft()
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ startDate: '2026-03-06', startTime: '14:59' }, /has passed/],
      [{ startDate: '2026-06-05', startTime: '09:00' }, /more than 90 days ahead/],
      [{ startDate: '2026-02-30', startTime: '09:00' }, /start date as YYYY-MM-DD/],
      [{ startDate: '2026-03-09', startTime: '9am' }, /start time as HH:MM/],
      [{ startDate: '2026-03-09' }, /both a date and a time/],
      [{ startTime: '09:00' }, /both a date and a time/],
      [{ startDate: '2026-03-09', startTime: '09:00', startZone: 'UTC' }, /startZone/],
    ]
    for (const [body, message] of cases) {
      const res = await start(id, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      const { error } = await res.json()
      expect(JSON.stringify(error)).toMatch(message)
      // Each problem is its field's, as a validation failure's are.
      expect(Object.values(error.fields ?? {}).join(' '), JSON.stringify(body)).toMatch(message)
    }
    expect(await row(id)).toMatchObject({ status: 'draft', startAfter: null, startedAt: null })
  })

  it('takes the start from the page’s plain form, answering with a 303 and the time it read', async () => {
    ctx.clock.set(new Date('2026-03-06T20:00:00Z'))
    const id = await draft()
    const page = `/app/campaigns/${id}`
    const cookie = { cookie: owner.cookie, origin: ORIGIN }
    const bad = await ctx.app.request(
      `/api/campaigns/${id}/start`,
      form({ startDate: '2026-03-01', startTime: '09:00' }, cookie),
    )
    expect(bad.status).toBe(303)
    const refused = new URL(bad.headers.get('location')!, ORIGIN)
    expect(refused.pathname).toBe(page)
    expect(refused.searchParams.get('error')).toMatch(/has passed/)
    // Beside the field at fault: a day gone is the date's, a time gone today the time's.
    expect(formAnswer(ctx, bad, owner.user.id).flash).toMatchObject({
      values: { startDate: '2026-03-01', startTime: '09:00' },
      fields: { startDate: expect.stringMatching(/has passed/) },
    })
    const earlier = await ctx.app.request(
      `/api/campaigns/${id}/start`,
      form({ startDate: '2026-03-06', startTime: '14:59' }, cookie),
    )
    expect(formAnswer(ctx, earlier, owner.user.id).flash?.fields).toEqual({
      startTime: expect.stringMatching(/has passed/),
    })
    const far = await ctx.app.request(
      `/api/campaigns/${id}/start`,
      form({ startDate: '2026-06-05', startTime: '09:00' }, cookie),
    )
    expect(formAnswer(ctx, far, owner.user.id).flash?.fields).toEqual({
      startDate: expect.stringMatching(/more than 90 days/),
    })
    expect((await row(id)).status).toBe('draft')

    // 02:30 on 8 March does not exist in New York (02:00 jumps to 03:00): read as 03:30 EDT.
    const res = await ctx.app.request(
      `/api/campaigns/${id}/start`,
      form({ startDate: '2026-03-08', startTime: '02:30' }, cookie),
    )
    expect(res.status).toBe(303)
    const to = new URL(res.headers.get('location')!, ORIGIN)
    expect(to.pathname).toBe(page)
    expect(to.searchParams.get('notice')).toMatch(
      /^Scheduled: starts Mar 8, 2026, 03:30 .*New_York/,
    )
    expect(await row(id)).toMatchObject({ startAfter: new Date('2026-03-08T07:30:00Z') })
  })
})
