import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'
import { API_SCOPES, type ApiScope } from '../../../api/accounts/api-scopes.ts'
import { ROLES, type Role } from '../../../api/accounts/users.ts'
import { createApiApp, createApp } from '../../../api/app.ts'
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from '../../../api/db/webhook-outbox.ts'
import type { OpenApiDocument } from '../../../api/http/openapi.ts'
import { createApiToken } from '../../../api/integrations/api-tokens.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { addUser, ORIGIN, setupTestApp, signInCookie, type TestContext } from '../../helpers.ts'

// The API's OpenAPI document against the real app: valid OpenAPI 3.1 (the official schema, via a
// maintained validator); every /api route in the app's route table described, and nothing
// described that is not in it; and who may call each operation (roles, token scopes, nobody)
// what the guards actually let through.

let ctx: TestContext
let doc: OpenApiDocument

/** "get /api/deals/{id}" for every /api route the app answers, from its real route table. */
function routeTable(): string[] {
  const api = createApiApp(ctx.deps, createClickWriter(ctx.deps.db, ctx.deps.logger))
  const seen = new Set<string>()
  for (const r of [...createApp(ctx.deps).routes, ...api.routes]) {
    if (r.path !== '/api' && !r.path.startsWith('/api/')) continue
    // Middleware (use(), the CSRF and body-limit layers) is registered on wildcard paths.
    if (r.path.endsWith('*')) continue
    // A route on every method (all()) shows as "all" and cannot be described: name the methods.
    const path = r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')
    seen.add(`${r.method.toLowerCase()} ${path}`)
  }
  return [...seen].sort()
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path, op })),
  )

const FAKE_ID = '00000000-0000-7000-8000-000000000000'

/**
 * A request to the operation with no body and placeholder path parameters (an id nothing has;
 * an enum's first value), so nothing is found or changed.
 */
function call(
  { method, path, op }: ReturnType<typeof operations>[number],
  headers: Record<string, string>,
  body?: string,
) {
  const placeholder = (name: string) => {
    const schema = op.parameters.find((p) => p.in === 'path' && p.name === name)?.schema as
      { enum?: string[] } | undefined
    return schema?.enum?.[0] ?? FAKE_ID
  }
  return ctx.app.request(
    path.replace(/\{(\w+)\}/g, (_, name: string) => placeholder(name)),
    {
      method: method.toUpperCase(),
      // Same-origin, as the app's own pages: the CSRF check lets a bodyless request through.
      headers: { origin: ORIGIN, 'sec-fetch-site': 'same-origin', ...headers },
      ...(body === undefined ? {} : { body }),
    },
  )
}

