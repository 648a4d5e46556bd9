import { and, asc, eq, isNull, lte, sql } from 'drizzle-orm'
import { can } from '../accounts/permissions.ts'
import { addDays, localDay } from '../accounts/time-zones.ts'
import type { Role } from '../accounts/users.ts'
import type { Db } from '../db/client.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { activities, companies, contacts, deals, users } from '../db/schema.ts'
import { dueHorizon, dueStatus, type Activity, type Due } from './activities.ts'
import type { Actor } from './deals.ts'
import { leadQueue, staleCounts } from './queries.ts'
import { loadPipelineSettings } from './settings.ts'
import type { StageKey } from './stages.ts'
import { staleDeals } from './views.ts'

// My day, a rep's home: their overdue and today's next steps (and the week ahead), the leads
// waiting in the queue, their open deals without a next step and those gone stale — each a
// click from acting on it. Every list is read from an index range of the rep's own deals and
// capped, so the page costs about the same with 1,000 deals or 100,000.

/** How far ahead "coming up" looks, in days after today. */
export const LOOK_AHEAD_DAYS = 7
export const MY_DAY_STEP_LIMIT = 100
const LIST_LIMIT = 10
const COUNT_CAP = 1000

export interface DealLine {
  dealId: string
  title: string
  stage: StageKey
  stageEnteredAt: Date
  companyName: string | null
  contactName: string
  contactEmail: string
  contactPhone: string | null
}

export interface DueStep extends DealLine {
  step: Activity
  due: Due
}

const lineFields = {
  dealId: deals.id,
  title: deals.title,
  stage: deals.stage,
  stageEnteredAt: deals.stageEnteredAt,
  companyName: sql<string | null>`coalesce(${companies.name}, ${contacts.companyName})`,
  firstName: contacts.firstName,
  lastName: contacts.lastName,
  contactEmail: contacts.emailDisplay,
  contactPhone: contacts.phone,
}

function toLine(r: {
  dealId: string
  title: string
  stage: StageKey
  stageEnteredAt: Date
  companyName: string | null
  firstName: string | null
  lastName: string | null
  contactEmail: string
  contactPhone: string | null
}): DealLine {
  const { firstName, lastName, ...rest } = r
  return { ...rest, contactName: [firstName, lastName].filter(Boolean).join(' ') || r.contactEmail }
}

const OPEN = sql`${deals.stage} not in ('won', 'lost')`

/**
 * Whether a person can have next steps of their own, and so My day's digest of them: only those
 * who own deals (an SDR cannot be given one).
 */
export function hasOwnSteps(user: { role: Role }): boolean {
  return can(user, 'deals:edit_own')
}

/**
 * The owner's open steps due up to `horizon` (a day), soonest first, at most `limit`, and whether
 * more are due (`capped`): the deals come from the (owner, next_step_on) index, their steps from
 * the open-steps index.
 */
export async function stepsDueBy(
  db: Db,
  ownerId: string,
  horizon: string,
  limit = MY_DAY_STEP_LIMIT,
): Promise<{ steps: Array<DealLine & { step: Activity }>; capped: boolean }> {
  const rows = await db
    .select({ ...lineFields, step: activities })
    .from(deals)
    .innerJoin(
      activities,
      and(
        eq(activities.dealId, deals.id),
        isNull(activities.doneAt),
        lte(activities.dueOn, horizon),
      ),
    )
    .innerJoin(contacts, eq(contacts.id, deals.contactId))
    .leftJoin(companies, eq(companies.id, deals.companyId))
    .where(and(eq(deals.ownerId, ownerId), lte(deals.nextStepOn, horizon), OPEN))
    .orderBy(asc(activities.dueOn), sql`${activities.dueTime} asc nulls last`, asc(activities.id))
    .limit(limit + 1)
  return {
    steps: rows.slice(0, limit).map(({ step, ...line }) => ({ ...toLine(line), step })),
    capped: rows.length > limit,
  }
}

/** The owner's open deals with no next step, longest in stage first, and how many (capped). */
export async function dealsWithoutNextStep(db: Db, ownerId: string, limit = LIST_LIMIT) {
  const where = and(eq(deals.ownerId, ownerId), isNull(deals.nextStepOn), OPEN)
  const [rows, counted] = await Promise.all([
    db
      .select(lineFields)
      .from(deals)
      .innerJoin(contacts, eq(contacts.id, deals.contactId))
      .leftJoin(companies, eq(companies.id, deals.companyId))
      .where(where)
      .orderBy(asc(deals.stageEnteredAt), asc(deals.id))
      .limit(limit),
    db.execute(
      sql`select count(*)::int as n from (select 1 from ${deals} where ${where} limit ${COUNT_CAP + 1}) q`,
    ),
  ])
  const n = rowsOf<{ n: number }>(counted)[0]?.n ?? 0
  return { deals: rows.map(toLine), count: Math.min(n, COUNT_CAP), countCapped: n > COUNT_CAP }
}

/**
 * Sorts due steps into overdue, today and coming up (the LOOK_AHEAD_DAYS after today, on the
 * step's clock; later ones are left out), at `now`. Pure.
 */
export function sortSteps<T extends { step: Activity }>(rows: readonly T[], now: Date) {
  const overdue: Array<T & { due: Due }> = []
  const today: Array<T & { due: Due }> = []
  const upcoming: Array<T & { due: Due }> = []
  for (const row of rows) {
    const due = dueStatus(row.step, now)
    const { dueOn, timeZone } = row.step
    if (due === 'upcoming' && dueOn && dueOn > dueHorizon(now, timeZone, LOOK_AHEAD_DAYS)) continue
    ;({ overdue, today, upcoming })[due].push({ ...row, due })
  }
  return { overdue, today, upcoming }
}

/** The My day page and GET /api/activities/my-day, for the signed-in person's own deals. */
export async function myDayView(db: Db, user: Actor | null | undefined, now: Date) {
  if (!user || !can(user, 'pipeline:read'))
    return {
      ok: false as const,
      status: 403 as const,
      code: 'forbidden' as const,
      message: 'Your role cannot see the pipeline.',
    }
  const [me] = await db
    .select({ timeZone: users.timeZone, dailyDigest: users.dailyDigest })
    .from(users)
    .where(eq(users.id, user.id))
  const timeZone = me?.timeZone ?? 'UTC'
  const today = localDay(now, timeZone)
  const scope = { ownerId: user.id }
  const settings = await loadPipelineSettings(db)
  // A step planned in a zone ahead of this one may fall due a day early: read a day further.
  const due = await stepsDueBy(db, user.id, addDays(today, LOOK_AHEAD_DAYS + 1))
  const steps = sortSteps(due.steps, now)
  const queue = await leadQueue(db, { limit: 5 })
  const withoutNextStep = await dealsWithoutNextStep(db, user.id)
  const staleByStage = await staleCounts(db, scope, settings, now)
  const stale = await staleDeals(db, scope, settings, now, LIST_LIMIT)
  return {
    ok: true as const,
    timeZone,
    /** The digest is offered only to those who can have next steps of their own. */
    digestOffered: hasOwnSteps(user),
    dailyDigest: me?.dailyDigest ?? false,
    /** Today on the rep's clock. */
    date: today,
    ...steps,
    stepsCapped: due.capped,
    queue,
    canClaim: can(user, 'deals:claim'),
    withoutNextStep,
    stale: {
      deals: stale,
      count: Object.values(staleByStage).reduce((a, b) => a + (b ?? 0), 0),
    },
    settings,
  }
}
