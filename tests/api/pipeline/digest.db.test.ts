import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { outbox, users } from '../../../api/db/schema.ts'
import { planNextStep } from '../../../api/pipeline/activities.ts'
import { sendDailyDigests } from '../../../api/pipeline/digest.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
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
})
