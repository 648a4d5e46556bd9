import { Hono } from 'hono'
import { eq } from 'drizzle-orm'
import { z } from 'zod'
import { requirePermission, requireUser } from '../accounts/guards.ts'
import type { Permission } from '../accounts/permissions.ts'
import { canonicalTimeZone } from '../accounts/time-zones.ts'
import { STAGE_KEYS, users } from '../db/schema.ts'
import type { AppEnv } from '../http/app-env.ts'
import {
  nextField,
  readInput,
  refuse,
  respond,
  type Back,
  type FieldLabels,
} from '../http/form-or-json.ts'
import { fail, validate } from '../http/input.ts'
import { okSchemaOf, type Operation } from '../http/openapi.ts'
import { idempotencyKeySchema } from '../idempotency.ts'
import {
  ACTIVITY_TYPES,
  cancelNextStep,
  completeNextStep,
  dealActivities,
  findActivity,
  isClockTime,
  logActivity,
  LOGGABLE_TYPES,
  planNextStep,
  rescheduleNextStep,
  type Activity,
} from '../pipeline/activities.ts'
import { dealAccess, findDeal, isCalendarDate } from '../pipeline/deals.ts'
import { hasOwnSteps, LOOK_AHEAD_DAYS, MY_DAY_STEP_LIMIT, myDayView } from '../pipeline/my-day.ts'
import { dealCardSchema } from './deals.ts'
import { ID_PATTERN } from '../ids.ts'

// /api/activities: next steps on deals (plan, mark done with an outcome), activities logged
// after the fact, My day, and the person's own time zone and digest choice. JSON callers get
// JSON; the pages' plain forms get a 303 back to the page they came from (`next`).

const uuid = z.string().regex(ID_PATTERN, 'Unknown id.')
const next = nextField
/** The plan and log forms' per-render key: the same key again creates nothing (idempotency.ts). */
const idempotencyKey = idempotencyKeySchema.optional()
/** Form fields send "" for "not given"; JSON may send null, as publicActivity answers it. */
const optionalText = (max: number, label: string) =>
  z.preprocess(
    (v) => (v === null || (typeof v === 'string' && v.trim() === '') ? undefined : v),
    z.string().trim().max(max, `${label} is at most ${max} characters.`).optional(),
  )

const dueOn = z
  .string()
  .trim()
  .refine(isCalendarDate, 'Enter the due date as YYYY-MM-DD between 2000 and 2100.')
const dueTime = z.preprocess(
  (v) => (v === '' || v === null ? undefined : v),
  z.string().trim().refine(isClockTime, 'Enter the time as HH:MM, like 09:30.').optional(),
)

const planSchema = z.strictObject({
  dealId: uuid,
  type: z.enum(ACTIVITY_TYPES, {
    message: `type must be one of ${ACTIVITY_TYPES.join(', ')}.`,
  }),
  dueOn,
  dueTime,
  note: optionalText(2000, 'The note'),
  idempotencyKey,
  next,
})

/** A new due day; no time (or "") means any time that day. */
// The next-step forms' labels (NextSteps.astro, StepChange.astro), for a refused form's message.
const PLAN_LABELS: FieldLabels = { dueOn: 'Due', dueTime: 'Time' }
const LOG_LABELS: FieldLabels = { type: 'What', note: 'Notes' }

const rescheduleSchema = z.strictObject({ dueOn, dueTime, next })

const cancelSchema = z.strictObject({ next })

const doneSchema = z.strictObject({
  outcome: z
    .string()
    .trim()
    .min(1, 'Say how it went (the outcome), e.g. “left voicemail”.')
    .max(300, 'The outcome is at most 300 characters.'),
  note: optionalText(2000, 'The note'),
  next,
})

const logSchema = z.strictObject({
  dealId: uuid,
  type: z.enum(LOGGABLE_TYPES, {
    message: `type must be one of ${LOGGABLE_TYPES.join(', ')}.`,
  }),
  note: z
    .string()
    .trim()
    .min(1, 'Write what happened.')
    .max(5000, 'Notes are at most 5,000 characters.'),
  outcome: optionalText(300, 'The outcome'),
  idempotencyKey,
  next,
})

const preferencesSchema = z.strictObject({
  timeZone: z
    .string()
    .max(64, 'Unknown time zone.')
    .transform((v, ctx) => {
      const zone = canonicalTimeZone(v)
      if (!zone) {
        ctx.addIssue({ code: 'custom', message: 'Choose a time zone such as Europe/Berlin.' })
        return z.NEVER
      }
      return zone
    }),
  dailyDigest: z.boolean().optional(),
  next,
})
/** A form's checkbox is "on" when ticked and absent when not. */
const preferencesForm = z.object({
  timeZone: z.string(),
  dailyDigest: z.literal('on').optional(),
  next,
})

