import { Hono } from 'hono'
import { z } from 'zod'
import type { Permission } from '../accounts/permissions.ts'
import { requirePermission } from '../accounts/guards.ts'
import type { AppEnv } from '../http/app-env.ts'
import { fail } from '../http/input.ts'
import { okSchemaOf, type Operation } from '../http/openapi.ts'
import { STAGE_KEYS } from '../db/schema.ts'
import {
  CANDIDATES,
  GROUP_LIMIT,
  searchEverything,
  searchQuery,
  type SearchResults,
} from '../search/search.ts'

// GET /api/search?q=: deals, contacts and companies, grouped and ranked (api/search/). The page
// /app/search answers the header's search box the same way without JavaScript.

const query = z.object({ q: searchQuery })

/**
 * One group of hits. The domain leaves out a group the viewer may not read; this operation
 * needs both read permissions, so it always sends all three.
 */
const group = <T extends z.ZodType>(hit: T, what: string) =>
  z
    .strictObject({
      hits: z.array(hit).describe(`At most ${GROUP_LIMIT}, best first.`),
      total: z.number().int().describe(`How many matched, up to ${CANDIDATES}.`),
      capped: z.boolean().describe(`More than ${CANDIDATES} matched.`),
    })
    .optional()
    .describe(what)

const searchAnswer = okSchemaOf<SearchResults>()(
  z.strictObject({
    query: z.string().describe('q as searched.'),
    deals: group(
      z.strictObject({
        id: z.string(),
        title: z.string(),
        stage: z.enum(STAGE_KEYS),
        ownerName: z.string().nullable(),
        contactName: z.string().nullable(),
        contactEmail: z.string().nullable(),
        companyName: z.string().nullable(),
      }),
      'Deals, as the caller sees them in the pipeline.',
    ),
    contacts: group(
      z.strictObject({
        id: z.string(),
        name: z.string().nullable(),
        email: z.string(),
        jobTitle: z.string().nullable(),
        companyName: z.string().nullable(),
      }),
      'Contacts.',
    ),
    companies: group(
      z.strictObject({
        id: z.string(),
        name: z.string(),
        domain: z.string().nullable(),
        contacts: z.number().int().describe('How many contacts it has.'),
      }),
      'Companies.',
    ),
  }),
)

export const searchRoutes = new Hono<AppEnv>().get(
  '/',
  requirePermission('pipeline:read'),
  requirePermission('contacts:read'),
  async (c) => {
    const parsed = query.safeParse({ q: c.req.query('q') })
    // A query string is not a body: a missing, empty or overlong q is a bad request.
    if (!parsed.success) fail(400, 'invalid_query', parsed.error.issues[0]!.message)
    return c.json(await searchEverything(c.var.db, c.var.user, parsed.data.q), 200, {
      'Cache-Control': 'private, no-store',
    })
  },
)

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/search',
    summary:
      'Search deals, contacts and companies by name, email or domain: each group ranked exact match, word start, substring, then near misses (typos) by trigram similarity, at most 8 hits with the number that matched (up to 200, `capped` beyond). Deals as the caller sees them in the pipeline (reps: their own and unclaimed ones).',
    auth: ['pipeline:read', 'contacts:read'],
    query,
    ok: [200, '{ query, deals: { hits, total, capped }, contacts: {…}, companies: {…} }'],
    okSchema: searchAnswer,
    errors: { 400: 'q is missing, empty or longer than 100 characters (`invalid_query`).' },
  },
]
