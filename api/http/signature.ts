import { createHmac, timingSafeEqual } from 'node:crypto'

// The one way this server signs what it hands out and later reads back (a refused form's values,
// a page's notice): an HMAC-SHA256 under the app's secret of `purpose:body`, base64url, cut to
// `length` characters. The purpose keeps one kind of signed thing from passing as another.
// (Webhooks sign with the Standard Webhooks construction instead: integrations/webhook-delivery.ts.)

/** The 32-byte HMAC-SHA256 of `purpose:body` under `secret`, for a token in another encoding. */
export function macOf(secret: string, purpose: string, body: string): Buffer {
  return createHmac('sha256', secret).update(`${purpose}:${body}`).digest()
}

/** The signature of `body` for `purpose`, `length` characters of base64url. */
export function signatureOf(secret: string, purpose: string, body: string, length: number): string {
  return macOf(secret, purpose, body).toString('base64url').slice(0, length)
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