const listQuery = z.strictObject({ dealId: uuid })

const backTo = (next: unknown): Back => ({ next, fallback: '/app/my-day', within: '/app' })
const backFrom = (data: Record<string, unknown>) => backTo(data.next)

export function publicActivity(a: Activity) {
  return {
    id: a.id,
    dealId: a.dealId,
    type: a.type,
    dueOn: a.dueOn,
    dueTime: a.dueTime,
    timeZone: a.timeZone,
    note: a.note,
    doneAt: a.doneAt,
    outcome: a.outcome,
    createdBy: a.createdBy,
    doneBy: a.doneBy,
    createdAt: a.createdAt,
  }
}

/**
 * An activity as the operations answer with it, field by field (held to publicActivity by
 * okSchemaOf; tests/api/integrations/response-schemas.db.test.ts reads each answer through it).
 */
const activityJson = okSchemaOf<ReturnType<typeof publicActivity>>()(
  z.strictObject({
    id: z.string(),
    dealId: z.string(),
    type: z.enum(ACTIVITY_TYPES),
    dueOn: z.iso.date().nullable().describe('Null for an activity logged after the fact.'),
    dueTime: z.string().nullable().describe('HH:MM on dueOn in timeZone; null: any time that day.'),
    timeZone: z.string().describe('The IANA zone dueOn and dueTime are in.'),
    note: z.string().nullable(),
    doneAt: z.iso.datetime().nullable().describe('Null while it is a planned next step.'),
    outcome: z.string().nullable(),
    createdBy: z.string().nullable(),
    doneBy: z.string().nullable(),
    createdAt: z.iso.datetime(),
  }),
)
const activityAnswer = z.strictObject({ activity: activityJson })

type MyDay = Extract<Awaited<ReturnType<typeof myDayView>>, { ok: true }>

/** GET /api/activities/my-day: each next step with its deal; the leads waiting, counted. */
function myDayAnswer(view: MyDay) {
  const step = ({ step, due, ...deal }: MyDay['today'][number]) => ({
    ...publicActivity(step),
    due,
    deal,
  })
  return {
    date: view.date,
    timeZone: view.timeZone,
    overdue: view.overdue.map(step),
    today: view.today.map(step),
    upcoming: view.upcoming.map(step),
    stepsCapped: view.stepsCapped,
    leadsWaiting: { count: view.queue.count, countCapped: view.queue.countCapped },
    withoutNextStep: view.withoutNextStep,
    stale: view.stale,
  }
}

const dealLine = z.strictObject({
  dealId: z.string(),
  title: z.string(),
  stage: z.enum(STAGE_KEYS),
  stageEnteredAt: z.iso.datetime(),
  companyName: z.string().nullable(),
  contactName: z.string().describe('The contact’s name, or their email without one.'),
  contactEmail: z.string(),
  contactPhone: z.string().nullable(),
})
const dueSteps = (when: string) =>
  z
    .array(
      activityJson.extend({
        due: z.enum(['overdue', 'today', 'upcoming']),
        deal: dealLine,
      }),
    )
    .describe(`${when}, soonest first, each with its deal.`)
const counted = {
  count: z.number().int().describe('How many in all, at most 1000.'),
  countCapped: z.boolean().describe('More than `count`.'),
}

const myDayAnswerSchema = okSchemaOf<ReturnType<typeof myDayAnswer>>()(
  z.strictObject({
    date: z.iso.date().describe('Today on the caller’s clock.'),
    timeZone: z.string().describe('The caller’s IANA time zone.'),
    overdue: dueSteps('Next steps past due'),
    today: dueSteps('Next steps due today'),
    upcoming: dueSteps(`Next steps due in the ${LOOK_AHEAD_DAYS} days after today`),
    stepsCapped: z
      .boolean()
      .describe(
        `More steps are due than the three lists hold (${MY_DAY_STEP_LIMIT} in all, soonest first): the latest are left out.`,
      ),
    leadsWaiting: z
      .strictObject(counted)
      .describe('Unclaimed leads waiting in the queue (GET /api/deals/queue).'),
    withoutNextStep: z
      .strictObject({ deals: z.array(dealLine), ...counted })
      .describe('The caller’s open deals with no next step planned, longest in stage first.'),
    stale: z
      .strictObject({
        deals: z.array(dealCardSchema),
        count: z.number().int().describe('How many in all.'),
      })
      .describe('The caller’s deals past their stage’s stale threshold, longest in stage first.'),
  }),
)

