import type { Env } from '../env.ts'

/** Secure cookies whenever the public origin is https or we run in production. */
export function secureCookies(env: Pick<Env, 'APP_ORIGIN' | 'NODE_ENV'>): boolean {
  return env.NODE_ENV === 'production' || env.APP_ORIGIN.startsWith('https:')
}

/**
 * A secret shown once on one page after a plain form's redirect: HttpOnly, only for `path`, gone
 * after a minute (the page deletes it when read). Never in a URL, a log or the browser's history.
 */
export function showOnceCookie(
  env: Pick<Env, 'APP_ORIGIN' | 'NODE_ENV'>,
  name: string,
  value: string,
  path: string,
): string {
  const secure = secureCookies(env) ? '; Secure' : ''
  return `${name}=${value}; HttpOnly; SameSite=Strict; Path=${path}; Max-Age=60${secure}`
}

export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}

/** The longest `next` followed (a form's way back, a deep link): a longer one is the fallback. */
export const MAX_NEXT_PATH = 2_048

/**
 * The longest deep link the sign-in redirect keeps (`/login?next=…`; past it, the path alone):
 * percent-encoded again, at most 3 bytes a character, that Location stays under the 4 KiB header
 * buffer of nginx's default.
 */
export const MAX_LOGIN_NEXT = 1_024

/** A `next` parameter is followed only when it is a path on this site (no open redirect). */
export function safeNextPath(next: unknown, origin: string, fallback = '/app'): string {
  if (
    typeof next !== 'string' ||
    next.length > MAX_NEXT_PATH ||
    !next.startsWith('/') ||
    next.startsWith('//') ||
    next.startsWith('/\\')
  )
    return fallback
  try {
    const url = new URL(next, origin)
    if (url.origin !== origin) return fallback
    const path = url.pathname + url.search + url.hash
    // Normalising can create a scheme-relative path ("/.//evil.example" → "//evil.example").
    if (path.startsWith('//') || path.startsWith('/\\')) return fallback
    return path
  } catch {
    return fallback
  }
}
