import { Hono } from 'hono'
import { z } from 'zod'
import {
  contactFiltersSchema,
  contactsCsv,
  findContactDetail,
  listContacts,
  type ContactDetail,
} from '../pipeline/contacts.ts'
import { LEAD_SOURCES, STAGE_KEYS, submissions } from '../db/schema.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { anyJson, okSchemaOf, type Operation, time } from '../http/openapi.ts'
import { nextField, readInput, refuse, respond, type Back } from '../http/form-or-json.ts'
import { fail, givenParams, validate, wantsJson } from '../http/input.ts'
import { requirePermission } from '../accounts/guards.ts'
import { emailAddressField } from '../email-address.ts'
import { createContact, updateContact, type Contact } from '../pipeline/contact-edits.ts'
import { erasePerson } from '../pipeline/erasure.ts'
import { companyFields, optionalText, PERSON_LABELS, personFields } from './person-fields.ts'
import { contactFieldsSchema, dealRowSchema, historySchema } from './record-answers.ts'

// GET /api/contacts (search, filter, page), /api/contacts/export.csv (admins), /api/contacts/:id;
// POST /api/contacts adds one by hand (an address already known picks that contact and says
// so), POST or PATCH /api/contacts/:id corrects one. Forms get a 303 to the contact's page.
// POST /api/contacts/:id/erase (admins) erases the person, confirmed by typing their address;
// the form gets a 303 to the contacts list.

const idSchema = z.uuid('Unknown contact.')
const next = nextField

const newContactSchema = z.strictObject({
  email: emailAddressField,
  ...personFields,
  ...companyFields,
  next,
})

const contactPatchSchema = z.strictObject({
  email: emailAddressField.optional(),
  ...personFields,
  // "" (or null) detaches the contact from its company; a name finds or creates one.
  companyId: z.preprocess(
    (v) => (v === '' ? null : v),
    z.uuid('Unknown company.').nullable().optional(),
  ),
  companyName: optionalText(200),
  next,
})

const eraseSchema = z.strictObject({
  /** The contact's email address, typed to confirm (as GitHub asks for a repository's name). */
  confirm: z.string().trim().max(320, 'Type the contact’s email address.'),
  next,
})

const back = (data: Record<string, unknown>, fallback: string): Back => ({
  next: data.next,
  fallback,
  within: '/app',
})