export const activityRoutes = new Hono<AppEnv>()
  .get('/my-day', requirePermission('pipeline:read'), async (c) => {
    const view = await myDayView(c.var.db, c.var.user, c.var.deps.now())
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json(myDayAnswer(view))
  })
  .get('/preferences', requireUser, async (c) => {
    const [me] = await c.var.db
      .select({ timeZone: users.timeZone, dailyDigest: users.dailyDigest })
      .from(users)
      .where(eq(users.id, c.var.user.id))
    return c.json({ timeZone: me!.timeZone, dailyDigest: me!.dailyDigest })
  })
  .post('/preferences', requireUser, async (c) => {
    const input = await readInput(c, preferencesSchema, backFrom, {
      labels: { timeZone: 'Time zone' },
      // A form's unticked checkbox is absent: the form always means "off" then.
      prepare: (data, kind) =>
        kind === 'form'
          ? { ...data, dailyDigest: preferencesForm.safeParse(data).data?.dailyDigest === 'on' }
          : data,
    })
    if (input instanceof Response) return input
    // The digest lists one's own next steps: a role that owns no deal would never get it.
    if (input.dailyDigest && !hasOwnSteps(c.var.user))
      return refuse(c, backTo(input.next), {
        status: 403,
        code: 'forbidden',
        message: 'The morning digest lists the next steps on your own deals; your role has none.',
        fields: { dailyDigest: 'Your role has no next steps of its own to email.' },
      })
    const [saved] = await c.var.db
      .update(users)
      .set({
        timeZone: input.timeZone,
        ...(input.dailyDigest === undefined ? {} : { dailyDigest: input.dailyDigest }),
        updatedAt: c.var.deps.now(),
      })
      .where(eq(users.id, c.var.user.id))
      .returning({ timeZone: users.timeZone, dailyDigest: users.dailyDigest })
    return respond(c, backTo(input.next), { notice: 'Saved your day settings.' }, () =>
      c.json(saved!),
    )
  })
  .get('/', requirePermission('pipeline:read'), async (c) => {
    const { dealId } = validate(listQuery, c.req.query())
    const deal = await findDeal(c.var.db, dealId)
    if (!deal) fail(404, 'not_found', 'There is no such deal.')
    if (!dealAccess(c.var.user, deal).read)
      fail(403, 'forbidden', 'This deal belongs to another rep.')
    const { open, done } = await dealActivities(c.var.db, dealId)
    return c.json({ open: open.map(publicActivity), done: done.map(publicActivity) })
  })
  .post('/', requirePermission('deals:edit_own'), async (c) => {
    const input = await readInput(c, planSchema, backFrom, { labels: PLAN_LABELS })
    if (input instanceof Response) return input
    const result = await planNextStep(c.var.db, input.dealId, c.var.user, input, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    return respond(c, backTo(input.next), { notice: 'Next step planned.' }, () =>
      c.json({ activity: publicActivity(result.activity) }, 201),
    )
  })
  .post('/log', requirePermission('deals:edit_own'), async (c) => {
    const input = await readInput(c, logSchema, backFrom, { labels: LOG_LABELS })
    if (input instanceof Response) return input
    const result = await logActivity(c.var.db, input.dealId, c.var.user, input, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    return respond(c, backTo(input.next), { notice: 'Logged on the timeline.' }, () =>
      c.json({ activity: publicActivity(result.activity) }, 201),
    )
  })
  .get('/:id', requirePermission('pipeline:read'), async (c) => {
    const activity = await findActivity(c.var.db, validate(uuid, c.req.param('id')))
    const deal = activity && (await findDeal(c.var.db, activity.dealId))
    if (!activity || !deal) fail(404, 'not_found', 'There is no such activity.')
    if (!dealAccess(c.var.user, deal).read)
      fail(403, 'forbidden', 'This deal belongs to another rep.')
    return c.json({ activity: publicActivity(activity) })
  })
  .post('/:id/done', requirePermission('deals:edit_own'), async (c) => {
    const id = validate(uuid, c.req.param('id'))
    const input = await readInput(c, doneSchema, backFrom)
    if (input instanceof Response) return input
    const result = await completeNextStep(c.var.db, id, c.var.user, input, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    const notice = result.already ? 'Already marked done.' : 'Done, and on the timeline.'
    return respond(c, backTo(input.next), { notice }, () =>
      c.json({ activity: publicActivity(result.activity) }),
    )
  })
  .post('/:id/reschedule', requirePermission('deals:edit_own'), async (c) => {
    const id = validate(uuid, c.req.param('id'))
    const input = await readInput(c, rescheduleSchema, backFrom, {
      labels: { dueOn: 'New due date', dueTime: 'Time' },
    })
    if (input instanceof Response) return input
    const result = await rescheduleNextStep(c.var.db, id, c.var.user, input, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    const notice = result.already ? 'Already due then.' : 'Next step rescheduled.'
    return respond(c, backTo(input.next), { notice }, () =>
      c.json({ activity: publicActivity(result.activity) }),
    )
  })
  .post('/:id/cancel', requirePermission('deals:edit_own'), async (c) => {
    const id = validate(uuid, c.req.param('id'))
    const input = await readInput(c, cancelSchema, backFrom)
    if (input instanceof Response) return input
    const result = await cancelNextStep(c.var.db, id, c.var.user, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    const notice = result.already ? 'Already cancelled.' : 'Next step cancelled.'
    return respond(c, backTo(input.next), { notice }, () =>
      c.json({ activity: publicActivity(result.activity) }),
    )
  })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/activities/my-day',
    summary:
      'My day: the caller’s overdue, today’s and coming next steps, leads waiting, their open deals without a next step and stale deals.',
    auth: 'pipeline:read',
    ok: [200, '{ date, timeZone, overdue, today, upcoming, leadsWaiting, withoutNextStep, stale }'],
    okSchema: myDayAnswerSchema,
  },
  {
    method: 'get',
    path: '/api/activities/preferences',
    summary: 'The caller’s time zone and whether they get the daily digest of next steps.',
    auth: 'user',
    ok: [200, '{ timeZone, dailyDigest }'],
  },
  {
    method: 'post',
    path: '/api/activities/preferences',
    summary: 'Set the caller’s time zone (IANA name) and the daily digest of next steps.',
    auth: 'user',
    body: preferencesSchema,
    formBody: preferencesForm,
    ok: [200, '{ timeZone, dailyDigest }'],
  },
  {
    method: 'get',
    path: '/api/activities',
    summary: 'A deal’s open next steps (soonest first) and its latest done activities.',
    auth: 'pipeline:read',
    query: listQuery,
    ok: [200, '{ open, done }'],
    okSchema: z.strictObject({
      open: z.array(activityJson).describe('Planned next steps, soonest first.'),
      done: z.array(activityJson).describe('The latest done activities, newest first.'),
    }),
  },
  {
    method: 'post',
    path: '/api/activities',
    summary:
      'Plan a next step on an open deal: call, email, meeting or task, due on a day (and optional time) in the caller’s time zone. With an idempotencyKey (optional; the page’s form sends one), the same key from the same person again answers 201 with the same step and plans nothing.',
    auth: 'deals:edit_own',
    body: planSchema,
    ok: [201, '{ activity }'],
    okSchema: activityAnswer,
    errors: {
      409: 'The deal is closed.',
      422: 'idempotency_conflict: the same idempotencyKey with other details.',
    },
  },
  {
    method: 'post',
    path: '/api/activities/log',
    summary:
      'Log a call, email or meeting that already happened, with notes, on the deal’s timeline. With an idempotencyKey (optional; the page’s form sends one), the same key from the same person again answers 201 with the same activity and logs nothing.',
    auth: 'deals:edit_own',
    body: logSchema,
    ok: [201, '{ activity }'],
    okSchema: activityAnswer,
    errors: { 422: 'idempotency_conflict: the same idempotencyKey with other details.' },
  },
  {
    method: 'get',
    path: '/api/activities/{id}',
    summary: 'One activity.',
    auth: 'pipeline:read',
    ok: [200, '{ activity }'],
    okSchema: activityAnswer,
  },
  {
    method: 'post',
    path: '/api/activities/{id}/done',
    summary:
      'Mark a next step done with its outcome (“left voicemail”); it goes on the timeline. Sent again for a step already done with the same outcome (and note, when given), it answers 200 and changes nothing.',
    auth: 'deals:edit_own',
    body: doneSchema,
    ok: [200, '{ activity }'],
    okSchema: activityAnswer,
    errors: { 409: 'It is already done, with another outcome.' },
  },
  {
    method: 'post',
    path: '/api/activities/{id}/reschedule',
    summary:
      'Move a planned next step to another due day (and optional time) in the caller’s time zone; the timeline says from when to when. Already due then (e.g. sent twice), it answers 200 and changes nothing.',
    auth: 'deals:edit_own',
    body: rescheduleSchema,
    ok: [200, '{ activity }'],
    okSchema: activityAnswer,
    errors: { 409: 'It is already done, or the deal is closed.' },
  },
  {
    method: 'post',
    path: '/api/activities/{id}/cancel',
    summary:
      'Cancel a planned next step: it leaves the deal and My day; the timeline keeps what it was. Sent again for a step already cancelled (within the week idempotency keys are kept), it answers 200 with the same step.',
    auth: 'deals:edit_own',
    body: cancelSchema,
    ok: [200, '{ activity } (as it was)'],
    okSchema: activityAnswer,
    errors: { 409: 'It is already done.' },
  },
]
