import { Hono, type Context } from 'hono'
import { z } from 'zod'
import {
  addNote,
  assignDeal,
  claimDeal,
  isCalendarDate,
  isCalendarMonth,
  moveDealStage,
  removeStakeholder,
  saveStakeholder,
  STAKEHOLDER_ROLES,
  STANCES,
  updateDeal,
  type Deal,
  type DealFailure,
  type Stakeholder,
  type StakeholderInput,
} from '../pipeline/deals.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { anyJson, okSchemaOf, type Operation, time } from '../http/openapi.ts'
import { storedDealSchema } from './record-answers.ts'
import {
  backPath,
  bodylessForm,
  nextField,
  readInput,
  readParam,
  redirectBack,
  refuse,
  respond,
  type Back,
  type RefuseOptions,
  type FieldLabels,
} from '../http/form-or-json.ts'
import { fail, givenParams, validate, wantsJson } from '../http/input.ts'
import { permissionProblem, requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import { weightedCents } from '../pipeline/metrics.ts'
import {
  boardView,
  dealView,
  forecastView,
  leadsQueueView,
  listView,
  stageCardsView,
} from '../pipeline/views.ts'
import { LEAD_SOURCES, STAGE_KEYS, type LeadSource } from '../db/schema.ts'
import { isReopening, isStageKey, STAGES, stageOf, stagesBack } from '../pipeline/stages.ts'
import { emailAddressField } from '../email-address.ts'
import { ID_PATTERN } from '../ids.ts'
import { CREATABLE_STAGES, createDeal } from '../pipeline/manual-deals.ts'
import {
  claimDeals,
  MAX_BULK,
  reassignOpenDeals,
  type BatchFailure,
  type BulkOutcome,
} from '../pipeline/bulk-actions.ts'
import {
  LIST_SORTS,
  type BoardColumn,
  type CardPage,
  type DealCard,
  type ListPage,
  type QueuePage,
} from '../pipeline/queries.ts'
import type { Forecast, Money } from '../pipeline/metrics.ts'
import { companyFields, optionalText, PERSON_LABELS, personFields } from './person-fields.ts'

// /api/deals: the pipeline's actions. JSON callers get JSON; the pages' plain HTML forms get a
// 303 back to the page they came from (`next`, a page of the app), with `notice` or `error`.

export const MAX_AMOUNT_CENTS = 100_000_000_000 // 1 billion in the currency's units

const id = z.string().regex(ID_PATTERN, 'Unknown deal.')
/** A stakeholder's row id; a malformed one is refused as removeStakeholder refuses an unknown one. */
const sid = z.string().regex(ID_PATTERN, 'That person is not on this deal.')
const next = nextField
const stageKey = z.enum(STAGE_KEYS, { message: `Stage must be one of ${STAGE_KEYS.join(', ')}.` })
const calendarDate = z
  .string()
  .trim()
  .refine(isCalendarDate, 'Enter a real date as YYYY-MM-DD between 2000 and 2100.')
/** Form fields send "" for "not given". */
const optionalDate = z.preprocess((v) => (v === '' ? undefined : v), calendarDate.optional())
/** …and in an edit form "" clears the value. */
const clearableDate = z.preprocess((v) => (v === '' ? null : v), calendarDate.nullable().optional())
const text = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
    z.string().trim().max(max, `At most ${max} characters.`).nullable().optional(),
  )

const currencies = new Set(Intl.supportedValuesOf('currency'))
const currency = z
  .string()
  .trim()
  .transform((v) => v.toUpperCase())
  .refine(
    (v) => /^[A-Z]{3}$/.test(v) && currencies.has(v),
    'Currency must be a 3-letter ISO 4217 code such as EUR or USD.',
  )

const amountCents = z
  .number({ message: 'amountCents must be a whole number of cents.' })
  .int('amountCents must be a whole number of cents.')
  .min(0, 'The amount cannot be negative.')
  .max(MAX_AMOUNT_CENTS, 'The amount is larger than any deal could be (at most 1,000,000,000).')

/** "12500", "12,500.50", "12500,5" → cents; "" → null; anything else → an error message. */
export function parseAmount(input: unknown): number | null | string {
  if (input === null || input === '') return null
  if (typeof input === 'number')
    return Number.isFinite(input) ? Math.round(input * 100) : 'Enter the amount as a number.'
  if (typeof input !== 'string') return 'Enter the amount as a number.'
  let v = input.trim().replace(/[\s_]/g, '')
  if (v.startsWith('-')) return 'The amount cannot be negative.'
  if (/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(v)) v = v.replace(/,/g, '')
  else if (/^\d+,\d{1,2}$/.test(v)) v = v.replace(',', '.')
  if (!/^\d+(\.\d{1,2})?$/.test(v)) return 'Enter the amount as a number, like 12500 or 12500.50.'
  const [whole, frac = ''] = v.split('.')
  if (whole!.length > 12)
    return 'The amount is larger than any deal could be (at most 1,000,000,000).'
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'))
}

const amountField = z
  .unknown()
  .transform((v, ctx) => {
    const parsed = parseAmount(v)
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed })
      return z.NEVER
    }
    return parsed
  })
  .pipe(amountCents.nullable())

const stageSchema = z.strictObject({
  stage: stageKey,
  contractSignedOn: optionalDate,
  paymentReceivedOn: optionalDate,
  lostReason: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .trim()
      .min(1, 'Say why the deal was lost.')
      .max(500, 'Keep the reason under 500 characters.')
      .optional(),
  ),
  confirmBack: z
    .preprocess((v) => (v === '' ? undefined : v), z.literal('yes').optional())
    .describe(
      'Plain forms only: yes to a move more than one stage back, which the page asked about. JSON moves are made as sent.',
    ),
  next,
})

