// SMTP through nodemailer's pooled transport, with timeouts short enough that a dead server costs
// the worker seconds, not the library's default minutes.

import nodemailer from 'nodemailer'
import type { NodemailerError } from 'nodemailer'
import { failure, messageIdFor, prepareEmail } from './transport.ts'
import type { SendFailure, SendOutcome, Transport } from './transport.ts'

export type DkimOptions = { domainName: string; keySelector: string; privateKey: string }

export type SmtpTransportOptions = {
  /** `SMTP_URL`, e.g. `smtp://user:pass@smtp.example.com:587` or `smtps://…:465`. */
  url: string
  /** Right-hand side of Message-IDs; defaults to the domain of each message's From address. */
  messageIdDomain?: string | undefined
  dkim?: DkimOptions | undefined
  /** Milliseconds. */
  connectionTimeout?: number
  greetingTimeout?: number
  socketTimeout?: number
  dnsTimeout?: number
  /** Upper bound for one message, queueing in the pool included. */
  sendTimeout?: number
  maxConnections?: number
}

// Signed explicitly rather than relying on the library's default list: RFC 8058 one-click
// unsubscribe only counts when List-Unsubscribe-Post is covered by the DKIM signature, and
// older nodemailer defaults left it out.
export const dkimHeaderFieldNames = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
].join(':')

export function createSmtpTransport(options: SmtpTransportOptions): Transport {
  const mailer = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.maxConnections ?? 2,
    maxMessages: 100,
    // A pooled connection the server closed while idle is retried once on a fresh one; anything
    // beyond that is the outbox worker's call, with its backoff.
    maxRequeues: 1,
    idleTimeout: 30_000,
    connectionTimeout: options.connectionTimeout ?? 10_000,
    greetingTimeout: options.greetingTimeout ?? 10_000,
    socketTimeout: options.socketTimeout ?? 10_000,
    dnsTimeout: options.dnsTimeout ?? 10_000,
    dkim: options.dkim && { ...options.dkim, headerFieldNames: dkimHeaderFieldNames },
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  })
  const sendTimeout = options.sendTimeout ?? 60_000

  return {
    name: 'smtp',
    async send(msg) {
      const prepared = prepareEmail(msg)
      if (!prepared.ok) return prepared
      const email = prepared.email
      const domain = options.messageIdDomain ?? email.from.address.split('@')[1]!
      try {
        const info = await mailer.sendMail({
          messageId: messageIdFor(email.id, domain),
          from: email.from,
          to: email.to,
          replyTo: email.replyTo,
          subject: email.subject,
          text: email.text,
          html: email.html,
          headers: email.headers,
          signal: AbortSignal.timeout(sendTimeout),
        })
        return { ok: true, providerId: info.messageId }
      } catch (err) {
        return classifySmtpError(err as NodemailerError)
      }
    },
    async verify(): Promise<SendOutcome> {
      try {
        await mailer.verify()
        return { ok: true, providerId: 'verified' }
      } catch (err) {
        return classifySmtpError(err as NodemailerError)
      }
    },
    async close() {
      mailer.close()
    },
  }
}

const networkCodes = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPROTOCOL',
  'EABORT',
  'EMAXLIMIT',
])
const configurationCodes = new Set([
  'EAUTH',
  'ENOAUTH',
  'EOAUTH2',
  'ECONFIG',
  'ETLS',
  'EREQUIRETLS',
])
const messageCodes = new Set(['EENVELOPE', 'EMESSAGE', 'ESTREAM', 'EMAXRECIPIENTS'])
// 530 authentication required, 534 mechanism too weak, 535 credentials invalid.
const authReplies = new Set([530, 534, 535])
const recipientRejections = new Set([550, 551, 553, 554])

/** Sorts a nodemailer error into what the outbox worker should do about it. */
export function classifySmtpError(err: NodemailerError): SendFailure {
  const reply = err.responseCode
  const code = err.code ?? 'UNKNOWN'
  const message = (err.response ?? err.message).slice(0, 500)
  const replyCode = `smtp_${reply}`

  if (configurationCodes.has(code) || (reply !== undefined && authReplies.has(reply))) {
    return failure('configuration', reply ? replyCode : code, message)
  }
  if (reply !== undefined && reply >= 400 && reply < 500) {
    return failure('retryable', replyCode, message)
  }
  // 503 is "bad sequence of commands": the session was confused, not the message refused.
  if (reply !== undefined && reply >= 500 && reply !== 503) {
    // A refusal of us rather than of this message (the greeting, our EHLO, our sender, relaying)
    // would fail every message in the queue the same way: pause instead of failing them all.
    if (refusesEveryMessage(err.command, reply, err.response)) {
      const refused = failure('configuration', replyCode, message)
      return err.command === 'MAIL FROM' ? { ...refused, senderRefused: true } : refused
    }
    const hardBounce =
      err.command === 'RCPT TO' && recipientRejections.has(reply) && isMailboxProblem(err.response)
    return failure('permanent', replyCode, message, hardBounce)
  }
  if (networkCodes.has(code) || networkCodes.has(err.originalCode ?? '') || reply === 503) {
    return failure('retryable', code, message)
  }
  if (messageCodes.has(code)) return failure('permanent', code, message)
  // Unknown: retry, the worker gives up after its maximum age anyway.
  return failure('retryable', code, message)
}

const sessionCommands = new Set(['CONN', 'EHLO', 'HELO', 'LHLO'])

/**
 * Whether a 5xx says the server will take no mail from us at all: a refused greeting or EHLO (a
 * blocklisted IP), a refused sender on MAIL FROM (a From the account may not use; but 552, too
 * big, is this message's), or relaying denied on RCPT (Exim says "550 relay not permitted" with no
 * enhanced code, which would otherwise read as "no such mailbox" and suppress every recipient).
 */
function refusesEveryMessage(command: string | undefined, reply: number, response = ''): boolean {
  if (command && sessionCommands.has(command)) return true
  const enhanced = /^\d{3}[ -]\d\.(\d{1,3})\.(\d{1,3})\b/.exec(response)
  if (command === 'MAIL FROM') {
    const tooBig = reply === 552 || (enhanced?.[1] === '3' && enhanced[2] === '4')
    return !tooBig
  }
  if (command === 'RCPT TO') {
    // "User unknown in relay recipient table" (Postfix, 5.1.1) is about the mailbox, not relaying.
    return /\brelay/i.test(response) && (!enhanced || enhanced[1] === '7')
  }
  return false
}

// A 5xx on RCPT means "no such mailbox" unless its enhanced status code (RFC 3463) says otherwise:
// 5.1.x is an addressing problem and 5.2.1 a disabled mailbox, but 5.2.2 (mailbox full) or 5.7.x
// (policy, relaying denied) say nothing about the address existing, so must not suppress it.
function isMailboxProblem(response: string | undefined): boolean {
  const enhanced = /^\d{3}[ -](\d)\.(\d{1,3})\.(\d{1,3})\b/.exec(response ?? '')
  if (!enhanced) return true
  const [, , subject, detail] = enhanced
  return subject === '1' || (subject === '2' && detail === '1')
}
