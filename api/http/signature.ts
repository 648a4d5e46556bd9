import { createHmac, timingSafeEqual } from 'node:crypto'

// The one way this server signs what it hands out and later reads back (a refused form's values,
// a page's notice): an HMAC-SHA256 under the app's secret of `purpose:body`, base64url, cut to
// `length` characters. The purpose keeps one kind of signed thing from passing as another.

/** The signature of `body` for `purpose`, `length` characters of base64url. */
export function signatureOf(secret: string, purpose: string, body: string, length: number): string {
  return createHmac('sha256', secret)
    .update(`${purpose}:${body}`)
    .digest('base64url')
    .slice(0, length)
}

/** Whether `given` is `body`'s signature for `purpose` (compared in constant time). */
export function isSignatureOf(
  secret: string,
  purpose: string,
  body: string,
  given: string,
  length: number,
): boolean {
  const expected = Buffer.from(signatureOf(secret, purpose, body, length))
  const actual = Buffer.from(given)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
