import { and, asc, desc, eq, inArray, isNotNull, isNull, min, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { activities, ACTIVITY_TYPES, deals, users } from '../db/schema.ts'
import {
  claimIdempotencyKey,
  idempotentAnswer,
  keepIdempotentAnswer,
  requestHash,
} from '../idempotency.ts'
import { newId } from '../ids.ts'
import { addDays, instantOf, localDay } from '../accounts/time-zones.ts'
import { zoneOf } from '../accounts/users.ts'
import { changeDeal } from './deal-changes.ts'
import { isCalendarDate, lockForEdit, type Actor, type Deal, type DealResult } from './deals.ts'
import type { Scope } from './queries.ts'
import { OPEN_BOARD_STAGES, stageOf, type StageKey } from './stages.ts'

// Next steps: what a rep plans on a deal (a call, an email, a meeting, a task; a due day, maybe
// a time, on the clock of the rep's zone) and marks done with an outcome, and what they log after
// the fact. Each change is a changeDeal: the deal's timeline says it, and deals.next_step_on (the
// earliest open due day) is kept in the same transaction, so the board counts deals without a
// next step and My day finds due deals from indexes. Whether a step is overdue is a pure rule
// with `now` passed in.
//
// A form sent twice does what it says once. Planning and logging take the form's idempotency
// key: the same key from the same person again answers with the step the first one made. Done,
// reschedule and cancel asked again of a step already in exactly that state succeed with
// `already` (a cancelled step is remembered for as long as idempotency keys are kept); another
// change of a done or gone step is still refused.

export type ActivityType = (typeof ACTIVITY_TYPES)[number]
export type Activity = typeof activities.$inferSelect
export { ACTIVITY_TYPES }

/** What can be logged after the fact: things that happened with the contact. */
export const LOGGABLE_TYPES = ['call', 'email', 'meeting'] as const satisfies ActivityType[]
export type LoggableType = (typeof LOGGABLE_TYPES)[number]

export const ACTIVITY_NAMES: Record<ActivityType, string> = {
  call: 'Call',
  email: 'Email',
  meeting: 'Meeting',
  task: 'Task',
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/

/** A wall-clock time written HH:MM (00:00–23:59). */
export function isClockTime(value: string): boolean {
  return TIME.test(value)
}

// ── Rules (pure) ─────────────────────────────────────────────────────────────────────────────

export type Due = 'overdue' | 'today' | 'upcoming'

export type PlannedStep = Pick<Activity, 'dueOn' | 'dueTime' | 'timeZone'>

/**
 * Where a planned step stands at `now`, on the clock of the zone it was planned in: past its
 * time (or past its day, when it has no time) is overdue; later today is today. Pure.
 */
export function dueStatus(step: PlannedStep, now: Date): Due {
  if (!step.dueOn) return 'upcoming'
  const today = localDay(now, step.timeZone)
  if (step.dueOn < today) return 'overdue'
  if (step.dueOn > today) return 'upcoming'
  if (step.dueTime && now >= instantOf(step.dueOn, step.dueTime, step.timeZone)) return 'overdue'
  return 'today'
}

/** An open deal with no next step planned: flagged on the board and listed on My day. Pure. */
export function lacksNextStep(deal: { stage: StageKey; nextStepOn: string | null }): boolean {
  return !stageOf(deal.stage).closed && deal.nextStepOn === null
}

/** Why a due day and time cannot be planned in `timeZone` at `now`, or null. Pure. */
export function dueProblem(
  dueOn: string,
  dueTime: string | null,
  timeZone: string,
  now: Date,
): string | null {
  if (!isCalendarDate(dueOn)) return 'Enter the due date as YYYY-MM-DD between 2000 and 2100.'
  if (dueTime !== null && !isClockTime(dueTime)) return 'Enter the time as HH:MM, like 09:30.'
  if (dueOn < localDay(now, timeZone)) return 'A next step is due today or later.'
  return null
}

/** "Call", "Call at 09:30", for lists where the day is shown apart. */
export function stepTitle(step: Pick<Activity, 'type' | 'dueTime'>): string {
  return `${ACTIVITY_NAMES[step.type]}${step.dueTime ? ` at ${step.dueTime}` : ''}`
}

const dueDay = new Intl.DateTimeFormat('en', {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  timeZone: 'UTC',
})

/** "Mon, Nov 30, 09:30": the due day (and time) as its planner wrote it. Pure. */
export function dueLabel(step: Pick<Activity, 'dueOn' | 'dueTime'>): string {
  if (!step.dueOn) return ''
  const day = dueDay.format(new Date(`${step.dueOn}T00:00:00Z`))
  return step.dueTime ? `${day}, ${step.dueTime}` : day
}

// ── Changes ──────────────────────────────────────────────────────────────────────────────────

/** The key a rendered form (or an API client) sends, so a second send creates nothing. */
interface Keyed {
  idempotencyKey?: string | null | undefined
}

export interface PlanInput extends Keyed {
  type: ActivityType
  dueOn: string
  dueTime?: string | null | undefined
  note?: string | null | undefined
}

export interface RescheduleInput {
  dueOn: string
  dueTime?: string | null | undefined
}

export interface CompleteInput {
  outcome: string
  note?: string | null | undefined
}

export interface LogInput extends Keyed {
  type: LoggableType
  note: string
  outcome?: string | null | undefined
}

const failure = (status: 404 | 409 | 422, code: string, message: string) => ({
  ok: false as const,
  status,
  code,
  message,
})

const KEY_CONFLICT = failure(
  422,
  'idempotency_conflict',
  'This form was already sent with other details. Reload the page to send it again.',
)

/** A step as kept in an idempotency answer (JSON), with its instants back as dates. */
function storedActivity(stored: unknown): Activity {
  const a = stored as Activity
  return {
    ...a,
    doneAt: a.doneAt === null ? null : new Date(a.doneAt),
    createdAt: new Date(a.createdAt),
  }
}

/**
 * Creates a step once per idempotency key of the person: `create` runs for the first request
 * with the key (or for none) and its step is kept as the key's answer; the same request again
 * gets that step, the same key with other details a conflict. In the caller's transaction.
 */
async function createOnce(
  tx: Db,
  scope: string,
  actor: Actor,
  { idempotencyKey, ...input }: Keyed & Record<string, unknown>,
  now: Date,
  create: () => Promise<Activity>,
): Promise<DealResult<{ activity: Activity }>> {
  const claim = idempotencyKey
    ? await claimIdempotencyKey(tx, {
        scope,
        key: `${actor.id}:${idempotencyKey}`,
        requestHash: requestHash(input),
        now,
      })
    : null
  if (claim?.kind === 'conflict') return KEY_CONFLICT
  if (claim?.kind === 'replayed') return { ok: true, activity: storedActivity(claim.response) }
  const activity = await create()
  if (claim) await keepIdempotentAnswer(tx, claim, 201, activity)
  return { ok: true, activity }
}

/** The earliest due day of the deal's open steps, as deals.next_step_on keeps it. */
async function earliestDue(tx: Db, dealId: string): Promise<string | null> {
  const [row] = await tx
    .select({ on: min(activities.dueOn) })
    .from(activities)
    .where(and(eq(activities.dealId, dealId), isNull(activities.doneAt)))
  return row?.on ?? null
}

/** A step changed: the deal's next_step_on follows, and its timeline says what happened. */
async function stepChanged(
  tx: Db,
  dealId: string,
  actorId: string,
  data: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await changeDeal(tx, dealId, now, {
    set: { nextStepOn: await earliestDue(tx, dealId) },
    events: { type: 'activity', actorId, data },
  })
}

/** A step's due day and time on the clock of the person planning or moving it, or why not. */
async function dueOnActorClock(
  db: Db,
  actorId: string,
  input: { dueOn: string; dueTime?: string | null | undefined },
  now: Date,
) {
  const timeZone = await zoneOf(db, actorId)
  const dueTime = input.dueTime || null
  const problem = dueProblem(input.dueOn, dueTime, timeZone, now)
  if (problem)
    return { ...failure(422, 'invalid_due', problem), fields: { dueOn: problem } } as const
  return { ok: true as const, due: { dueOn: input.dueOn, dueTime, timeZone } }
}

/** Plans a next step on an open deal, due in the planner's zone. */
export async function planNextStep(
  db: Db,
  dealId: string,
  actor: Actor,
  input: PlanInput,
  now: Date,
): Promise<DealResult<{ activity: Activity }>> {
  const checked = await dueOnActorClock(db, actor.id, input, now)
  if (!checked.ok) return checked
  const { dueTime, timeZone } = checked.due
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    if (stageOf(locked.deal.stage).closed)
      return failure(409, 'deal_closed', 'This deal is closed: reopen it to plan a next step.')
    return createOnce(tx, 'activity.plan', actor, { dealId, ...input }, now, async () => {
      const [activity] = await tx
        .insert(activities)
        .values({
          id: newId(now.getTime()),
          dealId,
          type: input.type,
          dueOn: input.dueOn,
          dueTime,
          timeZone,
          note: input.note?.trim() || null,
          createdBy: actor.id,
          createdAt: now,
        })
        .returning()
      await stepChanged(tx, dealId, actor.id, { action: 'planned', ...eventData(activity!) }, now)
      return activity!
    })
  })
}