const updateSchema = z
  .strictObject({
    title: z.string().trim().min(1, 'Give the deal a title.').max(200).optional(),
    amountCents: amountCents.nullable().optional(),
    amount: amountField.optional(),
    currency: currency.optional(),
    expectedCloseDate: clearableDate,
    contractSignedOn: clearableDate,
    paymentReceivedOn: clearableDate,
    budgetNotes: text(2000),
    decisionProcessNotes: text(2000),
    next,
  })
  .refine(
    (v) => !(v.amount !== undefined && v.amountCents !== undefined),
    'Send amount or amountCents, not both.',
  )

// The deal pages' labels (deals/new.astro, deals/[id].astro), for a refused form's message.
const DATE_LABELS: FieldLabels = {
  expectedCloseDate: 'Expected close',
  contractSignedOn: 'Contract signed on',
  paymentReceivedOn: 'Payment received on',
}
const NEW_DEAL_LABELS: FieldLabels = {
  ...PERSON_LABELS,
  ...DATE_LABELS,
  reason: 'Why is this a deal?',
  ownerId: 'Owner',
}
const STAGE_LABELS: FieldLabels = {
  ...DATE_LABELS,
  stage: 'Move to',
  lostReason: 'Why was it lost?',
}
const UPDATE_LABELS: FieldLabels = {
  ...DATE_LABELS,
  budgetNotes: 'Budget',
  decisionProcessNotes: 'Decision process',
}
const STAKEHOLDER_LABELS: FieldLabels = {
  contactId: 'Who',
  name: 'New person’s name',
  email: 'Their email',
  jobTitle: 'Job title',
}

const noteSchema = z.strictObject({
  body: z
    .string()
    .trim()
    .min(1, 'Write the note first.')
    .max(5000, 'Notes are at most 5,000 characters.'),
  next,
})

const stakeholderSchema = z
  .strictObject({
    contactId: z.preprocess((v) => (v === '' ? undefined : v), id.optional()),
    email: z.preprocess((v) => (v === '' ? undefined : v), emailAddressField.optional()),
    name: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.string().trim().min(1).max(200).optional(),
    ),
    jobTitle: text(200),
    role: z.enum(STAKEHOLDER_ROLES as [string, ...string[]], {
      message: `Role must be one of ${STAKEHOLDER_ROLES.join(', ')}.`,
    }),
    stance: z.enum(STANCES as [string, ...string[]], {
      message: 'Stance must be supportive, neutral or opposed.',
    }),
    notes: text(1000),
    next,
  })
  .refine(
    (v) => !!v.contactId !== !!v.email,
    'Choose a person from the company, or give a new person’s email and name.',
  )
  .refine((v) => !v.email || !!v.name, 'Give the new person’s name.')

const ownerSchema = z.strictObject({
  ownerId: z.preprocess((v) => (v === '' ? null : v), id.nullable()),
  next,
})

