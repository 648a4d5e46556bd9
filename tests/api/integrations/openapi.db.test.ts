import { Validator } from '@seriousme/openapi-schema-validator'
import type { Hono } from 'hono'
import { beforeAll, describe, expect, it } from 'vitest'
import { apiTokenRoutes } from '../../../api/routes/api-tokens.ts'
import { OPERATIONS, openApiRoutes } from '../../../api/routes/openapi.ts'
import { syncRoutes } from '../../../api/routes/sync.ts'
import { webhookRoutes } from '../../../api/routes/webhooks.ts'
import { setupTestApp, type TestContext } from '../../helpers.ts'

// The integration API's OpenAPI document: valid OpenAPI 3.1 (checked against the official
// schema by a maintained validator), with every route of the integration sub-apps in it and
// nothing in it that does not exist. The app's page-backing routes are not described yet.

// Where app.ts mounts them.
const MOUNTED: Array<[string, Hono<any>]> = [
  ['/api/admin/api-tokens', apiTokenRoutes],
  ['/api/sync', syncRoutes],
  ['/api/admin/webhooks', webhookRoutes],
  ['/api', openApiRoutes],
]

function routesOf(): string[] {
  const seen = new Set<string>()
  for (const [prefix, sub] of MOUNTED)
    for (const r of sub.routes) {
      if (r.method === 'ALL') continue // middleware
      const path = (prefix + (r.path === '/' ? '' : r.path)).replace(/:(\w+)/g, '{$1}')
      seen.add(`${r.method.toLowerCase()} ${path}`)
    }
  return [...seen].sort()
}

let ctx: TestContext
let doc: {
  openapi: string
  paths: Record<
    string,
    Record<string, { requestBody?: unknown; parameters: Array<{ name: string; in: string }> }>
  >
}

beforeAll(async () => {
  ctx = await setupTestApp()
  const res = await ctx.app.request('/api/openapi.json')
  expect(res.status).toBe(200)
  doc = await res.json()
})

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(doc.openapi).toMatch(/^3\.1\./)
  })

  it('documents every route of the integration API', () => {
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((m) => `${m} ${path}`),
      ),
    )
    const missing = routesOf().filter((r) => !documented.has(r))
    expect(missing, 'routes without documentation').toEqual([])
  })

  it('documents no route that does not answer', async () => {
    for (const op of OPERATIONS) {
      const path = op.path.replace(/\{\w+\}/g, '00000000-0000-7000-8000-000000000000')
      const res = await ctx.app.request(path, { method: op.method.toUpperCase() })
      // Unauthenticated: 401/403/415, or the page itself; never "no route".
      const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null
      expect(
        (body as { error?: { code?: string } } | null)?.error?.code,
        `${op.method} ${op.path}`,
      ).not.toBe('not_found')
    }
  })

  it('takes request schemas from the validators', () => {
    const create = doc.paths['/api/admin/webhooks']!.post!.requestBody as {
      content: {
        'application/json': { schema: { properties: { events: { items: { enum: string[] } } } } }
      }
    }
    expect(create.content['application/json'].schema.properties.events.items.enum).toContain(
      'deal.won',
    )
    const sync = doc.paths['/api/sync/deals']!.get!.parameters.map((p) => `${p.in}:${p.name}`)
    expect(sync).toEqual(['query:cursor', 'query:limit'])
  })
})

describe('GET /api/docs', () => {
  it('renders every operation without loading anything from elsewhere', async () => {
    const res = await ctx.app.request('/api/docs')
    expect(res.status).toBe(200)
    const html = await res.text()
    for (const op of OPERATIONS) expect(html).toContain(op.path.replace(/&/g, '&amp;'))
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/)
    const csp = res.headers.get('content-security-policy') ?? ''
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
    expect(nonce).toBeDefined()
    expect(html).toContain(`<script nonce="${nonce}">`)
  })
})