export const contactRoutes = new Hono<AppEnv>()
  .get('/export.csv', requirePermission('contacts:export'), (c) => {
    const { page: _page, ...filters } = validate(contactFiltersSchema, givenParams(c.req.query()))
    const stamp = c.var.deps.now().toISOString().slice(0, 10)
    return c.body(contactsCsv(c.var.db, filters), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="contacts-${stamp}.csv"`,
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    })
  })
  .get('/', requirePermission('contacts:read'), async (c) => {
    const filters = validate(contactFiltersSchema, givenParams(c.req.query()))
    return c.json(await listContacts(c.var.db, c.var.user, filters))
  })
  .get('/:id', requirePermission('contacts:read'), async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const detail = await findContactDetail(c.var.db, id, c.var.user)
    if (!detail) fail(404, 'not_found', 'Unknown contact.')
    return c.json(detail)
  })
  .post('/', requirePermission('deals:edit_own'), async (c) => {
    const input = await readInput(c, newContactSchema, (d) => back(d, '/app/contacts/new'), {
      labels: PERSON_LABELS,
    })
    if (input instanceof Response) return input
    const { next: _next, ...fields } = input
    const result = await createContact(c.var.db, c.var.user, fields, c.var.deps.now())
    if (!result.ok) return refuse(c, back(input, '/app/contacts/new'), result)
    const { contact, existing } = result
    const notice = existing
      ? 'That address is already a contact: here it is. Nothing was changed.'
      : 'Contact added.'
    return respond(c, `/app/contacts/${contact.id}`, { notice }, () =>
      c.json({ contact, existing }, existing ? 200 : 201),
    )
  })
  .post('/:id/erase', requirePermission('contacts:erase'), async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const page = `/app/contacts/${id}`
    const input = await readInput(c, eraseSchema, (d) => back(d, page), {
      labels: { confirm: 'The contact’s email address, to confirm' },
    })
    if (input instanceof Response) return input
    const result = await erasePerson(
      c.var.db,
      id,
      { reason: 'request', actor: c.var.user, confirm: input.confirm },
      c.var.deps.now(),
    )
    if (!result.ok) return refuse(c, back(input, page), result)
    // Who erased whom, by id: the address is what was erased.
    c.var.log.info('person erased on request', {
      contactId: id,
      actorId: c.var.user.id,
      deals: result.dealIds.length,
    })
    return respond(
      c,
      '/app/contacts',
      { notice: 'The person was erased. Their deals stay, without them.' },
      () => c.json({ erased: { contactId: id, dealIds: result.dealIds } }),
    )
  })
  .on(['POST', 'PATCH'], '/:id', requirePermission('deals:edit_own'), async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const page = `/app/contacts/${id}`
    const input = await readInput(c, contactPatchSchema, (d) => back(d, page), {
      labels: PERSON_LABELS,
    })
    if (input instanceof Response) return input
    const { next: _next, companyId, companyName, ...fields } = input
    const company =
      companyId !== undefined || companyName !== undefined
        ? { companyId: companyId ?? null, companyName: companyName ?? null }
        : undefined
    const result = await updateContact(
      c.var.db,
      id,
      c.var.user,
      { ...fields, email: fields.email, company },
      c.var.deps.now(),
    )
    if (!result.ok) {
      if (!('existingId' in result)) return refuse(c, back(input, page), result)
      if (wantsJson(c))
        return c.json(
          { error: { code: result.code, message: result.message, existingId: result.existingId } },
          409,
        )
      // The page links to that contact (an id, nothing personal, in the URL).
      return refuse(c, back(input, page), result, { params: { existing: result.existingId } })
    }
    return respond(
      c,
      back(input, page),
      { notice: result.changed.length ? 'Saved.' : 'Nothing to change.' },
      () => c.json({ contact: result.contact, changed: result.changed }),
    )
  })

// What the operations answer, field by field (held to their types by okSchemaOf;
// tests/api/integrations/response-schemas.db.test.ts reads each answer through them).

const contactJson = okSchemaOf<Contact>()(
  contactFieldsSchema.extend({
    email: z.string().describe('The address in its canonical form, as compared.'),
    emailDisplay: z.string().describe('The address as typed.'),
    erasedAt: time.nullable(),
  }),
)

const contactListJson = okSchemaOf<Awaited<ReturnType<typeof listContacts>>>()(
  z.strictObject({
    rows: z.array(
      z.strictObject({
        id: z.string(),
        email: z.string().describe('The address as typed.'),
        canonicalEmail: z.string(),
        firstName: z.string().nullable(),
        lastName: z.string().nullable(),
        jobTitle: z.string().nullable(),
        phone: z.string().nullable(),
        company: z.string().nullable(),
        companyDomain: z.string().nullable(),
        source: z.enum(LEAD_SOURCES),
        createdAt: time,
        openDealId: z.string().nullable().describe('Their open deal, if the caller may read it.'),
        openDealStage: z
          .string()
          .nullable()
          .describe(`Its stage: ${STAGE_KEYS.join(', ')}.`),
        submissionCount: z.number().int(),
        marketingConsent: z
          .boolean()
          .nullable()
          .describe('Their latest marketing consent; null: never asked.'),
      }),
    ),
    total: z.number().int(),
    page: z.number().int(),
    pageCount: z.number().int(),
  }),
)

const evidenceData = z
  .object({ kind: z.string().describe('What happened: form, grader_unlock, click…') })
  .catchall(anyJson)

/** A contact's page in full: everything known about the person, as stored. */
const contactDetailJson = okSchemaOf<ContactDetail>()(
  z.strictObject({
    contact: contactJson,
    company: z
      .strictObject({
        id: z.string(),
        domain: z.string().nullable(),
        name: z.string(),
        createdAt: time,
      })
      .nullable(),
    submissions: z
      .array(
        z.strictObject({
          id: z.string(),
          contactId: z.string().nullable(),
          kind: z.enum(submissions.kind.enumValues),
          offer: z
            .string()
            .describe(
              'What it was for: whitepaper:<slug>, case-study:<slug>, trial, grader:<reportId>.',
            ),
          email: z.string().describe('As typed in the form.'),
          fields: z
            .record(z.string(), z.union([z.string(), z.boolean(), z.null()]))
            .describe(
              'The form’s fields as posted (name, company, jobTitle, phone, companySize, message; the grader’s site URL), with consent (a boolean) and consentVersion (a string or null).',
            ),
          pageUrl: z.string().nullable(),
          referrer: z.string().nullable(),
          utm: z
            .record(z.string(), z.string())
            .nullable()
            .describe('The form’s own UTM parameters (last touch): utm_source → value.'),
          firstTouch: z
            .strictObject({
              utm: z.record(z.string(), z.string()),
              landingPage: z.string(),
              referrer: z.string().nullable(),
              ts: time,
            })
            .nullable()
            .describe('The campaign that first brought the visitor, from its first-touch cookie.'),
          ip: z.string().nullable(),
          userAgent: z.string().nullable(),
          status: z
            .enum(['accepted', 'quarantined', 'released'])
            .describe('quarantined: held for review; released: let through after review.'),
          spamReasons: z
            .array(z.string())
            .nullable()
            .describe('Why it was held for review; null when it was not.'),
          idempotencyKey: z.string().nullable(),
          createdAt: time,
          releasedAt: time.nullable(),
        }),
      )
      .describe('Every form post and grader unlock of theirs, newest first.'),
    consents: z
      .array(
        z.strictObject({
          id: z.string(),
          contactId: z.string(),
          purpose: z.string().describe('marketing.'),
          granted: z.boolean(),
          textVersion: z.string().nullable(),
          textHash: z.string().nullable(),
          method: z.string().describe('checkbox, unsubscribe or admin.'),
          source: z
            .record(z.string(), anyJson)
            .nullable()
            .describe(
              'Where it was given or withdrawn: for a form, its offer, pageUrl and utm; for an unsubscribe, via and campaignId.',
            ),
          submissionId: z.string().nullable(),
          ip: z.string().nullable(),
          userAgent: z.string().nullable(),
          createdAt: time,
        }),
      )
      .describe('Their consent given and withdrawn, newest first.'),
    hiddenDeals: z.number().int().describe('Deals of other reps, counted but not shown.'),
    deals: z
      .array(
        dealRowSchema.extend({
          events: z
            .array(
              z.strictObject({
                id: z.string(),
                dealId: z.string(),
                type: z.enum([
                  'created',
                  'stage_changed',
                  'evidence',
                  'claimed',
                  'note',
                  'updated',
                  'activity',
                ]),
                fromStage: z.string().nullable(),
                toStage: z.string().nullable(),
                actorId: z.string().nullable(),
                data: z
                  .union([evidenceData, z.record(z.string(), anyJson)])
                  .nullable()
                  .describe(
                    'What the event carries, by type: evidence: `kind`, then the details of its front door; note: body; updated: the fields changed; others: what they name.',
                  ),
                createdAt: time,
              }),
            )
            .describe('Its history, oldest first.'),
        }),
      )
      .describe('The deals the caller may read, newest first.'),
    emails: z
      .array(
        z.strictObject({
          id: z.string(),
          subject: z.string().nullable(),
          template: z.string().nullable(),
          category: z.enum(['transactional', 'marketing', 'outreach']).nullable(),
          status: z.enum(['pending', 'sending', 'sent', 'failed', 'suppressed']),
          attempts: z.number().int(),
          lastError: z
            .string()
            .nullable()
            .describe(
              'The transport’s last error as it said it (it may name the mail server): for admins; null for everyone else.',
            ),
          reason: z
            .string()
            .nullable()
            .describe('Why a `failed` message failed, in words; null for any other status.'),
          createdAt: time,
          sentAt: time.nullable(),
        }),
      )
      .describe('Email sent or queued to them, newest first (at most 200).'),
    downloads: z
      .array(
        z.strictObject({
          id: z.string(),
          offer: z.string(),
          file: z.string(),
          downloads: z.number().int(),
          lastDownloadAt: time.nullable(),
          expiresAt: time,
          createdAt: time,
        }),
      )
      .describe('Their download links, newest first.'),
    history: historySchema,
    canEdit: z.boolean(),
    editRefusal: z.string().nullable().describe('Why the caller may not edit them, when not.'),
  }),
)

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/contacts',
    summary: 'Contacts: search, filter, a page at a time.',
    auth: 'contacts:read',
    query: contactFiltersSchema,
    ok: [200, 'A page of contacts.'],
    okSchema: contactListJson,
  },
  {
    method: 'get',
    path: '/api/contacts/export.csv',
    summary: 'Every contact the filters match, as CSV (for people; integrations use /api/sync).',
    auth: 'contacts:export',
    query: contactFiltersSchema,
    ok: [200, 'text/csv, as an attachment.'],
  },
  {
    method: 'get',
    path: '/api/contacts/{id}',
    summary: 'One contact with their company, deals and activity.',
    auth: 'contacts:read',
    params: z.object({ id: idSchema }),
    ok: [200, 'The contact in full.'],
    okSchema: contactDetailJson,
  },
  {
    method: 'post',
    path: '/api/contacts',
    summary:
      'Add a contact by hand (source manual), with their company picked, found by the email’s domain or name, or created. An address that is already a contact answers 200 with that contact and `existing: true`, unchanged.',
    auth: 'deals:edit_own',
    body: newContactSchema,
    ok: [201, '{ contact, existing }'],
    okSchema: okSchemaOf<{ contact: Contact; existing: boolean }>()(
      z.strictObject({ contact: contactJson, existing: z.boolean() }),
    ),
  },
  {
    method: 'post',
    path: '/api/contacts/{id}/erase',
    summary:
      'Erase a person on request (GDPR): their details, submissions, download links, grader reports, email copies and network data are deleted or stripped of them in one transaction; their deals stay with an anonymised contact; their address is kept only as a SHA-256 fingerprint on the do-not-email list, and their consent records (without IP address and user agent) as proof. Confirm by sending the contact’s email address as `confirm`. Queues `contact.erased`.',
    auth: 'contacts:erase',
    params: z.object({ id: idSchema }),
    body: eraseSchema,
    ok: [200, '{ erased: { contactId, dealIds } }'],
    errors: {
      404: 'Unknown contact.',
      409: 'The person was already erased (`already_erased`).',
      422: '`confirm` is not the contact’s email address (`confirmation_mismatch`); nothing changed.',
    },
  },
  ...(['post', 'patch'] as const).map((method): Operation<Permission> => ({
    method,
    path: '/api/contacts/{id}',
    summary:
      'Correct a contact: name, job title, phone, email, company (only what is sent changes; "" clears). Recorded with who and when.',
    auth: 'deals:edit_own',
    params: z.object({ id: idSchema }),
    body: contactPatchSchema,
    ok: [200, '{ contact, changed }'],
    okSchema: okSchemaOf<{ contact: Contact; changed: string[] }>()(
      z.strictObject({
        contact: contactJson,
        changed: z.array(z.string()).describe('The fields that changed; empty when none did.'),
      }),
    ),
    errors: {
      403: 'The contact’s deals belong to another rep, or its lead must be taken over first.',
      409: 'The email is another contact’s (`duplicate_contact`, with `existingId`), or the person was erased (`erased`).',
    },
  })),
]
