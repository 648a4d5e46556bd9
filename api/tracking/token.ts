import { newToken } from '../ids.ts'

// A tracked link's token: 128 random bits, base32 lowercase without padding (26 characters), one
// per recipient × link. Its shape is checked before any query, so a malformed or oversized token
// never reaches the database.

export const TRACKING_TOKEN_PATTERN = /^[a-z2-7]{26}$/

export function newTrackingToken(): string {
  return newToken(16)
}

export function isTrackingToken(value: string): boolean {
  return value.length === 26 && TRACKING_TOKEN_PATTERN.test(value)
}
