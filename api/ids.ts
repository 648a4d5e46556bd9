import { randomBytes } from 'node:crypto'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'

/** UUIDv7: time-ordered, so new rows land at the end of their indexes. The one id generator. */
export function newId(now = Date.now()): string {
  const bytes = randomBytes(16)
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** An opaque URL-safe token with `bytes` of randomness (default 20 bytes = 160 bits). */
export function newToken(bytes = 20): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes))
}