/** The deal of an activity, or null when there is no such activity. */
async function dealOfActivity(db: Db, activityId: string): Promise<string | null> {
  const [found] = await db
    .select({ dealId: activities.dealId })
    .from(activities)
    .where(eq(activities.id, activityId))
  return found?.dealId ?? null
}

const NO_STEP = failure(404, 'not_found', 'There is no such next step.')
const ALREADY_DONE = failure(409, 'already_done', 'This next step is already done.')

/** Where a cancelled step's answer is kept (by its id), so cancelling it again succeeds. */
const CANCELLED = 'activity.cancelled'

/** A step as it was when cancelled, while its idempotency answer is kept, or null. */
async function cancelledStep(db: Db, activityId: string): Promise<Activity | null> {
  const stored = await idempotentAnswer(db, CANCELLED, activityId)
  return stored === null ? null : storedActivity(stored)
}

/** What a step change answers: the step, and whether it already was as asked (nothing done). */
type StepResult = DealResult<{ activity: Activity; already: boolean }>

/** Runs `change` on a step's deal, locked for the actor's edit, in one transaction. */
async function changeStep(
  db: Db,
  activityId: string,
  actor: Actor,
  change: (tx: Db, dealId: string, deal: Deal) => Promise<StepResult>,
): Promise<StepResult> {
  const dealId =
    (await dealOfActivity(db, activityId)) ?? (await cancelledStep(db, activityId))?.dealId
  if (!dealId) return NO_STEP
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    return change(tx, dealId, locked.deal)
  })
}

