import { RETENTION } from '../content/site.ts'
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { checkMergeFields } from '../../email-templates/outreach.ts'
import { requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import {
  campaignProgress,
  changeCampaignStatus,
  createCampaign,
  findCampaign,
  listCampaigns,
  updateCampaign,
  type Campaign,
  type CampaignFailure,
  type CampaignProgress,
} from '../campaigns/campaigns.ts'
import {
  findImport,
  IMPORT_MAX_BYTES,
  importErrors,
  importErrorsCsv,
  listImports,
  storeImport,
  type ImportShown,
} from '../campaigns/imports.ts'
import {
  mergeReport,
  PREVIEW_PAGE_SIZE,
  previewMessages,
  sendTestMessage,
  startProblems,
  type PreviewMessage,
} from '../campaigns/preview.ts'
import type { MergeFieldReport } from '../../email-templates/outreach.ts'
import { hitRateLimit, type Limit } from '../rate-limits.ts'
import { campaignDecision } from '../campaigns/access.ts'
import { workbookRefusal } from '../campaigns/csv.ts'
import {
  listRecipients,
  RECIPIENT_STATUSES,
  removeRecipient,
  type RecipientPage,
} from '../campaigns/recipients.ts'
import { createFollowUp } from '../campaigns/follow-ups.ts'
import {
  canonicalTimeZone,
  WINDOW_HOURS,
  windowHourMessage,
  windowProblem,
} from '../campaigns/window.ts'
import { parseEmailAddress } from '../email-address.ts'
import {
  bodylessForm,
  nextField,
  readInput,
  refuse,
  respond,
  type Back,
  type FieldLabels,
} from '../http/form-or-json.ts'
import { bodyKind, fail, givenParams, uploadRefusal, validate } from '../http/input.ts'
import { isClockTime } from '../pipeline/activities.ts'
import { isCalendarDate } from '../pipeline/deals.ts'
import { plural } from '../pipeline/format.ts'
import { formatStart, START_AT_MAX_DAYS } from '../campaigns/start-at.ts'
import type { Permission } from '../accounts/permissions.ts'
import { CAMPAIGN_STATUSES, STAGE_KEYS } from '../db/schema.ts'
import { FORM_REDIRECT, okSchemaOf, type Operation, time } from '../http/openapi.ts'

// /api/campaigns: SDR campaigns. Everyone signed in reads; SDRs act on their own campaigns and
// admins on all (api/campaigns/access.ts decides). Plain HTML forms get a 303 back to the
// campaign's page with ?notice= or ?error=; JSON callers get JSON. The CSV upload is
// multipart/form-data, exempt from the global body limit with its own (IMPORT_MAX_BYTES, in
// api/app.ts).

export const CAMPAIGN_UPLOAD_PATH = /^\/api\/campaigns\/([^/]+)\/imports$/

const optionalText = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string().trim().max(max, `At most ${max} characters.`).optional(),
  )
// A number, or a form's digits. z.coerce alone reads JSON null, false and "" as 0, a midnight start.
// Its bounds are in the schema, so the OpenAPI document shows them.
const hour = (field: keyof typeof WINDOW_HOURS) => {
  const what = field === 'startHour' ? 'start' : 'end'
  const { min, max } = WINDOW_HOURS[field]
  return z.preprocess(
    (v) => (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '') ? v : undefined),
    z.coerce
      .number({ message: `The window ${what} is a whole hour.` })
      .int(`The window ${what} is a whole hour.`)
      .min(min, windowHourMessage(field))
      .max(max, windowHourMessage(field)),
  )
}
const WINDOW_FIELDS = { startHour: 'windowStartHour', endHour: 'windowEndHour' } as const

