// The one interface every way of sending mail implements. The outbox worker holds a Transport,
// hands it one row at a time, and decides what to do from the SendOutcome: a transport never
// retries on its own and never throws for a failed delivery.

import { createHash } from 'node:crypto'
import { domainToASCII } from 'node:url'
import { isValidAddress, safeCustomHeaders, safeHeaderText } from '../email-headers.ts'
import type { EmailAddress } from '../email-headers.ts'

export type { EmailAddress }

export type EmailCategory = 'transactional' | 'marketing' | 'outreach'

export type OutgoingEmail = {
  /** Outbox row id: stable across attempts, so Message-ID and idempotency key are too. */
  id: string
  from: EmailAddress
  replyTo?: EmailAddress | undefined
  to: EmailAddress
  subject: string
  html: string
  text: string
  /** Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post. */
  headers: Record<string, string>
  category: EmailCategory
}

export type FailureKind = 'retryable' | 'permanent' | 'configuration'

export type SendFailure = {
  ok: false
  /** retryable: try again later · permanent: this message will never go · configuration: pause the transport */
  kind: FailureKind
  /** Short machine-readable reason, e.g. `smtp_550`, `ECONNECTION`, `rate_limit_exceeded`. */
  code: string
  message: string
  /** The recipient address does not exist: suppress it. */
  hardBounce?: boolean
  /**
   * The server refused the From address itself (SMTP MAIL FROM). A configuration failure for the
   * configured sender; for a message that names its own sender (a campaign's), only its own.
   */
  senderRefused?: boolean
  /**
   * The provider asked us to slow down (a per-second rate limit), not a failure of the message
   * or of the service: send it again after this many milliseconds, without counting an attempt.
   */
  retryAfterMs?: number
}

export type SendOutcome = { ok: true; providerId: string } | SendFailure

export interface Transport {
  name: 'smtp' | 'resend' | 'dev'
  send(msg: OutgoingEmail): Promise<SendOutcome>
  /** Checks the configuration without sending (e.g. after a configuration failure paused the transport). */
  verify?(): Promise<SendOutcome>
  close(): Promise<void>
}

/**
 * Every transport runs a message through this first: the message as it may leave, or why it
 * must not. Names and subject are flattened again even when the caller used formatAddress (rows
 * may be built elsewhere), and marketing or outreach mail without the one-click unsubscribe
 * headers is refused (RFC 8058, the spec's compliance rule).
 */
export function prepareEmail(msg: OutgoingEmail): { ok: true; email: OutgoingEmail } | SendFailure {
  for (const a of [msg.from, msg.to, msg.replyTo]) {
    if (a && !isValidAddress(a.address)) {
      return failure('permanent', 'invalid_address', `invalid address: ${a.address}`)
    }
  }
  let headers: Record<string, string>
  try {
    headers = safeCustomHeaders(msg.headers)
  } catch (err) {
    return failure('permanent', 'invalid_header', (err as Error).message)
  }
  if (msg.category !== 'transactional') {
    const names = new Set(Object.keys(headers).map((h) => h.toLowerCase()))
    if (!names.has('list-unsubscribe') || !names.has('list-unsubscribe-post')) {
      return failure(
        'permanent',
        'missing_unsubscribe',
        `${msg.category} mail needs List-Unsubscribe and List-Unsubscribe-Post headers`,
      )
    }
  }
  if (!msg.text.trim()) return failure('permanent', 'missing_text', 'a text part is required')
  const email = {
    ...msg,
    from: safeAddress(msg.from),
    to: safeAddress(msg.to),
    replyTo: msg.replyTo && safeAddress(msg.replyTo),
    subject: safeHeaderText(msg.subject, 250),
    headers,
  }
  return { ok: true, email }
}

function safeAddress(a: EmailAddress): EmailAddress {
  const name = safeHeaderText(a.name ?? '', 100)
  return name ? { name, address: a.address } : { address: a.address }
}

export function failure(
  kind: FailureKind,
  code: string,
  message: string,
  hardBounce?: boolean,
): SendFailure {
  return hardBounce === undefined
    ? { ok: false, kind, code, message }
    : { ok: false, kind, code, message, hardBounce }
}

/**
 * `<outbox.ID@domain>`: the same row always gets the same Message-ID, so a message sent twice
 * (a crash between the server's 250 and our commit) is recognisable as one by the receiver.
 * An id that is not a plain token is hashed rather than escaped.
 */
export function messageIdFor(outboxId: string, domain: string): string {
  const local = /^[A-Za-z0-9._-]{1,64}$/.test(outboxId)
    ? outboxId
    : createHash('sha256').update(outboxId).digest('hex').slice(0, 32)
  // Header text must be ASCII: an internationalised sending domain goes in its punycode form.
  return `<outbox.${local}@${domainToASCII(domain) || domain.toLowerCase()}>`
}

/** Resend idempotency key for an outbox row (1–256 characters per the API). */
export function idempotencyKeyFor(outboxId: string): string {
  const key = `outbox/${outboxId}`
  return key.length <= 256 ? key : `outbox/${createHash('sha256').update(outboxId).digest('hex')}`
}
