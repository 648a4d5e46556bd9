import { z } from 'zod'
import { clipText, UTM_PARAMS, type UtmParam } from './lead-form.ts'

// First-touch attribution: the campaign that first brought a visitor, kept in a cookie set by the
// page middleware (src/middleware.ts) on the first page view that carries UTM parameters, and
// stored with each submission. Later campaigns do not overwrite it; the submission keeps its own
// last-touch UTM from the form.

export const FIRST_TOUCH_COOKIE = 'fd_ft'
export const FIRST_TOUCH_DAYS = 30
const MAX_VALUE = 200

// The cookie is the visitor's to edit: a U+0000 or a lone surrogate ("\ud83d", which cookies
// written before values were cut by code point do hold) would fail the submission's jsonb insert.
// A NUL refuses the cookie; a lone surrogate is mended, so the attribution is kept.
const text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\0]*$/)
    .transform((v) => v.toWellFormed())

const firstTouchSchema = z.object({
  utm: z.partialRecord(z.enum(UTM_PARAMS), text(MAX_VALUE)),
  landingPage: text(MAX_VALUE * 2),
  referrer: text(MAX_VALUE * 2).nullable(),
  ts: z.iso.datetime(),
})

export type FirstTouch = z.infer<typeof firstTouchSchema>

/** The first touch of a page view with UTM parameters; null when the URL has none. */
export function firstTouchOf(url: URL, referrer: string | null, now: Date): FirstTouch | null {
  const utm: Partial<Record<UtmParam, string>> = {}
  for (const param of UTM_PARAMS) {
    const value = url.searchParams.get(param)?.replaceAll('\0', '').trim()
    if (value) utm[param] = clipText(value, MAX_VALUE)
  }
  if (Object.keys(utm).length === 0) return null
  return {
    utm,
    landingPage: url.pathname.slice(0, MAX_VALUE * 2),
    referrer: externalReferrer(referrer, url)?.slice(0, MAX_VALUE * 2) ?? null,
    ts: now.toISOString(),
  }
}

/** A Set-Cookie value: readable by scripts (not HttpOnly), sent on top-level navigations only. */
export function firstTouchCookie(touch: FirstTouch, secure: boolean): string {
  const value = encodeURIComponent(JSON.stringify(touch))
  return `${FIRST_TOUCH_COOKIE}=${value}; Path=/; Max-Age=${FIRST_TOUCH_DAYS * 86_400}; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** The cookie's value, or null when it is missing or not one we wrote. */
export function parseFirstTouch(value: string | null | undefined): FirstTouch | null {
  if (!value || value.length > 4096) return null
  try {
    return firstTouchFrom(JSON.parse(decodeURIComponent(value)))
  } catch {
    return null
  }
}

/** A stored first touch (jsonb), checked again rather than trusted. */
export function firstTouchFrom(value: unknown): FirstTouch | null {
  const parsed = firstTouchSchema.safeParse(value)
  return parsed.success ? parsed.data : null
}

function externalReferrer(referrer: string | null, page: URL): string | null {
  if (!referrer) return null
  try {
    const url = new URL(referrer)
    if (url.origin === page.origin) return null
    // Only where they came from, not the full URL (which can carry someone else's query).
    return url.protocol === 'http:' || url.protocol === 'https:'
      ? `${url.origin}${url.pathname}`
      : null
  } catch {
    return null
  }
}
