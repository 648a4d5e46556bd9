import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { activities, deals, outbox, users } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { planNextStep } from '../../../api/pipeline/activities.ts'
import { sendDailyDigests } from '../../../api/pipeline/digest.ts'
import { myDayView } from '../../../api/pipeline/my-day.ts'
import { addUser, form, json, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'

// The morning digest of next steps: only to those who asked, from 07:00 on their own clock,
// once a day, listing overdue and today's steps.

const ctx = await setupTestApp()
const db = ctx.deps.db
const digests = async () =>
  (await db.select().from(outbox)).filter(
    (m) => (m.payload as { template: string }).template === 'next-steps-digest',
  )

describe('the morning digest of next steps', () => {
  it('goes once a day after 07:00 on each person’s clock, to those who asked, with their steps', async () => {
    // 29 Nov 2026, 05:30 UTC: 06:30 in Berlin, 14:30 in Tokyo, 00:30 in New York.
    ctx.clock.set(new Date('2026-11-29T05:30:00Z'))
    const berlin = await addUser(ctx, 'rep', 'berlin@team.example')
    const tokyo = await addUser(ctx, 'rep', 'tokyo@team.example')
    const quiet = await addUser(ctx, 'rep', 'quiet@team.example')
    for (const [u, zone, digest] of [
      [berlin, 'Europe/Berlin', true],
      [tokyo, 'Asia/Tokyo', true],
      [quiet, 'Asia/Tokyo', false],
    ] as const)
      await db.update(users).set({ timeZone: zone, dailyDigest: digest }).where(eq(users.id, u.id))
    const deal = await makeDeal(db, { stage: 'demo', ownerId: tokyo.id, companyName: 'Kyoto Ink' })
    const planned = await planNextStep(
      db,
      deal.id,
      { id: tokyo.id, role: 'rep' },
      { type: 'call', dueOn: '2026-11-29', dueTime: '16:00', note: 'Pricing questions' },
      ctx.clock.now(),
    )
    expect(planned.ok).toBe(true)
    await makeDeal(db, { stage: 'negotiation', ownerId: berlin.id })

    expect(await sendDailyDigests(db, ctx.deps.env, ctx.clock.now())).toBe(1)
    const [toTokyo] = await digests()
    expect(toTokyo!.recipient).toBe(tokyo.email)
    const payload = toTokyo!.payload as { subject: string; text: string }
    expect(payload.subject).toBe('Your day: 1 next step due today')
    expect(payload.text).toContain('Kyoto Ink: Call at 16:00')
    expect(payload.text).toContain('Pricing questions')
    // Again the same day: nothing more.
    ctx.clock.advance(3 * 3_600_000)
    expect(await sendDailyDigests(db, ctx.deps.env, ctx.clock.now())).toBe(1) // 09:30 in Berlin
    const [, toBerlin] = await digests()
    expect(toBerlin!.recipient).toBe(berlin.email)
    expect((toBerlin!.payload as { text: string }).text).toContain(
      '1 open deal has no next step planned.',
    )
    expect(await sendDailyDigests(db, ctx.deps.env, ctx.clock.now())).toBe(0)
    // The next day, the Tokyo call is overdue.
    ctx.clock.set(new Date('2026-11-30T00:00:00Z')) // 09:00 in Tokyo
    expect(await sendDailyDigests(db, ctx.deps.env, ctx.clock.now())).toBe(1)
    const next = (await digests()).at(-1)!.payload as { subject: string }
    expect(next.subject).toBe('Your day: 1 overdue next step, 0 due today')
    expect((await digests()).map((m) => m.recipient)).not.toContain(quiet.email)
  })

  it('counts more than a hundred overdue steps as "100+", and exactly a hundred as 100', async () => {
    ctx.clock.set(new Date('2026-12-10T09:00:00Z')) // 09:00 in London
    const rep = await addUser(ctx, 'rep', 'busy@team.example')
    await db
      .update(users)
      .set({ timeZone: 'Europe/London', dailyDigest: true })
      .where(eq(users.id, rep.id))
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.id, companyName: 'Many Steps' })
    await db.update(deals).set({ nextStepOn: '2026-12-01' }).where(eq(deals.id, deal.id))
    const overdue = (n: number) =>
      db.insert(activities).values(
        Array.from({ length: n }, () => ({
          id: newId(),
          dealId: deal.id,
          type: 'call' as const,
          dueOn: '2026-12-01',
          timeZone: 'Europe/London',
        })),
      )
    const subject = async () =>
      ((await digests()).find((m) => m.recipient === rep.email)!.payload as { subject: string })
        .subject
    await overdue(100)
    await sendDailyDigests(db, ctx.deps.env, ctx.clock.now())
    expect(await subject()).toBe('Your day: 100 overdue next steps, 0 due today')

    await db.delete(outbox)
    await overdue(1)
    await sendDailyDigests(db, ctx.deps.env, ctx.clock.now())
    expect(await subject()).toBe('Your day: 100+ overdue next steps')
    const view = await myDayView(db, { id: rep.id, role: 'rep' }, ctx.clock.now())
    expect(view.ok && [view.overdue.length, view.stepsCapped]).toEqual([100, true])
  })

  it('is offered only to those with next steps of their own: not to an SDR, who owns no deal', async () => {
    const sdr = await signedInAs(ctx, 'sdr')
    const rep = await signedInAs(ctx, 'rep')
    const now = ctx.clock.now()
    const sdrView = await myDayView(db, { id: sdr.user.id, role: 'sdr' }, now)
    expect(sdrView.ok && sdrView.digestOffered).toBe(false)
    const repView = await myDayView(db, { id: rep.user.id, role: 'rep' }, now)
    expect(repView.ok && repView.digestOffered).toBe(true)

    const asked = await ctx.app.request(
      '/api/activities/preferences',
      json({ timeZone: 'Europe/Paris', dailyDigest: true }, { cookie: sdr.cookie }),
    )
    expect(asked.status).toBe(403)
    const byForm = await ctx.app.request(
      '/api/activities/preferences',
      form(
        { timeZone: 'Europe/Paris', dailyDigest: 'on', next: '/app/my-day' },
        { cookie: sdr.cookie },
      ),
    )
    expect(byForm.status).toBe(303)
    expect(byForm.headers.get('location')).toContain('error=')
    // The time zone alone (My day's form, which has no checkbox for them) is saved.
    const zoneOnly = await ctx.app.request(
      '/api/activities/preferences',
      form({ timeZone: 'Europe/Paris', next: '/app/my-day' }, { cookie: sdr.cookie }),
    )
    expect(zoneOnly.headers.get('location')).not.toContain('error=')
    const [me] = await db.select().from(users).where(eq(users.id, sdr.user.id))
    expect(me).toMatchObject({ timeZone: 'Europe/Paris', dailyDigest: false })
  })
})
