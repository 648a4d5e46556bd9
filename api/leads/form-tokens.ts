import { createHmac, timingSafeEqual } from 'node:crypto'

// The time trap: every form carries a token signed at render time. A post that comes back
// faster than a person could fill the form in, or with a forged or ancient token, is a spam signal.

export const FORM_TOKEN_MIN_AGE_MS = 2_000
export const FORM_TOKEN_MAX_AGE_MS = 24 * 60 * 60 * 1000

function sign(secret: string, issuedAt: number): string {
  return createHmac('sha256', secret).update(`form:${issuedAt}`).digest('base64url').slice(0, 32)
}

export function issueFormToken(secret: string, now: Date): string {
  const issuedAt = now.getTime()
  return `${issuedAt.toString(36)}.${sign(secret, issuedAt)}`
}

export type FormTokenVerdict =
  | { ok: true; ageMs: number }
  | { ok: false; reason: 'missing' | 'invalid' | 'too_fast' | 'expired'; ageMs?: number }

export function checkFormToken(
  secret: string,
  token: string | undefined | null,
  now: Date,
): FormTokenVerdict {
  if (!token) return { ok: false, reason: 'missing' }
  const [stamp, mac] = token.split('.')
  if (!stamp || !mac || stamp.length > 12) return { ok: false, reason: 'invalid' }
  const issuedAt = parseInt(stamp, 36)
  if (!Number.isFinite(issuedAt)) return { ok: false, reason: 'invalid' }
  const expected = Buffer.from(sign(secret, issuedAt))
  const given = Buffer.from(mac)
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'invalid' }
  const ageMs = now.getTime() - issuedAt
  if (ageMs < FORM_TOKEN_MIN_AGE_MS) return { ok: false, reason: 'too_fast', ageMs }
  if (ageMs > FORM_TOKEN_MAX_AGE_MS) return { ok: false, reason: 'expired', ageMs }
  return { ok: true, ageMs }
}
