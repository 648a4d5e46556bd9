import { Hono } from 'hono'
import { z } from 'zod'
import {
  contactFiltersSchema,
  contactsCsv,
  findContactDetail,
  listContacts,
} from '../pipeline/contacts.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { fail, validate } from '../http/input.ts'
import { requirePermission } from '../accounts/guards.ts'

// GET /api/contacts (search, filter, page), /api/contacts/export.csv (admins), /api/contacts/:id.

const idSchema = z.uuid('Unknown contact.')

export const contactRoutes = new Hono<AppEnv>()
  .get('/export.csv', requirePermission('contacts:export'), (c) => {
    const { page: _page, ...filters } = validate(contactFiltersSchema, c.req.query())
    const stamp = c.var.deps.now().toISOString().slice(0, 10)
    return c.body(contactsCsv(c.var.db, filters), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="contacts-${stamp}.csv"`,
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    })
  })
  .get('/', requirePermission('contacts:read'), async (c) => {
    const filters = validate(contactFiltersSchema, c.req.query())
    return c.json(await listContacts(c.var.db, filters))
  })
  .get('/:id', requirePermission('contacts:read'), async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    const detail = await findContactDetail(c.var.db, id, c.var.user)
    if (!detail) fail(404, 'not_found', 'Unknown contact.')
    return c.json(detail)
  })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/contacts',
    summary: 'Contacts: search, filter, a page at a time.',
    auth: 'contacts:read',
    query: contactFiltersSchema,
    ok: [200, 'A page of contacts.'],
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
  },
]
