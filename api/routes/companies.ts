import { Hono } from 'hono'
import { z } from 'zod'
import { requirePermission } from '../accounts/guards.ts'
import type { Permission } from '../accounts/permissions.ts'
import { companyDomainOf, parseEmailAddress } from '../email-address.ts'
import type { AppEnv } from '../http/app-env.ts'
import { nextField, readInput, refuse, respond, type Back } from '../http/form-or-json.ts'
import { fail, validate } from '../http/input.ts'
import { okSchemaOf, type Operation } from '../http/openapi.ts'
import {
  companyDetail,
  updateCompany,
  type Company,
  type CompanyDetail,
} from '../pipeline/companies.ts'
import { dealRowSchema, historySchema } from './record-answers.ts'

// GET /api/companies/:id: a company with its people, the deals the caller may read and who
// changed what; POST or PATCH /api/companies/:id renames it or sets its website domain.

const idSchema = z.uuid('Unknown company.')
const next = nextField

/**
 * A website as typed ("https://www.Acme.com/about", "acme.co.uk") → its registrable domain in
 * ASCII, as companies are keyed by email domain ("acme.co.uk"); "" → null (cleared).
 */
const domainField = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
  z
    .string()
    .trim()
    .max(253)
    .transform((v, ctx) => {
      const host = v.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[/?#:].*$/, '')
      // The canonicaliser's domain rules (IDNA, public-looking name) through a stand-in address.
      const parsed = parseEmailAddress(`x@${host}`)
      const domain = parsed ? companyDomainOf(parsed.domain) : null
      if (!parsed) ctx.addIssue({ code: 'custom', message: 'Enter a domain like acme.com.' })
      else if (!domain)
        ctx.addIssue({
          code: 'custom',
          message: `${parsed.domain} is a webmail provider, not a company’s domain.`,
        })
      return domain ?? z.NEVER
    })
    .nullable()
    .optional(),
)

const companyPatchSchema = z.strictObject({
  name: z.string().trim().min(1, 'Give the company a name.').max(200).optional(),
  domain: domainField,
  next,
})

export const companyRoutes = new Hono<AppEnv>()
  .get('/:id', requirePermission('contacts:read'), async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const detail = await companyDetail(c.var.db, id, c.var.user)
    if (!detail) fail(404, 'not_found', 'Unknown company.')
    return c.json(companyAnswer(detail))
  })
  .on(['POST', 'PATCH'], '/:id', requirePermission('deals:edit_own'), async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const back = (d: Record<string, unknown>): Back => ({
      next: d.next,
      fallback: `/app/companies/${id}`,
      within: '/app',
    })
    const input = await readInput(c, companyPatchSchema, back, {
      labels: { domain: 'Website domain' },
    })
    if (input instanceof Response) return input
    const { next: _next, ...patch } = input
    const result = await updateCompany(c.var.db, id, c.var.user, patch, c.var.deps.now())
    if (!result.ok) return refuse(c, back(input), result)
    return respond(
      c,
      back(input),
      { notice: result.changed.length ? 'Saved.' : 'Nothing to change.' },
      () => c.json({ company: result.company, changed: result.changed }),
    )
  })

const params = z.object({ id: idSchema })

/** GET /api/companies/:id: whether the caller may edit it, rather than why not. */
function companyAnswer({ editProblem, ...rest }: CompanyDetail) {
  return { ...rest, canEdit: editProblem === null }
}

const companyJson = z.strictObject({
  id: z.string(),
  domain: z.string().nullable(),
  name: z.string(),
  createdAt: z.iso.datetime(),
})

/** What a read answers, field by field (held to its type by okSchemaOf). */
const detailAnswer = okSchemaOf<ReturnType<typeof companyAnswer>>()(
  z.strictObject({
    company: companyJson,
    people: z
      .array(
        z.strictObject({
          id: z.string(),
          email: z.string(),
          firstName: z.string().nullable(),
          lastName: z.string().nullable(),
          jobTitle: z.string().nullable(),
          phone: z.string().nullable(),
        }),
      )
      .describe('Its contacts by name, at most 200.'),
    peopleTotal: z.number().int(),
    deals: z
      .array(dealRowSchema)
      .describe('The deals the caller may read, newest first, at most 200.'),
    dealsTotal: z.number().int().describe('How many deals the caller may read.'),
    hiddenDeals: z.number().int().describe('Deals of other reps, counted but not shown.'),
    history: historySchema,
    canEdit: z.boolean(),
  }),
)

/** What an edit answers, field by field (held to its type by okSchemaOf). */
const editAnswer = okSchemaOf<{ company: Company; changed: string[] }>()(
  z.strictObject({
    company: companyJson,
    changed: z.array(z.string()).describe('The fields that changed; empty when none did.'),
  }),
)

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/companies/{id}',
    summary:
      'One company: its people and the deals the caller may read (up to 200 each, with `peopleTotal` and `dealsTotal`; others counted in `hiddenDeals`), who added or changed it, and whether the caller may edit it.',
    auth: 'contacts:read',
    params,
    ok: [200, '{ company, people, peopleTotal, deals, dealsTotal, hiddenDeals, history, canEdit }'],
    okSchema: detailAnswer,
  },
  ...(['post', 'patch'] as const).map((method): Operation<Permission> => ({
    method,
    path: '/api/companies/{id}',
    summary:
      'Rename a company or set its website domain ("" clears it); recorded with who and when.',
    auth: 'deals:edit_own',
    params,
    body: companyPatchSchema,
    ok: [200, '{ company, changed }'],
    okSchema: editAnswer,
    errors: {
      403: 'The company’s deals belong to other reps.',
      409: 'The domain is another company’s (`domain_taken`).',
    },
  })),
]
