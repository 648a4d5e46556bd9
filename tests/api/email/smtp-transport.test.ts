import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { simpleParser } from 'mailparser'
import type { AddressObject } from 'mailparser'
import { afterEach, describe, expect, it } from 'vitest'
import { formatAddress } from '../../../api/email-headers.ts'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'
import type { OutgoingEmail, Transport } from '../../../api/email/transport.ts'
import * as assetDelivery from '../../../email-templates/asset-delivery.ts'
import { headerLines, smtpError, startSmtpServer } from './smtp-server.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  // Transports first: a pooled connection left open would hold the server's close.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server(behaviour?: Parameters<typeof startSmtpServer>[0]) {
  const s = await startSmtpServer(behaviour)
  cleanups.push(s.close)
  return s
}

function transport(url: string, options: Partial<Parameters<typeof createSmtpTransport>[0]> = {}) {
  const t = createSmtpTransport({ url, ...options })
  cleanups.push(() => t.close())
  return t
}

function message(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  const rendered = assetDelivery.render(assetDelivery.defaults)
  return {
    id: '0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e',
    from: formatAddress('Frontdoor', 'hello@frontdoor.example'),
    replyTo: formatAddress('Frontdoor support', 'support@frontdoor.example'),
    to: formatAddress('Dana Whitfield', 'dana@northwind.example'),
    ...rendered,
    headers: {
      'List-Unsubscribe': '<https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    category: 'marketing',
    ...overrides,
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined) {
  return [field ?? []].flat().flatMap((a) => a.value)
}

describe('SMTP transport', () => {
  it('delivers a message with both parts, its headers and working links', async () => {
    const smtp = await server()
    const outcome = await transport(smtp.url).send(message())

    expect(outcome).toEqual({
      ok: true,
      providerId: '<outbox.0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e@frontdoor.example>',
    })
    expect(smtp.received).toHaveLength(1)
    const [mail] = smtp.received
    expect(mail!.mailFrom).toBe('hello@frontdoor.example')
    expect(mail!.rcptTo).toEqual(['dana@northwind.example'])

    const parsed = await simpleParser(mail!.raw)
    expect(parsed.subject).toBe('Your whitepaper: The 2025 B2B Lead Response Benchmark')
    expect(addresses(parsed.from)).toEqual([
      { name: 'Frontdoor', address: 'hello@frontdoor.example' },
    ])
    expect(addresses(parsed.to)).toEqual([
      { name: 'Dana Whitfield', address: 'dana@northwind.example' },
    ])
    expect(addresses(parsed.replyTo)).toEqual([
      { name: 'Frontdoor support', address: 'support@frontdoor.example' },
    ])
    expect(parsed.messageId).toBe('<outbox.0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e@frontdoor.example>')

    const lines = headerLines(mail!.raw)
    expect(lines).toContain('List-Unsubscribe: <https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0>')
    expect(lines).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click')

    const link = 'https://frontdoor.example/d/8qz4m2wq7xk3v9dn5r6t1yb0hc'
    expect(parsed.text).toContain(link)
    expect(parsed.html).toContain(`href="${link}"`)
    expect(parsed.html).toContain('Download the whitepaper')
  })

  it('gives the same outbox row the same Message-ID on every attempt, and another row another one', async () => {
    const smtp = await server()
    const t = transport(smtp.url)
    await t.send(message())
    await t.send(message())
    await t.send(message({ id: '0190f3a2-7c4e-7b1a-9d3e-000000000001' }))

    const ids = await Promise.all(
      smtp.received.map(async (m) => (await simpleParser(m.raw)).messageId),
    )
    expect(ids[0]).toBe(ids[1])
    expect(ids[2]).toBe('<outbox.0190f3a2-7c4e-7b1a-9d3e-000000000001@frontdoor.example>')
    expect(ids[2]).not.toBe(ids[0])
  })

  it('uses the configured Message-ID domain instead of the sender’s', async () => {
    const smtp = await server()
    const outcome = await transport(smtp.url, { messageIdDomain: 'mail.frontdoor.example' }).send(
      message(),
    )
    expect(outcome).toMatchObject({
      ok: true,
      providerId: '<outbox.0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e@mail.frontdoor.example>',
    })
  })

  it('reports a server answering 421 as retryable', async () => {
    const smtp = await server({
      onConnect: () => smtpError(421, 'Too many connections, try later'),
    })
    const outcome = await transport(smtp.url).send(message())
    expect(outcome).toMatchObject({ ok: false, kind: 'retryable', code: 'smtp_421' })
    expect(smtp.received).toHaveLength(0)
  })

  it('reports a recipient deferred with 450 as retryable, not as a bounce', async () => {
    const smtp = await server({ onRcptTo: () => smtpError(450, 'Mailbox busy, try again') })
    const outcome = await transport(smtp.url).send(message())
    expect(outcome).toMatchObject({ ok: false, kind: 'retryable', code: 'smtp_450' })
    expect(outcome).not.toHaveProperty('hardBounce', true)
  })

  it('reports 550 on RCPT as a permanent failure and a hard bounce', async () => {
    const smtp = await server({ onRcptTo: () => smtpError(550, 'No such user here') })
    const outcome = await transport(smtp.url).send(message())
    expect(outcome).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'smtp_550',
      hardBounce: true,
    })
    expect(outcome.ok === false && outcome.message).toContain('No such user')
    expect(smtp.received).toHaveLength(0)
  })

  it('does not call a policy refusal on RCPT (550 5.7.1) a hard bounce', async () => {
    const smtp = await server({
      onRcptTo: () => smtpError(550, '5.7.1 Recipient address rejected: Access denied'),
    })
    const outcome = await transport(smtp.url).send(message())
    expect(outcome).toMatchObject({ ok: false, kind: 'permanent', hardBounce: false })
  })

  it('reports a server that refuses us rather than the message as a configuration failure', async () => {
    // Each of these would fail every message in the queue alike: a blocklisted IP at the greeting,
    // a From the account may not use, relaying denied (Exim words it with no enhanced code, which
    // read as "no such mailbox" and suppressed every recipient for good).
    const refusals = [
      { onConnect: () => smtpError(554, '5.7.1 Client host blocked using zen.spamhaus.org') },
      { onMailFrom: () => smtpError(553, '5.7.1 Sender address rejected: not owned by user') },
      { onMailFrom: () => smtpError(550, 'Sender verify failed') },
      { onRcptTo: () => smtpError(550, 'relay not permitted') },
      { onRcptTo: () => smtpError(554, '5.7.1 <dana@northwind.example>: Relay access denied') },
    ]
    for (const behaviour of refusals) {
      const smtp = await server(behaviour)
      const outcome = await transport(smtp.url).send(message())
      expect(outcome).toMatchObject({ ok: false, kind: 'configuration' })
      expect(outcome).not.toHaveProperty('hardBounce', true)
      expect(smtp.received).toHaveLength(0)
    }
  })

  it('still fails only the message for a size refusal on MAIL FROM and an unknown relay recipient', async () => {
    const tooBig = await server({
      onMailFrom: () => smtpError(552, '5.3.4 Message size exceeds fixed limit'),
    })
    expect(await transport(tooBig.url).send(message())).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'smtp_552',
    })
    const unknown = await server({
      onRcptTo: () =>
        smtpError(550, '5.1.1 <dana@northwind.example>: User unknown in relay recipient table'),
    })
    expect(await transport(unknown.url).send(message())).toMatchObject({
      ok: false,
      kind: 'permanent',
      hardBounce: true,
    })
  })

  it('reports rejected credentials (535) as a configuration failure, on send and on verify', async () => {
    const smtp = await server({ auth: { user: 'mailer', pass: 'right' } })
    const wrong = transport(smtp.urlWith('mailer', 'wrong'))
    expect(await wrong.send(message())).toMatchObject({
      ok: false,
      kind: 'configuration',
      code: 'smtp_535',
    })
    expect(await wrong.verify!()).toMatchObject({ ok: false, kind: 'configuration' })
    expect(smtp.received).toHaveLength(0)

    const right = transport(smtp.url)
    expect(await right.verify!()).toEqual({ ok: true, providerId: 'verified' })
    expect(await right.send(message())).toMatchObject({ ok: true })
    expect(smtp.received).toHaveLength(1)
  })

  it('reports a closed port as retryable, at once', async () => {
    const port = await freePort()
    const outcome = await transport(`smtp://127.0.0.1:${port}`).send(message())
    expect(outcome).toMatchObject({ ok: false, kind: 'retryable' })
    // Refused, not timed out: the connection's answer, not a wait for one.
    expect(outcome.ok === false && outcome.code).toMatch(/^(ESOCKET|ECONNECTION|ECONNREFUSED)$/)
  })

  it('gives up on a server that accepts the connection but never greets, within the greeting timeout', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })

    const started = performance.now()
    const t = transport(`smtp://127.0.0.1:${portOf(silent)}`, {
      connectionTimeout: 400,
      greetingTimeout: 400,
    })
    const outcome = await t.send(message())
    const elapsed = performance.now() - started
    expect(outcome).toMatchObject({ ok: false, kind: 'retryable', code: 'ETIMEDOUT' })
    // Timers never fire early, so this holds under any load; ETIMEDOUT says which one fired.
    expect(elapsed).toBeGreaterThanOrEqual(350)
  })

  it('sends a reply’s In-Reply-To and References as given (a campaign follow-up)', async () => {
    const smtp = await server()
    const original = '<outbox.0190f3a2-0000-7000-8000-000000000001@frontdoor.example>'
    const before = '<outbox.0190f3a2-0000-7000-8000-000000000000@frontdoor.example>'
    const headers = {
      ...message().headers,
      'In-Reply-To': original,
      References: `${before} ${original}`,
    }
    expect(await transport(smtp.url).send(message({ headers }))).toMatchObject({ ok: true })
    const parsed = await simpleParser(smtp.received[0]!.raw)
    expect(parsed.inReplyTo).toBe(original)
    expect(parsed.references).toEqual([before, original])
  })

  it('keeps lead-supplied names and subjects from adding headers or recipients', async () => {
    const smtp = await server()
    const outcome = await transport(smtp.url).send(
      message({
        // Built without formatAddress, as a careless caller might: the transport flattens it anyway.
        from: { name: 'Eve\r\nBcc: bcc-from@evil.example', address: 'hello@frontdoor.example' },
        to: formatAddress(
          'Eve\r\nBcc: bcc-to@evil.example\r\nX-Injected: yes',
          'eve@northwind.example',
        ),
        subject: 'Hello\r\nBcc: bcc-subject@evil.example\nX-Injected: yes',
        headers: {
          'List-Unsubscribe': '<https://frontdoor.example/u/tok>\r\nBcc: bcc-header@evil.example',
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      }),
    )
    expect(outcome).toMatchObject({ ok: true })
    const [mail] = smtp.received
    expect(mail!.rcptTo).toEqual(['eve@northwind.example'])

    const lines = headerLines(mail!.raw)
    expect(lines.filter((l) => /^bcc:/i.test(l))).toEqual([])
    expect(lines.filter((l) => /^x-injected:/i.test(l))).toEqual([])

    const parsed = await simpleParser(mail!.raw)
    expect(parsed.bcc).toBeUndefined()
    expect(parsed.subject).toBe('Hello Bcc: bcc-subject@evil.example X-Injected: yes')
    expect(addresses(parsed.to)).toEqual([
      { name: 'Eve Bcc: bcc-to@evil.example X-Injected: yes', address: 'eve@northwind.example' },
    ])
  })

  it('refuses marketing mail without one-click unsubscribe headers, and sends nothing', async () => {
    const smtp = await server()
    const outcome = await transport(smtp.url).send(message({ headers: {} }))
    expect(outcome).toMatchObject({ ok: false, kind: 'permanent', code: 'missing_unsubscribe' })
    expect(smtp.received).toHaveLength(0)
  })

  it('sends transactional mail without unsubscribe headers', async () => {
    const smtp = await server()
    const outcome = await transport(smtp.url).send(
      message({ headers: {}, category: 'transactional' }),
    )
    expect(outcome).toMatchObject({ ok: true })
    expect(headerLines(smtp.received[0]!.raw).some((l) => /^list-unsubscribe/i.test(l))).toBe(false)
  })

  it('delivers a batch over the pool, every message to its own recipient', async () => {
    const smtp = await server()
    const t = transport(smtp.url)
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        t.send(message({ id: `row-${i}`, to: formatAddress(null, `lead${i}@northwind.example`) })),
      ),
    )
    expect(outcomes.every((o) => o.ok)).toBe(true)
    expect(smtp.received.map((m) => m.rcptTo[0]).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `lead${i}@northwind.example`).sort(),
    )
  })
})

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = portOf(s)
  await new Promise((resolve) => s.close(resolve))
  return port
}
