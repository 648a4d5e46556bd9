import { Hono } from 'hono'
import { z } from 'zod'
import { API_SCOPES } from '../accounts/api-scopes.ts'
import { requirePermission } from '../accounts/guards.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { FORM_REDIRECT, type Operation } from '../http/openapi.ts'
import { showOnceCookie } from '../http/cookies.ts'
import { readInput, redirectBack, respond } from '../http/form-or-json.ts'
import { fail, validate, wantsJson } from '../http/input.ts'
import {
  createApiToken,
  listApiTokens,
  NEW_TOKEN_COOKIE,
  revokeApiToken,
} from '../integrations/api-tokens.ts'

// /api/admin/api-tokens: admins make, list and revoke API tokens (never with a token: the
// permission has no scope). The secret is in the answer once; a plain form gets it through a
// one-minute cookie scoped to the page, so it is never in a URL, a log or the browser's history.

const PAGE = '/app/admin/api'
const DAY = 24 * 60 * 60 * 1000

export const createTokenSchema = z.object({
  name: z.string().trim().min(1, 'Name the token (what uses it).').max(100),
  scopes: z
    .array(z.enum(API_SCOPES, { message: `Scopes are ${API_SCOPES.join(', ')}.` }))
    .min(1, 'Choose at least one scope.')
    .max(API_SCOPES.length)
    .transform((s) => [...new Set(s)]),
  /** Days until it stops working; absent: until revoked. */
  expiresInDays: z.coerce.number().int().min(1).max(3650).optional(),
})
const idSchema = z.string().regex(/^[a-z2-7]{32}$/, 'Unknown token.')

/** What the page's form sends (fromForm reshapes it into createTokenSchema's input). */
const createTokenFormSchema = z.object({
  name: createTokenSchema.shape.name,
  ...Object.fromEntries(API_SCOPES.map((s) => [`scope:${s}`, z.literal('on').optional()])),
  expiresInDays: z.string().optional().describe('Days until it stops working; empty: never.'),
})

/** The form sends one checkbox per scope (`scope:deals:read=on`) and an optional number. */
function fromForm(data: Record<string, unknown>, kind: 'json' | 'form') {
  if (kind === 'json') return data
  return {
    name: data.name,
    scopes: API_SCOPES.filter((s) => data[`scope:${s}`] !== undefined),
    ...(data.expiresInDays === '' || data.expiresInDays === undefined
      ? {}
      : { expiresInDays: data.expiresInDays }),
  }
}

export const apiTokenRoutes = new Hono<AppEnv>()
  .use(requirePermission('api_tokens:manage'))
  .get('/', async (c) => c.json({ tokens: await listApiTokens(c.var.db) }))
  .post('/', async (c) => {
    const input = await readInput(c, createTokenSchema, PAGE, {
      prepare: fromForm,
      labels: { expiresInDays: 'Expires after (days)' },
    })
    if (input instanceof Response) return input
    const now = c.var.deps.now()
    const { token, row } = await createApiToken(
      c.var.db,
      c.var.user.id,
      {
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * DAY) : null,
      },
      now,
    )
    const answer = {
      token,
      apiToken: { id: row.id, name: row.name, scopes: row.scopes, expiresAt: row.expiresAt },
    }
    if (wantsJson(c)) return c.json(answer, 201)
    c.header('Set-Cookie', showOnceCookie(c.var.deps.env, NEW_TOKEN_COOKIE, token, PAGE))
    return redirectBack(c, PAGE, {
      notice: `Token "${row.name}" created. Copy it now: it is shown only once.`,
    })
  })
  .post('/:id/revoke', async (c) => {
    const id = validate(idSchema, c.req.param('id'))
    if (!(await revokeApiToken(c.var.db, id, c.var.deps.now())))
      fail(404, 'not_found', 'Unknown token.')
    return respond(c, PAGE, { notice: 'Token revoked.' }, () => c.json({ revoked: id }), {
      bodyless: 'json',
    })
  })

/** API tokens: for people only (the permission has no scope). */
export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/admin/api-tokens',
    summary: 'List API tokens (never their secrets).',
    auth: 'api_tokens:manage',
    ok: [200, '{ tokens }'],
  },
  {
    method: 'post',
    path: '/api/admin/api-tokens',
    summary: 'Create a token; the answer holds its secret, shown only this once.',
    auth: 'api_tokens:manage',
    body: createTokenSchema,
    formBody: createTokenFormSchema,
    ok: [201, '{ token, apiToken }'],
  },
  {
    method: 'post',
    path: '/api/admin/api-tokens/{id}/revoke',
    summary: 'Revoke a token.',
    auth: 'api_tokens:manage',
    ok: [200, '{ revoked }'],
    other: { 303: FORM_REDIRECT },
  },
]
