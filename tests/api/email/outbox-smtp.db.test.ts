import { generateKeyPairSync } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { simpleParser } from 'mailparser'
import { dkimVerify } from 'mailauth'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { outbox } from '../../../api/db/schema.ts'
import { parseEnv } from '../../../api/env.ts'
import { formatAddress } from '../../../api/email-headers.ts'
import { createTransport } from '../../../api/email/mailer.ts'
import { enqueueMarketingEmail } from '../../../api/email/marketing.ts'
import { enqueueEmail } from '../../../api/email/outbox.ts'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'
import { findSuppression, suppress } from '../../../api/email/suppressions.ts'
import { readTransportState } from '../../../api/email/transport-status.ts'
import { renderOutreach } from '../../../email-templates/outreach.ts'
import { json, setupTestApp, signedInAs } from '../../helpers.ts'
import { enqueueAsset, freePort, outboxRow, testWorker } from './outbox-fixtures.ts'
import { headerLines, smtpError, startSmtpServer } from './smtp-server.ts'
import type { Behaviour } from './smtp-server.ts'
import { eventually } from '../../eventually.ts'

// The outbox worker against a real SMTP server (smtp-server) on loopback, through the SMTP
// transport the server process would build from its environment.

const behaviour: Behaviour = {}
const smtp = await startSmtpServer(behaviour)
afterAll(() => smtp.close())

const ctx = await setupTestApp({
  SMTP_URL: smtp.url,
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
  MAIL_REPLY_TO: 'Frontdoor support <support@frontdoor.example>',
  POSTAL_ADDRESS: '1 Example Street, Springfield',
})
const db = ctx.deps.db
const hour = 3_600_000

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  // Each test starts with an empty queue, a working server and a working transport.
  await db.delete(outbox)
  for (const key of Object.keys(behaviour) as Array<keyof Behaviour>) delete behaviour[key]
  smtp.received.length = 0
})

function smtpWorker(url = smtp.url, options: Parameters<typeof testWorker>[2] = {}) {
  const transport =
    url === smtp.url ? createTransport(ctx.deps.env, db) : createSmtpTransport({ url })
  cleanups.push(() => transport.close())
  return testWorker(ctx, transport, options)
}

async function health(cookie?: string) {
  const headers: Record<string, string> = cookie ? { cookie } : {}
  return (await (await ctx.app.request('/api/health', { headers })).json()).outbox
}

