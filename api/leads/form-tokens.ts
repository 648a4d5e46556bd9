import { createHash, randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { isSignatureOf, signatureOf } from '../http/signature.ts'
import { rateLimitHits } from '../db/schema.ts'

// The time trap: every form carries a token signed at render time for that form (the page path
// it was rendered on). A post that comes back faster than a person could fill the form in, with a
// forged or ancient token, with a token rendered for another form, or with a token already used
// for more posts than a person sends from one page, is a spam signal.

export const FORM_TOKEN_MIN_AGE_MS = 2_000
export const FORM_TOKEN_MAX_AGE_MS = 24 * 60 * 60 * 1000
/** Distinct posts (idempotency keys) one rendered form may send before it counts as reused. */
export const FORM_TOKEN_MAX_USES = 3

/** A short tag of the form (its page path, with or without a trailing slash), so the token stays small. */
function formTag(form: string): string {
  const path = form.replace(/\/+$/, '') || '/'
  return createHash('sha256').update(path).digest('base64url').slice(0, 8)
}

const MAC_LENGTH = 32

function signed(issuedAt: number, nonce: string, tag: string): string {
  return `${issuedAt}:${nonce}:${tag}`
}

/**
 * A token for the form on page `form` (its path, e.g. `/whitepapers/x`), rendered at `now`. A
 * random nonce keeps two page views in the same millisecond from sharing one (and its uses).
 */
export function issueFormToken(secret: string, now: Date, form: string): string {
  const issuedAt = now.getTime()
  const nonce = randomBytes(6).toString('base64url')
  const tag = formTag(form)
  const mac = signatureOf(secret, 'form', signed(issuedAt, nonce, tag), MAC_LENGTH)
  return `${issuedAt.toString(36)}.${nonce}.${tag}.${mac}`
}

export type FormTokenVerdict =
  | { ok: true; ageMs: number }
  | {
      ok: false
      reason: 'missing' | 'invalid' | 'other_form' | 'too_fast' | 'expired' | 'reused'
      ageMs?: number
    }

/** The verdict on `token` for a post to the form on page `form`. Pure. */
export function checkFormToken(
  secret: string,
  token: string | undefined | null,
  now: Date,
  form: string,
): FormTokenVerdict {
  if (!token) return { ok: false, reason: 'missing' }
  const [stamp, nonce, tag, mac, extra] = token.split('.')
  if (!stamp || !nonce || !tag || !mac || extra !== undefined || stamp.length > 12)
    return { ok: false, reason: 'invalid' }
  const issuedAt = parseInt(stamp, 36)
  if (!Number.isFinite(issuedAt)) return { ok: false, reason: 'invalid' }
  if (!isSignatureOf(secret, 'form', signed(issuedAt, nonce, tag), mac, MAC_LENGTH))
    return { ok: false, reason: 'invalid' }
  if (tag !== formTag(form)) return { ok: false, reason: 'other_form' }
  const ageMs = now.getTime() - issuedAt
  if (ageMs < FORM_TOKEN_MIN_AGE_MS) return { ok: false, reason: 'too_fast', ageMs }
  if (ageMs > FORM_TOKEN_MAX_AGE_MS) return { ok: false, reason: 'expired', ageMs }
  return { ok: true, ageMs }
}

/**
 * Records a post (its idempotency key) made with a valid or an expired token and turns the
 * verdict into `reused` when the token has now sent more than FORM_TOKEN_MAX_USES distinct posts.
 * The same key again (a double click, a retry) is one use. An expired token is no spam reason
 * (a tab left open overnight), so its uses are what stops a bot replaying one old token. Kept in
 * rate_limit_hits until the token expires, or for an expired one from its last use.
 */
export async function checkFormTokenUse(
  db: Db,
  verdict: FormTokenVerdict,
  token: string | null,
  idempotencyKey: string | null,
  now: Date,
): Promise<FormTokenVerdict> {
  const counted = verdict.ok || verdict.reason === 'expired'
  if (!counted || verdict.ageMs === undefined || !token) return verdict
  const mac = token.slice(token.lastIndexOf('.') + 1)
  const issuedAt = now.getTime() - verdict.ageMs
  // Pruned by age of windowStart: stamp the marker with the token's expiry, not its use (with
  // its use once expired, or an old token's uses would be pruned as they are made).
  const windowStart = new Date(Math.max(issuedAt + FORM_TOKEN_MAX_AGE_MS, now.getTime()))
  const post = idempotencyKey ?? `${now.getTime()}-${Math.random()}`
  await db
    .insert(rateLimitHits)
    .values({ key: `form-token:${mac}:${post}`, windowStart, count: 1 })
    .onConflictDoNothing()
  const [row] = await db
    // Distinct keys: an expired token's retry of one post is stamped anew, the same use.
    .select({ uses: sql<number>`count(distinct ${rateLimitHits.key})::int` })
    .from(rateLimitHits)
    .where(sql`starts_with(${rateLimitHits.key}, ${`form-token:${mac}:`})`)
  return Number(row!.uses) > FORM_TOKEN_MAX_USES
    ? { ok: false, reason: 'reused', ageMs: verdict.ageMs }
    : verdict
}
