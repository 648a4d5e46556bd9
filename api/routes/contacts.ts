import { Hono } from 'hono'
import { z } from 'zod'
import {
  contactFiltersSchema,
  contactsCsv,
  findContactDetail,
  listContacts,
} from '../pipeline/contacts.ts'
import type { AppEnv } from '../http/app-env.ts'
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
