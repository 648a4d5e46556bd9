// Resend through its SDK. The SDK never throws for an API or network failure: it resolves to
// `{ data, error }`, so every call checks `error` and classifies it.

import { Resend } from 'resend'
import type { ErrorResponse } from 'resend'
import { failure, idempotencyKeyFor, messageIdFor, prepareEmail } from './transport.ts'
import type {
  EmailAddress,
  OutgoingEmail,
  SendFailure,
  SendOutcome,
  Transport,
} from './transport.ts'

export type ResendTransportOptions = {
  /** `RESEND_API_KEY`. */
  apiKey: string
  /** `RESEND_BASE_URL`; the SDK's default (https://api.resend.com) when not set. */
  baseUrl?: string | undefined
  /** Milliseconds for one API call. */
  timeout?: number
}

export function createResendTransport(options: ResendTransportOptions): Transport {
  // Passed explicitly so the SDK does not fall back to reading RESEND_BASE_URL from process.env.
  const resend = new Resend(options.apiKey, {
    baseUrl: (options.baseUrl ?? 'https://api.resend.com').replace(/\/+$/, ''),
  })
  const timeout = options.timeout ?? 15_000

  return {
    name: 'resend',
    async send(msg) {
      const prepared = prepareEmail(msg)
      if (!prepared.ok) return prepared
      const email = prepared.email
      try {
        const { data, error, headers } = await resend.emails.send(
          {
            from: addressString(email.from),
            to: [addressString(email.to)],
            ...(email.replyTo ? { replyTo: addressString(email.replyTo) } : {}),
            subject: email.subject,
            html: email.html,
            text: email.text,
            headers: threadingHeaders(email),
            tags: [{ name: 'category', value: email.category }],
          },
          { idempotencyKey: idempotencyKeyFor(email.id), signal: AbortSignal.timeout(timeout) },
        )
        if (error) return classifyResendError(error, headers)
        return { ok: true, providerId: data.id }
      } catch (err) {
        // Not expected from the SDK, but a send must end in an outcome, never an exception.
        return failure('retryable', 'network', (err as Error).message)
      }
    },
    // Listing domains needs a full-access key; a sending-only key answers `restricted_api_key`,
    // which still proves the key is valid.
    async verify(): Promise<SendOutcome> {
      try {
        const { error } = await resend.domains.list({}, { signal: AbortSignal.timeout(timeout) })
        if (!error || error.name === 'restricted_api_key')
          return { ok: true, providerId: 'verified' }
        return classifyResendError(error)
      } catch (err) {
        return failure('retryable', 'network', (err as Error).message)
      }
    },
    async close() {},
  }
}

/** Sorts a Resend API error into what the outbox worker should do about it. */
export function classifyResendError(
  error: ErrorResponse,
  headers?: Record<string, string> | null,
): SendFailure {
  const status = error.statusCode ?? statusForName[error.name] ?? null
  const code = error.name ?? `http_${status}`
  const message = String(error.message ?? '').slice(0, 500)
  if (status === null) return failure('retryable', 'network', message)
  if (status === 401 || status === 403) return failure('configuration', code, message)
  // The per-second limit (2 requests a second by default, per team): a pause of a second or so,
  // as Retry-After says, not a service that is down. Quotas (daily, monthly) back off as before.
  if (error.name === 'rate_limit_exceeded') {
    const seconds = Number(headers?.['retry-after'])
    const retryAfterMs = Math.min(60_000, Math.max(1_000, (seconds || 1) * 1_000))
    return { ...failure('retryable', code, message), retryAfterMs }
  }
  // 409 concurrent_idempotent_requests: the first attempt with this key is still being processed.
  if (status === 429 || status >= 500 || error.name === 'concurrent_idempotent_requests') {
    return failure('retryable', code, message)
  }
  return failure('permanent', code, message)
}

// For an error body without a statusCode (a proxy's, or an older API version's).
const statusForName: Partial<Record<string, number>> = {
  missing_api_key: 401,
  restricted_api_key: 401,
  invalid_api_key: 403,
  validation_error: 422,
  invalid_from_address: 422,
  missing_required_field: 422,
  invalid_parameter: 422,
  rate_limit_exceeded: 429,
  daily_quota_exceeded: 429,
  monthly_quota_exceeded: 429,
  internal_server_error: 500,
}

// Resend takes addresses as strings. The name is already header-safe (no CR/LF); quoting it keeps
// commas, angle brackets and @ in a name from being read as a second address.
function addressString(a: EmailAddress): string {
  if (!a.name) return a.address
  return `"${a.name.replace(/[\\"]/g, '\\$&')}" <${a.address}>`
}

/**
 * Resend sends a message with a Message-ID of its own (the service it sends through replaces any
 * other), not the `<outbox.…@…>` the other transports give it. So an outreach message names ours
 * at the end of its References, which is delivered as given: a campaign follow-up's In-Reply-To
 * and References name that id (api/campaigns/follow-ups.ts), and mail clients thread on it.
 */
function threadingHeaders(email: OutgoingEmail): Record<string, string> {
  if (email.category !== 'outreach') return email.headers
  const own = messageIdFor(email.id, email.from.address.split('@')[1]!)
  const earlier = email.headers.References
  return { ...email.headers, References: earlier ? `${earlier} ${own}` : own }
}
