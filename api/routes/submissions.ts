import { Hono } from 'hono'
import { z } from 'zod'
import { releasedUnlockFollowUp } from '../grader/unlocks.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { FORM_REDIRECT, type Operation } from '../http/openapi.ts'
import { readInput, refuse, respond } from '../http/form-or-json.ts'
import { givenParams, validate } from '../http/input.ts'
import { requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import { leadContext, offersFor } from '../leads/context.ts'
import {
  discardSubmissions,
  listQuarantined,
  releaseSubmission,
  type ReleaseOptions,
} from '../leads/quarantine.ts'
import type { Context } from 'hono'

// Quarantined submissions (admins): GET /api/submissions/quarantined;
// POST /api/submissions/:id/release, which processes one as the lead it would have been;
// POST /api/submissions/:id/discard, which throws one away; and POST /api/submissions/bulk
// ({ action: release | discard, ids }) for many at once (the page's checkboxes: select.<id>=on).

const idSchema = z.uuid('Unknown submission.')
const pageSchema = z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) })
const PAGE = '/app/admin/quarantine'

const MESSAGES = {
  not_found: 'Unknown submission.',
  not_quarantined: 'This submission is not in quarantine any more.',
  invalid_email: 'This submission has no usable email address.',
} as const

const MAX_BULK = 200
const bulkSchema = z.object({
  action: z.enum(['release', 'discard'], { message: 'Choose Release or Discard.' }),
  ids: z
    .array(idSchema)
    .min(1, 'Select at least one submission first.')
    .max(MAX_BULK, `At most ${MAX_BULK} at once.`),
})

/** The page's form sends one checkbox per row, `select.<id>=on`: gather them into `ids`. */
function bulkFromForm(data: Record<string, unknown>) {
  if (Array.isArray(data.ids)) return data
  const ids = Object.keys(data)
    .filter((k) => k.startsWith('select.'))
    .map((k) => k.slice('select.'.length))
  return { action: data.action, ids }
}

async function releaseOptions(c: Context<SignedInEnv>): Promise<ReleaseOptions> {
  const { deps } = c.var
  return {
    actorId: c.var.user.id,
    offers: await offersFor(deps),
    ctx: await leadContext(deps),
    // A released grader unlock is followed up as an unlock: the grade, the report email.
    followUps: { grader: releasedUnlockFollowUp },
  }
}

export const submissionRoutes = new Hono<AppEnv>()
  .use(requirePermission('submissions:review'))
  .get('/quarantined', async (c) => {
    const { page } = validate(pageSchema, givenParams(c.req.query()))
    return c.json(await listQuarantined(c.var.db, { page }))
  })
  .post('/:id/release', async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const result = await releaseSubmission(c.var.deps.db, id, await releaseOptions(c))
    if (!result.ok) {
      const status =
        result.code === 'not_found' ? 404 : result.code === 'not_quarantined' ? 409 : 422
      return refuse(c, PAGE, { status, code: result.code, message: MESSAGES[result.code] })
    }
    const notice = result.dealCreated
      ? 'Released: the lead is in the queue at 10%.'
      : 'Released: added as evidence to the open deal.'
    return respond(c, PAGE, { notice, contact: result.contactId }, () =>
      c.json({ released: result }),
    )
  })
  .post('/:id/discard', async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const discarded = await discardSubmissions(c.var.db, [id])
    if (discarded === 0)
      return refuse(c, PAGE, {
        status: 404,
        code: 'not_quarantined',
        message: 'This submission is not in quarantine any more.',
      })
    return respond(c, PAGE, { notice: 'Discarded.' }, () => c.json({ discarded }))
  })
  .post('/bulk', async (c) => {
    const input = await readInput(c, bulkSchema, PAGE, { prepare: bulkFromForm })
    if (input instanceof Response) return input
    const ids = [...new Set(input.ids)]
    if (input.action === 'discard') {
      const discarded = await discardSubmissions(c.var.db, ids)
      return respond(c, PAGE, { notice: `Discarded ${discarded} of ${ids.length}.` }, () =>
        c.json({ discarded, skipped: ids.length - discarded }),
      )
    }
    // Each release is its own transaction, as one at a time would be: one that fails (released
    // by another admin meanwhile, no usable address) leaves the others released.
    const options = await releaseOptions(c)
    let released = 0
    const skipped: Array<{ id: string; code: string }> = []
    for (const id of ids) {
      const result = await releaseSubmission(c.var.deps.db, id, options)
      if (result.ok) released++
      else skipped.push({ id, code: result.code })
    }
    const notice = `Released ${released} of ${ids.length}${skipped.length ? ` (${skipped.length} not in quarantine any more or without a usable address)` : ''}: they are in the leads queue.`
    return respond(c, PAGE, { notice }, () => c.json({ released, skipped }))
  })

/** What the quarantine page's form posts: one checkbox per row (bulkFromForm gathers them). */
const bulkFormSchema = z
  .object({ action: bulkSchema.shape.action })
  .catchall(z.literal('on'))
  .describe('Plus one `select.<submission id>=on` per submission chosen.')
const submissionId = z.object({ id: idSchema })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/submissions/quarantined',
    summary: 'Quarantined submissions (suspected spam), a page at a time.',
    auth: 'submissions:review',
    query: pageSchema,
    ok: [200, 'A page of submissions.'],
  },
  {
    method: 'post',
    path: '/api/submissions/{id}/release',
    summary: 'Process a quarantined submission as the lead it would have been.',
    auth: 'submissions:review',
    params: submissionId,
    ok: [200, '{ released }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      409: 'Not in quarantine any more (`not_quarantined`).',
      422: 'No usable email address (`invalid_email`).',
    },
  },
  {
    method: 'post',
    path: '/api/submissions/{id}/discard',
    summary: 'Throw a quarantined submission away.',
    auth: 'submissions:review',
    params: submissionId,
    ok: [200, '{ discarded }'],
    other: { 303: FORM_REDIRECT },
    errors: { 404: 'Not in quarantine any more (`not_quarantined`).' },
  },
  {
    method: 'post',
    path: '/api/submissions/bulk',
    summary: `Release or discard up to ${MAX_BULK} quarantined submissions at once.`,
    auth: 'submissions:review',
    body: bulkSchema,
    formBody: bulkFormSchema,
    ok: [200, '{ released, skipped } or { discarded, skipped }'],
  },
]