/** Marks a planned step done with its outcome ("left voicemail"); on the timeline. */
export async function completeNextStep(
  db: Db,
  activityId: string,
  actor: Actor,
  input: CompleteInput,
  now: Date,
): Promise<StepResult> {
  return changeStep(db, activityId, actor, async (tx, dealId) => {
    const [done] = await tx
      .update(activities)
      .set({
        doneAt: now,
        doneBy: actor.id,
        outcome: input.outcome.trim(),
        ...(input.note?.trim() ? { note: input.note.trim() } : {}),
      })
      .where(and(eq(activities.id, activityId), isNull(activities.doneAt)))
      .returning()
    if (!done) {
      const step = await findActivity(tx, activityId)
      if (!step) return NO_STEP
      // The same outcome (and note, when one is given) again: the first one did it.
      const same =
        step.outcome === input.outcome.trim() &&
        (!input.note?.trim() || step.note === input.note.trim())
      return same ? { ok: true as const, activity: step, already: true } : ALREADY_DONE
    }
    await stepChanged(tx, dealId, actor.id, { action: 'done', ...eventData(done) }, now)
    return { ok: true as const, activity: done, already: false }
  })
}

/**
 * Moves a planned step to another due day (and time, or none), on the clock of the person who
 * moves it; the timeline says from when to when.
 */
