import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { activities, dealEvents, deals, users } from '../../../api/db/schema.ts'
import { readFormFlash } from '../../../api/http/form-flash.ts'
import { planNextStep, type PlanInput } from '../../../api/pipeline/activities.ts'
import { MY_DAY_STEP_LIMIT } from '../../../api/pipeline/my-day.ts'
import { pipelineView } from '../../../api/pipeline/views.ts'
import { ORIGIN, form, json, setupTestApp, signedInAs, unsigned } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

// /api/activities: next steps planned, done with an outcome and logged after the fact, on the
// deal's timeline; My day; the person's zone and digest choice. Roles as for deals: reps on their
// own deals, admins on all, SDRs read.

const ctx = await setupTestApp()
const db = ctx.deps.db
const owner = await signedInAs(ctx, 'rep')
const people = {
  anonymous: { cookie: '' },
  sdr: await signedInAs(ctx, 'sdr'),
  owner,
  'other rep': await signedInAs(ctx, 'rep'),
  admin: await signedInAs(ctx, 'admin'),
}
type Who = keyof typeof people

// The test clock: 2026-11-29 10:00 UTC.
const TOMORROW = '2026-11-30'

async function request(who: Who, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { origin: ORIGIN, accept: 'application/json' }
  if (people[who].cookie) headers.cookie = people[who].cookie
  const init = body === undefined ? { method, headers } : { ...json(body, headers), method }
  return ctx.app.request(path, init)
}

async function plannedStep(dealId: string) {
  const planned = await planNextStep(
    db,
    dealId,
    { id: owner.user.id, role: 'rep' },
    { type: 'call', dueOn: TOMORROW },
    ctx.clock.now(),
  )
  if (!planned.ok) throw new Error(planned.message)
  return planned.activity
}

type Call = (ids: { deal: string; step: string }) => {
  method: string
  path: string
  body?: unknown
}

