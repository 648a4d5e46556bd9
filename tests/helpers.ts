import { createApp } from '../api/app.ts'
import type { Role } from '../api/accounts/users.ts'
import { BACK_SIGNATURE_PARAM, backMessages } from '../api/http/back-message.ts'
import { FORM_FLASH_COOKIE, readFormFlash } from '../api/http/form-flash.ts'
import type { TestDatabaseOptions } from './db-fixtures.ts'
import { addUser, ORIGIN, PASSWORD, setupTestDb, type DbContext } from './db.ts'

// Route tests: a database context (tests/db.ts) plus the app, driven with app.request().
export { addUser, ORIGIN, PASSWORD, setupTestDb, testClock } from './db.ts'

export interface TestContext extends DbContext {
  app: ReturnType<typeof createApp>
}

/** A fresh database and app for the calling test file (or test), given back after it. */
export async function setupTestApp(
  envOverrides: Record<string, string> = {},
  options: TestDatabaseOptions = {},
): Promise<TestContext> {
  const ctx = await setupTestDb(envOverrides, options)
  return { ...ctx, app: createApp(ctx.deps) }
}

/** Signs in through the API and returns the Cookie header value to send. */
export async function signInCookie(
  ctx: TestContext,
  email: string,
  password = PASSWORD,
): Promise<string> {
  const res = await ctx.app.request('/api/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`)
  return res.headers.get('set-cookie')!.split(';')[0]!
}

export async function signedInAs(ctx: TestContext, role: Role) {
  const user = await addUser(ctx, role)
  return { user, cookie: await signInCookie(ctx, user.email) }
}

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }
}

export function form(
  body: Record<string, string>,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, ...headers },
    body: new URLSearchParams(body).toString(),
  }
}

/**
 * Where a plain form's 303 leads (`url`, its query decoded), the notice and error its page shows
 * (`messages`), and the form flash it left for that page and `userId` (what was typed and each
 * field's problem), null when it left none.
 */
export function formAnswer(ctx: TestContext, res: Response, userId: string) {
  const url = new URL(res.headers.get('location') ?? '/', ORIGIN)
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${FORM_FLASH_COOKIE}=`))
    ?.split(';')[0]
  const flash = cookie
    ? readFormFlash(ctx.deps.secret, cookie, url.pathname, userId, ctx.deps.now())
    : null
  // What the page shows on top: its signed ?notice= and ?error= (back-message.ts).
  const messages = backMessages(ctx.deps, url)
  return { url, query: decodeURIComponent(url.search.replace(/\+/g, ' ')), flash, messages }
}

/**
 * A plain form's Location without the signature of its notice or error (back-message.ts): the
 * page and the message, for tests that name them; formAnswer's `messages` is what the page shows.
 */
export function unsigned(location: string | null): string | null {
  if (location === null) return null
  const url = new URL(location, ORIGIN)
  url.searchParams.delete(BACK_SIGNATURE_PARAM)
  return url.pathname + url.search + url.hash
}

/** An email address (a local part, then @): what a Location must never carry from a form. */
export const EMAIL_ADDRESS = /[^\s@()?&=]+@[^\s@]+/
