import { afterEach, describe, expect, it } from 'vitest'
import { outbox } from '../../../api/db/schema.ts'
import { formatAddress } from '../../../api/email-headers.ts'
import { createTransport } from '../../../api/email/mailer.ts'
import { enqueueMarketingEmail } from '../../../api/email/marketing.ts'
import { findSuppression } from '../../../api/email/suppressions.ts'
import { readTransportState, resumeTransport } from '../../../api/email/transport-status.ts'
import { parseEnv } from '../../../api/env.ts'
import { renderOutreach } from '../../../email-templates/outreach.ts'
import { setupTestApp } from '../../helpers.ts'
import { outboxRow, testWorker } from './outbox-fixtures.ts'
import { apiError, startResendStandIn } from './resend-server.ts'
import type { Reply } from './resend-server.ts'

// The outbox worker through the Resend SDK, against a local stand-in for the API
// (RESEND_BASE_URL), exactly as the server process builds it from its environment.

const ctx = await setupTestApp({
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
  POSTAL_ADDRESS: '1 Example Street, Springfield',
})
const db = ctx.deps.db

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await db.delete(outbox)
  await resumeTransport(db, 'resend', ctx.clock.now())
})

async function resendWorker(...script: Reply[]) {
  const api = await startResendStandIn(...script)
  cleanups.push(api.close)
  const env = parseEnv({
    NODE_ENV: 'test',
    APP_ORIGIN: ctx.deps.env.APP_ORIGIN,
    RESEND_API_KEY: 're_test_123',
    RESEND_BASE_URL: api.baseUrl,
    MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
    POSTAL_ADDRESS: '1 Example Street, Springfield',
  })
  const transport = createTransport(env, db)
  expect(transport.name).toBe('resend')
  cleanups.push(() => transport.close())
  return { api, worker: testWorker(ctx, transport) }
}

async function enqueueOutreach(address = 'lee@contoso.example') {
  const { outboxId, unsubscribeUrl } = await enqueueMarketingEmail(db, ctx.deps.env, {
    category: 'outreach',
    to: formatAddress('Lee Park', address),
    template: 'outreach',
    render: ({ brand, unsubscribeUrl }) =>
      renderOutreach(
        { subject: 'Hi {{firstName}}', body: 'Hello {{firstName}}' },
        { email: address, firstName: 'Lee' },
        { brand, unsubscribeUrl },
      ),
    now: ctx.clock.now(),
  })
  return { id: outboxId!, unsubscribeUrl }
}

describe('outbox over Resend', () => {
  it('posts the payload with the unsubscribe headers and an idempotency key from the outbox row', async () => {
    const { api, worker } = await resendWorker({ status: 200, body: { id: 'resend-1' } })
    const { id, unsubscribeUrl } = await enqueueOutreach()
    expect(await worker.drainOnce()).toMatchObject({ sent: 1 })

    expect(api.requests).toHaveLength(1)
    const [request] = api.requests
    expect(request).toMatchObject({ method: 'POST', path: '/emails' })
    expect(request!.headers['idempotency-key']).toBe(`outbox/${id}`)
    expect(request!.body).toMatchObject({
      from: '"Frontdoor" <hello@frontdoor.example>',
      to: ['"Lee Park" <lee@contoso.example>'],
      subject: 'Hi Lee',
      headers: {
        'List-Unsubscribe': `<${unsubscribeUrl}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    })
    expect(request!.body.text).toContain(unsubscribeUrl)
    expect(await outboxRow(db, id)).toMatchObject({ status: 'sent', providerId: 'resend-1' })
  })

  it('retries 429, 500 and a reset connection with the same Idempotency-Key until it is accepted', async () => {
    const { api, worker } = await resendWorker(
      apiError(429, 'daily_quota_exceeded', 'Daily quota exceeded'),
      apiError(500, 'internal_server_error', 'Oops'),
      'reset',
      { status: 200, body: { id: 'resend-2' } },
    )
    const { id } = await enqueueOutreach()
    for (const expected of ['daily_quota_exceeded', 'internal_server_error', 'network']) {
      expect(await worker.drainOnce()).toMatchObject({ retried: 1 })
      const row = await outboxRow(db, id)
      expect(row.status).toBe('pending')
      expect(row.lastError).toMatch(new RegExp(`^${expected}`))
      ctx.clock.set(row.runAfter)
      ctx.clock.advance(60_000) // past this worker's own hold-back too
    }
    expect(await worker.drainOnce()).toMatchObject({ sent: 1 })
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'sent',
      attempts: 4,
      providerId: 'resend-2',
    })
    expect(api.requests).toHaveLength(4)
    expect(new Set(api.requests.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([`outbox/${id}`]),
    )
  })

  it('waits out the per-second rate limit as Retry-After says: no attempt counted, not reported down', async () => {
    // Resend allows 2 requests a second by default; four lanes sending at once meet its 429 often.
    const limited: Reply = {
      ...(apiError(429, 'rate_limit_exceeded', 'Too many requests') as Exclude<Reply, 'reset'>),
      headers: { 'retry-after': '1' },
    }
    const { api, worker } = await resendWorker(limited, limited, limited, {
      status: 200,
      body: { id: 'resend-3' },
    })
    const ids = await Promise.all(
      ['a', 'b', 'c'].map(async (n) => (await enqueueOutreach(`${n}@contoso.example`)).id),
    )
    expect(await worker.drainOnce()).toMatchObject({ sent: 0, retried: 0, failed: 0 })
    const rows = await Promise.all(ids.map((id) => outboxRow(db, id)))
    expect(rows.map((r) => r.status)).toEqual(['pending', 'pending', 'pending'])
    expect(rows.map((r) => r.attempts)).toEqual([0, 0, 0])
    expect(await readTransportState(db, 'resend')).toMatchObject({ state: 'ok' })

    // A second later the whole batch goes, not a lone probe after a server-down backoff.
    ctx.clock.advance(1_000)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 3, sent: 3 })
    expect(api.requests).toHaveLength(6)
  })

  it('fails a 422 validation error permanently, once, without suppressing the address', async () => {
    const { api, worker } = await resendWorker(
      apiError(422, 'validation_error', 'Invalid `to` field.'),
    )
    const { id } = await enqueueOutreach('odd@contoso.example')
    expect(await worker.drainOnce()).toMatchObject({ failed: 1 })
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'failed',
      lastErrorKind: 'permanent',
      lastError: 'validation_error: Invalid `to` field.',
    })
    ctx.clock.advance(24 * 3_600_000)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 0 })
    expect(api.requests).toHaveLength(1)
    expect(await findSuppression(db, 'odd@contoso.example')).toBeNull()
  })

  it('pauses on 401/403 with every row kept for later', async () => {
    const { worker } = await resendWorker(apiError(403, 'invalid_api_key', 'API key is invalid'))
    const { id } = await enqueueOutreach()
    expect(await worker.drainOnce()).toMatchObject({ paused: true, sent: 0 })
    expect(await outboxRow(db, id)).toMatchObject({ status: 'pending', attempts: 0 })
    expect(await readTransportState(db, 'resend')).toMatchObject({
      state: 'paused',
      reason: expect.stringContaining('invalid_api_key'),
    })
  })
})
