import type { Context } from 'hono'
import type { ClientErrorStatusCode } from 'hono/utils/http-status'
import { z } from 'zod'
import type { AppEnv } from './app-env.ts'
import { BACK_SIGNATURE_PARAM, signBackMessages } from './back-message.ts'
import { safeNextPath, secureCookies } from './cookies.ts'
import { formFlashCookie, keepsFormFlash, storeFormFlash } from './form-flash.ts'
import { readBody, validate, wantsJson, type AnswerOptions, type BodyKind } from './input.ts'

// The one form-or-JSON edge. An action takes a JSON body (API clients, the enhanced pages) or a
// plain HTML form (JavaScript off). JSON callers get JSON, and errors as a 4xx
// { error: { code, message } }; a plain form gets a 303 back to its page with ?notice= or
// ?error=, signed (back-message.ts), which the page shows. Back is never another site
// (safeNextPath). A refused form of the app (or of the setup page) also gets what was typed
// back, with each field's problem, in a short-lived cookie for its page (form-flash.ts), never
// in the URL.

/**
 * Where a plain form goes back to: a path on this site, or the form's own `next` field when that
 * is a path on this site (and under `within`, when given), else `fallback`.
 */
export type Back = string | { next: unknown; fallback: string; within?: string }

/**
 * A form's `next` (where it goes back to, or on to after signing in): followed only when it is a
 * path on this site no longer than MAX_NEXT_PATH (safeNextPath), else the form's fallback; never
 * a reason to refuse the form.
 */
export const nextField = z.string().optional()

// Only paths on this site are followed (safeNextPath), so any origin serves to resolve them.
const ORIGIN = 'http://frontdoor.invalid'

/** The path `back` names, as a path on this site. */
export function backPath(back: Back): string {
  if (typeof back === 'string') return safeNextPath(back, ORIGIN)
  const path = safeNextPath(back.next, ORIGIN, back.fallback)
  if (!back.within) return path
  const pathname = new URL(path, ORIGIN).pathname
  return pathname === back.within || pathname.startsWith(`${back.within}/`) ? path : back.fallback
}

/**
 * How long a ?notice= or ?error= may be once percent-encoded: a message quoting what was sent (a
 * CSV header, a name) could otherwise make a Location larger than a proxy's buffer (nginx's
 * default is 4 KiB). Longer ones are cut, with "…".
 */
export const MAX_BACK_MESSAGE_ENCODED = 1_500

/**
 * `value` cut by code point until it is at most `maxEncoded` characters once percent-encoded,
 * with `suffix` (not counted in `value`'s room: "…" is 9 encoded) after a cut. For what a 303
 * back repeats in its Location. A lone half of a surrogate pair cannot be encoded: any given is
 * mended.
 */
export function clipEncoded(value: string, maxEncoded: number, suffix = ''): string {
  const text = value.toWellFormed()
  let size = encodeURIComponent(text).length
  if (size <= maxEncoded) return text
  const room = maxEncoded - encodeURIComponent(suffix).length
  const chars = Array.from(text)
  let end = chars.length
  while (end > 0 && size > room) {
    end--
    size -= encodeURIComponent(chars[end]!).length
  }
  return `${chars.slice(0, end).join('')}${suffix}`
}

const clipMessage = (message: string) => clipEncoded(message, MAX_BACK_MESSAGE_ENCODED, '…')

/**
 * 303 back with `params` (notice, error, …) set on the page's query, in place when the page
 * already has one, the notice and error signed (?sig=) so that the page shows them. A page
 * reached through the form's `next` loses the last round's notice and error; a path the route
 * names is taken as it is.
 */
