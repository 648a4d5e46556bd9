import { and, eq, inArray, isNull } from 'drizzle-orm'
import { render as renderDigest } from '../../email-templates/next-steps-digest.ts'
import { addDays, wallTime } from '../accounts/time-zones.ts'
import { ROLES } from '../accounts/users.ts'
import type { Db } from '../db/client.ts'
import { outbox, users } from '../db/schema.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { brandOf, loadSenderSettings } from '../email/sender.ts'
import type { Env } from '../env.ts'
import { dueLabel, stepTitle } from './activities.ts'
import {
  dealsWithoutNextStep,
  hasOwnSteps,
  sortSteps,
  stepsDueBy,
  type DealLine,
} from './my-day.ts'
import { leadQueue } from './queries.ts'
import type { Activity } from './activities.ts'

// The morning digest of next steps, for those who ask for it (users.daily_digest, set on My
// day): once a day, from 07:00 on their own clock, their overdue and today's next steps, how many
// of their open deals have none and how many leads wait. The lead notifier's tick sends it; the
// dedupe key names the person and their day, so any number of processes mail it once.

export const DIGEST_HOUR = 7

const dayName = new Intl.DateTimeFormat('en', {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  timeZone: 'UTC',
})

export async function sendDailyDigests(db: Db, env: Env, now: Date): Promise<number> {
  const people = await db
    .select({ id: users.id, name: users.name, email: users.email, timeZone: users.timeZone })
    .from(users)
    .where(
      and(
        eq(users.dailyDigest, true),
        isNull(users.disabledAt),
        inArray(
          users.role,
          ROLES.filter((role) => hasOwnSteps({ role })),
        ),
      ),
    )
  let sent = 0
  for (const person of people) {
    const local = wallTime(now, person.timeZone)
    if (local.hour < DIGEST_HOUR) continue
    const dedupeKey = `next-steps-digest:${person.id}:${local.day}`
    const [done] = await db
      .select({ id: outbox.id })
      .from(outbox)
      .where(eq(outbox.dedupeKey, dedupeKey))
    if (done) continue
    const due = await stepsDueBy(db, person.id, addDays(local.day, 1))
    const { overdue, today } = sortSteps(due.steps, now)
    const withoutNextStep = (await dealsWithoutNextStep(db, person.id, 0)).count
    const leadsWaiting = (await leadQueue(db, { limit: 1 })).count
    // Nothing to say today: no email (tomorrow is another day).
    if (overdue.length + today.length + withoutNextStep + leadsWaiting === 0) continue
    const step = (s: DealLine & { step: Activity }, withDay: boolean) => ({
      deal: s.companyName ?? s.title,
      what: stepTitle(s.step),
      due: withDay ? dueLabel(s.step) : null,
      contact: s.contactName,
      note: s.step.note,
    })
    const mail = renderDigest({
      brand: brandOf(await loadSenderSettings(db, env)),
      recipientName: person.name.split(' ')[0],
      dayName: dayName.format(new Date(`${local.day}T00:00:00Z`)),
      overdue: overdue.map((s) => step(s, true)),
      today: today.map((s) => step(s, false)),
      withoutNextStep,
      leadsWaiting,
      stepsCapped: due.capped,
      myDayUrl: `${env.APP_ORIGIN}/app/my-day`,
    })
    const id = await enqueueEmail(db, {
      category: 'transactional',
      to: { name: person.name, address: person.email },
      recipient: person.email,
      ...mail,
      template: 'next-steps-digest',
      dedupeKey,
      now,
    })
    if (id) sent++
  }
  return sent
}