const routes: Array<[string, Call, Record<Who, number>]> = [
  [
    'GET My day',
    () => ({ method: 'GET', path: '/api/activities/my-day' }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'GET a deal’s activities',
    ({ deal }) => ({ method: 'GET', path: `/api/activities?dealId=${deal}` }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'GET one activity',
    ({ step }) => ({ method: 'GET', path: `/api/activities/${step}` }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'POST plan a next step',
    ({ deal }) => ({
      method: 'POST',
      path: '/api/activities',
      body: { dealId: deal, type: 'meeting', dueOn: TOMORROW, dueTime: '14:00' },
    }),
    { anonymous: 401, sdr: 403, owner: 201, 'other rep': 403, admin: 201 },
  ],
  [
    'POST log an activity',
    ({ deal }) => ({
      method: 'POST',
      path: '/api/activities/log',
      body: { dealId: deal, type: 'call', note: 'Talked budget' },
    }),
    { anonymous: 401, sdr: 403, owner: 201, 'other rep': 403, admin: 201 },
  ],
  [
    'POST mark done',
    ({ step }) => ({
      method: 'POST',
      path: `/api/activities/${step}/done`,
      body: { outcome: 'left voicemail' },
    }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'POST reschedule',
    ({ step }) => ({
      method: 'POST',
      path: `/api/activities/${step}/reschedule`,
      body: { dueOn: '2026-12-02', dueTime: '11:00' },
    }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'POST cancel',
    ({ step }) => ({ method: 'POST', path: `/api/activities/${step}/cancel`, body: {} }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'GET my preferences',
    () => ({ method: 'GET', path: '/api/activities/preferences' }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'POST my preferences',
    () => ({
      method: 'POST',
      path: '/api/activities/preferences',
      body: { timeZone: 'UTC' },
    }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
]

describe('who may call each /api/activities route', () => {
  for (const [name, call, expected] of routes) {
    it.each(Object.keys(expected) as Who[])(`${name}: %s`, async (who) => {
      const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
      const step = await plannedStep(deal.id)
      const { method, path, body } = call({ deal: deal.id, step: step.id })
      const res = await request(who, method, path, body)
      expect(res.status, await res.clone().text()).toBe(expected[who])
    })
  }
})

describe('planning, doing and logging', () => {
  it('plans a call, keeps the deal’s next step, marks it done with an outcome, all on the timeline', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const planned = await request('owner', 'POST', '/api/activities', {
      dealId: deal.id,
      type: 'call',
      dueOn: TOMORROW,
      dueTime: '09:30',
      note: 'Ask about the budget',
    })
    expect(planned.status).toBe(201)
    const { activity } = await planned.json()
    expect(activity).toMatchObject({ type: 'call', dueOn: TOMORROW, dueTime: '09:30' })
    expect(activity.timeZone).toBe('UTC')
    const later = await request('owner', 'POST', '/api/activities', {
      dealId: deal.id,
      type: 'email',
      dueOn: '2026-12-05',
    })
    expect(later.status).toBe(201)
    const row = async () => (await db.select().from(deals).where(eq(deals.id, deal.id)))[0]!
    expect((await row()).nextStepOn).toBe(TOMORROW)

    const list = await (await request('owner', 'GET', `/api/activities?dealId=${deal.id}`)).json()
    expect(list.open.map((a: { type: string }) => a.type)).toEqual(['call', 'email'])

    ctx.clock.advance(60_000)
    const done = await request('owner', 'POST', `/api/activities/${activity.id}/done`, {
      outcome: 'left voicemail',
    })
    expect(done.status).toBe(200)
    expect((await done.json()).activity).toMatchObject({ outcome: 'left voicemail' })
    expect((await row()).nextStepOn).toBe('2026-12-05')
    const again = await request('owner', 'POST', `/api/activities/${activity.id}/done`, {
      outcome: 'twice',
    })
    expect(again.status).toBe(409)

    const timeline = (await (await request('owner', 'GET', `/api/deals/${deal.id}`)).json())
      .timeline as Array<{ kind: string; title: string; detail: string | null; actor: string }>
    const titles = timeline.filter((e) => e.kind === 'activity').map((e) => e.title)
    expect(titles).toEqual([
      'Call — left voicemail',
      'Next step planned: Email, due Sat, Dec 5',
      'Next step planned: Call, due Mon, Nov 30, 09:30 (UTC)',
    ])
    expect(timeline.find((e) => e.title === 'Call — left voicemail')!.actor).toBe(owner.user.name)
  })

  it('reschedules a next step and cancels one, keeping the deal’s next step and the timeline', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const step = await plannedStep(deal.id)
    const row = async () => (await db.select().from(deals).where(eq(deals.id, deal.id)))[0]!
    const timelineOf = async () =>
      (
        (await (await request('owner', 'GET', `/api/deals/${deal.id}`)).json()).timeline as Array<{
          kind: string
          title: string
          actor: string
        }>
      ).filter((e) => e.kind === 'activity')

    // An admin moves it (on their clock, UTC here) to a later day and a time.
    const moved = await request('admin', 'POST', `/api/activities/${step.id}/reschedule`, {
      dueOn: '2026-12-03',
      dueTime: '15:30',
    })
    expect(moved.status, await moved.clone().text()).toBe(200)
    expect((await moved.json()).activity).toMatchObject({
      id: step.id,
      dueOn: '2026-12-03',
      dueTime: '15:30',
      doneAt: null,
    })
    expect((await row()).nextStepOn).toBe('2026-12-03')
    expect((await timelineOf())[0]).toMatchObject({
      title: 'Next step rescheduled: Call from Mon, Nov 30 to Thu, Dec 3, 15:30 (UTC)',
      actor: people.admin.user.name,
    })

    // The same time again (sent twice) succeeds and changes nothing; refusals change nothing
    // either: the past, bad input, an unknown step.
    const before = await db.select().from(activities).where(eq(activities.id, step.id))
    for (const [body, status] of [
      [{ dueOn: '2026-11-28' }, 422],
      [{ dueOn: '2026-12-03', dueTime: '15:30' }, 200],
      [{ dueOn: '2026-02-30' }, 422],
      [{ dueOn: '2026-12-03', dueTime: '25:00' }, 422],
      [{ dueOn: '2026-12-03', extra: 1 }, 422],
    ] as const) {
      const res = await request('owner', 'POST', `/api/activities/${step.id}/reschedule`, body)
      expect(res.status, JSON.stringify(body)).toBe(status)
    }
    const unknown = '00000000-0000-4000-8000-000000000000'
    expect(
      (await request('owner', 'POST', `/api/activities/${unknown}/reschedule`, { dueOn: TOMORROW }))
        .status,
    ).toBe(404)
    expect((await request('owner', 'POST', `/api/activities/${unknown}/cancel`, {})).status).toBe(
      404,
    )
    expect(await db.select().from(activities).where(eq(activities.id, step.id))).toEqual(before)

    // A second step, then the first is cancelled: the deal's next step is the second's day.
    const second = await request('owner', 'POST', '/api/activities', {
      dealId: deal.id,
      type: 'email',
      dueOn: '2026-12-07',
    })
    expect(second.status).toBe(201)
    const cancelled = await request('owner', 'POST', `/api/activities/${step.id}/cancel`, {})
    expect(cancelled.status).toBe(200)
    expect(await db.select().from(activities).where(eq(activities.id, step.id))).toEqual([])
    expect((await row()).nextStepOn).toBe('2026-12-07')
    expect((await timelineOf())[0]).toMatchObject({
      title: 'Next step cancelled: Call, was due Thu, Dec 3, 15:30 (UTC)',
      actor: owner.user.name,
    })
    // Cancelled again (sent twice): it already is.
    expect((await request('owner', 'POST', `/api/activities/${step.id}/cancel`, {})).status).toBe(
      200,
    )
    expect((await timelineOf())[0]!.title).toBe(
      'Next step cancelled: Call, was due Thu, Dec 3, 15:30 (UTC)',
    )

    // A done step can be neither moved nor cancelled; cancelling the last open one leaves the
    // deal without a next step (flagged on the board).
    const { activity: email } = await second.json()
    await request('owner', 'POST', `/api/activities/${email.id}/done`, { outcome: 'sent' })
    const doneMove = await request('owner', 'POST', `/api/activities/${email.id}/reschedule`, {
      dueOn: '2026-12-09',
    })
    expect(doneMove.status).toBe(409)
    expect((await request('owner', 'POST', `/api/activities/${email.id}/cancel`, {})).status).toBe(
      409,
    )
    const third = await plannedStep(deal.id)
    expect((await row()).nextStepOn).toBe(TOMORROW)
    await request('owner', 'POST', `/api/activities/${third.id}/cancel`, {})
    expect((await row()).nextStepOn).toBeNull()
  })

  it('takes null, as the API returns it, for “no time” and “no note”', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const planned = await request('owner', 'POST', '/api/activities', {
      dealId: deal.id,
      type: 'call',
      dueOn: TOMORROW,
      dueTime: null,
      note: null,
    })
    expect(planned.status, await planned.clone().text()).toBe(201)
    const { activity } = await planned.json()
    expect(activity).toMatchObject({ dueTime: null, note: null })
    // An activity read back and sent again, its time moved, then taken off.
    const timed = await request('owner', 'POST', `/api/activities/${activity.id}/reschedule`, {
      dueOn: activity.dueOn,
      dueTime: '09:00',
    })
    expect(timed.status, await timed.clone().text()).toBe(200)
    const untimed = await request('owner', 'POST', `/api/activities/${activity.id}/reschedule`, {
      dueOn: activity.dueOn,
      dueTime: null,
    })
    expect(untimed.status, await untimed.clone().text()).toBe(200)
    expect((await untimed.json()).activity).toMatchObject({ dueOn: TOMORROW, dueTime: null })
    const done = await request('owner', 'POST', `/api/activities/${activity.id}/done`, {
      outcome: 'left voicemail',
      note: null,
    })
    expect(done.status, await done.clone().text()).toBe(200)
  })

  it('reschedules and cancels from the deal page’s plain forms, back to the page', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const step = await plannedStep(deal.id)
    const next = `/app/deals/${deal.id}`
    const moved = await ctx.app.request(
      `/api/activities/${step.id}/reschedule`,
      form({ dueOn: '2026-12-01', dueTime: '', next }, { cookie: owner.cookie }),
    )
    expect(moved.status).toBe(303)
    expect(unsigned(moved.headers.get('location'))).toBe(`${next}?notice=Next+step+rescheduled.`)
    const refused = await ctx.app.request(
      `/api/activities/${step.id}/reschedule`,
      form({ dueOn: '2026-11-01', next }, { cookie: owner.cookie }),
    )
    expect(refused.status).toBe(303)
    expect(new URL(refused.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      'A next step is due today or later.',
    )
    const cancelled = await ctx.app.request(
      `/api/activities/${step.id}/cancel`,
      form({ next }, { cookie: owner.cookie }),
    )
    expect(cancelled.status).toBe(303)
    expect(unsigned(cancelled.headers.get('location'))).toBe(`${next}?notice=Next+step+cancelled.`)
  })

  it('logs a call after the fact from a plain form, back to the deal page', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const res = await ctx.app.request(
      '/api/activities/log',
      form(
        {
          dealId: deal.id,
          type: 'call',
          note: 'Called about the pilot',
          outcome: 'interested',
          next: `/app/deals/${deal.id}`,
        },
        { cookie: owner.cookie },
      ),
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(new RegExp(`^/app/deals/${deal.id}\\?notice=`))
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal.id))
    expect(events.find((e) => e.type === 'activity')!.data).toMatchObject({
      action: 'logged',
      activityType: 'call',
      outcome: 'interested',
      note: 'Called about the pilot',
    })
    // Logging does not plan anything: the deal still has no next step.
    expect((await db.select().from(deals).where(eq(deals.id, deal.id)))[0]!.nextStepOn).toBeNull()
  })

  it('refuses bad input with 4xx and writes nothing', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const closed = await makeDeal(db, { stage: 'lost', ownerId: owner.user.id })
    const bad: Array<[unknown, number]> = [
      [{ dealId: deal.id, type: 'fax', dueOn: TOMORROW }, 422],
      [{ dealId: deal.id, type: 'call', dueOn: '2026-02-30' }, 422],
      [{ dealId: deal.id, type: 'call', dueOn: TOMORROW, dueTime: '25:00' }, 422],
      [{ dealId: deal.id, type: 'call', dueOn: '2026-11-28' }, 422], // yesterday
      [{ dealId: deal.id, type: 'call' }, 422],
      [{ dealId: 'not-an-id', type: 'call', dueOn: TOMORROW }, 422],
      [{ dealId: deal.id, type: 'call', dueOn: TOMORROW, extra: 1 }, 422],
      [{ dealId: deal.id, type: 'call', dueOn: TOMORROW, note: 'x'.repeat(2001) }, 422],
      [{ dealId: '00000000-0000-7000-8000-000000000000', type: 'call', dueOn: TOMORROW }, 404],
      [{ dealId: closed.id, type: 'call', dueOn: TOMORROW }, 409],
      [{ dealId: deal.id, type: 'call', dueOn: TOMORROW, note: '\u0000' }, 400],
    ]
    for (const [body, status] of bad) {
      const res = await request('owner', 'POST', '/api/activities', body)
      expect(res.status, JSON.stringify(body)).toBe(status)
      expect((await res.json()).error.message).toBeTruthy()
    }
    expect(await db.select().from(activities).where(eq(activities.dealId, deal.id))).toEqual([])
    const step = await plannedStep(deal.id)
    for (const body of [{}, { outcome: '   ' }, { outcome: 'x'.repeat(301) }])
      expect((await request('owner', 'POST', `/api/activities/${step.id}/done`, body)).status).toBe(
        422,
      )
    expect(
      (await request('owner', 'POST', `/api/activities/not-an-id/done`, { outcome: 'ok' })).status,
    ).toBe(422)
    expect(
      (
        await request('owner', 'POST', '/api/activities/log', {
          dealId: deal.id,
          type: 'task',
          note: 'tasks are planned, not logged',
        })
      ).status,
    ).toBe(422)
    expect((await request('owner', 'GET', '/api/activities')).status).toBe(422)
  })

  it('a rep plans in their own zone: “today” is their day', async () => {
    const rep = await signedInAs(ctx, 'rep')
    const saved = await ctx.app.request(
      '/api/activities/preferences',
      json({ timeZone: 'pacific/kiritimati', dailyDigest: true }, { cookie: rep.cookie }),
    )
    expect(await saved.json()).toEqual({ timeZone: 'Pacific/Kiritimati', dailyDigest: true })
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    // 10:00 UTC on 29 Nov is already midnight past on Kiritimati (UTC+14): 29 Nov is yesterday.
    const plan = (dueOn: string) =>
      ctx.app.request(
        '/api/activities',
        json({ dealId: deal.id, type: 'task', dueOn }, { cookie: rep.cookie }),
      )
    expect((await plan('2026-11-29')).status).toBe(422)
    const ok = await plan('2026-11-30')
    expect(ok.status).toBe(201)
    expect((await ok.json()).activity.timeZone).toBe('Pacific/Kiritimati')
    const myDay = await (
      await ctx.app.request('/api/activities/my-day', { headers: { cookie: rep.cookie } })
    ).json()
    expect(myDay.date).toBe('2026-11-30')
    expect(myDay.today.map((s: { dealId: string }) => s.dealId)).toEqual([deal.id])
    expect(myDay.today[0].deal.title).toBe(deal.title)

    for (const bad of [{ timeZone: '+01:00' }, { timeZone: 'Mars/Olympus' }, {}]) {
      const res = await ctx.app.request(
        '/api/activities/preferences',
        json(bad, { cookie: rep.cookie }),
      )
      expect(res.status).toBe(422)
    }
    // A form without the checkbox turns the digest off.
    const off = await ctx.app.request(
      '/api/activities/preferences',
      form({ timeZone: 'Europe/Berlin', next: '/app/my-day' }, { cookie: rep.cookie }),
    )
    expect(off.status).toBe(303)
    const [me] = await db.select().from(users).where(eq(users.id, rep.user.id))
    expect(me).toMatchObject({ timeZone: 'Europe/Berlin', dailyDigest: false })
  })

  it('My day lists overdue and today’s steps, waiting leads, deals without a next step and stale deals, only the rep’s own', async () => {
    const rep = await signedInAs(ctx, 'rep')
    const other = await signedInAs(ctx, 'rep')
    const actor = { id: rep.user.id, role: 'rep' as const }
    const now = ctx.clock.now()
    const overdueDeal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const todayDeal = await makeDeal(db, { stage: 'negotiation', ownerId: rep.user.id })
    const bare = await makeDeal(db, {
      stage: 'demo',
      ownerId: rep.user.id,
      stageEnteredAt: new Date(now.getTime() - 40 * 86_400_000),
    })
    const othersDeal = await makeDeal(db, { stage: 'demo', ownerId: other.user.id })
    await makeDeal(db, { stage: 'target', ownerId: null })
    // Planned yesterday for today at 08:00, now 10:00: overdue. Another today at 17:00.
    ctx.clock.set(new Date(now.getTime() - 86_400_000))
    expect(
      (
        await planNextStep(
          db,
          overdueDeal.id,
          actor,
          { type: 'call', dueOn: '2026-11-29', dueTime: '08:00' },
          ctx.clock.now(),
        )
      ).ok,
    ).toBe(true)
    ctx.clock.set(now)
    for (const [dealId, dueTime] of [
      [todayDeal.id, '17:00'],
      [othersDeal.id, '11:00'],
    ] as const)
      await planNextStep(
        db,
        dealId,
        dealId === othersDeal.id ? { id: other.user.id, role: 'rep' } : actor,
        { type: 'meeting', dueOn: '2026-11-29', dueTime },
        now,
      )
    const res = await ctx.app.request('/api/activities/my-day', {
      headers: { cookie: rep.cookie },
    })
    expect(res.status).toBe(200)
    const day = await res.json()
    expect(day.overdue.map((s: { dealId: string }) => s.dealId)).toEqual([overdueDeal.id])
    expect(day.today.map((s: { dealId: string }) => s.dealId)).toEqual([todayDeal.id])
    expect(day.withoutNextStep.deals.map((d: { dealId: string }) => d.dealId)).toEqual([bare.id])
    expect(day.withoutNextStep.count).toBe(1)
    expect(day.leadsWaiting.count).toBeGreaterThanOrEqual(1)
    expect(day.stale.deals.map((d: { id: string }) => d.id)).toContain(bare.id)
    expect(day.stepsCapped).toBe(false)

    // The board counts the deal without a next step and carries the others' next steps.
    const board = await pipelineView(db, actor, ctx.clock.now(), {})
    if (!board.ok) throw new Error(board.message)
    expect(board.noNextStep).toEqual({ demo: 1 })
    expect(board.open.noNextStep).toBe(1)
    expect(board.nextSteps.get(todayDeal.id)).toMatchObject({ type: 'meeting', dueTime: '17:00' })
    expect(board.nextSteps.has(bare.id)).toBe(false)
  })
})

describe('My day over the API with more steps due than it lists', () => {
  it('lists the soonest MY_DAY_STEP_LIMIT and says more are due', async () => {
    const rep = await signedInAs(ctx, 'rep')
    const actor = { id: rep.user.id, role: 'rep' as const }
    const now = ctx.clock.now()
    const myDay = async () =>
      (await ctx.app.request('/api/activities/my-day', { headers: { cookie: rep.cookie } })).json()
    const planned: string[] = []
    for (let i = 0; i <= MY_DAY_STEP_LIMIT; i++) {
      if (i === MY_DAY_STEP_LIMIT) {
        const full = await myDay()
        expect(full.upcoming).toHaveLength(MY_DAY_STEP_LIMIT)
        expect(full.stepsCapped).toBe(false)
      }
      const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
      // Due tomorrow at 00:00, 00:01, …: the last planned is the latest due.
      const dueTime = `${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`
      const step = await planNextStep(
        db,
        deal.id,
        actor,
        { type: 'task', dueOn: TOMORROW, dueTime },
        now,
      )
      expect(step.ok).toBe(true)
      planned.push(deal.id)
    }
    const day = await myDay()
    expect(day.stepsCapped).toBe(true)
    const listed = [...day.overdue, ...day.today, ...day.upcoming].map(
      (s: { dealId: string }) => s.dealId,
    )
    expect(listed).toEqual(planned.slice(0, MY_DAY_STEP_LIMIT))
  })
})

describe('rescheduling and cancelling from My day’s plain forms', () => {
  // My day is /app/my-day, and /app for a rep: the forms post the page they are on as `next`.
  const myDay = async (cookie: string) => {
    const res = await ctx.app.request('/api/activities/my-day', { headers: { cookie } })
    expect(res.status).toBe(200)
    const day = (await res.json()) as Record<
      'overdue' | 'today' | 'upcoming',
      Array<{ id: string; dueOn: string; dueTime: string | null }>
    >
    return {
      today: day.today.map((s) => s.id),
      upcoming: day.upcoming.map((s) => `${s.id} ${s.dueOn} ${s.dueTime}`),
      all: [...day.overdue, ...day.today, ...day.upcoming].map((s) => s.id),
    }
  }
  const stepRow = async (id: string) =>
    (await db.select().from(activities).where(eq(activities.id, id)))[0] ?? null
  /** Plans a step on the rep's deal as that rep would. */
  async function planAs(rep: { user: { id: string } }, dealId: string, input: PlanInput) {
    const planned = await planNextStep(
      db,
      dealId,
      { id: rep.user.id, role: 'rep' },
      input,
      ctx.clock.now(),
    )
    if (!planned.ok) throw new Error(planned.message)
    return planned.activity
  }
  /** A rep of their own, with a deal and a call due today (the clock's 2026-11-29). */
  async function repWithCallToday() {
    const rep = await signedInAs(ctx, 'rep')
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const step = await planAs(rep, deal.id, { type: 'call', dueOn: '2026-11-29' })
    return { rep, deal, step }
  }
  const post = (path: string, body: Record<string, string>, cookie: string) =>
    ctx.app.request(path, form(body, { cookie }))

  it('a rep moves today’s call to another day, then cancels it, each time back to My day with a notice', async () => {
    const { rep, deal, step } = await repWithCallToday()
    expect((await myDay(rep.cookie)).today).toEqual([step.id])

    const moved = await post(
      `/api/activities/${step.id}/reschedule`,
      { dueOn: '2026-12-01', dueTime: '09:15', next: '/app/my-day' },
      rep.cookie,
    )
    expect(moved.status).toBe(303)
    expect(unsigned(moved.headers.get('location'))).toBe(
      '/app/my-day?notice=Next+step+rescheduled.',
    )
    expect((await myDay(rep.cookie)).today).toEqual([])
    expect((await myDay(rep.cookie)).upcoming).toEqual([`${step.id} 2026-12-01 09:15`])
    expect((await db.select().from(deals).where(eq(deals.id, deal.id)))[0]!.nextStepOn).toBe(
      '2026-12-01',
    )

    // From /app, a rep's home, and with the last round's notice still on the page's address.
    const cancelled = await post(
      `/api/activities/${step.id}/cancel`,
      { next: '/app?notice=Next+step+rescheduled.' },
      rep.cookie,
    )
    expect(cancelled.status).toBe(303)
    expect(unsigned(cancelled.headers.get('location'))).toBe('/app?notice=Next+step+cancelled.')
    expect(await stepRow(step.id)).toBeNull()
    expect((await myDay(rep.cookie)).all).toEqual([])
    expect((await db.select().from(deals).where(eq(deals.id, deal.id)))[0]!.nextStepOn).toBeNull()
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal.id))
    expect(
      events
        .filter((e) => e.type === 'activity')
        .map((e) => (e.data as { action: string }).action)
        .sort(),
    ).toEqual(['cancelled', 'planned', 'rescheduled'])
  })

  it('roles as on the deal page: another rep is sent back with the refusal and nothing moves; an admin moves and cancels any rep’s step; an SDR cannot', async () => {
    const { rep, step } = await repWithCallToday()
    const before = await stepRow(step.id)
    for (const action of ['reschedule', 'cancel'] as const) {
      const res = await post(
        `/api/activities/${step.id}/${action}`,
        { ...(action === 'reschedule' ? { dueOn: '2026-12-02' } : {}), next: '/app/my-day' },
        people['other rep'].cookie,
      )
      expect(res.status, action).toBe(303)
      const back = new URL(res.headers.get('location')!, ORIGIN)
      expect(back.pathname).toBe('/app/my-day')
      expect(back.searchParams.get('error')).toBe('This deal belongs to another rep.')
      expect(back.searchParams.has('notice')).toBe(false)

      const sdr = await post(
        `/api/activities/${step.id}/${action}`,
        { ...(action === 'reschedule' ? { dueOn: '2026-12-02' } : {}), next: '/app/my-day' },
        people.sdr.cookie,
      )
      expect(sdr.status, action).toBe(403)
    }
    expect(await stepRow(step.id)).toEqual(before)
    expect((await myDay(rep.cookie)).today).toEqual([step.id])

    const moved = await post(
      `/api/activities/${step.id}/reschedule`,
      { dueOn: '2026-12-02', next: '/app/my-day' },
      people.admin.cookie,
    )
    expect(unsigned(moved.headers.get('location'))).toBe(
      '/app/my-day?notice=Next+step+rescheduled.',
    )
    expect(await stepRow(step.id)).toMatchObject({ dueOn: '2026-12-02', dueTime: null })
    const cancelled = await post(
      `/api/activities/${step.id}/cancel`,
      { next: '/app' },
      people.admin.cookie,
    )
    expect(unsigned(cancelled.headers.get('location'))).toBe('/app?notice=Next+step+cancelled.')
    expect(await stepRow(step.id)).toBeNull()
    expect((await myDay(rep.cookie)).all).toEqual([])
  })

  it('a refused reschedule goes back to the My day it came from with what was typed, for that page only', async () => {
    const { rep, step } = await repWithCallToday()
    for (const [next, body, field, error] of [
      ['/app/my-day', { dueOn: '2026-11-28' }, 'dueOn', 'A next step is due today or later.'],
      ['/app', { dueOn: '2026-12-02', dueTime: '25:00' }, 'dueTime', null],
    ] as const) {
      const res = await post(`/api/activities/${step.id}/reschedule`, { ...body, next }, rep.cookie)
      expect(res.status).toBe(303)
      const back = new URL(res.headers.get('location')!, ORIGIN)
      expect(back.pathname).toBe(next)
      if (error) expect(back.searchParams.get('error')).toBe(error)
      else expect(back.searchParams.get('error')).toMatch(/time/i)
      // Nothing typed in the address; it comes back in a cookie for that page.
      expect(back.search).not.toContain('2026')
      const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('fd_form='))!
      expect(setCookie).toContain(`Path=${next};`)
      const flash = readFormFlash(
        ctx.deps.secret,
        setCookie.split(';')[0]!,
        next,
        rep.user.id,
        ctx.clock.now(),
      )
      expect(flash).toMatchObject({
        action: `/api/activities/${step.id}/reschedule`,
        values: body,
        fields: { [field]: expect.any(String) },
      })
      // Another page, or another person, does not get it.
      expect(
        readFormFlash(
          ctx.deps.secret,
          setCookie.split(';')[0]!,
          '/app/leads',
          rep.user.id,
          ctx.clock.now(),
        ),
      ).toBeNull()
      expect(
        readFormFlash(
          ctx.deps.secret,
          setCookie.split(';')[0]!,
          next,
          owner.user.id,
          ctx.clock.now(),
        ),
      ).toBeNull()
    }
    expect(await stepRow(step.id)).toMatchObject({ dueOn: '2026-11-29', dueTime: null })
  })

  it('the way back is a page of the app, never another site: anything else goes to My day', async () => {
    const { rep, deal } = await repWithCallToday()
    for (const next of [
      'https://evil.example/app/my-day',
      '//evil.example/app/my-day',
      '/\\evil.example/app',
      '/.//evil.example',
      'javascript:alert(1)',
      '/login',
      '/app-evil',
      '/app/../login',
      '',
    ]) {
      const step = await planAs(rep, deal.id, { type: 'task', dueOn: '2026-11-30' })
      const moved = await post(
        `/api/activities/${step.id}/reschedule`,
        { dueOn: '2026-12-04', next },
        rep.cookie,
      )
      expect(unsigned(moved.headers.get('location')), next).toBe(
        '/app/my-day?notice=Next+step+rescheduled.',
      )
      const cancelled = await post(`/api/activities/${step.id}/cancel`, { next }, rep.cookie)
      expect(unsigned(cancelled.headers.get('location')), next).toBe(
        '/app/my-day?notice=Next+step+cancelled.',
      )
    }
  })
})