async function refusal(res: Response): Promise<string | null> {
  if (res.status !== 401 && res.status !== 403) return null
  const body = (await res.json()) as { error?: { code?: string } }
  return `${res.status} ${body.error?.code}`
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

  it('documents every webhook event a receiver can get with the fields of its data', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual(
      [...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE].sort(),
    )
    const dataOf = (type: string) =>
      doc.webhooks[type]!.post.requestBody.content['application/json'].schema.properties.data as {
        properties?: Record<string, unknown>
        required?: string[]
      }
    for (const type of Object.keys(doc.webhooks))
      expect(Object.keys(dataOf(type).properties ?? {}), type).not.toEqual([])
    expect(dataOf('deal.lost').required).toContain('lostReason')
    expect(dataOf('deal.won').required).toEqual(
      expect.arrayContaining(['contractSignedOn', 'paymentReceivedOn']),
    )
    expect(dataOf('webhook.test').properties).toEqual({ message: { type: 'string' } })
  })

  it('describes every /api route of the app, on every method, and nothing else', () => {
    const routes = routeTable()
    expect(routes.length).toBeGreaterThan(60)
    const documented = operations()
      .map(({ method, path }) => `${method} ${path}`)
      .sort()
    expect(
      routes.filter((r) => !documented.includes(r)),
      'routes without an operation: export it in the route file’s `operations`, listed in OPERATIONS (api/routes/openapi.ts)',
    ).toEqual([])
    expect(
      documented.filter((r) => !routes.includes(r)),
      'operations no route answers',
    ).toEqual([])
  })

  it('gives every operation a summary, a success answer and its refusals in the error shape', () => {
    for (const { method, path, op } of operations()) {
      const where = `${method} ${path}`
      expect(op.summary, where).not.toBe('')
      const statuses = Object.keys(op.responses)
      expect(
        statuses.some((s) => /^[23]/.test(s)),
        where,
      ).toBe(true)
      const errors = statuses.filter((s) => /^4/.test(s))
      for (const status of errors)
        expect(JSON.stringify(op.responses[status]), `${where} ${status}`).toContain(
          '#/components/schemas/Error',
        )
      if (op['x-roles']) expect(errors, where).toEqual(expect.arrayContaining(['401', '403']))
      if (op['x-scopes']) expect(errors, where).toContain('429')
      // Refused before the route runs: a route's own 403 (not your deal) adds to it, not replaces.
      if (op['x-roles'])
        expect((op.responses['403'] as { description: string }).description, where).toMatch(
          /The role/,
        )
      if (op.requestBody) expect(errors, where).toEqual(expect.arrayContaining(['400', '422']))
      if (path.includes('{')) expect(errors, where).toContain('404')
    }
  })

  it('takes parameters and bodies from the validators, as JSON and as the form the pages post', () => {
    const create = doc.paths['/api/admin/webhooks']!.post!.requestBody!.content
    const json = create['application/json']!.schema as {
      properties: { events: { items: { enum: string[] } } }
    }
    expect(json.properties.events.items.enum).toContain('deal.won')
    // The page posts one checkbox per event.
    const form = create['application/x-www-form-urlencoded']!.schema as {
      properties: Record<string, unknown>
    }
    expect(Object.keys(form.properties)).toContain('event:deal.won')

    const sync = doc.paths['/api/sync/deals']!.get!.parameters.map((p) => `${p.in}:${p.name}`)
    expect(sync).toEqual(['query:cursor', 'query:limit'])

    // A route that takes JSON only says so; the CSV upload is multipart.
    const lead = doc.paths['/api/leads']!.post!.requestBody!.content
    expect(Object.keys(lead)).toEqual(['application/x-www-form-urlencoded'])
    const upload = doc.paths['/api/campaigns/{id}/imports']!.post!.requestBody!.content
    expect(Object.keys(upload)).toEqual(['multipart/form-data'])

    // A start may name a later time; a bare POST (no body) still starts now.
    const change = doc.paths['/api/campaigns/{id}/{action}']!.post!.requestBody!
    expect(change.required).toBe(false)
    const start = change.content['application/json']!.schema as {
      properties: Record<string, unknown>
    }
    expect(Object.keys(start.properties)).toEqual(
      expect.arrayContaining(['startDate', 'startTime']),
    )

    // A sending window's hours show their real bounds, not any integer.
    const campaign = doc.paths['/api/campaigns']!.post!.requestBody!.content['application/json']!
      .schema as { properties: Record<string, { minimum?: number; maximum?: number }> }
    expect(campaign.properties.windowStartHour).toMatchObject({ minimum: 0, maximum: 23 })
    expect(campaign.properties.windowEndHour).toMatchObject({ minimum: 1, maximum: 24 })
  })
})