describe('outbox over SMTP', () => {
  it('delivers through the worker: sender, reply-to, both parts, links and a stable Message-ID', async () => {
    const id = await enqueueAsset(db, ctx.clock.now())
    expect(await smtpWorker().drainOnce()).toMatchObject({ sent: 1 })

    expect(smtp.received).toHaveLength(1)
    const mail = await simpleParser(smtp.received[0]!.raw)
    expect(mail.from?.value).toEqual([{ name: 'Frontdoor', address: 'hello@frontdoor.example' }])
    expect(mail.replyTo?.value).toEqual([
      { name: 'Frontdoor support', address: 'support@frontdoor.example' },
    ])
    expect(mail.messageId).toBe(`<outbox.${id}@frontdoor.example>`)
    expect(mail.text).toContain('https://frontdoor.example/d/')
    expect(mail.html).toContain('href="https://frontdoor.example/d/')
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'sent',
      providerId: `<outbox.${id}@frontdoor.example>`,
    })
  })

  it('sends outreach with List-Unsubscribe, List-Unsubscribe-Post, a visible link and the postal address', async () => {
    const { unsubscribeUrl } = await enqueueMarketingEmail(db, ctx.deps.env, {
      category: 'outreach',
      to: formatAddress('Lee Park', 'lee@contoso.example'),
      template: 'outreach',
      render: ({ brand, unsubscribeUrl }) =>
        renderOutreach(
          {
            subject: 'Hi {{firstName}}',
            body: 'Hi {{firstName}}, see https://frontdoor.example/x',
          },
          { email: 'lee@contoso.example', firstName: 'Lee' },
          { brand, unsubscribeUrl },
        ),
      now: ctx.clock.now(),
    })
    await smtpWorker().drainOnce()

    const lines = headerLines(smtp.received[0]!.raw)
    expect(lines).toContain(`List-Unsubscribe: <${unsubscribeUrl}>`)
    expect(lines).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click')
    // Short enough that the header is not folded, so DKIM relaxed canonicalisation cannot break it.
    expect(`List-Unsubscribe: <${unsubscribeUrl}>`.length).toBeLessThanOrEqual(78)
    const mail = await simpleParser(smtp.received[0]!.raw)
    expect(mail.text).toContain(`Unsubscribe: ${unsubscribeUrl}`)
    expect(mail.html).toContain(`href="${unsubscribeUrl}"`)
    expect(mail.text).toContain('1 Example Street, Springfield')
  })

  it('adds no header and no recipient for a lead name carrying "\\r\\nBcc: x@y"', async () => {
    // Enqueued raw, as a careless caller might: the worker's transport flattens it anyway.
    await enqueueEmail(db, {
      category: 'transactional',
      to: { name: 'Eve\r\nBcc: x@y.example', address: 'eve@northwind.example' },
      recipient: 'eve@northwind.example',
      subject: 'Your file\r\nBcc: x@y.example',
      html: '<p>Hi</p>',
      text: 'Hi',
      template: 'asset-delivery',
      now: ctx.clock.now(),
    })
    expect(await smtpWorker().drainOnce()).toMatchObject({ sent: 1 })
    const [received] = smtp.received
    expect(received!.rcptTo).toEqual(['eve@northwind.example'])
    const lines = headerLines(received!.raw)
    expect(lines.filter((l) => /^bcc:/i.test(l))).toEqual([])
    const mail = await simpleParser(received!.raw)
    expect(mail.bcc).toBeUndefined()
    expect(mail.to).toMatchObject({
      value: [{ name: 'Eve Bcc: x@y.example', address: 'eve@northwind.example' }],
    })
  })

  it('retries a server answering 421 later, with backoff, and sends once it is back', async () => {
    behaviour.onConnect = () => smtpError(421, 'Too busy, try later')
    const id = await enqueueAsset(db, ctx.clock.now())
    const worker = smtpWorker()
    expect(await worker.drainOnce()).toMatchObject({ claimed: 1, retried: 1 })

    const row = await outboxRow(db, id)
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastErrorKind: 'retryable' })
    expect(row.lastError).toMatch(/^smtp_421/)
    // First retry after 15 s with jitter in [7.5 s, 15 s]; the worker also holds back.
    expect(row.runAfter.getTime() - ctx.clock.now().getTime()).toBe(11_250)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 0 })

    delete behaviour.onConnect
    ctx.clock.advance(16_000)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 1, sent: 1 })
    expect(await outboxRow(db, id)).toMatchObject({ status: 'sent', attempts: 2 })
    expect(smtp.received).toHaveLength(1)
  })

  it('retries only the message when a mailbox answers 450, and keeps sending the others', async () => {
    behaviour.onRcptTo = (address) =>
      address === 'busy@northwind.example' ? smtpError(450, 'Mailbox busy') : null
    const busy = await enqueueAsset(db, ctx.clock.now(), 'busy@northwind.example')
    const fine = await enqueueAsset(db, ctx.clock.now(), 'fine@northwind.example')
    const result = await smtpWorker().drainOnce()
    expect(result).toMatchObject({ claimed: 2, sent: 1, retried: 1, released: 0 })
    expect((await outboxRow(db, busy)).status).toBe('pending')
    expect((await outboxRow(db, fine)).status).toBe('sent')
  })

  it('fails a 550 permanently and suppresses the address, so the next email to it is not sent', async () => {
    behaviour.onRcptTo = (address) =>
      address === 'gone@northwind.example' ? smtpError(550, '5.1.1 No such user here') : null
    const id = await enqueueAsset(db, ctx.clock.now(), 'gone@northwind.example')
    const worker = smtpWorker()
    expect(await worker.drainOnce()).toMatchObject({ failed: 1 })
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'failed',
      lastErrorKind: 'permanent',
      attempts: 1,
    })
    expect(await findSuppression(db, 'gone@northwind.example')).toMatchObject({
      reason: 'hard_bounce',
    })

    const next = await enqueueAsset(db, ctx.clock.now(), 'gone@northwind.example')
    expect(await worker.drainOnce()).toMatchObject({ suppressed: 1 })
    expect(await outboxRow(db, next)).toMatchObject({ status: 'suppressed' })
    expect(smtp.received).toHaveLength(0)
  })

  it('re-reads the suppression list for a row that waited in a slow batch, so a fresh suppression stops it', async () => {
    // Due a second earlier, so the first is sent first (rows go out in run_after order).
    const first = await enqueueAsset(db, ctx.clock.now(), 'first@northwind.example', {
      runAfter: new Date(ctx.clock.now().getTime() - 1_000),
    })
    const second = await enqueueAsset(db, ctx.clock.now(), 'second@northwind.example')
    // While the server slowly accepts the first message, the second address gets suppressed.
    behaviour.whileRcptTo = async (address) => {
      if (address !== 'first@northwind.example') return
      await suppress(
        db,
        { email: 'second@northwind.example', reason: 'hard_bounce' },
        ctx.clock.now(),
      )
      await new Promise((r) => setTimeout(r, 1_100))
    }
    expect(await smtpWorker(smtp.url, { concurrency: 1 }).drainOnce()).toMatchObject({
      claimed: 2,
      sent: 1,
      suppressed: 1,
    })
    expect((await outboxRow(db, first)).status).toBe('sent')
    expect((await outboxRow(db, second)).status).toBe('suppressed')
    expect(smtp.received.map((m) => m.rcptTo)).toEqual([['first@northwind.example']])
  })

  it('pauses the transport on 535 without burning retries, says so on /api/health, and resumes after a passing check', async () => {
    const auth = { user: 'mailer', pass: 'right' }
    const guarded = await startSmtpServer({ auth })
    cleanups.push(guarded.close)
    const worker = smtpWorker(guarded.urlWith('mailer', 'wrong'), { verifyIntervalMs: 30_000 })
    const ids = await Promise.all(
      [1, 2, 3].map((i) => enqueueAsset(db, ctx.clock.now(), `p${i}@northwind.example`)),
    )

    const first = await worker.drainOnce()
    expect(first).toMatchObject({ claimed: 3, sent: 0, paused: true })
    for (const id of ids)
      expect(await outboxRow(db, id)).toMatchObject({ status: 'pending', attempts: 0 })
    expect(await health()).toMatchObject({
      transport: 'smtp',
      transportState: 'paused',
      pending: 3,
      failed: 0,
    })
    // Why, to an admin only.
    const { cookie } = await signedInAs(ctx, 'admin')
    expect((await health(cookie)).transportReason).toMatch(/smtp_535/)

    // Paused: nothing is claimed, however often the worker comes round, until the next check.
    ctx.clock.advance(10_000)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 0, paused: true })
    for (const id of ids) expect((await outboxRow(db, id)).attempts).toBe(0)

    // The credentials become valid (the server now accepts this password); the next check passes.
    auth.pass = 'wrong'
    ctx.clock.advance(30_000)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 3, sent: 3 })
    expect(await readTransportState(db, 'smtp')).toMatchObject({ state: 'ok' })
    expect(await health()).toMatchObject({ transportState: 'ok', pending: 0 })
    expect(guarded.received).toHaveLength(3)
  })

  it('pauses on a refusal of every message (our sender, relaying), failing and suppressing none', async () => {
    const worker = smtpWorker(smtp.url, { verifyIntervalMs: 30_000 })
    const ids = await Promise.all(
      [1, 2, 3].map((i) => enqueueAsset(db, ctx.clock.now(), `r${i}@northwind.example`)),
    )
    // A From the account may not use, then a smarthost that does not relay for us (Exim's words).
    for (const refuse of [
      () => {
        behaviour.onMailFrom = () => smtpError(553, '5.7.1 Sender address rejected: not owned')
      },
      () => {
        delete behaviour.onMailFrom
        behaviour.onRcptTo = () => smtpError(550, 'relay not permitted')
      },
    ]) {
      refuse()
      ctx.clock.advance(30_000)
      expect(await worker.drainOnce()).toMatchObject({ sent: 0, failed: 0, paused: true })
      for (const id of ids)
        expect(await outboxRow(db, id)).toMatchObject({ status: 'pending', attempts: 0 })
      expect(await readTransportState(db, 'smtp')).toMatchObject({ state: 'paused' })
    }
    for (const i of [1, 2, 3])
      expect(await findSuppression(db, `r${i}@northwind.example`)).toBeNull()

    // The smarthost is put right: the next check resumes, and every message goes.
    delete behaviour.onRcptTo
    ctx.clock.advance(30_000)
    expect(await worker.drainOnce()).toMatchObject({ claimed: 3, sent: 3 })
    expect(smtp.received).toHaveLength(3)
  })

  it('fails only the messages of a sender the server refuses when the row chose it (a campaign’s)', async () => {
    behaviour.onMailFrom = (address) =>
      address === 'sdr@frontdoor.example' ? smtpError(553, '5.7.1 Sender address rejected') : null
    const own = await enqueueAsset(db, ctx.clock.now(), 'c1@northwind.example', {
      from: formatAddress('Sam', 'sdr@frontdoor.example'),
    })
    const configured = await enqueueAsset(db, ctx.clock.now(), 'c2@northwind.example')
    expect(await smtpWorker(smtp.url, { concurrency: 1 }).drainOnce()).toMatchObject({
      sent: 1,
      failed: 1,
      paused: false,
    })
    expect(await outboxRow(db, own)).toMatchObject({ status: 'failed', lastErrorKind: 'permanent' })
    expect(await outboxRow(db, configured)).toMatchObject({ status: 'sent' })
    expect(await readTransportState(db, 'smtp')).toMatchObject({ state: 'ok' })
    expect(await findSuppression(db, 'c1@northwind.example')).toBeNull()
  })

  it('pauses a real transport that has no sender address instead of inventing one', async () => {
    const noSender = await setupTestApp({ SMTP_URL: smtp.url })
    const transport = createTransport(noSender.deps.env, noSender.deps.db)
    cleanups.push(() => transport.close())
    await enqueueAsset(noSender.deps.db, noSender.clock.now())
    expect(await testWorker(noSender, transport).drainOnce()).toMatchObject({
      paused: true,
      sent: 0,
    })
    expect(await readTransportState(noSender.deps.db, 'smtp')).toMatchObject({
      state: 'paused',
      reason: expect.stringMatching(/MAIL_FROM/),
    })
    expect(smtp.received).toHaveLength(0)
  })

  it('answers at once while the SMTP port is closed (the email waits in the outbox, untried), and retries it later', async () => {
    const port = await freePort()
    const worker = smtpWorker(`smtp://127.0.0.1:${port}`, { idleMs: 10 })
    cleanups.push(() => worker.stop())
    const { cookie } = await signedInAs(ctx, 'admin')

    // The request never talks to the mail server: it answers with the email queued, untried.
    const res = await ctx.app.request(
      '/api/users',
      json({ email: 'new.rep@northwind.example', name: 'New Rep', role: 'rep' }, { cookie }),
    )
    expect(res.status).toBe(201)
    const queued = await db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, 'new.rep@northwind.example'))
    expect(queued).toMatchObject([{ status: 'pending', attempts: 0 }])
    worker.start()

    const [row] = await eventually(async () => {
      const rows = await db
        .select()
        .from(outbox)
        .where(eq(outbox.recipient, 'new.rep@northwind.example'))
      return rows[0]?.lastError ? rows : null
    })
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastErrorKind: 'retryable' })
    expect(row!.lastError).toMatch(/^(ECONNECTION|ECONNREFUSED|ESOCKET)/)
    expect(row!.runAfter.getTime()).toBeGreaterThan(ctx.clock.now().getTime())
  })

  it('holds back while the server is unreachable: the rest of the batch goes back untouched, then one row probes', async () => {
    const port = await freePort()
    const down = smtpWorker(`smtp://127.0.0.1:${port}`, { concurrency: 2 })
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        enqueueAsset(db, ctx.clock.now(), `wait${i}@northwind.example`),
      ),
    )
    expect(await down.drainOnce()).toMatchObject({ claimed: 6, retried: 2, released: 4 })
    const rows = await Promise.all(ids.map((id) => outboxRow(db, id)))
    expect(rows.filter((r) => r.attempts === 1 && r.status === 'pending')).toHaveLength(2)
    expect(
      rows.filter((r) => r.attempts === 0 && r.status === 'pending' && r.lockedBy === null),
    ).toHaveLength(4)

    // Still cooling down: nothing is claimed. Afterwards a single row tests the server.
    expect(await down.drainOnce()).toMatchObject({ claimed: 0, coolingDown: true })
    ctx.clock.advance(15_000)
    expect(await down.drainOnce()).toMatchObject({ claimed: 1, retried: 1 })
    // A worker that reaches a server sends every one of them.
    const up = smtpWorker()
    ctx.clock.advance(30 * 60_000)
    expect(await up.drainOnce()).toMatchObject({ sent: 6 })
  })

  it('gives up after OUTBOX_MAX_AGE_HOURS, lists the row as failed for admins, and sends it after a retry by hand', async () => {
    const port = await freePort()
    const down = smtpWorker(`smtp://127.0.0.1:${port}`)
    const id = await enqueueAsset(db, ctx.clock.now(), 'patient@northwind.example')
    expect(await down.drainOnce()).toMatchObject({ retried: 1 })
    ctx.clock.advance(73 * hour)
    expect(await down.drainOnce()).toMatchObject({ failed: 1 })
    const failed = await outboxRow(db, id)
    expect(failed).toMatchObject({ status: 'failed', attempts: 2, lastErrorKind: 'retryable' })
    expect(failed.lastError).toMatch(/^gave up after 2 attempts in 73 h: /)

    const { cookie } = await signedInAs(ctx, 'admin')
    const list = await (
      await ctx.app.request('/api/admin/email/outbox?status=failed', { headers: { cookie } })
    ).json()
    expect(list.rows).toEqual([
      expect.objectContaining({ id, status: 'failed', lastError: failed.lastError }),
    ])
    expect(list.health).toMatchObject({ failed: 1 })

    const retry = await ctx.app.request(`/api/admin/email/outbox/${id}/retry`, {
      method: 'POST',
      headers: { cookie, origin: 'http://localhost:4321', accept: 'application/json' },
    })
    expect(retry.status).toBe(200)
    expect(await outboxRow(db, id)).toMatchObject({ status: 'pending', attempts: 0 })
    expect(await smtpWorker().drainOnce()).toMatchObject({ sent: 1 })
    expect(smtp.received.map((m) => m.rcptTo)).toEqual([['patient@northwind.example']])
  })

  it('signs with DKIM from the environment (key with literal \\n) covering both List-Unsubscribe headers', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const env = parseEnv({
      ...ctx.deps.env,
      APP_ORIGIN: 'https://frontdoor.example',
      OUTBOX_WORKER: 'false',
      TRUST_PROXY: 'false',
      DKIM_DOMAIN: 'frontdoor.example',
      DKIM_SELECTOR: 'mail2026',
      DKIM_PRIVATE_KEY: pem.trim().replace(/\n/g, '\\n'),
    } as never)
    const transport = createTransport(env, db)
    cleanups.push(() => transport.close())
    await enqueueMarketingEmail(db, env, {
      category: 'marketing',
      to: { address: 'lee@contoso.example' },
      template: 'outreach',
      render: ({ brand, unsubscribeUrl }) =>
        renderOutreach(
          { subject: 'Hi', body: 'Hello' },
          { email: 'lee@contoso.example' },
          { brand, unsubscribeUrl },
        ),
      now: ctx.clock.now(),
    })
    expect(await testWorker(ctx, transport).drainOnce()).toMatchObject({ sent: 1 })

    const keyRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`
    const { results } = await dkimVerify(smtp.received[0]!.raw, {
      resolver: async (name: string, type: string) => {
        if (type === 'TXT' && name === 'mail2026._domainkey.frontdoor.example') return [[keyRecord]]
        throw Object.assign(new Error('no record'), { code: 'ENOTFOUND' })
      },
    })
    expect(results[0]!.status.result).toBe('pass')
    const signature = headerLines(smtp.received[0]!.raw).find((l) => /^dkim-signature:/i.test(l))!
    const signed = /\bh=([^;]+)/.exec(signature)![1]!.replace(/\s+/g, '').toLowerCase().split(':')
    expect(signed).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post']))
  })
})