export async function rescheduleNextStep(
  db: Db,
  activityId: string,
  actor: Actor,
  input: RescheduleInput,
  now: Date,
): Promise<StepResult> {
  const checked = await dueOnActorClock(db, actor.id, input, now)
  if (!checked.ok) return checked
  const { dueTime, timeZone } = checked.due
  return changeStep(db, activityId, actor, async (tx, dealId, deal) => {
    const [before] = await tx
      .select()
      .from(activities)
      .where(eq(activities.id, activityId))
      .for('update')
    if (!before) return NO_STEP
    if (before.doneAt) return ALREADY_DONE
    if (stageOf(deal.stage).closed)
      return failure(409, 'deal_closed', 'This deal is closed: reopen it to reschedule.')
    // Already due then (a second send of the same move): nothing to change.
    if (before.dueOn === input.dueOn && before.dueTime === dueTime && before.timeZone === timeZone)
      return { ok: true as const, activity: before, already: true }
    const [moved] = await tx
      .update(activities)
      .set({ dueOn: input.dueOn, dueTime, timeZone })
      .where(eq(activities.id, activityId))
      .returning()
    await stepChanged(
      tx,
      dealId,
      actor.id,
      {
        action: 'rescheduled',
        ...eventData(moved!),
        from: { dueOn: before.dueOn, dueTime: before.dueTime, timeZone: before.timeZone },
      },
      now,
    )
    return { ok: true as const, activity: moved!, already: false }
  })
}

/**
 * Cancels a planned step: it is gone from the deal's next steps (and from My day), and the
 * timeline keeps what it was and who cancelled it.
 */
export async function cancelNextStep(
  db: Db,
  activityId: string,
  actor: Actor,
  now: Date,
): Promise<StepResult> {
  return changeStep(db, activityId, actor, async (tx, dealId) => {
    const [gone] = await tx
      .delete(activities)
      .where(and(eq(activities.id, activityId), isNull(activities.doneAt)))
      .returning()
    if (!gone) {
      if (await findActivity(tx, activityId)) return ALREADY_DONE
      const was = await cancelledStep(tx, activityId)
      return was ? { ok: true as const, activity: was, already: true } : NO_STEP
    }
    await stepChanged(tx, dealId, actor.id, { action: 'cancelled', ...eventData(gone) }, now)
    const claim = await claimIdempotencyKey(tx, {
      scope: CANCELLED,
      key: activityId,
      requestHash: '',
      now,
    })
    if (claim.kind === 'claimed') await keepIdempotentAnswer(tx, claim, 200, gone)
    return { ok: true as const, activity: gone, already: false }
  })
}

/** Records a call, email or meeting that already happened, with its notes. */
export async function logActivity(
  db: Db,
  dealId: string,
  actor: Actor,
  input: LogInput,
  now: Date,
): Promise<DealResult<{ activity: Activity }>> {
  const timeZone = await zoneOf(db, actor.id)
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    return createOnce(tx, 'activity.log', actor, { dealId, ...input }, now, async () => {
      const [activity] = await tx
        .insert(activities)
        .values({
          id: newId(now.getTime()),
          dealId,
          type: input.type,
          timeZone,
          note: input.note.trim(),
          outcome: input.outcome?.trim() || null,
          doneAt: now,
          doneBy: actor.id,
          createdBy: actor.id,
          createdAt: now,
        })
        .returning()
      await changeDeal(tx, dealId, now, {
        events: {
          type: 'activity',
          actorId: actor.id,
          data: { action: 'logged', ...eventData(activity!) },
        },
      })
      return activity!
    })
  })
}

/** What the timeline keeps of a step (the row may change later; the event says what it was). */
function eventData(a: Activity) {
  return {
    activityId: a.id,
    activityType: a.type,
    dueOn: a.dueOn,
    dueTime: a.dueTime,
    timeZone: a.timeZone,
    note: a.note,
    outcome: a.outcome,
  }
}

