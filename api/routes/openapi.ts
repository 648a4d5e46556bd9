import { randomBytes } from 'node:crypto'
import { Hono } from 'hono'
import { z } from 'zod'
import type { ApiScope } from '../accounts/api-scopes.ts'
import { SESSION_COOKIE } from '../accounts/sessions.ts'
import { WEBHOOK_EVENT_TYPES } from '../db/webhook-outbox.ts'
import type { AppEnv } from '../http/app-env.ts'
import { createTokenSchema } from './api-tokens.ts'
import { syncQuerySchema } from './sync.ts'
import { subscriptionSchema } from './webhooks.ts'

// The OpenAPI 3.1 document of the integration API (/api/openapi.json) and a reference page that
// renders it (/api/docs, no script or style from elsewhere). Request bodies and query parameters
// are converted from the very zod schemas the routes validate with (z.toJSONSchema), so the
// document cannot drift from what is accepted; tests/api/integrations/openapi.db.test.ts fails
// when a route of these sub-apps is not listed here, or a listed one does not exist.
//
// Scope: the routes an integration uses (tokens, sync, webhooks, one deal, claiming, campaigns).
// The routes behind the app's own pages are not described here yet.

type Method = 'get' | 'post' | 'delete'

export interface Operation {
  method: Method
  /** OpenAPI form: /api/deals/{id}. */
  path: string
  summary: string
  /** The scope a token needs; null: a signed-in admin only (no token). */
  scope: ApiScope | null
  /** false: no authentication at all. */
  auth?: boolean
  query?: z.ZodObject
  body?: z.ZodType
  /** Success status and what it carries. */
  ok: [number, string]
}

export const OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document.',
    scope: null,
    auth: false,
    ok: [200, 'The OpenAPI document.'],
  },
  {
    method: 'get',
    path: '/api/docs',
    summary: 'The API reference page.',
    scope: null,
    auth: false,
    ok: [200, 'An HTML page.'],
  },
  // API tokens: people only.
  {
    method: 'get',
    path: '/api/admin/api-tokens',
    summary: 'List API tokens (never their secrets).',
    scope: null,
    ok: [200, '{ tokens }'],
  },
  {
    method: 'post',
    path: '/api/admin/api-tokens',
    summary: 'Create a token; the answer holds its secret, shown only this once.',
    scope: null,
    body: createTokenSchema,
    ok: [201, '{ token, apiToken }'],
  },
  {
    method: 'post',
    path: '/api/admin/api-tokens/{id}/revoke',
    summary: 'Revoke a token.',
    scope: null,
    ok: [200, '{ revoked }'],
  },
  // Sync.
  {
    method: 'get',
    path: '/api/sync/deals',
    summary: 'Deals changed since the cursor, oldest change first (keyset on updated_at, id).',
    scope: 'deals:read',
    query: syncQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore }'],
  },
  {
    method: 'get',
    path: '/api/sync/contacts',
    summary: 'Contacts changed since the cursor, oldest change first.',
    scope: 'leads:read',
    query: syncQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore }'],
  },
  {
    method: 'get',
    path: '/api/sync/leads',
    summary: 'Leads (form posts, grader unlocks) captured since the cursor.',
    scope: 'leads:read',
    query: syncQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore }'],
  },
  {
    method: 'get',
    path: '/api/deals/{id}',
    summary: 'One deal with its contact, company, stakeholders, evidence and timeline.',
    scope: 'deals:read',
    ok: [200, '{ deal, contact, company, owner, sdr, stakeholders, timeline }'],
  },
  {
    method: 'post',
    path: '/api/deals/{id}/claim',
    summary: 'Take over an unclaimed lead (it becomes the token admin’s).',
    scope: 'deals:write',
    ok: [200, '{ deal, alreadyYours }'],
  },
  {
    method: 'get',
    path: '/api/campaigns',
    summary: 'Campaigns with their progress and results.',
    scope: 'campaigns:read',
    ok: [200, '{ campaigns }'],
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}',
    summary: 'One campaign with its progress and imports.',
    scope: 'campaigns:read',
    ok: [200, '{ campaign, progress, imports }'],
  },
  // Webhooks.
  {
    method: 'get',
    path: '/api/admin/webhooks',
    summary: 'List subscriptions.',
    scope: 'webhooks:manage',
    ok: [200, '{ subscriptions }'],
  },
  {
    method: 'post',
    path: '/api/admin/webhooks',
    summary:
      'Subscribe a public URL to events; a private or special address is refused (422) with the reason.',
    scope: 'webhooks:manage',
    body: subscriptionSchema,
    ok: [201, '{ subscription } with its signing secret'],
  },
  {
    method: 'get',
    path: '/api/admin/webhooks/{id}',
    summary: 'One subscription and its delivery log.',
    scope: 'webhooks:manage',
    ok: [200, '{ subscription, attempts }'],
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/enable',
    summary: 'Turn a subscription on; waiting events go out in order.',
    scope: 'webhooks:manage',
    ok: [200, '{ subscription }'],
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/disable',
    summary: 'Turn a subscription off; events wait.',
    scope: 'webhooks:manage',
    ok: [200, '{ subscription }'],
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/delete',
    summary: 'Delete a subscription (form-friendly).',
    scope: 'webhooks:manage',
    ok: [200, '{ deleted }'],
  },
  {
    method: 'delete',
    path: '/api/admin/webhooks/{id}',
    summary: 'Delete a subscription.',
    scope: 'webhooks:manage',
    ok: [200, '{ deleted }'],
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/test',
    summary: 'Send a webhook.test event now and report what the receiver answered.',
    scope: 'webhooks:manage',
    ok: [200, '{ eventId, attempt }'],
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/deliveries/{eventId}/resend',
    summary: 'Send an event to this subscription again now (same webhook-id).',
    scope: 'webhooks:manage',
    ok: [200, '{ attempt }'],
  },
]

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' })

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