describe('who may call each operation, as documented', () => {
  it('answers 401 without credentials exactly where the document asks for them', async () => {
    const wrong: string[] = []
    for (const operation of operations()) {
      const { method, path, op } = operation
      const res = await call(operation, {})
      const needsAuth = op.security.length > 0
      if ((res.status === 401) !== needsAuth) wrong.push(`${method} ${path}: ${res.status}`)
      // RFC 6750: where a bearer token is accepted, the 401 challenges for one; elsewhere not.
      const challenge = res.headers.get('www-authenticate')
      const bearer = op.security.some((s) => 'bearerAuth' in s)
      if (res.status === 401 && (challenge === 'Bearer') !== bearer)
        wrong.push(`${method} ${path}: WWW-Authenticate ${challenge}`)
    }
    expect(wrong).toEqual([])
  })

  it('lets in exactly the roles in x-roles', async () => {
    const cookies = {} as Record<Role, string>
    for (const role of ROLES)
      cookies[role] = await signInCookie(ctx, (await addUser(ctx, role)).email)
    const wrong: string[] = []
    for (const operation of operations()) {
      const { method, path, op } = operation
      const roles = op['x-roles']
      if (!roles) continue
      await Promise.all(
        ROLES.map(async (role) => {
          const refused = await refusal(await call(operation, { cookie: cookies[role] }))
          const expected = roles.includes(role) ? null : '403 forbidden'
          if (refused !== expected) wrong.push(`${method} ${path} as ${role}: ${refused}`)
        }),
      )
    }
    expect(wrong).toEqual([])
  })

  it('lets an API token in exactly where x-scopes names its scopes, and nowhere else', async () => {
    const admin = await addUser(ctx, 'admin')
    // One token per set of scopes (each is used well under its rate limit).
    const tokens = new Map<string, Promise<string>>()
    const tokenWith = (scopes: string[]) => {
      const key = [...scopes].sort().join(' ')
      if (!tokens.has(key))
        tokens.set(
          key,
          createApiToken(
            ctx.deps.db,
            admin.id,
            { name: key, scopes: scopes as ApiScope[], expiresAt: null },
            ctx.deps.now(),
          ).then((t) => t.token),
        )
      return tokens.get(key)!
    }
    const wrong: string[] = []
    for (const operation of operations()) {
      const { method, path, op } = operation
      if (!op['x-roles']) continue
      const needed = op['x-scopes'] ?? []
      const asToken = async (scopes: string[]) =>
        refusal(await call(operation, { authorization: `Bearer ${await tokenWith(scopes)}` }))
      const all = await asToken([...API_SCOPES])
      if (needed.length === 0) {
        if (all !== '403 forbidden') wrong.push(`${method} ${path}, any token: ${all}`)
        continue
      }
      if (all !== null) wrong.push(`${method} ${path}, every scope: ${all}`)
      const exact = await asToken([...needed])
      if (exact !== null) wrong.push(`${method} ${path}, ${needed.join('+')}: ${exact}`)
      for (const missing of needed) {
        const short = await asToken(API_SCOPES.filter((s) => s !== missing))
        // insufficient_scope from a guard; a route that decides itself (allows()) says forbidden.
        if (!short?.startsWith('403 '))
          wrong.push(`${method} ${path}, without ${missing}: ${short}`)
      }
    }
    expect(wrong).toEqual([])
  })
})

describe('a token sent with a session cookie, as documented', () => {
  it('is refused with 400 wherever a token may call, and each such operation lists 400', async () => {
    const admin = await addUser(ctx, 'admin')
    const cookie = await signInCookie(ctx, admin.email)
    const { token } = await createApiToken(
      ctx.deps.db,
      admin.id,
      { name: 'both', scopes: [...API_SCOPES], expiresAt: null },
      ctx.deps.now(),
    )
    const wrong: string[] = []
    for (const operation of operations()) {
      const { method, path, op } = operation
      if (!op['x-scopes']) continue
      const res = await call(operation, { cookie, authorization: `Bearer ${token}` })
      const body = (await res.json()) as { error?: { code?: string } }
      if (res.status !== 400 || body.error?.code !== 'ambiguous_credentials')
        wrong.push(`${method} ${path}: ${res.status} ${body.error?.code}`)
      // An operation's own 400 (a bad cursor, a bad query) is another reason, not the only one.
      const described = JSON.stringify(op.responses['400'] ?? null)
      if (!described.includes('ambiguous_credentials'))
        wrong.push(`${method} ${path}: its 400 does not say ambiguous_credentials`)
    }
    expect(wrong).toEqual([])
  })
})