const campaignSchema = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1, 'Give the campaign a name.')
      .max(200, 'The name is at most 200 characters.'),
    ownerId: optionalText(64),
    senderName: z
      .string()
      .trim()
      .min(1, 'Give the sender a name.')
      .max(100, 'The sender name is at most 100 characters.'),
    senderEmail: z.string().trim().min(1, 'Give the sender address.').max(320),
    replyTo: optionalText(320).refine(
      (v) => v === undefined || parseEmailAddress(v) !== null,
      'The reply-to is not a valid email address.',
    ),
    subjectTemplate: z
      .string()
      .trim()
      .min(1, 'Write a subject.')
      .max(300, 'The subject is at most 300 characters.'),
    bodyTemplate: z
      .string()
      .trim()
      .min(1, 'Write the message.')
      .max(20_000, 'The message is at most 20,000 characters.'),
    ratePerHour: z.coerce
      .number({ message: 'The hourly rate is a whole number.' })
      .int('The hourly rate is a whole number.')
      .min(1, 'Send at least 1 an hour.')
      .max(3600, 'At most 3,600 an hour (one a second) per sender.'),
    windowStartHour: hour('startHour'),
    windowEndHour: hour('endHour'),
    timezone: z
      .string()
      .trim()
      .transform((v, ctx) => {
        const zone = canonicalTimeZone(v)
        if (!zone) {
          ctx.addIssue({
            code: 'custom',
            message: `"${v.slice(0, 64)}" is not an IANA time zone (like Europe/Berlin or America/New_York).`,
          })
          return z.NEVER
        }
        return zone
      }),
    next: nextField,
  })
  .superRefine((v, ctx) => {
    const problem = windowProblem(v.windowStartHour, v.windowEndHour)
    if (problem)
      ctx.addIssue({
        code: 'custom',
        path: [WINDOW_FIELDS[problem.field]],
        message: problem.message,
      })
    // Malformed {{…}} is known now; unknown fields only once the CSV's columns are.
    const syntax = checkMergeFields(
      { subject: v.subjectTemplate, body: v.bodyTemplate },
      [],
    ).syntaxErrors
    if (syntax[0])
      ctx.addIssue({
        code: 'custom',
        path: ['bodyTemplate'],
        message: `Merge fields: ${syntax[0].message}`,
      })
  })

/** "" from a form, null from JSON: not given. */
const blank = (v: unknown) => (v === '' || v === null ? undefined : v)

/** A start's optional day and time, read on the campaign's clock ("Start at"). */
/** The campaign form's labels (CampaignForm.astro), for a refused form's message. */
const CAMPAIGN_LABELS: FieldLabels = {
  ownerId: 'Credited SDR',
  senderEmail: 'Sender address',
  replyTo: 'Reply-to',
  subjectTemplate: 'Subject',
  bodyTemplate: 'Message',
  ratePerHour: 'Messages per hour',
  windowStartHour: 'Send from (hour)',
  windowEndHour: 'Send until (hour)',
  timezone: 'Time zone',
}
/** The start form's (the campaign page): "Start on [day] at [time]". */
const START_LABELS: FieldLabels = { startDate: 'Start on', startTime: 'Start at' }

const startSchema = z
  .strictObject({
    startDate: z.preprocess(
      blank,
      z
        .string()
        .trim()
        .refine(isCalendarDate, 'Enter the start date as YYYY-MM-DD, like 2026-03-09.')
        .optional(),
    ),
    startTime: z.preprocess(
      blank,
      z
        .string()
        .trim()
        .refine(isClockTime, 'Enter the start time as HH:MM, like 09:00.')
        .optional(),
    ),
    next: nextField,
  })
  .superRefine((v, ctx) => {
    if ((v.startDate === undefined) !== (v.startTime === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [v.startDate === undefined ? 'startDate' : 'startTime'],
        message: 'To start later, give both a date and a time; to start now, give neither.',
      })
  })

const listQuery = z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) })

const recipientsQuery = z.object({
  status: z
    .enum(RECIPIENT_STATUSES, {
      message: `status must be one of ${RECIPIENT_STATUSES.join(', ')}.`,
    })
    .optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
})

/** The preview's page number; anything else shows the first page. */
const previewPage = z.coerce.number().int().min(1).max(100_000).catch(1)

const pageOf = (id: string) => `/app/campaigns/${id}`
const ACTIONS = ['ready', 'start', 'pause', 'resume', 'complete'] as const
const NOTICES: Record<(typeof ACTIONS)[number], string> = {
  ready: 'Checked: the campaign is ready to start.',
  start: 'Started: messages go out in the sending window at the hourly rate.',
  pause: 'Paused: nothing more goes out until you resume.',
  resume: 'Resumed.',
  complete: 'Stopped: no more messages will be sent.',
}

type C = Context<SignedInEnv>

/** Test messages a person may send themselves (to their own address only). */
const TEST_LIMIT: Limit = { limit: 10, windowMs: 60 * 60_000 }

const TOO_LARGE = `The file is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MB.`

/**
 * A CSV upload over the cap: a 303 back to the campaign's page with ?error= for the plain form,
 * a 413 for API clients. Also api/app.ts's answer when its body limit (the file plus the
 * multipart framing) stops the upload before this route reads it.
 */