function operationObject(op: Operation) {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1]!,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }))
  const queryParams = op.query
    ? Object.entries(op.query.shape).map(([name, field]) => {
        const schema = jsonSchema(field as z.ZodType) as Record<string, unknown>
        delete schema.$schema
        return {
          name,
          in: 'query',
          required: !(field as z.ZodType).safeParse(undefined).success,
          schema,
        }
      })
    : []
  const security =
    op.auth === false
      ? []
      : op.scope
        ? [{ bearerAuth: [op.scope] }, { sessionCookie: [] }]
        : [{ sessionCookie: [] }]
  const body = op.body
    ? (() => {
        const schema = jsonSchema(op.body) as Record<string, unknown>
        delete schema.$schema
        return {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema },
              'application/x-www-form-urlencoded': { schema: { type: 'object' } },
            },
          },
        }
      })()
    : {}
  return {
    summary: op.summary,
    operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(op.scope ? { 'x-scope': op.scope } : {}),
    security,
    parameters: [...pathParams, ...queryParams],
    ...body,
    responses: {
      [String(op.ok[0])]: { description: op.ok[1] },
      ...(op.auth === false
        ? {}
        : {
            '401': errorResponse('No valid session or token.'),
            '403': errorResponse('The role or the token’s scopes do not allow this.'),
            '429': errorResponse('Too many requests for this token; see Retry-After.'),
          }),
      ...(op.body || op.query
        ? { '422': errorResponse('Invalid input; `fields` says which.') }
        : {}),
      ...(pathParams.length > 0 ? { '404': errorResponse('No such resource.') } : {}),
    },
  }
}

