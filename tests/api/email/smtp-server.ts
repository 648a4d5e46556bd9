// A real SMTP server (smtp-server) on a loopback port, for the transport tests. It records what it
// receives and can be told to refuse at any step with a given reply.

import { SMTPServer } from 'smtp-server'
import type { AddressInfo } from 'node:net'

export type Received = { raw: Buffer; mailFrom: string; rcptTo: string[] }

export type Behaviour = {
  /** Refuse the connection at the greeting, e.g. `smtpError(421, 'Too busy')`. */
  onConnect?: () => Error | null
  /** Refuse the sender, e.g. `smtpError(553, '5.7.1 Sender address rejected')`. */
  onMailFrom?: (address: string) => Error | null
  /** Refuse a recipient, e.g. `smtpError(550, 'No such user')`. */
  onRcptTo?: (address: string) => Error | null
  /** Runs before a recipient is accepted; the server waits for it (a slow server, or a side effect mid-send). */
  whileRcptTo?: (address: string) => Promise<void>
  /** Require these credentials (AUTH PLAIN/LOGIN). */
  auth?: { user: string; pass: string }
}

export function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode })
}

export async function startSmtpServer(behaviour: Behaviour = {}) {
  const received: Received[] = []
  const server = new SMTPServer({
    logger: false,
    // Close lingering client connections quickly when a test ends.
    closeTimeout: 500,
    disabledCommands: ['STARTTLS'],
    authOptional: !behaviour.auth,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onConnect(_session, callback) {
      callback(behaviour.onConnect?.() ?? null)
    },
    onAuth(auth, _session, callback) {
      const ok = auth.username === behaviour.auth?.user && auth.password === behaviour.auth?.pass
      if (!ok) return callback(new Error('Invalid username or password'))
      callback(null, { user: auth.username })
    },
    onMailFrom(address, _session, callback) {
      callback(behaviour.onMailFrom?.(address.address) ?? null)
    },
    onRcptTo(address, _session, callback) {
      const answer = () => callback(behaviour.onRcptTo?.(address.address) ?? null)
      if (!behaviour.whileRcptTo) return answer()
      behaviour.whileRcptTo(address.address).then(answer, callback)
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        received.push({
          raw: Buffer.concat(chunks),
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
        })
        callback(null)
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  const credentials = behaviour.auth
    ? `${encodeURIComponent(behaviour.auth.user)}:${encodeURIComponent(behaviour.auth.pass)}@`
    : ''
  return {
    port,
    url: `smtp://${credentials}127.0.0.1:${port}`,
    urlWith: (user: string, pass: string) =>
      `smtp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The header block of a raw message, unfolded, one header per line. */
export function headerLines(raw: Buffer): string[] {
  const text = raw.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  return text
    .slice(0, end)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')
}