export const dealRoutes = new Hono<AppEnv>()
  .use(requirePermission('pipeline:read'))
  .get('/queue', async (c) => {
    const source = c.req.query('source')
    if (source && !(LEAD_SOURCES as readonly string[]).includes(source))
      fail(422, 'invalid_input', `source must be one of ${LEAD_SOURCES.join(', ')}.`)
    const view = await leadsQueueView(c.var.db, c.var.user, {
      source: (source as LeadSource) ?? null,
      after: c.req.query('after') ?? null,
    })
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json(view.queue)
  })
  .get('/board', async (c) => {
    const { db, deps, user } = c.var
    const filters = validate(boardQuery, givenParams(c.req.query()))
    const view = await boardView(db, user, deps.now(), filters)
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json({ columns: view.columns })
  })
  .get('/forecast', async (c) => {
    const { db, deps, user } = c.var
    const view = await forecastView(db, user, deps.now(), { owner: c.req.query('owner') })
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json({ forecast: view.forecast })
  })
  .get('/', async (c) => {
    const stage = c.req.query('stage')
    if (!isStageKey(stage))
      fail(422, 'invalid_input', `stage must be one of ${STAGES.map((s) => s.key).join(', ')}.`)
    const view = await stageCardsView(c.var.db, c.var.user, c.var.deps.now(), {
      ...validate(boardQuery, givenParams(c.req.query())),
      stage,
      after: c.req.query('after') ?? null,
    })
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json(view.page)
  })
  .get('/list', async (c) => {
    const { db, deps, user } = c.var
    const query = validate(listQuery, givenParams(c.req.query()))
    const view = await listView(db, user, deps.now(), query)
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json(view.list)
  })
  .post('/', requirePermission('deals:edit_own'), async (c) => {
    const back = (d: Record<string, unknown>): Back => ({
      next: d.next,
      fallback: '/app/deals/new',
      within: '/app',
    })
    const input = await readInput(c, createSchema, back, { labels: NEW_DEAL_LABELS })
    if (input instanceof Response) return input
    const {
      next: _next,
      amount,
      amountCents,
      contactId,
      email,
      companyId,
      companyName,
      ...rest
    } = input
    const { firstName, lastName, jobTitle, phone, ...deal } = rest
    const result = await createDeal(
      c.var.db,
      c.var.user,
      {
        ...deal,
        amountCents: amount !== undefined ? amount : amountCents,
        contact: contactId
          ? { contactId }
          : { email: email!, firstName, lastName, jobTitle, phone },
        company: { companyId, companyName },
      },
      c.var.deps.now(),
    )
    if (!result.ok) {
      if ('openDealId' in result && wantsJson(c))
        return c.json(
          { error: { code: result.code, message: result.message, openDealId: result.openDealId } },
          409,
        )
      return refuse(c, back(input), result)
    }
    const notice =
      result.existingContact && email
        ? 'That address was already a contact: the deal is on that contact, whose details were left as they were.'
        : 'Deal added.'
    return respond(c, `/app/deals/${result.deal.id}`, { notice }, () =>
      c.json(
        {
          deal: publicDeal(result.deal),
          contact: { id: result.contact.id, existing: result.existingContact },
          company: result.company && { id: result.company.id, name: result.company.name },
        },
        201,
      ),
    )
  })
  .post('/claim', requirePermission('deals:claim'), async (c) => {
    const back = (d: Record<string, unknown>) => backTo(d.next ?? '/app/leads')
    const input = await readInput(c, bulkClaimSchema, back, { prepare: tickedIds })
    if (input instanceof Response) return input
    const result = await claimDeals(c.var.db, input.ids, c.var.user.id, c.var.deps.now())
    if (!result.ok) return refuseBatch(c, back(input), result)
    const { claimed, outcomes } = result
    const mine = outcomes.length - claimed
    const notice = [
      `Took over ${claimed} of ${outcomes.length}.`,
      mine ? `${mine} already yours.` : '',
    ]
      .filter(Boolean)
      .join(' ')
    return respond(c, back(input), { notice }, () => c.json({ claimed, outcomes }))
  })
  .post('/reassign', requirePermission('deals:edit_any'), async (c) => {
    const back = (d: Record<string, unknown>): Back => ({
      next: d.next,
      fallback: '/app/admin/users',
      within: '/app',
    })
    const input = await readInput(c, reassignSchema, back, { labels: { toOwnerId: 'New owner' } })
    if (input instanceof Response) return input
    const result = await reassignOpenDeals(
      c.var.db,
      c.var.user,
      input.fromOwnerId,
      input.toOwnerId,
      c.var.deps.now(),
    )
    if (!result.ok) return refuseBatch(c, back(input), result)
    const notice = `Handed over ${result.moved} open deal${result.moved === 1 ? '' : 's'}.`
    return respond(c, back(input), { notice }, () =>
      c.json({ moved: result.moved, outcomes: result.outcomes }),
    )
  })
  .get('/:id', async (c) => {
    const view = await dealView(c.var.db, c.var.user, validate(id, c.req.param('id')))
    if (!view.ok) fail(view.status, view.code, view.message)
    return c.json(dealAnswer(view))
  })
  .post('/:id/claim', async (c) => {
    const dealId = await dealIdOf(c, 'id', BODYLESS)
    if (dealId instanceof Response) return dealId
    const { next } = await bodylessForm(c)
    const problem = permissionProblem(
      c,
      'deals:claim',
      'Your role can read the pipeline but not take over leads.',
    )
    if (problem) {
      if (problem.headers) c.header('WWW-Authenticate', problem.headers['WWW-Authenticate'])
      return refuse(c, backTo(next), problem, BODYLESS)
    }
    const result = await claimDeal(c.var.db, dealId, c.var.user.id, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(next ?? '/app/leads'), result, BODYLESS)
    return respond(
      c,
      `/app/deals/${dealId}`,
      {
        notice: result.alreadyYours
          ? 'This lead is already yours.'
          : 'You took over this lead. It is now in your pipeline at 10%.',
      },
      () => c.json({ deal: publicDeal(result.deal), alreadyYours: result.alreadyYours }),
      BODYLESS,
    )
  })
  .post('/:id/stage', requirePermission('deals:edit_own'), async (c) => {
    const dealId = await dealIdOf(c)
    if (dealId instanceof Response) return dealId
    const input = await readInput(c, stageSchema, backFrom, { labels: STAGE_LABELS })
    if (input instanceof Response) return input
    // A person at a form without JavaScript is asked before a move far back, as the script asks.
    const unconfirmedBack = !wantsJson(c) && input.confirmBack !== 'yes'
    const move = { ...input, unconfirmedBack }
    const result = await moveDealStage(c.var.db, dealId, c.var.user, move, c.var.deps.now())
    if (!result.ok && result.code === 'move_back_unconfirmed')
      return redirectBack(c, `/app/deals/${dealId}/move`, {
        stage: input.stage,
        next: backPath(backTo(input.next)),
      })
    if (!result.ok) return refuse(c, backTo(input.next), result)
    const stage = stageOf(input.stage)
    const from = stageOf(result.from)
    // A page without JavaScript asked nothing first: say plainly when a move went backwards.
    // (A closed stage is never back: won and lost come after every open one.)
    const notice =
      isReopening(result.from, input.stage) && !stage.closed
        ? `Reopened at ${stage.name} (${stage.probability}%).`
        : stagesBack(result.from, input.stage) > 0
          ? `Moved back from ${from.name} (${from.probability}%) to ${stage.name} (${stage.probability}%).`
          : `Moved to ${stage.name} (${stage.probability}%).`
    return respond(c, backTo(input.next), { notice }, () =>
      c.json({ deal: publicDeal(result.deal) }),
    )
  })
  .post('/:id/owner', requirePermission('deals:edit_any'), async (c) => {
    const dealId = await dealIdOf(c)
    if (dealId instanceof Response) return dealId
    const input = await readInput(c, ownerSchema, backFrom, {
      labels: { ownerId: 'Assign to' },
    })
    if (input instanceof Response) return input
    const result = await assignDeal(c.var.db, dealId, c.var.user, input.ownerId, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    return respond(
      c,
      backTo(input.next),
      { notice: input.ownerId ? 'Owner changed.' : 'Returned to the qualified-leads queue.' },
      () => c.json({ deal: publicDeal(result.deal) }),
    )
  })
  .post('/:id/notes', requirePermission('deals:edit_own'), async (c) => {
    const dealId = await dealIdOf(c)
    if (dealId instanceof Response) return dealId
    const input = await readInput(c, noteSchema, backFrom, { labels: { body: 'Note' } })
    if (input instanceof Response) return input
    const result = await addNote(c.var.db, dealId, c.var.user, input.body, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    return respond(c, backTo(input.next), { notice: 'Note added.' }, () =>
      c.json({ id: result.id }, 201),
    )
  })
  .post('/:id/stakeholders', requirePermission('deals:edit_own'), async (c) => {
    const dealId = await dealIdOf(c)
    if (dealId instanceof Response) return dealId
    const input = await readInput(c, stakeholderSchema, backFrom, {
      labels: STAKEHOLDER_LABELS,
    })
    if (input instanceof Response) return input
    const person: StakeholderInput = input.contactId
      ? {
          contactId: input.contactId,
          role: input.role as StakeholderInput['role'],
          stance: input.stance as StakeholderInput['stance'],
          notes: input.notes,
        }
      : {
          email: input.email!,
          name: input.name!,
          jobTitle: input.jobTitle,
          role: input.role as StakeholderInput['role'],
          stance: input.stance as StakeholderInput['stance'],
          notes: input.notes,
        }
    const result = await saveStakeholder(c.var.db, dealId, c.var.user, person, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(input.next), result)
    return respond(c, backTo(input.next), { notice: 'Stakeholder saved.' }, () =>
      c.json({ stakeholder: result.stakeholder }, 201),
    )
  })
  .delete('/:id/stakeholders/:sid', requirePermission('deals:edit_own'), dropStakeholder)
  .post('/:id/stakeholders/:sid/delete', requirePermission('deals:edit_own'), dropStakeholder)
  .on(['POST', 'PATCH'], '/:id', requirePermission('deals:edit_own'), async (c) => {
    const dealId = await dealIdOf(c)
    if (dealId instanceof Response) return dealId
    const input = await readInput(c, updateSchema, backFrom, { labels: UPDATE_LABELS })
    if (input instanceof Response) return input
    const { next: back, amount, amountCents: cents, ...rest } = input
    const patch = {
      ...rest,
      ...(amount !== undefined
        ? { amountCents: amount }
        : cents !== undefined
          ? { amountCents: cents }
          : {}),
    }
    const result = await updateDeal(c.var.db, dealId, c.var.user, patch, c.var.deps.now())
    if (!result.ok) return refuse(c, backTo(back), result)
    return respond(
      c,
      backTo(back),
      { notice: result.changed.length ? 'Saved.' : 'Nothing to change.' },
      () => c.json({ deal: publicDeal(result.deal), changed: result.changed }),
    )
  })

/** DELETE (API) or POST …/delete (the page's button: an empty form but for `next`). */
async function dropStakeholder(c: Context<SignedInEnv>) {
  const dealId = await dealIdOf(c, 'id', BODYLESS)
  if (dealId instanceof Response) return dealId
  const stakeholderId = await dealIdOf(c, 'sid', BODYLESS)
  if (stakeholderId instanceof Response) return stakeholderId
  const { next } = await bodylessForm(c)
  const result = await removeStakeholder(
    c.var.db,
    dealId,
    c.var.user,
    stakeholderId,
    c.var.deps.now(),
  )
  if (!result.ok) return refuse(c, backTo(next), result, BODYLESS)
  return respond(
    c,
    backTo(next),
    { notice: 'Stakeholder removed.' },
    () => c.body(null, 204),
    BODYLESS,
  )
}

/** A plain form goes back to the page it came from (`next`), if that is a page of the app. */
const backTo = (next: unknown): Back => ({ next, fallback: '/app/pipeline', within: '/app' })
const backFrom = (data: Record<string, unknown>) => backTo(data.next)

/** Take-over and remove have no body: a bare POST is an API call; the pages' buttons post a form. */
const BODYLESS = { bodyless: 'json' } as const

/**
 * The id the path names (`param`; a stakeholder's is `sid`), or the refusal to return: a plain
 * form goes back to the page it came from.
 */
function dealIdOf(c: Context<SignedInEnv>, param: 'id' | 'sid' = 'id', options?: RefuseOptions) {
  return readParam(
    c,
    param === 'sid' ? sid : id,
    param,
    async () => backTo((await bodylessForm(c)).next),
    options,
  )
}

export function publicDeal(deal: Deal) {
  const stage = stageOf(deal.stage)
  return {
    id: deal.id,
    title: deal.title,
    stage: deal.stage,
    stageName: stage.name,
    probability: stage.probability,
    amountCents: deal.amountCents,
    currency: deal.currency,
    weightedCents: deal.amountCents === null ? null : weightedCents(deal.amountCents, deal.stage),
    expectedCloseDate: deal.expectedCloseDate,
    contractSignedOn: deal.contractSignedOn,
    paymentReceivedOn: deal.paymentReceivedOn,
    lostReason: deal.lostReason,
    budgetNotes: deal.budgetNotes,
    decisionProcessNotes: deal.decisionProcessNotes,
    source: deal.source,
    ownerId: deal.ownerId,
    sdrId: deal.sdrId,
    contactId: deal.contactId,
    companyId: deal.companyId,
    stageEnteredAt: deal.stageEnteredAt,
    claimedAt: deal.claimedAt,
    closedAt: deal.closedAt,
    createdAt: deal.createdAt,
    updatedAt: deal.updatedAt,
  }
}

// What the deal operations answer, field by field (the document's answer schemas; okSchemaOf
// holds each to the type the route sends, and tests/api/integrations/response-schemas.db.test.ts
// reads each answer through its schema). Times are ISO 8601 in UTC, dates YYYY-MM-DD.

const publicDealSchema = okSchemaOf<ReturnType<typeof publicDeal>>()(
  storedDealSchema.omit({ nextStepOn: true }).extend({
    stageName: z.string(),
    probability: z.number().int().describe('The stage’s probability, in percent.'),
    weightedCents: z
      .number()
      .int()
      .nullable()
      .describe('The amount weighted by the stage’s probability; null without an amount.'),
  }),
)

type DealViewShown = Extract<Awaited<ReturnType<typeof dealView>>, { ok: true }>

/** GET /api/deals/:id: the deal, who it concerns, and its timeline with the evidence in it. */
function dealAnswer(view: DealViewShown) {
  const { contact, company } = view
  return {
    deal: publicDeal(view.deal),
    contact: {
      id: contact.id,
      email: contact.emailDisplay,
      firstName: contact.firstName,
      lastName: contact.lastName,
      jobTitle: contact.jobTitle,
    },
    company: company && {
      id: company.id,
      name: company.name,
      domain: company.domain,
    },
    owner: view.owner,
    sdr: view.sdr,
    stakeholders: view.stakeholders,
    decisionMakerEngaged: view.decisionMakerEngaged,
    timeline: view.timeline.map(({ evidence, ...entry }) => ({
      ...entry,
      ...(evidence ? { evidence } : {}),
    })),
  }
}

const userRef = z.strictObject({ id: z.string(), name: z.string(), email: z.string() })

const evidenceSchema = z
  .strictObject({
    kind: z.enum(['form', 'grader', 'click', 'other']),
    source: z.string().describe('Where the lead came from: “Whitepaper form”, “Outreach click”…'),
    summary: z.string().describe('One line: what the person did.'),
    details: z.array(
      z.strictObject({
        label: z.string(),
        value: z.string(),
        href: z.string().optional().describe('A page of the app with more.'),
      }),
    ),
  })
  .describe('Why this is a target, in words.')

const createdAnswer = okSchemaOf<{
  deal: ReturnType<typeof publicDeal>
  contact: { id: string; existing: boolean }
  company: { id: string; name: string } | null
}>()(
  z.strictObject({
    deal: publicDealSchema,
    contact: z.strictObject({
      id: z.string(),
      existing: z.boolean().describe('The address was a contact already; their details were kept.'),
    }),
    company: z.strictObject({ id: z.string(), name: z.string() }).nullable(),
  }),
)

const outcomes = z
  .array(
    z.strictObject({
      id: z.string(),
      ok: z.boolean(),
      code: z.string().optional().describe('already_yours: it was the caller’s already.'),
      message: z.string().optional(),
    }),
  )
  .describe('Each deal asked for, in the order sent.')

const claimedAnswer = okSchemaOf<{ claimed: number; outcomes: BulkOutcome[] }>()(
  z.strictObject({
    claimed: z.number().int().describe('How many were taken over (not counting already yours).'),
    outcomes,
  }),
)

const movedAnswer = okSchemaOf<{ moved: number; outcomes: BulkOutcome[] }>()(
  z.strictObject({ moved: z.number().int(), outcomes }),
)

const stakeholderAnswer = okSchemaOf<{ stakeholder: Stakeholder }>()(
  z.strictObject({
    stakeholder: z.strictObject({
      id: z.string(),
      dealId: z.string(),
      contactId: z.string().describe('The person (a contact of the deal’s company).'),
      role: z.enum(STAKEHOLDER_ROLES),
      stance: z.enum(STANCES),
      notes: z.string().nullable(),
      createdAt: time,
    }),
  }),
)

const dealAnswerSchema = okSchemaOf<ReturnType<typeof dealAnswer>>()(
  z.strictObject({
    deal: publicDealSchema,
    contact: z.strictObject({
      id: z.string(),
      email: z.string(),
      firstName: z.string().nullable(),
      lastName: z.string().nullable(),
      jobTitle: z.string().nullable(),
    }),
    company: z
      .strictObject({ id: z.string(), name: z.string(), domain: z.string().nullable() })
      .nullable(),
    owner: userRef.nullable(),
    sdr: userRef.nullable().describe('The SDR credited with it (an outbound deal).'),
    stakeholders: z.array(
      z.strictObject({
        id: z.string(),
        contactId: z.string(),
        role: z.enum(STAKEHOLDER_ROLES),
        stance: z.enum(STANCES),
        notes: z.string().nullable(),
        firstName: z.string().nullable(),
        lastName: z.string().nullable(),
        email: z.string(),
        jobTitle: z.string().nullable(),
      }),
    ),
    decisionMakerEngaged: z
      .boolean()
      .describe('A decision-maker (or the economic buyer) is on the deal and not against it.'),
    timeline: z
      .array(
        z.strictObject({
          at: time,
          kind: z.enum([
            'created',
            'evidence',
            'claimed',
            'stage',
            'updated',
            'note',
            'activity',
            'record',
            'submission',
            'click',
            'grader',
            'email',
          ]),
          title: z.string(),
          detail: z.string().nullable(),
          actor: z.string().nullable(),
          tone: z.enum(['ok', 'warn', 'danger']).nullable(),
          badge: z.string().nullable(),
          evidence: evidenceSchema.optional(),
        }),
      )
      .describe('Everything known about the deal’s contact, newest first (at most 100 entries).'),
  }),
)

/** A deal as the pipeline's lists show it (a card on the board). */
export const dealCardSchema = okSchemaOf<DealCard>()(
  z.strictObject({
    id: z.string(),
    title: z.string(),
    stage: z.enum(STAGE_KEYS),
    stageEnteredAt: time,
    amountCents: z.number().int().nullable(),
    currency: z.string(),
    expectedCloseDate: z.iso.date().nullable(),
    ownerId: z.string().nullable().describe('Null while unclaimed.'),
    ownerName: z.string().nullable(),
    companyName: z.string().nullable(),
    contactName: z.string().describe('The contact’s name, or their email without one.'),
    contactEmail: z.string(),
    source: z.string().describe(`One of ${LEAD_SOURCES.join(', ')}.`),
    decisionMakerEngaged: z
      .boolean()
      .describe('A decision-maker (or the economic buyer) is on the deal and not against it.'),
  }),
)
const cursor = z
  .string()
  .nullable()
  .describe('Pass back as `after` for the next page; null on the last page.')

const queueAnswer = okSchemaOf<QueuePage>()(
  z.strictObject({
    leads: z.array(
      dealCardSchema.extend({
        evidence: z
          .array(
            z.strictObject({
              data: z
                .object({
                  kind: z.string().describe('What happened: form, grader_unlock, click…'),
                })
                .catchall(anyJson)
                .describe(
                  'The evidence as its front door recorded it: `kind`, then details that differ by kind (form, offer, asset, page, score…). GET /api/deals/{id} gives it in words.',
                ),
              at: time,
            }),
          )
          .describe('Why each is a target, newest first.'),
      }),
    ),
    next: cursor,
    count: z.number().int().describe('How many are waiting, at most 1000.'),
    countCapped: z.boolean().describe('More than `count` are waiting.'),
  }),
)

const moneySchema = okSchemaOf<Money>()(
  z
    .strictObject({
      currency: z.string(),
      totalCents: z.number(),
      weightedCents: z.number().describe('Weighted by each stage’s probability.'),
    })
    .describe('One currency’s amounts (amounts in different currencies are never added).'),
)

const boardAnswer = okSchemaOf<{ columns: BoardColumn[] }>()(
  z.strictObject({
    columns: z
      .array(
        z.strictObject({
          stage: z.enum(STAGE_KEYS),
          count: z.number().int(),
          money: z.array(moneySchema),
          stale: z.number().int().describe('Deals past their stage’s stale threshold.'),
        }),
      )
      .describe('Open stages count every deal in scope; won and lost count recently closed ones.'),
  }),
)

const listAnswer = okSchemaOf<ListPage>()(
  z.strictObject({
    cards: z.array(dealCardSchema),
    total: z.number().int(),
    page: z.number().int(),
    pageCount: z.number().int(),
  }),
)

const cardPageAnswer = okSchemaOf<CardPage>()(
  z.strictObject({ cards: z.array(dealCardSchema), next: cursor }),
)

const bucket = z.strictObject({
  key: z.string().describe('YYYY-MM for a month; overdue, later or undated for the others.'),
  count: z.number().int(),
  money: z.array(moneySchema),
})
const forecastAnswer = okSchemaOf<{ forecast: Forecast }>()(
  z.strictObject({
    forecast: z.strictObject({
      months: z
        .array(bucket)
        .describe('The next six calendar months, from this one on the caller’s clock.'),
      overdue: bucket.describe('Expected to close before this month.'),
      later: bucket.describe('Beyond the last month shown.'),
      undated: bucket.describe('Without an expected close date.'),
    }),
  }),
)

// The list views read their query parameters themselves (api/pipeline/views.ts checks them);
// described here from the same constants.
const owner = z.string().optional().describe('me, team, or a user id; default: the viewer’s own.')
const after = z.string().optional().describe('The cursor the previous page gave.')

/** A query-string switch: 1, true or on. */
const flag = z
  .enum(['1', 'true', 'on', '0', 'false'], { message: 'Use 1 or 0.' })
  .optional()
  .transform((v) => v === '1' || v === 'true' || v === 'on')
/**
 * What the board, a column and the list are narrowed to. A form sends "" for "any": the routes
 * read the query through givenParams, which leaves empty parameters out.
 */
export const boardQuery = z.object({
  owner,
  source: z
    .enum(LEAD_SOURCES, { message: `source must be one of ${LEAD_SOURCES.join(', ')}.` })
    .optional(),
  stale: flag.describe('Only deals past their stage’s stale threshold.'),
  noNextStep: flag.describe('Only open deals without a planned next step.'),
  closeMonth: z
    .string()
    .refine(isCalendarMonth, 'closeMonth is a month written like 2026-12, from 2000 to 2100.')
    .optional()
    .describe('Only deals expected to close in this month.'),
})
export const listQuery = boardQuery.extend({
  sort: z.enum(LIST_SORTS).default('stage'),
  dir: z.enum(['asc', 'desc']).default('asc'),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
})

const createSchema = z
  .strictObject({
    stage: z
      .enum(CREATABLE_STAGES as [string, ...string[]], {
        message:
          'A deal entered by hand starts at one of target, demo, decision_maker, negotiation, signed or won.',
      })
      .transform((v) => v as (typeof CREATABLE_STAGES)[number]),
    title: optionalText(200),
    amountCents: amountCents.nullable().optional(),
    amount: amountField.optional(),
    currency: currency.optional(),
    expectedCloseDate: optionalDate,
    contractSignedOn: optionalDate,
    paymentReceivedOn: optionalDate,
    // Admins: another rep, or "" for themselves; null (JSON) puts a 10% lead in the queue.
    ownerId: z.preprocess((v) => (v === '' ? undefined : v), id.nullable().optional()),
    reason: optionalText(1000),
    contactId: z.preprocess((v) => (v === '' ? undefined : v), id.optional()),
    email: z.preprocess((v) => (v === '' ? undefined : v), emailAddressField.optional()),
    ...personFields,
    ...companyFields,
    next,
  })
  .refine(
    (v) => !(v.amount !== undefined && v.amountCents !== undefined),
    'Send amount or amountCents, not both.',
  )
  .refine((v) => !!v.contactId !== !!v.email, 'Pick a contact, or enter the new contact’s email.')

const bulkClaimSchema = z.object({
  // Refinements, so the queue's form shows the sentence alone (not "Ids: Tick at least one…");
  // meta keeps the limits in the OpenAPI document.
  ids: z
    .array(id)
    .refine((ids) => ids.length > 0, 'Tick at least one lead first.')
    .refine((ids) => ids.length <= MAX_BULK, `At most ${MAX_BULK} at once.`)
    .meta({ minItems: 1, maxItems: MAX_BULK }),
  next,
})

/** The queue's form sends one checkbox per lead, `select.<id>=on`: gathered into `ids`. */
function tickedIds(data: Record<string, unknown>) {
  if (Array.isArray(data.ids)) return data
  const ids = Object.keys(data)
    .filter((k) => k.startsWith('select.'))
    .map((k) => k.slice('select.'.length))
  return { ids, next: data.next }
}

const reassignSchema = z.strictObject({
  fromOwnerId: z.uuid('Unknown user.'),
  toOwnerId: z.uuid('Choose who takes the deals over.'),
  next,
})
const dealId = z.object({ id })
const stakeholderIds = z.object({ id, sid })
/** What a page's button posts to a bodyless action: where to go back to. */
const nextForm = z.object({ next })
const NOT_YOURS = 'This deal belongs to another rep, or must be taken over first.'

/** A batch refused as a whole (or a refusal before it): JSON names each refused deal. */
function refuseBatch(c: Context, back: Back, failure: DealFailure | BatchFailure) {
  if ('deals' in failure && wantsJson(c))
    return c.json(
      { error: { code: failure.code, message: failure.message, deals: failure.deals } },
      failure.status,
    )
  return refuse(c, back, failure)
}

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/deals/queue',
    summary: 'The qualified-leads queue (deals at 10%, unclaimed), newest first.',
    auth: 'pipeline:read',
    query: z.object({ source: z.enum(LEAD_SOURCES).optional(), after }),
    ok: [200, '{ leads, next, count, countCapped }'],
    okSchema: queueAnswer,
  },
  {
    method: 'get',
    path: '/api/deals/board',
    summary: 'The pipeline board: open deals by stage, optionally filtered.',
    auth: 'pipeline:read',
    query: boardQuery,
    ok: [200, '{ columns }'],
    okSchema: boardAnswer,
  },
  {
    method: 'get',
    path: '/api/deals/list',
    summary: 'The board’s deals as one sorted list, filtered like the board, a page at a time.',
    auth: 'pipeline:read',
    query: listQuery,
    ok: [200, '{ cards, total, page, pageCount }'],
    okSchema: listAnswer,
  },
  {
    method: 'post',
    path: '/api/deals',
    summary:
      'Add a deal by hand (source manual) at any stage from 10%, for a contact picked (contactId) or entered (email: an address already known picks that contact).',
    auth: ['pipeline:read', 'deals:edit_own'],
    body: createSchema,
    ok: [201, '{ deal, contact: { id, existing }, company }'],
    okSchema: createdAnswer,
    errors: {
      403: 'Reps add deals to their own pipeline.',
      409: 'The contact already has an open deal (`open_deal_exists`, with `openDealId`).',
      422: 'Won needs both dates; the owner must be an active rep or admin.',
    },
  },
  {
    method: 'post',
    path: '/api/deals/claim',
    summary:
      'Take over several leads, all or none: one another rep took first, no longer in the queue or unknown refuses the batch, naming each refused lead in `deals`.',
    auth: ['pipeline:read', 'deals:claim'],
    body: bulkClaimSchema,
    ok: [200, '{ claimed, outcomes: [{ id, ok, code? }] }'],
    okSchema: claimedAnswer,
    errors: {
      404: 'A lead of the batch does not exist; nothing was taken.',
      409: 'A lead of the batch is someone else’s or no longer in the queue; nothing was taken.',
      422: 'A lead of the batch is a 0% prospect (`owned_not_prospect`); nothing was taken.',
    },
  },
  {
    method: 'post',
    path: '/api/deals/reassign',
    summary: 'Hand every open deal of one rep to another (when a rep leaves), all or none.',
    auth: ['pipeline:read', 'deals:edit_any'],
    body: reassignSchema,
    ok: [200, '{ moved, outcomes }'],
    okSchema: movedAnswer,
    errors: {
      422: 'The new owner is not an active rep or admin, or is the same person, or a deal sits at 0% (`owned_not_prospect`); nothing was handed over.',
    },
  },
  {
    method: 'get',
    path: '/api/deals/forecast',
    summary: 'Weighted open deals by expected-close month.',
    auth: 'pipeline:read',
    query: z.object({
      owner: owner.describe(
        'me, team, or a user id; default: the viewer’s own. A rep may ask for the team’s (totals only), not for another rep’s.',
      ),
    }),
    ok: [200, '{ forecast }'],
    okSchema: forecastAnswer,
  },
  {
    method: 'get',
    path: '/api/deals',
    summary: 'One stage’s deals, a page at a time, optionally filtered like the board.',
    auth: 'pipeline:read',
    query: boardQuery.extend({ stage: stageKey, after }),
    ok: [200, '{ cards, next }'],
    okSchema: cardPageAnswer,
  },
  {
    method: 'get',
    path: '/api/deals/{id}',
    summary: 'One deal with its contact, company, stakeholders, evidence and timeline.',
    auth: 'pipeline:read',
    params: dealId,
    ok: [
      200,
      '{ deal, contact, company, owner, sdr, stakeholders, decisionMakerEngaged, timeline }',
    ],
    okSchema: dealAnswerSchema,
  },
  {
    method: 'post',
    path: '/api/deals/{id}/claim',
    summary: 'Take over an unclaimed lead (it becomes the caller’s, at 10%).',
    auth: ['pipeline:read', 'deals:claim'],
    params: dealId,
    body: nextForm,
    bodyTypes: ['form'],
    bodyOptional: true,
    ok: [200, '{ deal, alreadyYours }'],
    okSchema: z.strictObject({
      deal: publicDealSchema,
      alreadyYours: z.boolean().describe('It was the caller’s already: nothing changed.'),
    }),
    errors: {
      409: 'Another rep took it first (`already_claimed`), or it left the queue (`not_in_queue`).',
      422: 'It is a 0% prospect, which nobody is given until it qualifies (`owned_not_prospect`).',
    },
  },
  {
    method: 'post',
    path: '/api/deals/{id}/stage',
    summary:
      'Move a deal to a stage (won needs the contract date, lost a reason). A JSON move is made as sent, however far back; a plain form moving more than one stage back without `confirmBack=yes` is sent to a page that asks first (303 to /app/deals/{id}/move).',
    auth: ['pipeline:read', 'deals:edit_own'],
    params: dealId,
    body: stageSchema,
    ok: [200, '{ deal }'],
    okSchema: z.strictObject({ deal: publicDealSchema }),
    errors: {
      403: NOT_YOURS,
      409: 'Already at that stage, or the contact has another open deal.',
    },
  },
  {
    method: 'post',
    path: '/api/deals/{id}/owner',
    summary: 'Give a deal to another rep, or back to the queue (ownerId null or "").',
    auth: ['pipeline:read', 'deals:edit_any'],
    params: dealId,
    body: ownerSchema,
    ok: [200, '{ deal }'],
    okSchema: z.strictObject({ deal: publicDealSchema }),
    errors: {
      422: 'The owner is not an active rep or admin (`invalid_owner`), a deal past 10% cannot be nobody’s (`owner_needed`), or it is a 0% prospect, which nobody is given (`owned_not_prospect`).',
    },
  },
  {
    method: 'post',
    path: '/api/deals/{id}/notes',
    summary: 'Add a note to the deal’s timeline.',
    auth: ['pipeline:read', 'deals:edit_own'],
    params: dealId,
    body: noteSchema,
    ok: [201, '{ id }'],
    okSchema: z.strictObject({ id: z.string().describe('The note’s timeline entry.') }),
    errors: { 403: NOT_YOURS },
  },
  {
    method: 'post',
    path: '/api/deals/{id}/stakeholders',
    summary: 'Add or update a stakeholder: a contact of the company, or a new person by email.',
    auth: ['pipeline:read', 'deals:edit_own'],
    params: dealId,
    body: stakeholderSchema,
    ok: [201, '{ stakeholder }'],
    okSchema: stakeholderAnswer,
    errors: { 403: NOT_YOURS },
  },
  {
    method: 'delete',
    path: '/api/deals/{id}/stakeholders/{sid}',
    summary: 'Remove a stakeholder from the deal.',
    auth: ['pipeline:read', 'deals:edit_own'],
    params: stakeholderIds,
    ok: [204, 'Removed.'],
    errors: { 403: NOT_YOURS },
  },
  {
    method: 'post',
    path: '/api/deals/{id}/stakeholders/{sid}/delete',
    summary: 'Remove a stakeholder (the page’s button; a bare POST is an API call).',
    auth: ['pipeline:read', 'deals:edit_own'],
    params: stakeholderIds,
    body: nextForm,
    bodyTypes: ['form'],
    bodyOptional: true,
    ok: [204, 'Removed.'],
    errors: { 403: NOT_YOURS },
  },
  ...(['post', 'patch'] as const).map((method): Operation<Permission> => ({
    method,
    path: '/api/deals/{id}',
    summary:
      'Change a deal’s fields (title, amount in cents or as typed, currency, dates, notes); only what is sent changes.',
    auth: ['pipeline:read', 'deals:edit_own'],
    params: dealId,
    body: updateSchema,
    ok: [200, '{ deal, changed }'],
    okSchema: z.strictObject({
      deal: publicDealSchema,
      changed: z.array(z.string()).describe('The fields that changed; empty when none did.'),
    }),
    errors: { 403: NOT_YOURS },
  })),
]
