import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { users } from '../../../api/db/schema.ts'
import { homeView } from '../../../api/pipeline/views.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'

// The forecast's months are the reader's, as a won deal's close date is (won-close-date.db.test):
// at 19:00 on 30 November in Los Angeles it is still November there, though UTC is in December,
// and a deal expected to close that day is due this month, not overdue; at 08:00 on 1 December in
// Tokyo, December has begun there though UTC is still in November.

const ctx = await setupTestApp()
const db = ctx.deps.db

async function personIn(role: 'rep' | 'admin', timeZone: string) {
  const person = await signedInAs(ctx, role)
  await db.update(users).set({ timeZone }).where(eq(users.id, person.user.id))
  return person
}

const cases = [
  // [zone, now, the month there, a close date that is today there]
  ['America/Los_Angeles', '2026-12-01T03:00:00Z', '2026-11', '2026-11-30'],
  ['Asia/Tokyo', '2026-11-30T23:00:00Z', '2026-12', '2026-12-01'],
] as const

describe('the forecast on the reader’s clock', () => {
  it.each(cases)(
    'in %s at %s starts with %s and counts a deal closing today in it',
    async (zone, at, month, today) => {
      const rep = await personIn('rep', zone)
      await makeDeal(db, {
        stage: 'negotiation',
        ownerId: rep.user.id,
        amountCents: 1_000_000,
        expectedCloseDate: today,
      })
      ctx.clock.set(new Date(at))
      const res = await ctx.app.request('/api/deals/forecast?owner=me', {
        headers: { cookie: rep.cookie },
      })
      expect(res.status).toBe(200)
      const { forecast } = await res.json()
      expect(forecast.months[0]).toEqual({
        key: month,
        count: 1,
        money: [{ currency: 'EUR', totalCents: 1_000_000, weightedCents: 700_000 }],
      })
      expect(forecast.overdue.count).toBe(0)
    },
  )

  it.each(cases)(
    'on the start page in %s at %s is the month %s',
    async (zone, at, month, today) => {
      const admin = await personIn('admin', zone)
      await makeDeal(db, {
        stage: 'demo',
        ownerId: admin.user.id,
        amountCents: 500_000,
        expectedCloseDate: today,
      })
      const view = await homeView(db, admin.user, new Date(at))
      if (!view.ok) throw new Error(view.message)
      expect(view.month.key).toBe(month)
      expect(view.month.count).toBeGreaterThanOrEqual(1)
    },
  )
})