export function openApiDocument(origin: string, version: string) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operationObject(op)
  const webhooks = Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          summary: `The ${type} event, signed as Standard Webhooks.`,
          parameters: ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => ({
            name,
            in: 'header',
            required: true,
            schema: { type: 'string' },
          })),
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['type', 'timestamp', 'data'],
                  properties: {
                    type: { const: type },
                    timestamp: { type: 'string', format: 'date-time' },
                    data: { type: 'object' },
                  },
                },
              },
            },
          },
          responses: {
            '2XX': {
              description:
                'Delivered. Anything else is retried for three days; 410 turns the subscription off.',
            },
          },
        },
      },
    ]),
  )
  return {
    openapi: '3.1.1',
    info: {
      title: 'Frontdoor integration API',
      version,
      description:
        'Authenticate with `Authorization: Bearer <API token>` (made at /app/admin/api; a token acts for the admin who made it, limited to its scopes) or a session cookie. Errors are `{ error: { code, message } }`.',
    },
    servers: [{ url: origin }],
    paths,
    webhooks,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token, fdt_…' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
    },
  }
}

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  )

/** The reference page: every operation, its scope, parameters and body schema; GETs can be tried. */
export function docsPage(doc: ReturnType<typeof openApiDocument>, nonce: string): string {
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      path,
      method,
      op: op as ReturnType<typeof operationObject>,
    })),
  )
  const section = ({ path, method, op }: (typeof ops)[number]) => {
    const params = op.parameters
      .map(
        (p) => `<li><code>${escape(p.name)}</code> (${p.in}${p.required ? ', required' : ''})</li>`,
      )
      .join('')
    const body =
      'requestBody' in op && op.requestBody
        ? `<details><summary>Request body (JSON schema)</summary><pre>${escape(JSON.stringify((op.requestBody as { content: Record<string, { schema: unknown }> }).content['application/json']!.schema, null, 2))}</pre></details>`
        : ''
    const tryIt =
      method === 'get' && op.security.length > 0
        ? `<form class="try" data-path="${escape(path)}"><input name="path" value="${escape(path)}" aria-label="Path to call" size="50"> <button>Send</button><pre class="out" hidden></pre></form>`
        : ''
    const scope =
      'x-scope' in op
        ? `scope <code>${escape(String(op['x-scope']))}</code>`
        : op.security.length
          ? 'admins signed in only'
          : 'public'
    return `<section id="${escape(op.operationId)}"><h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3><p>${escape(op.summary)} <small>(${scope})</small></p>${params ? `<ul>${params}</ul>` : ''}${body}${tryIt}</section>`
  }
  const events = Object.keys(doc.webhooks)
    .map((t) => `<li><code>${escape(t)}</code></li>`)
    .join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escape(doc.info.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f5f7;padding:.75rem;overflow:auto}section{border-top:1px solid #dde;padding:.5rem 0}.m{display:inline-block;min-width:4rem;color:#0b5}small{color:#556}</style></head>
<body><h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
<p>${escape(doc.info.description)}</p><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${doc.openapi}).</p>
<p><label>API token for “Send”: <input id="token" type="password" size="50" autocomplete="off" placeholder="fdt_…"></label></p>
<h2>Operations</h2>${ops.map(section).join('')}
<h2>Webhook events</h2><p>POSTed as <code>{ type, timestamp, data }</code> with <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code> (Standard Webhooks):</p><ul>${events}</ul>
<script nonce="${nonce}">
for (const form of document.querySelectorAll('form.try')) form.addEventListener('submit', async (e) => {
  e.preventDefault()
  const out = form.querySelector('.out'); out.hidden = false; out.textContent = '…'
  const token = document.getElementById('token').value.trim()
  const res = await fetch(form.elements.path.value, { headers: token ? { authorization: 'Bearer ' + token } : {}, credentials: token ? 'omit' : 'same-origin' })
  out.textContent = res.status + ' ' + res.statusText + '\\n' + await res.text()
})
</script></body></html>`
}

export const openApiRoutes = new Hono<AppEnv>()
  .get('/openapi.json', (c) =>
    c.json(openApiDocument(c.var.deps.env.APP_ORIGIN, c.var.deps.version)),
  )
  .get('/docs', (c) => {
    // Its own small script only; calls go to this origin.
    const nonce = randomBytes(16).toString('base64')
    c.header(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    )
    return c.html(docsPage(openApiDocument(c.var.deps.env.APP_ORIGIN, c.var.deps.version), nonce))
  })
