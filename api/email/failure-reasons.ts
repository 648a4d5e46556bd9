import { isTransportWide } from './outbox-worker.ts'
import type { SuppressionReason } from './suppressions.ts'

// Why a message was not sent, in words a sales person can act on: fix the address, drop the
// person, or ask an admin about our mail server. Read from what the outbox row keeps (last_error,
// last_error_kind, as outbox-worker.ts and delivery-events.ts write them), so it needs nothing
// stored beyond it. The server's own words are kept when they are about the recipient's address
// (a 550 on RCPT, a bounce), short and with IP addresses taken out; what is about our side (our
// mail server unreachable, a refused sender, a broken message) is said without them, since they
// may name our server's host and port, and ends in "ask an admin". A message the do-not-mail list
// stopped says which entry (suppressions.ts), and since when while that entry still stands; an
// erased person's says only that they were erased.

export interface FailedMessage {
  lastError: string | null
  lastErrorKind: string | null
  /** Whether the person it was for was erased (api/pipeline/erasure.ts). */
  erased?: boolean
  /**
   * The address's entry on the do-not-mail list now (suppressions.ts), with the day it was
   * recorded in the reader's words ("Jan 20, 2026"): said when it is the entry that stopped it.
   */
  suppression?: { reason: SuppressionReason; day: string } | null
}

/** How much of a server's own words a reason quotes. */
export const QUOTE_MAX = 160

const ASK = ' (ask an admin)'

/** The reason, e.g. "Address refused by the receiving server (550 5.1.1 user unknown)". */
export function explainFailure(message: FailedMessage): string {
  if (message.erased) return ERASED
  const error = message.lastError?.trim()
  if (message.lastErrorKind === 'suppressed') return notMailed(error, message.suppression)
  if (!error) return `No reason was recorded${ASK}`

  const gaveUp = /^gave up after (\d+) attempts? in [\d.]+ h: ([\s\S]*)$/.exec(error)
  if (gaveUp) {
    const n = Number(gaveUp[1])
    return `Gave up after ${n} attempt${n === 1 ? '' : 's'}: ${whyRetried(gaveUp[2]!)}`
  }

  const bounce = /^resend bounce ([^:]*): ?([\s\S]*)$/.exec(error)
  if (bounce) return `Bounced (hard): ${bounceWords(bounce[1]!, bounce[2]!)}`
  if (error.startsWith('resend suppressed '))
    return 'Not sent: the address is on the email service’s own do-not-mail list (it bounced or complained before)'
  const failed = /^resend failed: ?([\s\S]*)$/.exec(error)
  if (failed) return `Not sent: the email service could not send it${quoted(failed[1]!)}${ASK}`
  if (error.startsWith('unreadable payload'))
    return `Not sent: the stored message could not be read${ASK}`

  const { code, text } = split(error)
  const reply = /^smtp_(\d{3})$/.exec(code)
  if (reply && reply[1]!.startsWith('5')) return refusal(Number(reply[1]), text)
  if (code === 'invalid_address') {
    const address = text.replace(/^invalid address: ?/, '')
    return `Not sent: not a valid email address${quoted(address)}`
  }
  if (code === 'sender_refused' || code === 'invalid_from_address')
    return `Not sent: our mail server refused the campaign’s sender address${ASK}`
  if (BUILD_CODES.has(code)) return `Not sent: the message could not be built${ASK}`
  // The email service (Resend) refused this message: its words are about the message.
  if (/^[a-z]+(_[a-z]+)+$/.test(code) || /^http_\d{3}$/.test(code))
    return `Refused by the email service${quoted(text)}`
  return `Not sent${ASK}`
}

const ERASED = 'Not sent: the person was erased'

/** Why the do-not-mail list stops mail, by its entry's reason (the day follows). */
const SUPPRESSED: Record<Exclude<SuppressionReason, 'erased'>, string> = {
  unsubscribe: 'unsubscribed',
  hard_bounce: 'an earlier email to this address bounced',
  complaint: 'the person reported an earlier email as spam',
  manual: 'an admin put the address on the do-not-mail list',
}

/**
 * A message the do-not-mail list stopped: the worker records the entry's reason (`suppressed
 * (unsubscribe)`), an erasure its own why (`erased on request`). The day is the entry's only while
 * it is the one that stopped it: one replaced since (an unsubscribe by a later bounce) is another.
 */