describe('request bodies, as documented', () => {
  it('are accepted as exactly the media types the document lists', async () => {
    const cookie = await signInCookie(ctx, (await addUser(ctx, 'admin')).email)
    const samples = { 'application/json': '{}', 'application/x-www-form-urlencoded': '' }
    const wrong: string[] = []
    for (const operation of operations()) {
      const { method, path, op } = operation
      if (!op.requestBody) continue
      for (const [type, body] of Object.entries(samples)) {
        // An admin may call every operation; {} and an empty form are invalid or change nothing.
        // Accept: JSON, so a refused form is a 415, not the 303 back to its page.
        const headers = { cookie, 'content-type': type, accept: 'application/json' }
        const res = await call(operation, headers, body)
        const listed = type in op.requestBody.content
        if (listed && res.status === 415) wrong.push(`${method} ${path}: ${type} refused`)
        // An optional body (a page button's form) is not read at all when it is something else.
        if (!listed && op.requestBody.required && res.status !== 415)
          wrong.push(`${method} ${path}: ${type} not documented, answered ${res.status}`)
      }
    }
    expect(wrong).toEqual([])
  })
})

describe('the admin pages’ buttons, as documented', () => {
  it('answer their bodyless plain forms with a 303 the document lists', async () => {
    const admin = await addUser(ctx, 'admin')
    const cookie = await signInCookie(ctx, admin.email)
    const now = ctx.deps.now()
    const { row: token } = await createApiToken(
      ctx.deps.db,
      admin.id,
      { name: 'button', scopes: ['deals:read'], expiresAt: null },
      now,
    )
    // Nothing listens there, and it is not an allowed address: each send fails at once.
    const hook = await createSubscription(
      ctx.deps.db,
      { url: 'http://127.0.0.1:9/hook', events: ['deal.won'], createdBy: admin.id },
      now,
    )
    const tested = await ctx.app.request(`/api/admin/webhooks/${hook.id}/test`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
    })
    const { eventId } = (await tested.json()) as { eventId: string }
    // What each page's button posts: a form with no fields, in the order a person could.
    const buttons: Array<[string, string]> = [
      ['/api/admin/api-tokens/{id}/revoke', `/api/admin/api-tokens/${token.id}/revoke`],
      ['/api/admin/webhooks/{id}/disable', `/api/admin/webhooks/${hook.id}/disable`],
      ['/api/admin/webhooks/{id}/enable', `/api/admin/webhooks/${hook.id}/enable`],
      ['/api/admin/webhooks/{id}/test', `/api/admin/webhooks/${hook.id}/test`],
      ['/api/admin/webhooks/{id}/rotate-secret', `/api/admin/webhooks/${hook.id}/rotate-secret`],
      [
        '/api/admin/webhooks/{id}/deliveries/{eventId}/resend',
        `/api/admin/webhooks/${hook.id}/deliveries/${eventId}/resend`,
      ],
      ['/api/admin/webhooks/{id}/delete', `/api/admin/webhooks/${hook.id}/delete`],
    ]
    const wrong: string[] = []
    for (const [documented, path] of buttons) {
      const res = await ctx.app.request(path, {
        method: 'POST',
        headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      })
      const listed = Object.keys(doc.paths[documented]!.post!.responses)
      if (res.status !== 303 || !listed.includes('303'))
        wrong.push(`post ${documented}: ${res.status}, documented ${listed.join(' ')}`)
    }
    expect(wrong).toEqual([])
  })
})

describe('GET /api/docs', () => {
  it('renders every operation without loading anything from elsewhere', async () => {
    const res = await ctx.app.request('/api/docs')
    expect(res.status).toBe(200)
    const html = await res.text()
    for (const { op } of operations()) expect(html).toContain(`id="${op.operationId}"`)
    // Each webhook event with what its data holds, not its name alone.
    for (const type of Object.keys(doc.webhooks)) expect(html).toContain(`id="event-${type}"`)
    expect(html).toContain('Why, as the rep gave it')
    // An answer described field by field shows its fields, not only its one-line summary.
    expect(html).toContain('A decision-maker (or the economic buyer) is on the deal')
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/)
    const csp = res.headers.get('content-security-policy') ?? ''
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
    expect(nonce).toBeDefined()
    expect(html).toContain(`<script nonce="${nonce}">`)
  })
})
