import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { z } from 'zod'

// Reads a request body strictly: declared content type only, valid UTF-8 only (a declared charset
// must be UTF-8), no U+0000 anywhere, no repeated keys, then validates it with zod. Bad input
// becomes a 4xx with a message that says what is wrong. A multipart upload, which readBody does
// not read, goes through the same rules with uploadRefusal.
//
// U+0000 is refused, not stripped: no browser form or honest client sends one, neither database
// engine can store it in text or jsonb (it used to reach the insert and become a 500 that lost
// the lead), and silently altering what a client sent would make two different bodies equal
// for the idempotency check.

export type BodyKind = 'json' | 'form'

export function fail(
  status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
  headers?: Record<string, string>,
): never {
  throw new HTTPException(status, {
    res: Response.json({ error: { code, message, ...extra } }, { status, headers }),
  })
}

export function bodyKind(c: Context): BodyKind | null {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json') return 'json'
  if (type === 'application/x-www-form-urlencoded') return 'form'
  return null
}

export interface AnswerOptions {
  /**
   * Who sends a request without a body (no Content-Type): the pages' forms ('form', the
   * default) or API clients ('json'). A page's own button always posts a form body.
   */
  bodyless?: 'form' | 'json'
}

/**
 * True when the request carries `Authorization: Bearer`: an API client, never a browser's form
 * (a browser sends no bearer credential of its own).
 */
export function carriesBearer(c: Context): boolean {
  return /^bearer(\s|$)/i.test((c.req.header('authorization') ?? '').trim())
}

/**
 * True when the client wants JSON back (API clients, the enhanced forms), not a 303. A bearer
 * request always does, whatever its body: a form-encoded body from an API client (`curl -d`) is
 * read as the form it declares, and answered, or refused, in JSON.
 */
export function wantsJson(c: Context, options: AnswerOptions = {}): boolean {
  if (carriesBearer(c)) return true
  if (options.bodyless === 'json' && !c.req.header('content-type')) return true
  return bodyKind(c) === 'json' || (c.req.header('accept') ?? '').includes('application/json')
}

/**
 * True for a browser's navigation or plain form post, which should get a page back rather than
 * JSON: it does not want JSON (wantsJson) and accepts HTML, as every browser says it does.
 */
export function wantsPage(c: Context): boolean {
  return !wantsJson(c) && (c.req.header('accept') ?? '').includes('text/html')
}

