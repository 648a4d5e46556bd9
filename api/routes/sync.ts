import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { requirePermission } from '../accounts/guards.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { okSchemaOf, type Operation, time } from '../http/openapi.ts'
import { contactFieldsSchema, storedDealSchema } from './record-answers.ts'
import { fail, givenParams } from '../http/input.ts'
import { submissions } from '../db/schema.ts'
import {
  contactsChanged,
  cursorParam,
  type CursorList,
  DO_NOT_EMAIL_REASON_LIST,
  dealsChanged,
  parsePagedQuery,
  leadsCaptured,
  SYNC_PAGE_DEFAULT,
  SYNC_PAGE_MAX,
  SYNC_SETTLE_MS,
  type SyncedContact,
  type SyncedDeal,
  type SyncPage,
  type SyncPosition,
} from '../integrations/sync.ts'

// /api/sync: what changed since a cursor, for integrations keeping a copy (API tokens with
// leads:read or deals:read, or a signed-in admin/SDR). One deal in full (evidence, timeline) is
// GET /api/deals/:id; campaigns and their results are GET /api/campaigns and /api/campaigns/:id.
// A change is listed once it is SYNC_SETTLE_MS old (api/integrations/sync.ts says why).

const SETTLE = `A change is listed once it is ${SYNC_SETTLE_MS / 1000} s old, so none committed late is skipped.`

/** A sync list's query: its cursor is refused by the other lists (integrations/sync.ts). */
export const syncQuerySchema = (list: CursorList) =>
  z.object({
    cursor: cursorParam(
      list,
      `The cursor is not one this list (${list}) gave out; start without one.`,
    ).describe(
      `The nextCursor of the last page of this list read; none to start from the beginning.`,
    ),
    limit: z.coerce
      .number()
      .int()
      .min(1, 'limit is at least 1.')
      .max(SYNC_PAGE_MAX, `limit is at most ${SYNC_PAGE_MAX}.`)
      .default(SYNC_PAGE_DEFAULT),
  })

// What each list hands out, field by field (the document's answer schemas; okSchemaOf holds each
// to the type the list is built as, and a test reads every list through them, so they cannot drift
// from what is sent). Times are ISO 8601 in UTC.
const page = <T extends z.ZodType>(item: T, what: string) =>
  z.strictObject({
    data: z.array(item).describe(`${what}, oldest change first.`),
    nextCursor: z
      .string()
      .nullable()
      .describe(
        'Pass it as ?cursor= for the next page; when hasMore is false, keep it to ask again later.',
      ),
    hasMore: z.boolean(),
  })

export const syncedDealSchema = okSchemaOf<SyncedDeal>()(
  storedDealSchema
    .omit({ budgetNotes: true, decisionProcessNotes: true, nextStepOn: true })
    .extend({
      updatedAt: time.describe('The position in this list: every change to the deal moves it.'),
    }),
)

export const syncedContactSchema = okSchemaOf<SyncedContact>()(
  contactFieldsSchema.extend({
    email: z
      .string()
      .describe('As the person typed it; erased-<id>@erased.invalid once they are erased.'),
    erasedAt: time
      .nullable()
      .describe(
        'When the person was erased (on request, or after 24 months without activity). Every personal field is then a placeholder or null: erase your copy of the contact rather than update it, and delete the leads whose contactId is theirs — those were deleted here and are listed no more.',
      ),
    doNotEmail: z
      .strictObject({
        reason: z
          .enum(DO_NOT_EMAIL_REASON_LIST)
          .describe(
            'unsubscribed: they unsubscribed (stops marketing and outreach); bounced: their mailbox does not exist; complained: they reported our mail as spam; admin: an admin put them on the list; erased: a person erased before came back (stops marketing and outreach). bounced, complained and admin stop every email.',
          ),
        since: time.describe('When the address went on the do-not-email list.'),
      })
      .nullable()
      .describe(
        'Set while the address is on the do-not-email list; null when email may go. A change either way moves the contact in this list.',
      ),
    updatedAt: time.describe(
      'The position in this list: an edit, a form post, an unsubscribe, a bounce, an admin adding or removing the address, or an erasure moves it.',
    ),
  }),
)

