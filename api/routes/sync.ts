import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { requirePermission } from '../accounts/guards.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { fail, givenParams, validate } from '../http/input.ts'
import {
  contactsChanged,
  dealsChanged,
  decodeCursor,
  leadsCaptured,
  SYNC_PAGE_DEFAULT,
  SYNC_PAGE_MAX,
  SYNC_SETTLE_MS,
  type SyncPosition,
} from '../integrations/sync.ts'

// /api/sync: what changed since a cursor, for integrations keeping a copy (API tokens with
// leads:read or deals:read, or a signed-in admin/SDR). One deal in full (evidence, timeline) is
// GET /api/deals/:id; campaigns and their results are GET /api/campaigns and /api/campaigns/:id.
// A change is listed once it is SYNC_SETTLE_MS old (api/integrations/sync.ts says why).

const SETTLE = `A change is listed once it is ${SYNC_SETTLE_MS / 1000} s old, so none committed late is skipped.`

export const syncQuerySchema = z.object({
  cursor: z.string().max(300).optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1, 'limit is at least 1.')
    .max(SYNC_PAGE_MAX, `limit is at most ${SYNC_PAGE_MAX}.`)
    .default(SYNC_PAGE_DEFAULT),
})

function readQuery(c: Context): { after: SyncPosition | null; limit: number } {
  const query = validate(syncQuerySchema, givenParams(c.req.query()))
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor)
  if (query.cursor !== undefined && !after)
    fail(400, 'invalid_cursor', 'The cursor is not one this API gave out; start without one.')
  return { after, limit: query.limit }
}

export const syncRoutes = new Hono<AppEnv>()
  .get('/deals', requirePermission('pipeline:read_team'), async (c) => {
    const { after, limit } = readQuery(c)
    return c.json(await dealsChanged(c.var.db, after, limit, c.var.deps.now()))
  })
  .get('/contacts', requirePermission('contacts:read'), async (c) => {
    const { after, limit } = readQuery(c)
    return c.json(await contactsChanged(c.var.db, after, limit, c.var.deps.now()))
  })
  .get('/leads', requirePermission('contacts:read'), async (c) => {
    const { after, limit } = readQuery(c)
    return c.json(await leadsCaptured(c.var.db, after, limit, c.var.deps.now()))
  })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/sync/deals',
    summary: `Deals changed since the cursor, oldest change first (keyset on updated_at, id). ${SETTLE}`,
    auth: 'pipeline:read_team',
    query: syncQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore }'],
    errors: { 400: 'The cursor is not one this API gave out.' },
  },
  {
    method: 'get',
    path: '/api/sync/contacts',
    summary: `Contacts changed since the cursor, oldest change first. ${SETTLE}`,
    auth: 'contacts:read',
    query: syncQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore }'],
    errors: { 400: 'The cursor is not one this API gave out.' },
  },
  {
    method: 'get',
    path: '/api/sync/leads',
    summary: `Leads (form posts, grader unlocks) that reached the pipeline since the cursor: when posted, or when released from quarantine. ${SETTLE}`,
    auth: 'contacts:read',
    query: syncQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore }'],
    errors: { 400: 'The cursor is not one this API gave out.' },
  },
]