export async function readBody(
  c: Context,
  allowed: BodyKind[] = ['json', 'form'],
): Promise<{ kind: BodyKind; data: Record<string, unknown> }> {
  const kind = bodyKind(c)
  if (!kind || !allowed.includes(kind)) {
    const names = allowed.map((k) =>
      k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    )
    fail(415, 'unsupported_media_type', `Send the body as ${names.join(' or ')}.`)
  }
  const charset = charsetRefusal(c.req.header('content-type') ?? '')
  if (charset) fail(charset.status, charset.code, charset.message)
  const bytes = new Uint8Array(await c.req.arrayBuffer())
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    fail(400, 'invalid_encoding', 'The request body is not valid UTF-8.')
  }
  if (kind === 'json') {
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      fail(400, 'invalid_json', 'The request body is not valid JSON.')
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      fail(400, 'invalid_json', 'The request body must be a JSON object.')
    const { duplicateKey, depth } = scanJson(text)
    // Deeper than any request of ours (the NUL and Unicode checks below walk it recursively).
    if (depth > MAX_JSON_DEPTH)
      fail(400, 'invalid_json', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`)
    if (duplicateKey !== null)
      fail(400, 'duplicate_key', `The key "${duplicateKey}" appears more than once.`)
    if (hasNul(data)) refuseNul()
    // "\ud800" is valid JSON but no text: neither engine can store it, so it is refused too.
    if (!wellFormed(data))
      fail(
        400,
        'invalid_encoding',
        'The request body contains an unpaired surrogate (\\ud800–\\udfff).',
      )
    return { kind, data: data as Record<string, unknown> }
  }
  const data: Record<string, unknown> = Object.create(null)
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const key = decodeFormPart(eq === -1 ? pair : pair.slice(0, eq))
    const value = eq === -1 ? '' : decodeFormPart(pair.slice(eq + 1))
    if (key === null || value === null)
      fail(400, 'invalid_encoding', 'A form field is not valid UTF-8.')
    if (key.includes('\0') || value.includes('\0')) refuseNul()
    if (Object.hasOwn(data, key))
      fail(400, 'duplicate_key', `The field "${key}" appears more than once.`)
    data[key] = value
  }
  return { kind, data }
}

/** What readBody refuses, as a value, for the inputs it does not read (a multipart upload). */
export interface InputRefusal {
  status: 400 | 415
  code: 'invalid_character' | 'unsupported_charset'
  message: string
}

const NUL_REFUSAL: InputRefusal = {
  status: 400,
  code: 'invalid_character',
  message: 'The request contains a NUL character (U+0000), which is not accepted.',
}

function refuseNul(): never {
  fail(NUL_REFUSAL.status, NUL_REFUSAL.code, NUL_REFUSAL.message)
}

/** A `charset` other than UTF-8 in a Content-Type; null when it declares none or UTF-8. */
export function charsetRefusal(
  contentType: string,
  message = 'Send the body as UTF-8 (charset=utf-8).',
): InputRefusal | null {
  const charset = declaredCharset(contentType)
  if (charset === null || charset === 'utf-8' || charset === 'utf8') return null
  return { status: 415, code: 'unsupported_charset', message }
}

/**
 * readBody's rules for a multipart file upload, which it does not read: a charset other than
 * UTF-8, declared for the request or the file, and U+0000 in the file or its name are refused
 * (a file saved as UTF-16 has one after every ASCII letter). Null when the upload may be read.
 */
export function uploadRefusal(c: Context, file: File, bytes: Uint8Array): InputRefusal | null {
  const saveAsUtf8 = 'Save the file as UTF-8 (in a spreadsheet: "CSV UTF-8") and upload it again.'
  return (
    charsetRefusal(c.req.header('content-type') ?? '') ??
    charsetRefusal(file.type, `The file is not declared as UTF-8. ${saveAsUtf8}`) ??
    (file.name.includes('\0') || bytes.includes(0)
      ? {
          ...NUL_REFUSAL,
          message: `The upload contains a NUL character (U+0000), which is not accepted. ${saveAsUtf8}`,
        }
      : null)
  )
}

/** True when any key or string value, at any depth, contains U+0000. */
function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0')
  if (Array.isArray(value)) return value.some(hasNul)
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).some(([key, inner]) => key.includes('\0') || hasNul(inner))
  return false
}

/** True when every key and string value, at any depth, is well-formed Unicode. */
function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed()
  if (Array.isArray(value)) return value.every(wellFormed)
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).every(([key, inner]) => key.isWellFormed() && wellFormed(inner))
  return true
}

/** The `charset` parameter of a Content-Type, lower-cased and unquoted; null when absent. */
export function declaredCharset(contentType: string): string | null {
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=')
    if (eq === -1) continue
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue
    return param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase()
  }
  return null
}

/** Like URLSearchParams, but invalid percent-encoded UTF-8 is an error instead of U+FFFD. */
function decodeFormPart(part: string): string | null {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '))
  } catch {
    return null
  }
}

/**
 * A query string's parameters with the empty ones left out: a GET form sends a filter left at
 * "all" as `status=`, and a link may carry `page=`; an empty parameter is one not given. Every
 * list's query goes through this before its schema (the JSON endpoint and the page alike).
 */
export const givenParams = (query: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''))

export function validate<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> {
  const parsed = schema.safeParse(data)
  if (!parsed.success) {
    const { message, fields } = describeIssues(parsed.error.issues)
    fail(422, 'invalid_input', message, { fields })
  }
  return parsed.data
}

/**
 * What validate's 422 says of failed issues: each field's first problem, and the first of all
 * as the message (prefixed with its field when it has one).
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): {
  message: string
  fields: Record<string, string>
} {
  const fields: Record<string, string> = {}
  for (const issue of issues) {
    const key = issue.path.join('.') || '_'
    fields[key] ??= issue.message
  }
  const first = Object.entries(fields)[0]!
  return { message: first[0] === '_' ? first[1] : `${first[0]}: ${first[1]}`, fields }
}

/** How deep a JSON body's objects and arrays may nest (no request of ours needs more than a few). */
export const MAX_JSON_DEPTH = 32

/**
 * Finds a key repeated within one JSON object (JSON.parse silently keeps the last one), and how
 * deep the objects and arrays nest. Expects text that JSON.parse already accepted.
 */
export function scanJson(text: string): { duplicateKey: string | null; depth: number } {
  const stack: Array<Set<string> | null> = []
  let depth = 0
  let i = 0
  let expectKey = false
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      const raw = text.slice(i, j + 1)
      const top = stack[stack.length - 1]
      if (expectKey && top) {
        const key = JSON.parse(raw) as string
        if (top.has(key)) return { duplicateKey: key, depth }
        top.add(key)
        expectKey = false
      }
      i = j + 1
      continue
    }
    if (ch === '{') {
      stack.push(new Set())
      expectKey = true
      depth = Math.max(depth, stack.length)
    } else if (ch === '[') {
      stack.push(null)
      depth = Math.max(depth, stack.length)
    } else if (ch === '}' || ch === ']') {
      stack.pop()
    } else if (ch === ',') {
      expectKey = stack[stack.length - 1] != null
    }
    i++
  }
  return { duplicateKey: null, depth }
}
