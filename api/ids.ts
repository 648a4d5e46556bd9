import { randomBytes, randomUUID } from 'node:crypto'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'

/**
 * UUIDv7: time-ordered, so new rows land at the end of their indexes. The one id generator.
 * Built from randomUUID() (served from a cached entropy pool, far cheaper than randomBytes per
 * call) with the first 48 bits replaced by the millisecond timestamp and the version set to 7.
 */
export function newId(now = Date.now()): string {
  const ts = now.toString(16).padStart(12, '0')
  const random = randomUUID()
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${random.slice(15)}`
}

/** An opaque URL-safe token with `bytes` of randomness (default 20 bytes = 160 bits). */
export function newToken(bytes = 20): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes))
}