export function uploadTooLarge(c: Context, campaignId: string): Response {
  return refuse(c, pageOf(campaignId), {
    status: 413,
    code: 'payload_too_large',
    message: TOO_LARGE,
  })
}

function refusal(c: C, back: Back, failure: Omit<CampaignFailure, 'ok'>) {
  const { status, code, message, fields } = failure
  return refuse(c, back, { status, code, message, ...(fields ? { fields } : {}) })
}

async function readable(c: C): Promise<Campaign> {
  const campaign = await findCampaign(c.var.db, c.req.param('id') ?? '')
  if (!campaign) fail(404, 'not_found', 'There is no such campaign.')
  return campaign
}

// Reading is the floor of every campaign route; a write has its own guard, which must be the one
// to refuse a request without credentials: no API token may write campaigns, so that 401 asks a
// person to sign in rather than challenging for a bearer token (RFC 6750) as a read's does.
const canRead = requirePermission('campaigns:read')

export const campaignRoutes = new Hono<SignedInEnv>()
  .use('*', (c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' ? canRead(c, next) : next(),
  )

  .get('/', async (c) => {
    const { page } = validate(listQuery, givenParams(c.req.query()))
    return c.json(await listCampaigns(c.var.db, { page }))
  })

  .post('/', requirePermission('campaigns:write'), async (c) => {
    const input = await readInput(c, campaignSchema, '/app/campaigns/new', {
      labels: CAMPAIGN_LABELS,
    })
    if (input instanceof Response) return input
    const { next: _next, ...fields } = input
    const result = await createCampaign(
      c.var.db,
      c.var.deps.env,
      c.var.user,
      fields,
      c.var.deps.now(),
    )
    if (!result.ok) return refusal(c, '/app/campaigns/new', result)
    const id = result.campaign.id
    return respond(
      c,
      pageOf(id),
      { notice: 'Campaign created. Now import its recipients (CSV).' },
      () => c.json({ campaign: result.campaign }, 201),
    )
  })

  .get('/:id', async (c) => {
    const campaign = await readable(c)
    const [progress, imports] = await Promise.all([
      campaignProgress(c.var.db, [campaign.id]),
      listImports(c.var.db, campaign.id),
    ])
    const answer: CampaignAnswer = {
      campaign: campaign,
      progress: progress.get(campaign.id)!,
      imports,
    }
    return c.json(answer)
  })

  .post('/:id', requirePermission('campaigns:write'), async (c) => {
    const id = c.req.param('id')
    const back = `${pageOf(id)}/edit`
    const input = await readInput(c, campaignSchema, back, { labels: CAMPAIGN_LABELS })
    if (input instanceof Response) return input
    const { next: _next, ownerId: _owner, ...fields } = input
    const result = await updateCampaign(
      c.var.db,
      c.var.deps.env,
      c.var.user,
      id,
      fields,
      c.var.deps.now(),
    )
    if (!result.ok) return refusal(c, result.status === 404 ? '/app/campaigns' : back, result)
    return respond(c, pageOf(id), { notice: 'Saved.' }, () => c.json({ campaign: result.campaign }))
  })

  .get('/:id/recipients', async (c) => {
    const campaign = await readable(c)
    const { status, page } = validate(recipientsQuery, givenParams(c.req.query()))
    return c.json(await listRecipients(c.var.db, campaign.id, { viewer: c.var.user, status, page }))
  })

  .post('/:id/recipients/:recipientId/remove', requirePermission('campaigns:write'), async (c) => {
    const id = c.req.param('id')
    // Back to the list as it was shown (its filter and page), when a page's button sent it.
    const { next } = await bodylessForm(c)
    const back: Back = { next, fallback: `${pageOf(id)}#recipients`, within: pageOf(id) }
    const result = await removeRecipient(c.var.db, c.var.user, id, c.req.param('recipientId'))
    if (!result.ok) return refusal(c, result.code === 'not_found' ? '/app/campaigns' : back, result)
    return respond(
      c,
      back,
      { notice: 'Recipient taken out: they get nothing from this campaign.' },
      () => c.json({ recipient: result.recipient }),
    )
  })

  .post('/:id/follow-up', requirePermission('campaigns:write'), async (c) => {
    const id = c.req.param('id')
    const result = await createFollowUp(c.var.db, c.var.deps.env, c.var.user, id, c.var.deps.now())
    if (!result.ok)
      return refusal(
        c,
        result.status === 404 ? '/app/campaigns' : `${pageOf(id)}/follow-up`,
        result,
      )
    const { campaign, recipients, inOtherCampaign } = result
    const leftOut = inOtherCampaign
      ? ` (${plural(inOtherCampaign, 'non-clicker', 'non-clickers')} left out: still waiting in another live campaign)`
      : ''
    return respond(
      c,
      pageOf(campaign.id),
      {
        notice: `Follow-up created with ${plural(recipients, 'recipient', 'recipients')}${leftOut}: edit its message, check it and start it.`,
      },
      () => c.json({ campaign, recipients, inOtherCampaign }, 201),
    )
  })

  .get('/:id/preview', async (c) => {
    const campaign = await readable(c)
    const page = previewPage.parse(c.req.query('page') ?? 1)
    const [problems, report, preview] = await Promise.all([
      startProblems(c.var.db, c.var.deps.env, campaign),
      mergeReport(c.var.db, campaign),
      previewMessages(c.var.db, c.var.deps.env, campaign, page),
    ])
    const answer: PreviewAnswer = { problems, mergeFields: report, ...preview, page }
    return c.json(answer)
  })

  .post('/:id/imports', requirePermission('campaigns:write'), async (c) => {
    const id = c.req.param('id')
    const back = pageOf(id)
    const type = (c.req.header('content-type') ?? '').toLowerCase()
    if (!type.startsWith('multipart/form-data'))
      return refuse(c, back, {
        status: 415,
        code: 'unsupported_media_type',
        message: 'Upload the CSV as multipart/form-data (a file field named "file").',
      })
    let body: Record<string, string | File | (string | File)[]>
    try {
      body = await c.req.parseBody({ all: true })
    } catch {
      return refuse(c, back, {
        status: 400,
        code: 'bad_upload',
        message: 'The upload could not be read.',
      })
    }
    const file = body.file
    // A form sent with no file chosen carries an empty part without a name; a chosen file that
    // is empty has its name, and storeImport says it is empty.
    if (!(file instanceof File) || (file.size === 0 && !file.name))
      return refuse(c, back, {
        status: 422,
        code: 'no_file',
        message: 'Choose a CSV file to import.',
      })
    if (file.size > IMPORT_MAX_BYTES) return uploadTooLarge(c, id)
    const bytes = new Uint8Array(await file.arrayBuffer())
    // Before the NUL check, which a workbook's bytes would fail with a message that does not help.
    const workbook = workbookRefusal(bytes)
    if (workbook) return refuse(c, back, { status: 422, code: 'not_csv', message: workbook })
    const unreadable = uploadRefusal(c, file, bytes)
    if (unreadable) return refuse(c, back, unreadable)
    const result = await storeImport(
      c.var.db,
      c.var.user,
      { campaignId: id, filename: file.name, bytes },
      c.var.deps.now(),
    )
    if (!result.ok) return refusal(c, result.status === 404 ? '/app/campaigns' : back, result)
    c.var.deps.wakeups.wake('campaigns')
    return respond(
      c,
      `${pageOf(id)}/imports/${result.importId}`,
      { notice: 'Uploaded: importing now.' },
      () => c.json({ importId: result.importId }, 202),
    )
  })

  .get('/:id/imports/:importId', async (c) => {
    const campaign = await readable(c)
    const job = await findImport(c.var.db, c.req.param('importId'))
    if (!job || job.campaignId !== campaign.id) fail(404, 'not_found', 'There is no such import.')
    return c.json({ import: job, errors: await importErrors(c.var.db, job.id, 100) })
  })

  .get('/:id/imports/:importId/errors.csv', async (c) => {
    const campaign = await readable(c)
    const job = await findImport(c.var.db, c.req.param('importId'))
    if (!job || job.campaignId !== campaign.id) fail(404, 'not_found', 'There is no such import.')
    return c.body(importErrorsCsv(c.var.db, job.id), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="import-errors-${job.id.slice(0, 8)}.csv"`,
      'Cache-Control': 'private, no-store',
    })
  })

  .post('/:id/test', requirePermission('campaigns:write'), async (c) => {
    const campaign = await findCampaign(c.var.db, c.req.param('id'))
    if (!campaign)
      return refuse(c, '/app/campaigns', {
        status: 404,
        code: 'not_found',
        message: 'There is no such campaign.',
      })
    const back = `${pageOf(campaign.id)}/preview`
    const decision = campaignDecision(c.var.user, campaign, 'test')
    if (!decision.ok) return refuse(c, back, decision)
    const now = c.var.deps.now()
    const limit = await hitRateLimit(c.var.db, `campaign-test:${c.var.user.id}`, TEST_LIMIT, now)
    if (!limit.allowed) {
      c.header('Retry-After', String(limit.retryAfterSeconds))
      return refuse(c, back, {
        status: 429,
        code: 'rate_limited',
        message: `At most ${TEST_LIMIT.limit} test messages an hour: try again later.`,
      })
    }
    const user = c.var.user
    const result = await sendTestMessage(
      c.var.db,
      c.var.deps.env,
      campaign,
      { email: user.email, name: user.name },
      now,
    )
    if (!result.ok) return refusal(c, back, result)
    return respond(
      c,
      back,
      {
        // Not the address: a form's notice travels in the page's URL (histories, logs, Referers).
        notice: `Test sent to your address: the first recipient’s message, its links straight to their pages (not tracked), its unsubscribe link a test’s, which unsubscribes nobody.`,
      },
      () => c.json({ to: result.to, outboxId: result.outboxId }, 202),
    )
  })

  .post(
    '/:id/:action{ready|start|pause|resume|complete}',
    requirePermission('campaigns:write'),
    async (c) => {
      const id = c.req.param('id')
      const action = c.req.param('action') as (typeof ACTIONS)[number]
      // Only a start reads a body (its optional "Start at"); without one it starts now.
      let startAt: { day: string; time: string } | undefined
      if (action === 'start' && bodyKind(c)) {
        const input = await readInput(c, startSchema, pageOf(id), { labels: START_LABELS })
        if (input instanceof Response) return input
        if (input.startDate && input.startTime)
          startAt = { day: input.startDate, time: input.startTime }
      }
      const result = await changeCampaignStatus(
        c.var.db,
        c.var.deps.env,
        c.var.user,
        id,
        action,
        c.var.deps.now(),
        { startAt },
      )
      if (!result.ok)
        return refusal(c, result.status === 404 ? '/app/campaigns' : pageOf(id), result)
      if (action === 'start' || action === 'resume') c.var.deps.wakeups.wake('campaigns')
      const { startAfter, timezone } = result.campaign
      const notice =
        action === 'start' && startAfter
          ? `Scheduled: starts ${formatStart(startAfter, timezone)}, then goes out in the sending window at the hourly rate.`
          : NOTICES[action]
      return respond(c, pageOf(id), { notice }, () => c.json({ campaign: result.campaign }))
    },
  )

const campaignId = z.object({ id: z.string() })
const importIds = z.object({ id: z.string(), importId: z.string() })
/** The upload, as the route reads it (parseBody, not zod): one file field. */
const uploadSchema = z.object({ file: z.file().describe('The recipients, as CSV.') })
const write = ['campaigns:read', 'campaigns:write'] as const

// What the campaign reads answer, field by field (the document's answer schemas, held by
// okSchemaOf to the types the routes send; tests/api/integrations/response-schemas.db.test.ts
// reads each answer through them). Times are ISO 8601 in UTC.

const campaignJson = okSchemaOf<Campaign>()(
  z.strictObject({
    id: z.string(),
    name: z.string(),
    ownerId: z.string().describe('The SDR credited with the prospects and targets it produces.'),
    senderName: z.string(),
    senderEmail: z.string(),
    replyTo: z.string().nullable(),
    subjectTemplate: z.string(),
    bodyTemplate: z.string(),
    status: z
      .enum(CAMPAIGN_STATUSES)
      .describe(
        '`completed` both when everything was sent and when a person stopped it: `stoppedAt` tells them apart.',
      ),
    ratePerHour: z.number().int(),
    windowStartHour: z.number().int(),
    windowEndHour: z.number().int(),
    timezone: z.string().describe('The IANA zone of the sending window.'),
    lastSlotAt: time.nullable().describe('The latest send slot handed out.'),
    startAfter: time.nullable().describe('No send before it (a scheduled start); null: at once.'),
    createdBy: z.string(),
    createdAt: time,
    updatedAt: time,
    startedAt: time.nullable(),
    completedAt: time.nullable(),
    stoppedAt: time
      .nullable()
      .describe(
        'When a person stopped it (status `completed`; its recipients never sent are `stopped`); null when it sent everything or has not ended.',
      ),
    stoppedBy: z.string().nullable().describe('The user who stopped it.'),
    followUpOf: z
      .string()
      .nullable()
      .describe('The sent campaign whose non-clickers this follows up.'),
    followUpCount: z.number().int().nullable(),
  }),
)

const progressJson = okSchemaOf<CampaignProgress>()(
  z
    .strictObject({
      recipients: z.number().int(),
      pending: z.number().int(),
      queued: z.number().int(),
      sent: z.number().int(),
      bounced: z.number().int(),
      suppressed: z.number().int(),
      failed: z.number().int(),
      skipped: z.number().int().describe('In the pipeline by their turn: not emailed.'),
      removed: z.number().int().describe('Taken out before they were enqueued: never emailed.'),
      stopped: z
        .number()
        .int()
        .describe('Still waiting when a person stopped the campaign: never emailed.'),
      clicks: z.number().int().describe('Every click, whatever its verdict.'),
    })
    .describe('Recipients by outcome.'),
)

const importJson = okSchemaOf<ImportShown>()(
  z.strictObject({
    id: z.string(),
    campaignId: z.string(),
    filename: z.string(),
    bytes: z.number().int(),
    status: z.enum(['pending', 'running', 'done', 'failed']),
    columns: z
      .array(z.strictObject({ header: z.string(), field: z.string() }))
      .nullable()
      .describe('The header as read, and what each column maps to.'),
    delimiter: z.string().nullable(),
    totalRows: z.number().int().nullable(),
    processedRows: z.number().int(),
    imported: z.number().int(),
    duplicates: z.number().int(),
    suppressed: z.number().int(),
    inPipeline: z.number().int(),
    inOtherCampaign: z
      .number()
      .int()
      .describe('Still waiting or queued in another campaign that is not completed: not imported.'),
    invalid: z.number().int(),
    error: z.string().nullable(),
    leaseUntil: time.nullable(),
    createdBy: z.string().nullable(),
    createdAt: time,
    completedAt: time.nullable(),
  }),
)

const importAnswerJson = okSchemaOf<{
  import: ImportShown
  errors: Awaited<ReturnType<typeof importErrors>>
}>()(
  z.strictObject({
    import: importJson,
    errors: z
      .array(
        z.strictObject({
          line: z.number().int().describe('The row’s line in the file.'),
          email: z.string().nullable(),
          reason: z.string(),
        }),
      )
      .describe('The first 100 rows refused, by line; errors.csv has them all.'),
  }),
)

const campaignListJson = okSchemaOf<Awaited<ReturnType<typeof listCampaigns>>>()(
  z.strictObject({
    campaigns: z.array(
      campaignJson.extend({
        ownerName: z.string(),
        progress: progressJson,
        humanClicks: z
          .number()
          .int()
          .describe('Clicks judged a person’s, as the results count them.'),
      }),
    ),
    total: z.number().int(),
    page: z.number().int(),
    pageCount: z.number().int(),
  }),
)

const recipientPageJson = okSchemaOf<RecipientPage>()(
  z.strictObject({
    rows: z.array(
      z.strictObject({
        id: z.string(),
        line: z.number().int().nullable().describe('Its line in the CSV file it came from.'),
        contactId: z.string(),
        email: z.string().describe('As typed in the file, else as the contact has it.'),
        name: z.string().nullable(),
        company: z.string().nullable(),
        status: z
          .enum(RECIPIENT_STATUSES)
          .describe(
            '`pending` waits for its slot; `stopped`: still waiting when a person stopped the campaign, never sent.',
          ),
        scheduledAt: time.nullable().describe('The send slot the scheduler gave it.'),
        sentAt: time.nullable().describe('When the transport accepted it.'),
        reason: z
          .string()
          .nullable()
          .describe(
            'Why it `failed`, `bounced` or was `suppressed`, in words: what the receiving server said of the address (quoted, at most 160 characters), that our mail server or sender needs an admin, or which do-not-mail entry stopped it (an unsubscribe, an earlier bounce, a complaint, an admin’s entry) and on which day on the caller’s clock, while that entry stands; an erased person’s says only that they were erased. Null for any other status.',
          ),
        clicks: z.strictObject({ raw: z.number().int(), human: z.number().int() }),
        deal: z
          .strictObject({
            id: z.string(),
            stage: z.enum(STAGE_KEYS),
            label: z.string(),
            closed: z.boolean(),
          })
          .nullable()
          .describe('Their open deal, else their latest, among those the caller may read.'),
      }),
    ),
    total: z.number().int().describe('Recipients matching the filter.'),
    page: z.number().int(),
    pageCount: z.number().int(),
  }),
)

interface CampaignAnswer {
  campaign: Campaign
  progress: CampaignProgress
  /** Newest first. */
  imports: ImportShown[]
}

const campaignAnswerJson = okSchemaOf<CampaignAnswer>()(
  z.strictObject({
    campaign: campaignJson,
    progress: progressJson,
    imports: z.array(importJson).describe('Its recipient imports, newest first.'),
  }),
)

interface PreviewAnswer {
  problems: string[]
  mergeFields: MergeFieldReport
  messages: PreviewMessage[]
  total: number
  page: number
}

const part = z.enum(['subject', 'body'])

const previewAnswerJson = okSchemaOf<PreviewAnswer>()(
  z.strictObject({
    problems: z
      .array(z.string())
      .describe('Everything that stops the campaign starting, in words; empty when it can go.'),
    mergeFields: z
      .strictObject({
        ok: z.boolean().describe('Every recipient’s message can be merged.'),
        fields: z
          .array(z.string())
          .describe('Every field the templates use, in order of first use.'),
        syntaxErrors: z.array(z.strictObject({ part, text: z.string(), message: z.string() })),
        unknownFields: z.array(
          z.strictObject({
            part,
            field: z.string(),
            suggestion: z.string().nullable().describe('The field probably meant.'),
            message: z.string(),
          }),
        ),
        missingValues: z
          .array(
            z.strictObject({
              row: z.number().int().describe('The recipient’s CSV line.'),
              email: z.string(),
              fields: z.array(z.string()),
              message: z.string(),
            }),
          )
          .describe('Recipients lacking a value for a field used without a fallback.'),
      })
      .describe('The templates’ merge fields checked against every recipient.'),
    messages: z
      .array(
        z.strictObject({
          recipientId: z.string(),
          line: z.number().int().nullable().describe('Its line in the CSV file it came from.'),
          email: z.string(),
          status: z.string().describe(`The recipient’s status: ${RECIPIENT_STATUSES.join(', ')}.`),
          subject: z.string().describe('Empty when the message cannot be rendered.'),
          text: z.string().describe('The plain-text body as it will go out.'),
          links: z
            .array(
              z.strictObject({
                shown: z.string().describe('The tracked link, with a placeholder token.'),
                destination: z
                  .string()
                  .nullable()
                  .describe('Where it leads; null for a link that is not tracked.'),
              }),
            )
            .describe('Each link of the message, in order.'),
          problem: z
            .string()
            .nullable()
            .describe('Why this message cannot be rendered (a merge problem, no postal address).'),
        }),
      )
      .describe(`A page of recipients’ messages (${PREVIEW_PAGE_SIZE}), in file order.`),
    total: z.number().int().describe('Recipients still to be written to (all but removed ones).'),
    page: z.number().int(),
  }),
)

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/campaigns',
    summary: 'Campaigns with their progress, newest first, a page (50) at a time.',
    auth: 'campaigns:read',
    query: listQuery,
    ok: [200, '{ campaigns, total, page, pageCount }'],
    okSchema: campaignListJson,
  },
  {
    method: 'post',
    path: '/api/campaigns',
    summary:
      'Create a campaign (a draft): sender, templates with merge fields, rate, sending window.',
    auth: write,
    body: campaignSchema,
    ok: [201, '{ campaign }'],
    errors: {
      403: 'SDRs create campaigns for themselves; admins for any SDR.',
      422: 'Invalid input, an unknown owner, or a sender address not verified.',
    },
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}',
    summary: 'One campaign with its progress and imports.',
    auth: 'campaigns:read',
    params: campaignId,
    ok: [200, '{ campaign, progress, imports }'],
    okSchema: campaignAnswerJson,
  },
  {
    method: 'post',
    path: '/api/campaigns/{id}',
    summary: 'Change a campaign’s fields.',
    auth: write,
    params: campaignId,
    body: campaignSchema,
    ok: [200, '{ campaign }'],
    errors: {
      403: 'Not your campaign.',
      409: 'The campaign changed meanwhile, or its state does not allow this.',
    },
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}/recipients',
    summary:
      'Who the campaign goes to, 50 a page in file order: each recipient’s outcome and send time (and why, when it failed, bounced or was suppressed), clicks (human / raw) and deal.',
    auth: 'campaigns:read',
    params: campaignId,
    query: recipientsQuery,
    ok: [200, '{ rows, total, page, pageCount }'],
    okSchema: recipientPageJson,
  },
  {
    method: 'post',
    path: '/api/campaigns/{id}/recipients/{recipientId}/remove',
    summary:
      'Take one recipient out before their message goes (status `removed`, never enqueued): while the campaign is a draft, ready, sending or paused, and the recipient still waiting.',
    auth: write,
    params: z.object({ id: z.string(), recipientId: z.string() }),
    ok: [200, '{ recipient: { id, email, status } }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      403: 'Not your campaign.',
      409: 'The campaign is completed (`wrong_status`), or the message was handed to the outbox already (`not_pending`) or taken out before (`already_removed`).',
    },
  },
  {
    method: 'post',
    path: '/api/campaigns/{id}/follow-up',
    summary:
      'Follow up with non-clickers: a new draft credited to the same SDR (same sender, rate and window, subject "Re: …", a body to edit) whose recipients are this campaign’s that were sent it, made no human click (nor one awaiting its verdict), are not suppressed and are still an untaken 0% prospect. Those still waiting or queued in another campaign that is not completed are left out and counted in `inOtherCampaign`, as an import counts them.',
    auth: write,
    params: campaignId,
    ok: [201, '{ campaign, recipients, inOtherCampaign }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      403: 'Not your campaign.',
      409: 'Nothing was sent yet (`wrong_status`), or nobody qualifies (`nobody_to_follow_up`).',
      422: 'The sender is no longer on the verified sending domain, or the SDR is gone.',
    },
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}/preview',
    summary: 'What would go out: problems that block starting, merge fields, a page of messages.',
    auth: 'campaigns:read',
    params: campaignId,
    query: z.object({ page: previewPage }),
    ok: [200, '{ problems, mergeFields, messages, total, page }'],
    okSchema: previewAnswerJson,
  },
  {
    method: 'post',
    path: '/api/campaigns/{id}/imports',
    summary:
      'Upload recipients as CSV (multipart/form-data, a `file` field); imported in the background.',
    auth: write,
    params: campaignId,
    body: uploadSchema,
    bodyTypes: ['multipart'],
    ok: [202, '{ importId }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      400: 'The upload could not be read (`bad_upload`).',
      409: 'The campaign is sending or done (`wrong_status`), or changed meanwhile (`conflict`).',
      413: TOO_LARGE,
      422: 'No file, an empty file, or a header that is not usable.',
    },
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}/imports/{importId}',
    summary: 'One import: its state, counts and first errors.',
    auth: 'campaigns:read',
    params: importIds,
    ok: [200, '{ import, errors }'],
    okSchema: importAnswerJson,
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}/imports/{importId}/errors.csv',
    summary: 'An import’s rejected rows, as CSV.',
    auth: 'campaigns:read',
    params: importIds,
    ok: [
      200,
      `text/csv, as an attachment: "Why it was refused" and "Line in your file", two columns an upload ignores, then the file’s own columns with each row’s values as uploaded, in the file’s delimiter, so the file can be fixed and uploaded again. Bad rows are deleted ${RETENTION.refusedRowsDays} days after the import.`,
    ],
  },
  {
    method: 'post',
    path: '/api/campaigns/{id}/test',
    summary:
      'Send yourself the first recipient’s message as it will go out (subject marked [Test], links not tracked), through the outbox.',
    auth: write,
    params: campaignId,
    ok: [202, '{ to, outboxId }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      403: 'Not your campaign.',
      409: 'Outreach cannot be sent (`cannot_send`: no postal address, a sender off the verified domain) or no recipients yet (`no_recipients`).',
      422: 'The first recipient’s message cannot be merged (`merge_fields`).',
      429: 'Too many test messages this hour; see Retry-After.',
    },
  },
  {
    method: 'post',
    path: '/api/campaigns/{id}/{action}',
    summary: `Change a campaign’s state: ready (check it), start, pause, resume, complete (stop for good). A start may name \`startDate\` and \`startTime\` on the campaign’s clock (its time zone; within ${START_AT_MAX_DAYS} days): it is sending at once (pause and stop work) but nothing is sent before then (\`campaign.startAfter\`); a resume keeps that time. A time skipped when clocks go forward is read with the offset before the jump; one repeated when they go back is its first pass. No body, or neither field: it starts now.`,
    auth: write,
    params: z.object({ id: z.string(), action: z.enum(ACTIONS) }),
    body: startSchema,
    bodyOptional: true,
    ok: [200, '{ campaign }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      403: 'Not your campaign.',
      409: 'The campaign’s state does not allow this, it changed meanwhile, or problems block starting (`campaign_has_problems`: no recipients, unknown merge fields, …).',
      422: `A start time that is malformed, given half (a date without a time), past, or more than ${START_AT_MAX_DAYS} days ahead (\`invalid_start\`).`,
    },
  },
]