function notMailed(error: string | undefined, now: FailedMessage['suppression']): string {
  if (error && /^erased\b/.test(error)) return ERASED
  const recorded = /^suppressed \((\w+)\)$/.exec(error ?? '')?.[1]
  if (recorded === 'erased') return ERASED
  if (!recorded || !Object.hasOwn(SUPPRESSED, recorded))
    return 'Not sent: the address is on the do-not-mail list'
  const words = SUPPRESSED[recorded as keyof typeof SUPPRESSED]
  return now?.reason === recorded ? `Not sent: ${words} on ${now.day}` : `Not sent: ${words}`
}

/** Our own checks and the SMTP library's, on the message rather than the address. */
const BUILD_CODES = new Set([
  'invalid_header',
  'missing_unsubscribe',
  'missing_text',
  'EENVELOPE',
  'EMESSAGE',
  'ESTREAM',
  'EMAXRECIPIENTS',
])

/** `smtp_550: 550 5.1.1 …` → code and text. */
function split(error: string): { code: string; text: string } {
  const at = error.indexOf(': ')
  return at < 0
    ? { code: error, text: '' }
    : { code: error.slice(0, at), text: error.slice(at + 2) }
}

/** A 5xx reply to this message, sorted by its enhanced status code (RFC 3463) where it has one. */
function refusal(reply: number, text: string): string {
  const enhanced = /^\d{3}[ -]\d\.(\d{1,3})\.(\d{1,3})\b/.exec(text)
  const status = enhanced ? `${enhanced[1]}.${enhanced[2]}` : null
  return `${refusalWords(reply, status)}${quoted(text)}`
}

function refusalWords(reply: number, status: string | null): string {
  if (status === '3.4') return 'Refused by the receiving server: the message is too large'
  // 552 without an enhanced code is the old "exceeded storage allocation".
  if (status === '2.2' || (!status && reply === 552))
    return 'Refused by the receiving server: the mailbox is full'
  // As smtp-transport.ts judges a hard bounce: 5.1.x an addressing problem, 5.2.1 a disabled
  // mailbox; without an enhanced code, a 550, 551 or 553 says "no such mailbox".
  if (status?.startsWith('1.') || status === '2.1' || (!status && [550, 551, 553].includes(reply)))
    return 'Address refused by the receiving server'
  if (status?.startsWith('7.'))
    return 'Refused by the receiving server’s policy (a spam filter or block list)'
  return 'Refused by the receiving server'
}

/** Why retries did not get it through; only a recipient's server's words are quoted. */
function whyRetried(error: string): string {
  const { code, text } = split(error)
  if (code === 'daily_quota_exceeded' || code === 'monthly_quota_exceeded')
    return `the sending quota was used up${ASK}`
  if (isTransportWide({ ok: false, kind: 'retryable', code, message: text }))
    return `our mail server could not be reached${ASK}`
  if (/^smtp_4\d\d$/.test(code))
    return `the receiving server kept asking us to try later${quoted(text)}`
  return `the email service kept putting it off${ASK}`
}

/** Resend's bounce: `Permanent/NoEmail` and its message. */
function bounceWords(detail: string, message: string): string {
  const sub = detail.split('/')[1] ?? ''
  if (sub === 'NoEmail') return 'the mailbox does not exist'
  if (sub === 'Suppressed' || sub === 'OnAccountSuppressionList')
    return 'the address bounced before, so the email service no longer sends to it'
  return excerpt(message) || 'the recipient’s mail provider refused it for good'
}

const quoted = (text: string) => {
  const short = excerpt(text)
  return short ? ` (${short})` : ''
}

/**
 * A server's words, short and on one line: a multi-line reply's repeated `550-5.1.1` prefixes
 * dropped, IP addresses taken out, cut at QUOTE_MAX characters.
 */
export function excerpt(text: string): string {
  const flat = text
    .replace(/\r?\n\d{3}[ -](\d\.\d{1,3}\.\d{1,3} )?/g, ' ')
    // IPv6: hex and colons only, with a `::` or three colons (not a time of day).
    .replace(/(?<!\w)(?=[0-9a-f:]*::|(?:[0-9a-f]{1,4}:){3})[0-9a-f:]{3,39}(?![\w:])/gi, '…')
    .replace(/\[?\b\d{1,3}(\.\d{1,3}){3}\b\]?(:\d+)?/g, '…')
    .replace(/\s+/g, ' ')
    .trim()
  return flat.length <= QUOTE_MAX ? flat : `${flat.slice(0, QUOTE_MAX - 1).trimEnd()}…`
}
