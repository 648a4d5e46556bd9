import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { formatAddress } from '../../../api/email-headers.ts'
import { createResendTransport } from '../../../api/email/resend-transport.ts'
import type { OutgoingEmail } from '../../../api/email/transport.ts'

// A local stand-in for the Resend API: records every request and answers from a script, one
// entry per request (the last entry repeats).
type Recorded = { method: string; path: string; headers: IncomingMessage['headers']; body: any }
type Reply = { status: number; body?: unknown; raw?: string } | 'reset' | 'hang'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function fakeResend(...script: Reply[]) {
  const requests: Recorded[] = []
  const hanging: ServerResponse[] = []
  const server = createServer(async (req, res) => {
    let data = ''
    for await (const chunk of req) data += chunk
    requests.push({
      method: req.method!,
      path: req.url!,
      headers: req.headers,
      body: data ? JSON.parse(data) : null,
    })
    const reply = script[Math.min(requests.length, script.length) - 1]!
    if (reply === 'reset') return req.socket.destroy()
    if (reply === 'hang') return void hanging.push(res)
    res.writeHead(reply.status, { 'content-type': 'application/json' })
    res.end(reply.raw ?? JSON.stringify(reply.body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const res of hanging) res.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { baseUrl, requests }
}

function apiError(statusCode: number, name: string, message: string): Reply {
  return { status: statusCode, body: { statusCode, name, message } }
}

const email: OutgoingEmail = {
  id: '0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e',
  from: formatAddress('Frontdoor', 'hello@frontdoor.example'),
  replyTo: formatAddress('Support, Frontdoor', 'support@frontdoor.example'),
  to: formatAddress('Dana Whitfield', 'dana@northwind.example'),
  subject: 'Your whitepaper: The 2025 B2B Lead Response Benchmark',
  html: '<p>Here it is: <a href="https://frontdoor.example/d/tok">download</a></p>',
  text: 'Here it is: https://frontdoor.example/d/tok',
  headers: {
    'List-Unsubscribe': '<https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
  category: 'marketing',
}

function transport(baseUrl: string, options: { timeout?: number } = {}) {
  return createResendTransport({ apiKey: 're_test_123', baseUrl, ...options })
}

describe('Resend transport', () => {
  it('posts the message with its headers and an idempotency key derived from the outbox row', async () => {
    const api = await fakeResend({ status: 200, body: { id: 'e7c1b2a0-resend-id' } })
    const outcome = await transport(api.baseUrl).send(email)

    expect(outcome).toEqual({ ok: true, providerId: 'e7c1b2a0-resend-id' })
    expect(api.requests).toHaveLength(1)
    const [request] = api.requests
    expect(request!.method).toBe('POST')
    expect(request!.path).toBe('/emails')
    expect(request!.headers.authorization).toBe('Bearer re_test_123')
    expect(request!.headers['idempotency-key']).toBe('outbox/0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e')
    expect(request!.body).toMatchObject({
      from: '"Frontdoor" <hello@frontdoor.example>',
      to: ['"Dana Whitfield" <dana@northwind.example>'],
      reply_to: '"Support, Frontdoor" <support@frontdoor.example>',
      subject: 'Your whitepaper: The 2025 B2B Lead Response Benchmark',
      html: email.html,
      text: email.text,
      headers: {
        'List-Unsubscribe': '<https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    })
  })

  it('posts a reply’s In-Reply-To and References as given (a campaign follow-up)', async () => {
    const api = await fakeResend({ status: 200, body: { id: 'e7c1b2a0-resend-id' } })
    const original = '<outbox.0190f3a2-0000-7000-8000-000000000001@frontdoor.example>'
    const headers = { ...email.headers, 'In-Reply-To': original, References: original }
    expect(await transport(api.baseUrl).send({ ...email, headers })).toMatchObject({ ok: true })
    expect(api.requests[0]!.body.headers).toEqual(headers)
  })

  it('names our Message-ID in an outreach message’s References, since Resend sets its own', async () => {
    const api = await fakeResend({ status: 200, body: { id: 'e7c1b2a0-resend-id' } })
    const own = '<outbox.0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e@frontdoor.example>'
    await transport(api.baseUrl).send({ ...email, category: 'outreach' })
    expect(api.requests[0]!.body.headers.References).toBe(own)
    // A follow-up keeps the thread it replies in, then names itself.
    const original = '<outbox.0190f3a2-0000-7000-8000-000000000001@frontdoor.example>'
    const headers = { ...email.headers, 'In-Reply-To': original, References: original }
    await transport(api.baseUrl).send({ ...email, category: 'outreach', headers })
    expect(api.requests[1]!.body.headers).toMatchObject({
      'In-Reply-To': original,
      References: `${original} ${own}`,
    })
  })

  it.each([
    [
      '429 rate limit',
      apiError(429, 'rate_limit_exceeded', 'Too many requests'),
      'rate_limit_exceeded',
    ],
    [
      '500 with a JSON error',
      apiError(500, 'internal_server_error', 'Oops'),
      'internal_server_error',
    ],
    [
      '502 with an HTML page',
      { status: 502, raw: '<html>Bad gateway</html>' } as Reply,
      'application_error',
    ],
    ['a connection reset', 'reset' as Reply, 'network'],
  ])('treats %s as retryable and retries with the same idempotency key', async (_, reply, code) => {
    const api = await fakeResend(reply, { status: 200, body: { id: 'second-try' } })
    const t = transport(api.baseUrl)

    expect(await t.send(email)).toMatchObject({ ok: false, kind: 'retryable', code })
    expect(await t.send(email)).toEqual({ ok: true, providerId: 'second-try' })
    expect(api.requests).toHaveLength(2)
    const keys = api.requests.map((r) => r.headers['idempotency-key'])
    expect(keys[0]).toBe('outbox/0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e')
    expect(keys[1]).toBe(keys[0])
  })

  it('treats an API that does not answer in time as retryable, without waiting for it', async () => {
    const api = await fakeResend('hang')
    // The API never answers: only the transport's timeout can end the send.
    const outcome = await transport(api.baseUrl, { timeout: 300 }).send(email)
    expect(outcome).toMatchObject({ ok: false, kind: 'retryable', code: 'network' })
  })

  it('treats a 422 validation error as permanent', async () => {
    const api = await fakeResend(apiError(422, 'validation_error', 'Invalid `to` field.'))
    expect(await transport(api.baseUrl).send(email)).toEqual({
      ok: false,
      kind: 'permanent',
      code: 'validation_error',
      message: 'Invalid `to` field.',
    })
  })

  it.each([
    [401, 'missing_api_key'],
    [403, 'invalid_api_key'],
  ])('treats %i %s as a configuration failure', async (status, name) => {
    const api = await fakeResend(apiError(status, name, 'API key is invalid'))
    expect(await transport(api.baseUrl).send(email)).toMatchObject({
      ok: false,
      kind: 'configuration',
      code: name,
    })
  })

  it('classifies an error body without a statusCode by its name', async () => {
    const api = await fakeResend({ status: 401, body: { name: 'invalid_api_key', message: 'no' } })
    expect(await transport(api.baseUrl).send(email)).toMatchObject({ kind: 'configuration' })
  })

  it('flattens a lead-supplied display name before it becomes part of an address string', async () => {
    const api = await fakeResend({ status: 200, body: { id: 'x' } })
    await transport(api.baseUrl).send({
      ...email,
      to: { name: 'Eve "the admin"\r\nBcc: bcc@evil.example', address: 'eve@northwind.example' },
      subject: 'Hi\r\nBcc: bcc@evil.example',
    })
    const body = api.requests[0]!.body
    expect(body.to).toEqual(['"Eve \\"the admin\\" Bcc: bcc@evil.example" <eve@northwind.example>'])
    expect(body.subject).toBe('Hi Bcc: bcc@evil.example')
    expect(body.bcc).toBeUndefined()
  })

  it('refuses outreach without one-click unsubscribe headers before calling the API', async () => {
    const api = await fakeResend({ status: 200, body: { id: 'x' } })
    const outcome = await transport(api.baseUrl).send({
      ...email,
      category: 'outreach',
      headers: {},
    })
    expect(outcome).toMatchObject({ ok: false, kind: 'permanent', code: 'missing_unsubscribe' })
    expect(api.requests).toHaveLength(0)
  })

  it('verifies a key: valid, sending-only and invalid', async () => {
    const full = await fakeResend({ status: 200, body: { data: [] } })
    expect(await transport(full.baseUrl).verify!()).toEqual({ ok: true, providerId: 'verified' })
    expect(full.requests[0]).toMatchObject({ method: 'GET', path: '/domains' })

    const sendingOnly = await fakeResend(
      apiError(401, 'restricted_api_key', 'This API key is restricted to only send emails'),
    )
    expect(await transport(sendingOnly.baseUrl).verify!()).toMatchObject({ ok: true })

    const invalid = await fakeResend(apiError(403, 'invalid_api_key', 'API key is invalid'))
    expect(await transport(invalid.baseUrl).verify!()).toMatchObject({
      ok: false,
      kind: 'configuration',
    })
  })
})
