import type { JSONParsed, JSONValue } from 'hono/utils/types'
import { z } from 'zod'

// The OpenAPI 3.1 description of one route and the document built from all of them. Each route
// file exports its own `operations` next to the zod schemas it validates with, and the document
// converts those very schemas (z.toJSONSchema), so what is described cannot drift from what is
// accepted. api/routes/openapi.ts gathers the lists and serves the document;
// tests/api/integrations/openapi.db.test.ts fails when a route of the app is not described or a
// described one does not exist. Here, on the ground floor, so every route file can import it.

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

/** What a request body may be sent as: readInput's two kinds, or a file upload. */
export type BodyType = 'json' | 'form' | 'multipart'

/** Refusals an operation documents beyond those its auth, input and path imply. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 503

export interface Operation<Permission extends string = string> {
  method: Method
  /** OpenAPI form: /api/deals/{id}. */
  path: string
  summary: string
  /**
   * Who may call it: 'none' (anyone), 'user' (anyone signed in), or the permissions the route's
   * guards check, all of them — the roles that have them, and the API-token scopes they map to.
   */
  auth: 'none' | 'user' | Permission | readonly Permission[]
  /** Path parameters' schemas, when the route validates them (default: a string each). */
  params?: z.ZodObject
  query?: z.ZodObject
  /** The body schema the route validates with. */
  body?: z.ZodType
  /** How the body may be sent; default JSON and a plain HTML form, as readInput accepts. */
  bodyTypes?: readonly BodyType[]
  /** The body may be left out (a bare POST is an API call; the page's button posts a form). */
  bodyOptional?: boolean
  /** The form's fields, when the route reshapes them into `body` (checkboxes, flat fields). */
  formBody?: z.ZodType
  /** Success status and what it carries. */
  ok: [number, string]
  /**
   * The success answer's JSON, field by field (strict objects, so a field sent but not described
   * fails tests/api/integrations/response-schemas.db.test.ts). Built with okSchemaOf where the
   * route answers with a typed value, so tsc holds the two together.
   */
  okSchema?: z.ZodType
  /** Other answers (a redirect, a file): status → what it means. */
  other?: Record<number, string>
  /**
   * Refusals beyond the implied ones (401/403 for auth, 400/415/422 for input, 404 for ids). One
   * with an implied status words it for this route, except where the refusal comes before the
   * route runs (credentials, guards, CSRF: 400 ambiguous_credentials, 401, 403, 429): there it
   * is one more reason.
   */
  errors?: Partial<Record<ErrorStatus, string>>
}

/** What `c.json(value)` sends for a value of type T: dates as ISO strings, functions left out. */
type Json<T> = JSONParsed<T>

/**
 * Any JSON value: the open part of an answer whose shape differs from row to row (an evidence
 * entry's details). Described as such in the document; okSchemaOf matches it to Json<T>'s values.
 */
export const anyJson = z.custom<JSONValue>()

/** A time in an answer: ISO 8601 in UTC, as `c.json` sends a Date. */
export const time = z.iso.datetime()

/**
 * An `okSchema` for an answer the route builds as a T, checked by tsc against T's JSON both ways:
 * a field T has that the schema lacks, one the schema requires that T lacks, or a type that differs
 * (a string described as an enum) fails the type check. `okSchemaOf<Answer>()(z.strictObject(…))`.
 */
export const okSchemaOf =
  <T>() =>
  <S extends z.ZodType<Json<T>>>(
    schema: S,
    ..._exact: [Json<T>] extends [z.output<S>] ? [] : [`T's JSON does not fit the schema`]
  ): S =>
    schema

/** Who an operation's `auth` lets in, as the document shows it. */
export interface Access {
  /** Roles of a signed-in user that may call it. */
  roles: readonly string[]
  /** The scopes an API token needs; null: no token may call it. */
  scopes: readonly string[] | null
}

export interface DocumentOptions {
  title: string
  version: string
  description: string
  origin: string
  /** The session cookie's name. */
  sessionCookie: string
  /** Who has all these permissions (the same tables the guards read). */
  access: (permissions: readonly string[]) => Access
  /** Every role, for `auth: 'user'`. */
  roles: readonly string[]
  /** Outgoing webhook events by type: what each means and its `data` (documented under `webhooks`). */
  webhookEvents: Readonly<Record<string, { description: string; data: z.ZodType }>>
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') => {
  const out = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>
  delete out.$schema
  return out
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

/** The answer a plain HTML form gets from an action (form-or-json.ts respond/refuse). */
export const FORM_REDIRECT =
  'A plain HTML form (no API token, no JSON in Content-Type or Accept) is redirected: on to the next page, or back to its own with ?notice= or ?error=.'

const MEDIA: Record<BodyType, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
}

/** The group an operation is listed under: the URL's first segment under /api (two for admin). */
export function tagOf(path: string): string {
  const [first = '', second = ''] = path.split('/').slice(2)
  if (first === 'admin') return `admin/${second}`
  return { '': 'health', 'openapi.json': 'reference', docs: 'reference' }[first] ?? first
}

export function operationId(op: Pick<Operation, 'method' | 'path'>): string {
  return `${op.method}${op.path
    .replace(/[{}]/g, '')
    .replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`
}

/** One operation as the document holds it. */
export interface OperationObject {
  tags: string[]
  summary: string
  operationId: string
  /** Roles of a signed-in user that may call it; absent: anyone. */
  'x-roles'?: readonly string[]
  /** Scopes an API token needs; absent: no token may call it. */
  'x-scopes'?: readonly string[]
  security: Array<Record<string, string[]>>
  parameters: Array<{ name: string; in: string; required: boolean; schema: unknown }>
  requestBody?: { required: boolean; content: Record<string, { schema: unknown }> }
  responses: Record<string, unknown>
}

