import { Hono } from 'hono'
import { z } from 'zod'
import { releasedUnlockFollowUp } from '../grader/unlocks.ts'
import type { AppEnv } from '../http/app-env.ts'
import { refuse, respond } from '../http/form-or-json.ts'
import { validate } from '../http/input.ts'
import { requirePermission } from '../accounts/guards.ts'
import { leadContext, offersFor } from '../leads/context.ts'
import { listQuarantined, releaseSubmission } from '../leads/quarantine.ts'

// Quarantined submissions (admins): GET /api/submissions/quarantined, and
// POST /api/submissions/:id/release, which processes one as the lead it would have been.

const idSchema = z.uuid('Unknown submission.')
const pageSchema = z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) })
const PAGE = '/app/admin/quarantine'

const MESSAGES = {
  not_found: 'Unknown submission.',
  not_quarantined: 'This submission is not in quarantine any more.',
  invalid_email: 'This submission has no usable email address.',
} as const

export const submissionRoutes = new Hono<AppEnv>()
  .use(requirePermission('submissions:review'))
  .get('/quarantined', async (c) => {
    const { page } = validate(pageSchema, c.req.query())
    return c.json(await listQuarantined(c.var.db, { page }))
  })
  .post('/:id/release', async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const { deps } = c.var
    const result = await releaseSubmission(deps.db, id, {
      actorId: c.var.user.id,
      offers: await offersFor(deps),
      ctx: await leadContext(deps),
      // A released grader unlock is followed up as an unlock: the grade, the report email.
      followUps: { grader: releasedUnlockFollowUp },
    })
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
