import { describe, expect, it } from 'vitest'
import {
  explainFailure,
  excerpt,
  QUOTE_MAX,
  type FailedMessage,
} from '../../../api/email/failure-reasons.ts'

// The campaign page said only "Failed": the reason, in words, comes from the outbox row's last
// error as the worker and the Resend webhook write it.

const permanent = (lastError: string) => explainFailure({ lastError, lastErrorKind: 'permanent' })
const givenUp = (lastError: string) => explainFailure({ lastError, lastErrorKind: 'retryable' })

describe('why a message was not sent, in words', () => {
  it('quotes the receiving server on a refused address, sorted by its enhanced code', () => {
    expect(permanent('smtp_550: 550 5.1.1 <ann@example.com>: Recipient address rejected')).toBe(
      'Address refused by the receiving server (550 5.1.1 <ann@example.com>: Recipient address rejected)',
    )
    expect(permanent('smtp_550: 550 No such user')).toBe(
      'Address refused by the receiving server (550 No such user)',
    )
    expect(permanent('smtp_552: 552 5.2.2 Mailbox full')).toBe(
      'Refused by the receiving server: the mailbox is full (552 5.2.2 Mailbox full)',
    )
    expect(permanent('smtp_552: 552 5.3.4 Message size exceeds fixed limit')).toMatch(
      /^Refused by the receiving server: the message is too large \(/,
    )
    expect(permanent('smtp_554: 554 5.7.1 Message rejected as spam')).toMatch(
      /^Refused by the receiving server’s policy \(a spam filter or block list\) \(554 5\.7\.1/,
    )
  })

  it('says a bounce Resend reported later was a hard one, and why', () => {
    expect(
      permanent(
        "resend bounce Permanent/General: The recipient's email provider sent a hard bounce message.",
      ),
    ).toBe("Bounced (hard): The recipient's email provider sent a hard bounce message.")
    expect(permanent('resend bounce Permanent/NoEmail: whatever')).toBe(
      'Bounced (hard): the mailbox does not exist',
    )
    expect(permanent('resend suppressed OnAccountSuppressionList: on the list')).toMatch(
      /^Not sent: the address is on the email service’s own do-not-mail list/,
    )
    expect(permanent('resend failed: reached_daily_quota')).toBe(
      'Not sent: the email service could not send it (reached_daily_quota) (ask an admin)',
    )
  })

  it('counts the attempts of a message given up, and names our server without its host or port', () => {
    const reason = givenUp(
      'gave up after 7 attempts in 72.1 h: ESOCKET: connect ECONNREFUSED 10.1.2.3:2525 (smtp.internal.example)',
    )
    expect(reason).toBe(
      'Gave up after 7 attempts: our mail server could not be reached (ask an admin)',
    )
    expect(
      givenUp('gave up after 1 attempts in 73 h: smtp_421: 421 smtp.internal.example busy'),
    ).toBe('Gave up after 1 attempt: our mail server could not be reached (ask an admin)')
    // A mailbox that kept answering "later" is the recipient's server: its words are quoted.
    expect(givenUp('gave up after 5 attempts in 72 h: smtp_450: 450 4.2.1 Mailbox busy')).toBe(
      'Gave up after 5 attempts: the receiving server kept asking us to try later (450 4.2.1 Mailbox busy)',
    )
    expect(givenUp('gave up after 3 attempts in 72 h: daily_quota_exceeded: quota')).toMatch(
      /sending quota was used up/,
    )
  })

  it('blames our side, not the address, for a refused sender or a message that could not be built', () => {
    expect(permanent('sender_refused: 553 5.7.1 <sdr@frontdoor.example>: not owned by user')).toBe(
      'Not sent: our mail server refused the campaign’s sender address (ask an admin)',
    )
    expect(permanent('invalid_from_address: Invalid `from` field.')).toMatch(/sender address/)
    expect(permanent('missing_text: a text part is required')).toBe(
      'Not sent: the message could not be built (ask an admin)',
    )
    expect(permanent('invalid_address: invalid address: ann@@example.com')).toBe(
      'Not sent: not a valid email address (ann@@example.com)',
    )
    expect(permanent('validation_error: Invalid `to` field.')).toBe(
      'Refused by the email service (Invalid `to` field.)',
    )
    // Anything unknown says nothing of the server's words: they may name our host.
    expect(permanent('EWHATEVER: connect to smtp.internal.example:587 failed')).toBe(
      'Not sent (ask an admin)',
    )
    expect(explainFailure({ lastError: null, lastErrorKind: null })).toBe(
      'No reason was recorded (ask an admin)',
    )
    expect(explainFailure({ lastError: 'erased on request', lastErrorKind: 'suppressed' })).toBe(
      'Not sent: the person was erased',
    )
  })
})

describe('why the do-not-mail list stopped a message, in words', () => {
  const stopped = (lastError: string | null, suppression?: FailedMessage['suppression']) =>
    explainFailure({ lastError, lastErrorKind: 'suppressed', suppression })

  it('names the entry that stopped it, and its day while that entry still stands', () => {
    const day = 'Jan 20, 2026'
    expect(stopped('suppressed (unsubscribe)', { reason: 'unsubscribe', day })).toBe(
      'Not sent: unsubscribed on Jan 20, 2026',
    )
    expect(stopped('suppressed (hard_bounce)', { reason: 'hard_bounce', day })).toBe(
      'Not sent: an earlier email to this address bounced on Jan 20, 2026',
    )
    expect(stopped('suppressed (complaint)', { reason: 'complaint', day })).toBe(
      'Not sent: the person reported an earlier email as spam on Jan 20, 2026',
    )
    expect(stopped('suppressed (manual)', { reason: 'manual', day })).toBe(
      'Not sent: an admin put the address on the do-not-mail list on Jan 20, 2026',
    )
    // Replaced since (a bounce after the unsubscribe) or removed: that day is not this entry's.
    expect(stopped('suppressed (unsubscribe)', { reason: 'hard_bounce', day })).toBe(
      'Not sent: unsubscribed',
    )
    expect(stopped('suppressed (manual)', null)).toBe(
      'Not sent: an admin put the address on the do-not-mail list',
    )
    expect(stopped(null)).toBe('Not sent: the address is on the do-not-mail list')
    expect(stopped('suppressed (something new)')).toBe(
      'Not sent: the address is on the do-not-mail list',
    )
  })

  it('says only that an erased person was erased: no entry, no day', () => {
    const day = 'Jan 20, 2026'
    expect(stopped('suppressed (erased)', { reason: 'erased', day })).toBe(
      'Not sent: the person was erased',
    )
    expect(stopped('erased after inactivity')).toBe('Not sent: the person was erased')
    for (const lastError of ['suppressed (unsubscribe)', 'smtp_550: 550 5.1.1 [erased]', null])
      expect(
        explainFailure({
          lastError,
          lastErrorKind: lastError?.startsWith('smtp') ? 'permanent' : 'suppressed',
          erased: true,
          suppression: { reason: 'unsubscribe', day },
        }),
      ).toBe('Not sent: the person was erased')
  })
})

describe('a server’s words, quoted', () => {
  it('are one line, without IP addresses, at most QUOTE_MAX characters', () => {
    expect(
      excerpt(
        '550-5.1.1 The email account that you tried to reach does not exist.\n550-5.1.1 Please try\n550 5.1.1 double-checking. - gsmtp',
      ),
    ).toBe(
      '550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking. - gsmtp',
    )
    expect(
      excerpt('554 5.7.1 Client host [203.0.113.5] blocked; from 2001:db8::1 at 10:04:05'),
    ).toBe('554 5.7.1 Client host … blocked; from … at 10:04:05')
    const long = excerpt(`550 5.1.1 ${'x'.repeat(400)}`)
    expect(long).toHaveLength(QUOTE_MAX)
    expect(long.endsWith('…')).toBe(true)
  })
})