// Not held to SyncedLead by okSchemaOf: its jsonb columns (fields, utm, firstTouch) are typed
// unknown there, wider than the objects they hold.
export const syncedLeadSchema = z.strictObject({
  id: z.string(),
  contactId: z.string().nullable(),
  kind: z.enum(submissions.kind.enumValues),
  offer: z.string(),
  email: z.string().describe('As typed in the form.'),
  fields: z
    .record(z.string(), z.unknown())
    .describe('What the form carried (name, company, message…, consent and its version).'),
  pageUrl: z.string().nullable(),
  referrer: z.string().nullable(),
  utm: z.record(z.string(), z.string()).nullable(),
  firstTouch: z.record(z.string(), z.unknown()).nullable(),
  status: z.enum(['accepted', 'released']).describe('released: held for review first.'),
  createdAt: time,
  releasedAt: time.nullable(),
})

/** The query of a list paged by cursor, read as integrations/sync.ts parsePagedQuery does; a problem fails the request. */
export function readPagedQuery<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const query = parsePagedQuery(schema, givenParams(c.req.query()))
  if (!query.ok) fail(query.status, query.code, query.message, { fields: query.fields })
  return query.data
}

const dealsQuery = syncQuerySchema('deals')
const contactsQuery = syncQuerySchema('contacts')
const leadsQuery = syncQuerySchema('leads')

function readQuery(
  c: Context,
  schema: ReturnType<typeof syncQuerySchema>,
): { after: SyncPosition | null; limit: number } {
  const query = readPagedQuery(c, schema)
  return { after: query.cursor ?? null, limit: query.limit }
}

export const syncRoutes = new Hono<AppEnv>()
  .get('/deals', requirePermission('pipeline:read_team'), async (c) => {
    const { after, limit } = readQuery(c, dealsQuery)
    return c.json(await dealsChanged(c.var.db, after, limit, c.var.deps.now()))
  })
  .get('/contacts', requirePermission('contacts:read'), async (c) => {
    const { after, limit } = readQuery(c, contactsQuery)
    return c.json(await contactsChanged(c.var.db, after, limit, c.var.deps.now()))
  })
  .get('/leads', requirePermission('contacts:read'), async (c) => {
    const { after, limit } = readQuery(c, leadsQuery)
    return c.json(await leadsCaptured(c.var.db, after, limit, c.var.deps.now()))
  })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/sync/deals',
    summary: `Deals changed since the cursor, oldest change first (keyset on updated_at, id). ${SETTLE}`,
    auth: 'pipeline:read_team',
    query: dealsQuery,
    ok: [200, '{ data, nextCursor, hasMore }'],
    okSchema: okSchemaOf<SyncPage<SyncedDeal>>()(page(syncedDealSchema, 'Deals')),
    errors: { 400: 'The cursor is not one this list gave out (`invalid_cursor`).' },
  },
  {
    method: 'get',
    path: '/api/sync/contacts',
    summary: `Contacts changed since the cursor, oldest change first, with their do-not-email state and whether they were erased. ${SETTLE}`,
    auth: 'contacts:read',
    query: contactsQuery,
    ok: [200, '{ data, nextCursor, hasMore }'],
    okSchema: okSchemaOf<SyncPage<SyncedContact>>()(page(syncedContactSchema, 'Contacts')),
    errors: { 400: 'The cursor is not one this list gave out (`invalid_cursor`).' },
  },
  {
    method: 'get',
    path: '/api/sync/leads',
    summary: `Leads (form posts, grader unlocks) that reached the pipeline since the cursor: when posted, or when released from quarantine. A lead is listed once; an erased person's leads are deleted (their contact comes again with erasedAt). ${SETTLE}`,
    auth: 'contacts:read',
    query: leadsQuery,
    ok: [200, '{ data, nextCursor, hasMore }'],
    okSchema: page(syncedLeadSchema, 'Leads'),
    errors: { 400: 'The cursor is not one this list gave out (`invalid_cursor`).' },
  },
]