/** A timeline line for an activity event: "Next step planned: Call, due …", "Call — left voicemail". */
export function describeActivityEvent(data: Record<string, unknown>): {
  title: string
  detail: string | null
} {
  const type = (ACTIVITY_TYPES as readonly unknown[]).includes(data.activityType)
    ? ACTIVITY_NAMES[data.activityType as ActivityType]
    : 'Activity'
  const text = (v: unknown) => (typeof v === 'string' && v ? v : null)
  const note = text(data.note)
  const outcome = text(data.outcome)
  /** "Mon, Nov 30, 09:30 (Europe/Berlin)": a due day (and time, in its zone) an event kept. */
  const dueOf = (d: Record<string, unknown>) => {
    const dueOn = text(d.dueOn)
    const due = dueOn && isCalendarDate(dueOn) ? dueLabel({ dueOn, dueTime: text(d.dueTime) }) : ''
    const zone = due && d.dueTime && text(d.timeZone) ? ` (${d.timeZone})` : ''
    return due + zone
  }
  if (data.action === 'planned') {
    const due = dueOf(data)
    return { title: `Next step planned: ${type}${due ? `, due ${due}` : ''}`, detail: note }
  }
  if (data.action === 'rescheduled') {
    const from =
      typeof data.from === 'object' && data.from !== null
        ? dueOf(data.from as Record<string, unknown>)
        : ''
    const to = dueOf(data)
    return {
      title: `Next step rescheduled: ${type}${from ? ` from ${from}` : ''}${to ? ` to ${to}` : ''}`,
      detail: note,
    }
  }
  if (data.action === 'cancelled') {
    const due = dueOf(data)
    return { title: `Next step cancelled: ${type}${due ? `, was due ${due}` : ''}`, detail: note }
  }
  const title = `${type}${outcome ? ` — ${outcome}` : ''}`
  return {
    title: data.action === 'logged' ? `${title} (logged)` : title,
    detail: note,
  }
}

// ── Reads ────────────────────────────────────────────────────────────────────────────────────

export async function findActivity(db: Db, id: string): Promise<Activity | null> {
  const [row] = await db.select().from(activities).where(eq(activities.id, id))
  return row ?? null
}

/** A deal's open steps, soonest first, and the latest done ones. */
export async function dealActivities(db: Db, dealId: string, doneLimit = 10) {
  const [open, done] = await Promise.all([
    db
      .select()
      .from(activities)
      .where(and(eq(activities.dealId, dealId), isNull(activities.doneAt)))
      .orderBy(
        asc(activities.dueOn),
        sql`${activities.dueTime} asc nulls last`,
        asc(activities.id),
      ),
    db
      .select()
      .from(activities)
      .where(and(eq(activities.dealId, dealId), isNotNull(activities.doneAt)))
      .orderBy(desc(activities.doneAt), desc(activities.id))
      .limit(doneLimit),
  ])
  return { open, done }
}

/** The soonest open step of each of these deals (the board's cards). */
export async function nextStepsOf(db: Db, dealIds: string[]): Promise<Map<string, Activity>> {
  if (dealIds.length === 0) return new Map()
  const rows = await db
    .selectDistinctOn([activities.dealId])
    .from(activities)
    .where(and(inArray(activities.dealId, dealIds), isNull(activities.doneAt)))
    .orderBy(
      activities.dealId,
      asc(activities.dueOn),
      sql`${activities.dueTime} asc nulls last`,
      asc(activities.id),
    )
  return new Map(rows.map((r) => [r.dealId, r]))
}

/** Today's date in a zone and the last day My day looks ahead to (see myDay). */
export function dueHorizon(now: Date, timeZone: string, days: number): string {
  return addDays(localDay(now, timeZone), days)
}

/** Open deals in scope without a planned next step, per stage (the board's flag). */
export async function noNextStepCounts(
  db: Db,
  scope: Scope,
  /** The board's filters (boardFilterSql), so the flags count what the board shows. */
  where: SQL[] = [],
): Promise<Partial<Record<StageKey, number>>> {
  const owner = 'ownerId' in scope ? eq(deals.ownerId, scope.ownerId) : isNotNull(deals.ownerId)
  const rows = await db
    .select({ stage: deals.stage, n: sql<number>`count(*)::int` })
    .from(deals)
    .where(
      and(
        owner,
        isNull(deals.nextStepOn),
        inArray(deals.stage, OPEN_BOARD_STAGES as StageKey[]),
        ...where,
      ),
    )
    .groupBy(deals.stage)
  return Object.fromEntries(rows.map((r) => [r.stage, Number(r.n)]))
}
