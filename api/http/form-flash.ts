import { and, eq, lt } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { formFlashes } from '../db/schema.ts'
import { newId } from '../ids.ts'
import { readCookie } from './cookies.ts'
import { isSignatureOf, signatureOf } from './signature.ts'

// What a refused plain form (JavaScript off) had typed, carried back to its page. The 303 back
// sets a short-lived cookie scoped to that page's path — never the URL, which ends up in
// histories, logs and Referer headers — and the page fills its form from it once (the
// middleware reads and clears it), with each field's problem beside the field. Signed, for one
// person, for a minute; passwords and tokens are never carried. What would not fit in a cookie
// (a campaign's 20,000-character message) waits in the database instead, the cookie naming it.

export const FORM_FLASH_COOKIE = 'fd_form'
/** How long the values wait for the page (the browser follows the 303 at once). */
export const FORM_FLASH_MAX_AGE_S = 60
/**
 * What a cookie may hold, well under the 4 KB browsers keep. When everything typed would not
 * fit, it waits in form_flashes (for a signed-in person); else the longest values are left out.
 */
const MAX_COOKIE_VALUE = 3_600
/** Fields never carried back, whatever the form. */
const SECRET_FIELD = /pass|secret|token|^next$/i

/**
 * Whether the page at `path` fills its form from a refused form's values: the app's pages
 * (/app itself is one, a rep's My day), the first-run setup page, where a weak password sent
 * the name and email back blank, and the sign-in page, where a mistyped password did the same to
 * the email.
 */
export function keepsFormFlash(path: string): boolean {
  return path === '/app' || path.startsWith('/app/') || path === '/setup' || path === '/login'
}

export interface FormFlash {
  /** The path the form posted to (its `action`): a page with several forms fills only that one. */
  action: string
  /** What was typed, by field name. */
  values: Record<string, string>
  /** Problems by field name, shown beside the field. */
  fields: Record<string, string>
}

interface Payload extends FormFlash {
  /** The page it is for, the person it is for, and when it was made. */
  path: string
  userId: string | null
  at: number
  /** The form_flashes row holding the values and problems (then empty here). */
  ref?: string
}

/** Values too long for the cookie, to be kept in form_flashes under `id` (which the cookie names). */
export interface StoredFormFlash {
  id: string
  userId: string
  values: Record<string, string>
  fields: Record<string, string>
}

export interface FormFlashOptions {
  /**
   * Keeps what would not fit in the cookie (only for a signed-in person): without it the
   * longest values are left out.
   */
  store?: (flash: StoredFormFlash) => void
}

const SIGNATURE = { purpose: 'form-flash', length: 32 } as const

/**
 * The Set-Cookie carrying a refused form's values back to `path` (a page of the app), or null
 * when nothing is worth carrying.
 */