export function operationObject(op: Operation, options: DocumentOptions): OperationObject {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => {
    const field = op.params?.shape[m[1]!] as z.ZodType | undefined
    return {
      name: m[1]!,
      in: 'path',
      required: true,
      schema: field ? jsonSchema(field) : { type: 'string' },
    }
  })
  const queryParams = op.query
    ? Object.entries(op.query.shape).map(([name, field]) => ({
        name,
        in: 'query',
        required: !(field as z.ZodType).safeParse(undefined).success,
        schema: jsonSchema(field as z.ZodType),
      }))
    : []
  const access: Access | null =
    op.auth === 'none'
      ? null
      : op.auth === 'user'
        ? { roles: options.roles, scopes: null }
        : options.access(typeof op.auth === 'string' ? [op.auth] : op.auth)
  const security: OperationObject['security'] = !access
    ? []
    : access.scopes
      ? [{ bearerAuth: [...access.scopes] }, { sessionCookie: [] }]
      : [{ sessionCookie: [] }]
  const bodyTypes = op.bodyTypes ?? ['json', 'form']
  const requestBody = op.body
    ? {
        requestBody: {
          required: !op.bodyOptional,
          content: Object.fromEntries(
            bodyTypes.map((t) => [
              MEDIA[t],
              { schema: jsonSchema(t === 'form' && op.formBody ? op.formBody : op.body!) },
            ]),
          ),
        },
      }
    : {}
  const formAnswer = op.body && bodyTypes.includes('form')
  const responses: Record<string, unknown> = {
    [String(op.ok[0])]: {
      description: op.ok[1],
      ...(op.okSchema
        ? { content: { 'application/json': { schema: jsonSchema(op.okSchema, 'output') } } }
        : {}),
    },
    ...(formAnswer
      ? {
          '303': { description: FORM_REDIRECT },
        }
      : {}),
    ...Object.fromEntries(
      Object.entries(op.other ?? {}).map(([status, description]) => [status, { description }]),
    ),
  }
  const error = (status: ErrorStatus, fallback: string) => {
    responses[String(status)] = errorResponse(op.errors?.[status] ?? fallback)
  }
  // Refused before the route runs (bearer-auth, the guards, the CSRF check): the operation's own
  // refusal with the same status is one more reason, not the only one.
  const refusedBefore = (status: ErrorStatus, description: string) => {
    const own = op.errors?.[status]
    responses[String(status)] = errorResponse(own ? `${own} Or: ${description}` : description)
  }
  const badRequest = [
    op.errors?.[400] ??
      (op.body
        ? bodyTypes.includes('json')
          ? 'The body is not valid JSON or UTF-8, or repeats a key.'
          : 'The body is not valid UTF-8, or repeats a field.'
        : undefined),
    // api/integrations/bearer-auth.ts refuses both credentials before any route runs.
    access?.scopes
      ? 'A session cookie and an API token were sent together (`ambiguous_credentials`).'
      : undefined,
  ].filter((reason) => reason !== undefined)
  if (badRequest.length > 0) responses['400'] = errorResponse(badRequest.join(' Or: '))
  if (access) {
    refusedBefore(
      401,
      access.scopes
        ? 'No valid session or API token (with a `WWW-Authenticate: Bearer` challenge).'
        : 'No valid session or API token.',
    )
    const crossSite = op.method === 'get' ? '' : '; or a cross-site request'
    refusedBefore(
      403,
      access.scopes
        ? `The role, or the API token’s scopes, do not allow this${crossSite}.`
        : `The role does not allow this (API tokens never do)${crossSite}.`,
    )
  } else if (op.method !== 'get')
    refusedBefore(
      403,
      'A cross-site request (`cross_site_request`): post from this site, or with a JSON body.',
    )
  if (pathParams.length > 0) error(404, 'No such resource.')
  if (op.body) {
    error(413, 'The body is too large.')
    if (!op.bodyOptional)
      error(415, `Send the body as ${bodyTypes.map((t) => MEDIA[t]).join(' or ')}.`)
  }
  if (op.body || op.query || pathParams.length > 0)
    error(422, 'Invalid input; `error.fields` names each field’s problem.')
  if (access?.scopes) refusedBefore(429, 'Too many requests for this API token; see Retry-After.')
  for (const [status, description] of Object.entries(op.errors ?? {}))
    responses[status] ??= errorResponse(description)
  return {
    tags: [tagOf(op.path)],
    summary: op.summary,
    operationId: operationId(op),
    ...(access
      ? { 'x-roles': access.roles, ...(access.scopes ? { 'x-scopes': access.scopes } : {}) }
      : {}),
    security,
    parameters: [...pathParams, ...queryParams],
    ...requestBody,
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  }
}

export function openApiDocument(operations: readonly Operation[], options: DocumentOptions) {
  const paths: Record<string, Record<string, OperationObject>> = {}
  for (const op of operations) {
    const entry = (paths[op.path] ??= {})
    if (entry[op.method]) throw new Error(`${op.method} ${op.path} is described twice.`)
    entry[op.method] = operationObject(op, options)
  }
  const webhooks = Object.fromEntries(
    Object.entries(options.webhookEvents).map(([type, event]) => [
      type,
      {
        post: {
          summary: `The ${type} event, signed as Standard Webhooks.`,
          description: event.description,
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
                    data: jsonSchema(event.data),
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
    info: { title: options.title, version: options.version, description: options.description },
    servers: [{ url: options.origin }],
    paths,
    webhooks,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token, fdt_…' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: options.sessionCookie },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                fields: {
                  type: 'object',
                  additionalProperties: { type: 'string' },
                  description: 'For invalid input: each field’s problem.',
                },
              },
            },
          },
        },
      },
    },
  }
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>