describe('a form sent twice (a double click, a retry, Back and resubmit) does it once', () => {
  const next = (dealId: string) => `/app/deals/${dealId}`
  const sendForm = (path: string, body: Record<string, string>, cookie = owner.cookie) =>
    ctx.app.request(path, form(body, { cookie }))
  const stepsOf = async (dealId: string) =>
    db.select().from(activities).where(eq(activities.dealId, dealId))
  const activityEventsOf = async (dealId: string) =>
    (await db.select().from(dealEvents).where(eq(dealEvents.dealId, dealId)))
      .filter((e) => e.type === 'activity')
      .map((e) => (e.data as { action: string }).action)
      .sort()

  it('the deal page’s plan and log forms, sent twice with their key, plan one step and log one call, answering as the first time', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const plan = {
      dealId: deal.id,
      type: 'call',
      dueOn: TOMORROW,
      dueTime: '',
      note: 'Ask about the budget',
      idempotencyKey: crypto.randomUUID(),
      next: next(deal.id),
    }
    const log = {
      dealId: deal.id,
      type: 'call',
      note: 'Called about the pilot',
      outcome: '',
      idempotencyKey: crypto.randomUUID(),
      next: next(deal.id),
    }
    for (const [path, body, notice] of [
      ['/api/activities', plan, 'Next+step+planned.'],
      ['/api/activities/log', log, 'Logged+on+the+timeline.'],
    ] as const) {
      for (let i = 0; i < 2; i++) {
        const res = await sendForm(path, body)
        expect(res.status, path).toBe(303)
        expect(unsigned(res.headers.get('location')), path).toBe(
          `${next(deal.id)}?notice=${notice}`,
        )
      }
    }
    expect((await stepsOf(deal.id)).length).toBe(2)
    expect(await activityEventsOf(deal.id)).toEqual(['logged', 'planned'])

    // A new render (a new key) plans another; the key is one person's: another's is their own.
    expect(
      (await sendForm('/api/activities', { ...plan, idempotencyKey: crypto.randomUUID() })).status,
    ).toBe(303)
    expect((await sendForm('/api/activities', plan, people.admin.cookie)).status).toBe(303)
    expect((await stepsOf(deal.id)).length).toBe(4)

    // The same key with other details is refused, and writes nothing.
    const other = await sendForm('/api/activities', { ...plan, note: 'Something else' })
    expect(new URL(other.headers.get('location')!, ORIGIN).searchParams.get('error')).toMatch(
      /already sent with other details/,
    )
    expect((await stepsOf(deal.id)).length).toBe(4)
  })

  it('an API client sending the same key twice gets the same 201 body, and one step or log entry', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    for (const [path, body] of [
      [
        '/api/activities',
        { dealId: deal.id, type: 'meeting', dueOn: TOMORROW, dueTime: '14:00', note: null },
      ],
      ['/api/activities/log', { dealId: deal.id, type: 'email', note: 'Sent the deck' }],
    ] as const) {
      const keyed = { ...body, idempotencyKey: crypto.randomUUID() }
      const first = await request('owner', 'POST', path, keyed)
      expect(first.status, await first.clone().text()).toBe(201)
      const firstBody = await first.json()
      ctx.clock.advance(1_000)
      const second = await request('owner', 'POST', path, keyed)
      expect(second.status, path).toBe(201)
      expect(await second.json(), path).toEqual(firstBody)
      const conflict = await request('owner', 'POST', path, { ...keyed, note: 'Other' })
      expect(conflict.status, path).toBe(422)
      expect((await conflict.json()).error.code).toBe('idempotency_conflict')
    }
    expect((await stepsOf(deal.id)).length).toBe(2)
    expect(await activityEventsOf(deal.id)).toEqual(['logged', 'planned'])
    // Without a key (as before), each request is its own.
    const body = { dealId: deal.id, type: 'call', note: 'Again' }
    expect((await request('owner', 'POST', '/api/activities/log', body)).status).toBe(201)
    expect((await request('owner', 'POST', '/api/activities/log', body)).status).toBe(201)
    expect((await stepsOf(deal.id)).length).toBe(4)
    // A key that is not one of ours is refused.
    const bad = await request('owner', 'POST', '/api/activities/log', {
      ...body,
      idempotencyKey: 'no good!',
    })
    expect(bad.status).toBe(422)
  })

  it('Done, Reschedule and Cancel sent twice from a plain form: the second says it is already so, back to the page', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const back = next(deal.id)
    const [toMove, toCancel, toDo] = [
      await plannedStep(deal.id),
      await plannedStep(deal.id),
      await plannedStep(deal.id),
    ]
    for (const [path, body, first, second] of [
      [
        `/api/activities/${toMove!.id}/reschedule`,
        { dueOn: '2026-12-02', dueTime: '11:00', next: back },
        'Next+step+rescheduled.',
        'Already+due+then.',
      ],
      [
        `/api/activities/${toCancel!.id}/cancel`,
        { next: back },
        'Next+step+cancelled.',
        'Already+cancelled.',
      ],
      [
        `/api/activities/${toDo!.id}/done`,
        { outcome: 'left voicemail', note: '', next: back },
        'Done%2C+and+on+the+timeline.',
        'Already+marked+done.',
      ],
    ] as const) {
      const res1 = await sendForm(path, body)
      expect(unsigned(res1.headers.get('location')), path).toBe(`${back}?notice=${first}`)
      const res2 = await sendForm(path, body)
      expect(res2.status, path).toBe(303)
      expect(unsigned(res2.headers.get('location')), path).toBe(`${back}?notice=${second}`)
    }
    // One change each on the timeline.
    expect(await activityEventsOf(deal.id)).toEqual([
      'cancelled',
      'done',
      'planned',
      'planned',
      'planned',
      'rescheduled',
    ])
    // A change that conflicts with what happened is still refused.
    const otherOutcome = await sendForm(`/api/activities/${toDo!.id}/done`, {
      outcome: 'booked a demo',
      next: back,
    })
    expect(new URL(otherOutcome.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      'This next step is already done.',
    )
    const moveDone = await sendForm(`/api/activities/${toDo!.id}/reschedule`, {
      dueOn: '2026-12-02',
      next: back,
    })
    expect(new URL(moveDone.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      'This next step is already done.',
    )
    const doCancelled = await sendForm(`/api/activities/${toCancel!.id}/done`, {
      outcome: 'left voicemail',
      next: back,
    })
    expect(new URL(doCancelled.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      'There is no such next step.',
    )
  })

  it('an API client repeating Done, Reschedule or Cancel gets 200 with the step; others still may not', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
    const [toMove, toCancel, toDo] = [
      await plannedStep(deal.id),
      await plannedStep(deal.id),
      await plannedStep(deal.id),
    ]
    for (const [path, body] of [
      [`/api/activities/${toMove!.id}/reschedule`, { dueOn: '2026-12-02', dueTime: '11:00' }],
      [`/api/activities/${toCancel!.id}/cancel`, {}],
      [`/api/activities/${toDo!.id}/done`, { outcome: 'left voicemail' }],
    ] as const) {
      const first = await request('owner', 'POST', path, body)
      expect(first.status, path).toBe(200)
      const { activity } = await first.json()
      const second = await request('owner', 'POST', path, body)
      expect(second.status, path).toBe(200)
      expect((await second.json()).activity, path).toEqual(activity)
      // Another rep is refused as for any change of this deal's steps.
      expect((await request('other rep', 'POST', path, body)).status, path).toBe(403)
    }
    expect((await stepsOf(deal.id)).length).toBe(2)
    expect(
      (await request('owner', 'POST', `/api/activities/${toDo!.id}/done`, { outcome: 'other' }))
        .status,
    ).toBe(409)
  })
})