export function redirectBack(
  c: Context,
  back: Back,
  params: Record<string, string> = {},
): Response {
  const url = new URL(backPath(back), ORIGIN)
  if (typeof back !== 'string')
    for (const key of ['notice', 'error']) if (!(key in params)) url.searchParams.delete(key)
  for (const [key, value] of Object.entries(params)) {
    url.searchParams.set(key, key === 'notice' || key === 'error' ? clipMessage(value) : value)
  }
  // Only an app with its deps can sign them (a page shows no message without).
  const { deps } = (c as Context<Partial<AppEnv>>).var as Partial<AppEnv['Variables']>
  if (deps) signBackMessages(deps.secret, url, deps.now())
  else url.searchParams.delete(BACK_SIGNATURE_PARAM)
  return c.redirect(url.pathname + url.search + url.hash, 303)
}

/**
 * An action done: `json()` for API clients, a 303 back with ?notice= (and any other `params`,
 * in order) for a plain form.
 */
export function respond(
  c: Context,
  back: Back,
  params: { notice: string } & Record<string, string>,
  json: () => Response,
  options?: AnswerOptions,
): Response {
  return wantsJson(c, options) ? json() : redirectBack(c, back, params)
}

// The fields of each plain form read by readInput, kept for its refusal.
const postedForms = new WeakMap<Request, Record<string, unknown>>()
// A refusal's values kept in the database (too long for the cookie), being written.
const flashWrites = new WeakMap<Request, Promise<void>>()

/**
 * What this request's refusal keeps for its page, being written (undefined: nothing): the app's
 * first middleware waits for it, so the page the 303 leads to finds it.
 */
export function refusalWrite(request: Request): Promise<void> | undefined {
  return flashWrites.get(request)
}

/**
 * 303 back with ?error=, and the form's values (and `fields`' problems) for the page of the app
 * it came from, so nothing typed is lost.
 */
function refuseForm(
  c: Context,
  back: Back,
  error: string,
  fields: Record<string, string>,
  params: Record<string, string> = {},
): Response {
  const posted = postedForms.get(c.req.raw)
  const path = new URL(backPath(back), ORIGIN).pathname
  // Only some pages read them back (and only an app with its deps can sign them).
  const { deps, user } = (c as Context<Partial<AppEnv>>).var as Partial<AppEnv['Variables']>
  if (posted && deps && keepsFormFlash(path)) {
    const values = Object.fromEntries(
      Object.entries(posted).filter((e): e is [string, string] => typeof e[1] === 'string'),
    )
    const now = deps.now()
    const cookie = formFlashCookie(
      deps.secret,
      { action: c.req.path, values, fields, path, userId: user?.id ?? null },
      now,
      secureCookies(deps.env),
      {
        store: (stored) =>
          flashWrites.set(
            c.req.raw,
            storeFormFlash(deps.db, stored, now).catch((err: unknown) =>
              deps.logger.error('refused form not kept', { err, path }),
            ),
          ),
      },
    )
    if (cookie) c.header('Set-Cookie', cookie, { append: true })
  }
  return redirectBack(c, back, { error, ...params })
}

export interface Refusal {
  status: ClientErrorStatusCode
  code: string
  message: string
  /** Problems per field, for forms that mark them (JSON only). */
  fields?: Record<string, string>
}

export interface RefuseOptions extends AnswerOptions {
  /** More query parameters for the page, after ?error= (e.g. what was typed). */
  params?: Record<string, string>
}

/**
 * An action refused: `{ error: { code, message } }` with its status for API clients, a 303 back
 * with ?error= for a plain form.
 */
export function refuse(
  c: Context,
  back: Back,
  refusal: Refusal,
  options: RefuseOptions = {},
): Response {
  const { status, code, message, fields } = refusal
  if (wantsJson(c, options))
    return c.json({ error: { code, message, ...(fields ? { fields } : {}) } }, status)
  return refuseForm(c, back, message, fields ?? {}, options.params)
}

/**
 * The path parameter `name` checked with `schema` (an id), or the refusal to return: to an API
 * client the 422 validate() answers, to a plain form a 303 back with ?error= (a malformed id
 * names nothing to act on). `back` may be worked out only when refusing (a page's `next` is in
 * the form's body).
 */
