// Which transport sends the mail, from the environment:
//   SMTP_URL set        → SMTP (nodemailer, pooled, short timeouts, DKIM when DKIM_* are set)
//   RESEND_API_KEY set  → Resend (RESEND_BASE_URL honoured)
//   neither             → the dev mailbox (stored in the database, read at /app/admin/mailbox)
// When both SMTP_URL and RESEND_API_KEY are set, SMTP wins (it is the more explicit choice: a
// host, a port and credentials) and the start-up log says Resend is ignored.

import type { Db } from '../db/client.ts'
import type { Env } from '../env.ts'
import { createMailboxTransport } from './mailbox.ts'
import { createResendTransport } from './resend-transport.ts'
import { createSmtpTransport } from './smtp-transport.ts'
import type { Transport } from './transport.ts'

export type TransportKind = Transport['name']

export function transportKindFor(env: Pick<Env, 'SMTP_URL' | 'RESEND_API_KEY'>): TransportKind {
  if (env.SMTP_URL) return 'smtp'
  if (env.RESEND_API_KEY) return 'resend'
  return 'dev'
}

/** Timeouts for the worker: a dead server costs seconds, never the library's default minutes. */
export const workerTimeouts = {
  smtpConnectMs: 5_000,
  smtpGreetingMs: 5_000,
  smtpSocketMs: 15_000,
  smtpSendMs: 30_000,
  resendMs: 15_000,
}

export function createTransport(
  env: Env,
  db: Db,
  options: { now?: () => Date; maxConnections?: number } = {},
): Transport {
  const kind = transportKindFor(env)
  if (kind === 'smtp') {
    return createSmtpTransport({
      url: env.SMTP_URL!,
      connectionTimeout: workerTimeouts.smtpConnectMs,
      greetingTimeout: workerTimeouts.smtpGreetingMs,
      socketTimeout: workerTimeouts.smtpSocketMs,
      dnsTimeout: workerTimeouts.smtpConnectMs,
      sendTimeout: workerTimeouts.smtpSendMs,
      maxConnections: options.maxConnections ?? 4,
      dkim:
        env.DKIM_DOMAIN && env.DKIM_SELECTOR && env.DKIM_PRIVATE_KEY
          ? {
              domainName: env.DKIM_DOMAIN,
              keySelector: env.DKIM_SELECTOR,
              privateKey: env.DKIM_PRIVATE_KEY,
            }
          : undefined,
    })
  }
  if (kind === 'resend') {
    return createResendTransport({
      apiKey: env.RESEND_API_KEY!,
      baseUrl: env.RESEND_BASE_URL,
      timeout: workerTimeouts.resendMs,
    })
  }
  return createMailboxTransport(db, { now: options.now ?? (() => new Date()) })
}