export function formFlashCookie(
  secret: string,
  flash: FormFlash & { path: string; userId: string | null },
  now: Date,
  secure: boolean,
  options: FormFlashOptions = {},
): string | null {
  // The path goes into the cookie's attributes: only plain path characters.
  if (!/^\/[\w\-./~%]*$/.test(flash.path)) return null
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(flash.values))
    if (typeof value === 'string' && value !== '' && !SECRET_FIELD.test(name)) values[name] = value
  if (Object.keys(values).length === 0 && Object.keys(flash.fields).length === 0) return null
  const encode = (extra: Partial<Payload> = {}) => {
    const payload: Payload = { ...flash, values, at: now.getTime(), ...extra }
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
    return `${body}.${signatureOf(secret, SIGNATURE.purpose, body, SIGNATURE.length)}`
  }
  let value = encode()
  if (value.length > MAX_COOKIE_VALUE && options.store && flash.userId !== null) {
    // Too much to carry: it waits in the database, the cookie names it.
    const id = newId(now.getTime())
    options.store({ id, userId: flash.userId, values, fields: flash.fields })
    value = encode({ values: {}, fields: {}, ref: id })
  }
  // Too much to carry and nowhere to keep it: the longest values stay behind, the rest come back.
  const byLength = Object.keys(values).sort((a, b) => values[b]!.length - values[a]!.length)
  while (value.length > MAX_COOKIE_VALUE && byLength.length > 0) {
    delete values[byLength.shift()!]
    value = encode()
  }
  if (value.length > MAX_COOKIE_VALUE) return null
  return [
    `${FORM_FLASH_COOKIE}=${value}`,
    `Path=${flash.path}`,
    `Max-Age=${FORM_FLASH_MAX_AGE_S}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
  ].join('; ')
}

/** The Set-Cookie that removes the values once the page has them. */
export function clearedFormFlashCookie(path: string, secure: boolean): string {
  return [
    `${FORM_FLASH_COOKIE}=`,
    `Path=${path}`,
    'Max-Age=0',
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
  ].join('; ')
}

/** Keeps values too long for their cookie; the row is taken by takeFormFlash. */
export async function storeFormFlash(db: Db, flash: StoredFormFlash, now: Date): Promise<void> {
  await db.insert(formFlashes).values({
    id: flash.id,
    userId: flash.userId,
    flash: { values: flash.values, fields: flash.fields },
    createdAt: now,
  })
}

/** Rows older than this are pruned (a page takes its row within FORM_FLASH_MAX_AGE_S). */
export const FORM_FLASH_KEEP_MS = 60 * 60 * 1000

export async function pruneFormFlashes(db: Db, now: Date): Promise<number> {
  const gone = await db
    .delete(formFlashes)
    .where(lt(formFlashes.createdAt, new Date(now.getTime() - FORM_FLASH_KEEP_MS)))
    .returning({ id: formFlashes.id })
  return gone.length
}

/**
 * What the page at `path` gets back for the signed-in `userId` (readFormFlash), the values kept
 * in the database taken from there, once.
 */
export async function takeFormFlash(
  db: Db,
  secret: string,
  cookieHeader: string | null,
  path: string,
  userId: string | null,
  now: Date,
): Promise<FormFlash | null> {
  const flash = readFormFlash(secret, cookieHeader, path, userId, now)
  if (flash === null || flash.ref === undefined) return flash
  if (userId === null) return null
  // The cookie's signed age and person were checked by readFormFlash.
  const [row] = await db
    .delete(formFlashes)
    .where(and(eq(formFlashes.id, flash.ref), eq(formFlashes.userId, userId)))
    .returning({ flash: formFlashes.flash })
  return row ? { action: flash.action, ...row.flash } : null
}

/**
 * The values carried back to the page at `path` for the signed-in `userId`, from the request's
 * Cookie header; null when there are none, or they are forged, stale or someone else's. `ref`
 * names the form_flashes row holding them when they did not fit (takeFormFlash reads it).
 */
export function readFormFlash(
  secret: string,
  cookieHeader: string | null,
  path: string,
  userId: string | null,
  now: Date,
): (FormFlash & { ref?: string }) | null {
  const raw = readCookie(cookieHeader, FORM_FLASH_COOKIE)
  if (!raw) return null
  const dot = raw.lastIndexOf('.')
  if (dot <= 0) return null
  const body = raw.slice(0, dot)
  const given = raw.slice(dot + 1)
  if (!isSignatureOf(secret, SIGNATURE.purpose, body, given, SIGNATURE.length)) return null
  let payload: Payload
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload
  } catch {
    return null
  }
  const age = now.getTime() - payload.at
  if (payload.path !== path || payload.userId !== userId) return null
  if (!(age >= 0 && age <= FORM_FLASH_MAX_AGE_S * 1000)) return null
  return {
    action: payload.action,
    values: payload.values,
    fields: payload.fields,
    ...(typeof payload.ref === 'string' ? { ref: payload.ref } : {}),
  }
}

/**
 * A page's view of the values for its form posting to `action`: nothing when they are for
 * another form. `idPrefix` keeps the ids of the problems' paragraphs apart on a page of forms.
 */
export function formRefill(flash: FormFlash | null | undefined, action: string, idPrefix = '') {
  const mine = flash && flash.action === action ? flash : null
  const error = (name: string): string | null => mine?.fields[name] ?? null
  const errorId = (name: string) => `${idPrefix}${name}-error`
  return {
    /** True when this form was refused and comes back with what was typed. */
    refused: mine !== null,
    /** What was typed in `name` (an empty field stays empty), else `fallback`, the page's default. */
    value: (name: string, fallback = ''): string => (mine ? (mine.values[name] ?? '') : fallback),
    /** The problem with `name`, if the refusal named one. */
    error,
    /** The id of the paragraph saying `name`'s problem (FieldError.astro). */
    errorId,
    /** The field's aria attributes: invalid, and described by its problem (and `hint`, an id). */
    aria: (name: string, hint?: string) => ({
      'aria-invalid': error(name) ? ('true' as const) : undefined,
      'aria-describedby':
        [hint, error(name) ? errorId(name) : null].filter(Boolean).join(' ') || undefined,
    }),
  }
}