export async function readParam<T extends z.ZodType>(
  c: Context,
  schema: T,
  name: string,
  back: Back | (() => Promise<Back>),
  options?: RefuseOptions,
): Promise<z.infer<T> | Response> {
  const parsed = schema.safeParse(c.req.param(name))
  if (parsed.success) return parsed.data
  const message = parsed.error.issues[0]?.message ?? 'Invalid input.'
  const refusal = { status: 422, code: 'invalid_input', message, fields: { _: message } } as const
  return refuse(c, typeof back === 'function' ? await back() : back, refusal, options)
}

export interface ReadInputOptions {
  /** Body kinds accepted, others get 415; default JSON and form. */
  accept?: BodyKind[]
  /** Reshapes the raw body before validation (e.g. flat form fields into the JSON shape). */
  prepare?: (data: Record<string, unknown>, kind: BodyKind) => unknown
  /**
   * What ?error= says when a plain form is invalid, for pages that show their own text for a
   * code; default: the first problem, named by its field when the message does not say which.
   */
  formError?: string
  /**
   * The visible label of each field whose label is not its humanised name (`ratePerHour` is
   * "Messages per hour" on the page), by the field's path ("staleDays.demo"): a plain form's
   * ?error= names the field as the person saw it. Without one, the name is humanised.
   */
  labels?: FieldLabels
}

/** Visible labels of a form's fields, by path (ReadInputOptions.labels). */
export type FieldLabels = Readonly<Record<string, string>>

/**
 * The body, read strictly (readBody: declared type only, UTF-8, no repeated keys) and validated
 * with `schema`. Invalid input from an API client is a 422 naming every field's problem
 * (thrown); a plain form gets back a Response, the 303 back with ?error=, to return as it is.
 */
export async function readInput<T extends z.ZodType>(
  c: Context,
  schema: T,
  back: Back | ((data: Record<string, unknown>) => Back),
  options: ReadInputOptions = {},
): Promise<z.infer<T> | Response> {
  const { kind, data } = await readBody(c, options.accept)
  const input = options.prepare ? options.prepare(data, kind) : data
  if (wantsJson(c)) return validate(schema, input)
  if (kind === 'form') postedForms.set(c.req.raw, data)
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const error = options.formError ?? formMessage(parsed.error.issues, options.labels)
  const fields: Record<string, string> = {}
  for (const issue of parsed.error.issues) {
    const name = issue.path.map(String).join('.')
    if (name) fields[name] ??= issue.message
  }
  return refuseForm(c, typeof back === 'function' ? back(data) : back, error, fields)
}

function formMessage(issues: z.ZodError['issues'], labels: FieldLabels = {}): string {
  const issue = issues[0]
  if (!issue) return 'Invalid input.'
  const field = issue.path.map(String).join('.')
  const label = labels[field] ?? humanField(issue.path.map(String))
  const message = issue.message.toLowerCase()
  const mentioned =
    field === '' || message.includes(field.toLowerCase()) || message.includes(label.toLowerCase())
  if (mentioned || issue.code === 'custom') return issue.message
  // A label that is a question ("Why was it lost?") is followed by the answer it lacks.
  return /[?!.]$/.test(label) ? `${label} ${issue.message}` : `${label}: ${issue.message}`
}

/** ['expectedCloseDate'] → "Expected Close Date"; ['staleDays', 'demo'] → "Stale Days Demo". */
function humanField(path: string[]): string {
  return path
    .map((part) => part.replace(/([A-Z])/g, ' $1').replace(/^./, (ch) => ch.toUpperCase()))
    .join(' ')
}

/**
 * The `next` field of a bodyless action's form, when a page's button sent one (an API client
 * sends no body at all).
 */
export async function bodylessForm(c: Context): Promise<{ next: string | undefined }> {
  if (!c.req.header('content-type')?.includes('application/x-www-form-urlencoded'))
    return { next: undefined }
  const { data } = await readBody(c, ['form'])
  return { next: typeof data.next === 'string' ? data.next : undefined }
}
