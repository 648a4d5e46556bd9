import { createServer, type AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { SITE } from '../../../api/content/site.ts'
import { contacts, mailboxMessages, outbox } from '../../../api/db/schema.ts'
import { findMailboxMessage, headerList, listMailboxMessages } from '../../../api/email/mailbox.ts'
import { listOutbox } from '../../../api/email/outbox.ts'
import { findSuppression, listSuppressions, suppress } from '../../../api/email/suppressions.ts'
import { readTransportState } from '../../../api/email/transport-status.ts'
import { issueUnsubscribeToken, unsubscribe } from '../../../api/email/unsubscribe.ts'
import { newId } from '../../../api/ids.ts'
import { pageParam } from '../../../api/pipeline/format.ts'
import {
  EMAIL_ADDRESS,
  form,
  json,
  ORIGIN,
  setupTestApp,
  signedInAs,
  unsigned,
} from '../../helpers.ts'
import { enqueueAsset, mailboxTransport, outboxRow, testWorker } from '../email/outbox-fixtures.ts'
import { startSmtpServer } from '../email/smtp-server.ts'

const ctx = await setupTestApp({ MAIL_FROM: 'hello@frontdoor.example' })
const db = ctx.deps.db
const admin = await signedInAs(ctx, 'admin')
const rep = await signedInAs(ctx, 'rep')
const sdr = await signedInAs(ctx, 'sdr')
const get = (path: string, cookie = admin.cookie) =>
  ctx.app.request(`/api/admin/email${path}`, { headers: { cookie } })
const post = (path: string, init: RequestInit) => ctx.app.request(`/api/admin/email${path}`, init)
const bare = (cookie = admin.cookie): RequestInit => ({
  method: 'POST',
  headers: { cookie, origin: ORIGIN, accept: 'application/json' },
})

describe('who may use the email admin API', () => {
  it.each([
    ['GET', '/outbox'],
    ['GET', '/suppressions'],
    ['GET', '/settings'],
    ['POST', '/mailbox/clear'],
    ['POST', '/test-email'],
  ])('%s %s: 401 signed out, 403 for reps and SDRs', async (method, path) => {
    const init = (cookie?: string): RequestInit => ({
      method,
      headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}) },
    })
    expect((await post(path, init())).status).toBe(401)
    expect((await post(path, init(rep.cookie))).status).toBe(403)
    expect((await post(path, init(sdr.cookie))).status).toBe(403)
  })
})

describe('outbox', () => {
  it('lists failed rows with their error, and a retry puts one back in the queue', async () => {
    const id = await enqueueAsset(db, ctx.clock.now(), 'failed@northwind.example')
    // As the worker leaves a row it gave up on.
    await db
      .update(outbox)
      .set({
        status: 'failed',
        attempts: 9,
        lastError: 'gave up after 9 attempts in 72 h: ECONNECTION: connect refused',
        lastErrorKind: 'retryable',
      })
      .where(eq(outbox.id, id))

    const list = await (await get('/outbox?status=failed')).json()
    expect(list.total).toBe(1)
    expect(list.rows[0]).toMatchObject({
      id,
      recipient: 'failed@northwind.example',
      template: 'asset-delivery',
      subject: 'Your whitepaper: The 2025 B2B Lead Response Benchmark',
      attempts: 9,
      lastError: expect.stringContaining('ECONNECTION'),
    })
    expect(list.transport).toMatchObject({ name: 'dev', state: 'ok' })

    const res = await post(`/outbox/${id}/retry`, form({}, { cookie: admin.cookie }))
    expect(res.status).toBe(303)
    // The prospect's address stays out of the URL.
    expect(unsigned(res.headers.get('location'))).toBe('/app/admin/outbox?notice=Queued+again.')
    expect(await outboxRow(db, id)).toMatchObject({ status: 'pending', attempts: 0 })

    // Sent by the next round, and a retry of a row that is not failed is refused.
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect((await outboxRow(db, id)).status).toBe('sent')
    const again = await post(`/outbox/${id}/retry`, bare())
    expect(again.status).toBe(409)
    expect((await again.json()).error.code).toBe('not_failed')
  })

  it('retries every failed row at once', async () => {
    const ids = await Promise.all(
      ['f1', 'f2'].map((n) => enqueueAsset(db, ctx.clock.now(), `${n}@northwind.example`)),
    )
    for (const id of ids) await db.update(outbox).set({ status: 'failed' }).where(eq(outbox.id, id))
    const res = await post('/outbox/retry-failed', bare())
    expect(await res.json()).toMatchObject({ retried: 2 })
    for (const id of ids) expect((await outboxRow(db, id)).status).toBe('pending')
  })

  it('answers 404 for an unknown row', async () => {
    expect((await post('/outbox/0190f3a2-7c4e-7b1a-9d3e-5f6a7b8c9d0e/retry', bare())).status).toBe(
      404,
    )
    expect((await post('/outbox/not-an-id/retry', bare())).status).toBe(404)
  })
})

describe('transport check', () => {
  it('keeps a transport with rejected credentials paused, and resumes it once they work', async () => {
    const auth = { user: 'mailer', pass: 'right' }
    const smtp = await startSmtpServer({ auth })
    afterAll(() => smtp.close())
    const smtpCtx = await setupTestApp({
      SMTP_URL: smtp.urlWith('mailer', 'wrong'),
      MAIL_FROM: 'hello@frontdoor.example',
    })
    const { cookie } = await signedInAs(smtpCtx, 'admin')
    const check = () => smtpCtx.app.request('/api/admin/email/transport/check', bare(cookie))

    const refused = await check()
    expect(refused.status).toBe(409)
    expect((await refused.json()).error.message).toMatch(/smtp_535/)
    expect(await readTransportState(smtpCtx.deps.db, 'smtp')).toMatchObject({ state: 'paused' })
    const health = await (await smtpCtx.app.request('/api/health')).json()
    expect(health.outbox).toMatchObject({ transport: 'smtp', transportState: 'paused' })

    auth.pass = 'wrong'
    const passed = await check()
    expect(passed.status).toBe(200)
    expect(await readTransportState(smtpCtx.deps.db, 'smtp')).toMatchObject({ state: 'ok' })
  })

  it('says a mail server it could not reach in health, until a check gets through', async () => {
    // A port nothing listens on: taken, then let go.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const downCtx = await setupTestApp({
      SMTP_URL: `smtp://mailer:pw@127.0.0.1:${port}`,
      MAIL_FROM: 'hello@frontdoor.example',
    })
    const { cookie } = await signedInAs(downCtx, 'admin')
    const res = await downCtx.app.request('/api/admin/email/transport/check', bare(cookie))
    expect(res.status).toBe(409)
    expect(await readTransportState(downCtx.deps.db, 'smtp')).toMatchObject({
      state: 'unreachable',
      reason: expect.stringContaining('ECONNREFUSED'),
    })
    const health = await (await downCtx.app.request('/api/health')).json()
    expect(health.outbox).toMatchObject({ transport: 'smtp', transportState: 'unreachable' })
  })
})

describe('suppressions', () => {
  it('adds an address by hand (form), finds it by search, and refuses it twice', async () => {
    const res = await post(
      '/suppressions',
      form({ email: ' Pat@Contoso.example ', note: 'asked by phone' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toContain('notice=')
    // The address typed stays out of the URL, added, refused or removed.
    const query = (r: Response) => decodeURIComponent(r.headers.get('location')!)
    expect(query(res)).not.toMatch(EMAIL_ADDRESS)
    const again = await post(
      '/suppressions',
      form({ email: 'pat@contoso.example' }, { cookie: admin.cookie }),
    )
    expect(again.headers.get('location')).toContain('error=')
    expect(query(again)).not.toMatch(EMAIL_ADDRESS)
    expect(await findSuppression(db, 'pat@contoso.example')).toMatchObject({
      reason: 'manual',
      note: 'asked by phone',
      createdBy: admin.user.id,
      source: `added by ${admin.user.email}`,
    })

    const found = await (await get('/suppressions?q=contoso')).json()
    expect(found.rows.map((r: { email: string }) => r.email)).toContain('pat@contoso.example')
    const none = await (await get('/suppressions?q=nobody-here')).json()
    expect(none).toEqual({ rows: [], total: 0 })
    // Neither engine takes U+0000 in a parameter: bad input, not a 500.
    expect((await get('/suppressions?q=pat%00')).status).toBe(422)

    const twice = await post(
      '/suppressions',
      json({ email: 'pat@contoso.example' }, { cookie: admin.cookie }),
    )
    expect(twice.status).toBe(409)
  })

  it('rejects an invalid address with a message', async () => {
    const res = await post(
      '/suppressions',
      json({ email: 'not an address' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(422)
    expect((await res.json()).error.fields.email).toBe('Enter a valid email address.')
    const back = await post('/suppressions', form({ email: 'nope' }, { cookie: admin.cookie }))
    expect(unsigned(back.headers.get('location'))).toBe(
      '/app/admin/suppressions?error=Enter+a+valid+email+address.',
    )
  })

  it('removes only entries added by hand: an unsubscribe stays', async () => {
    await suppress(db, { email: 'gone@contoso.example', reason: 'unsubscribe' }, ctx.clock.now())
    await suppress(db, { email: 'oops@contoso.example', reason: 'manual' }, ctx.clock.now())
    expect(
      (
        await post(
          '/suppressions/remove',
          json({ email: 'gone@contoso.example' }, { cookie: admin.cookie }),
        )
      ).status,
    ).toBe(409)
    expect(
      (
        await post(
          '/suppressions/remove',
          json({ email: 'oops@contoso.example' }, { cookie: admin.cookie }),
        )
      ).status,
    ).toBe(200)
    expect(await findSuppression(db, 'gone@contoso.example')).not.toBeNull()
    expect(await findSuppression(db, 'oops@contoso.example')).toBeNull()
    await suppress(db, { email: 'oops@contoso.example', reason: 'manual' }, ctx.clock.now())
    const viaForm = await post(
      '/suppressions/remove',
      form({ email: 'oops@contoso.example' }, { cookie: admin.cookie }),
    )
    expect(viaForm.headers.get('location')).toContain('notice=')
    expect(decodeURIComponent(viaForm.headers.get('location')!)).not.toMatch(EMAIL_ADDRESS)
  })

  it('an admin’s entry stops all mail to an address that only unsubscribed, until it is removed', async () => {
    // An unsubscribe stops marketing and outreach; the person asks for no email at all.
    await db.insert(contacts).values({
      id: newId(),
      email: 'quiet@contoso.example',
      emailDisplay: 'quiet@contoso.example',
      source: 'outbound',
    })
    const token = await issueUnsubscribeToken(db, 'quiet@contoso.example', null)
    await unsubscribe(db, token, { via: 'page' }, ctx.clock.now())
    const res = await post(
      '/suppressions',
      json({ email: 'quiet@contoso.example' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(201)
    expect((await res.json()).message).toContain('will receive no more email')
    const id = await enqueueAsset(db, ctx.clock.now(), 'quiet@contoso.example')
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'suppressed',
      lastError: 'suppressed (manual)',
    })
    // Removing the entry leaves the person unsubscribed, as they asked.
    const removed = await post(
      '/suppressions/remove',
      json({ email: 'quiet@contoso.example' }, { cookie: admin.cookie }),
    )
    expect(removed.status).toBe(200)
    expect(await findSuppression(db, 'quiet@contoso.example')).toMatchObject({
      reason: 'unsubscribe',
    })
  })

  it('a hard bounce replaces an unsubscribe: no more transactional mail to a dead mailbox', async () => {
    await suppress(db, { email: 'dead@contoso.example', reason: 'unsubscribe' }, ctx.clock.now())
    expect(
      await suppress(
        db,
        { email: 'dead@contoso.example', reason: 'hard_bounce', source: 'smtp 550' },
        ctx.clock.now(),
      ),
    ).toBe(true)
    // …and nothing weaker replaces it again.
    expect(
      await suppress(db, { email: 'dead@contoso.example', reason: 'unsubscribe' }, ctx.clock.now()),
    ).toBe(false)
    expect(await findSuppression(db, 'dead@contoso.example')).toMatchObject({
      reason: 'hard_bounce',
      source: 'smtp 550',
    })
    const id = await enqueueAsset(db, ctx.clock.now(), 'dead@contoso.example')
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect((await outboxRow(db, id)).status).toBe('suppressed')
  })
})

describe('sender settings', () => {
  it('shows the environment defaults, and stored values win over them', async () => {
    const before = await (await get('/settings')).json()
    // Without BRAND_NAME and POSTAL_ADDRESS, the company facts the site shows (issue 15).
    expect(before.effective).toEqual({
      brandName: SITE.name,
      transactionalFrom: `${SITE.name} <hello@frontdoor.example>`,
      marketingFrom: `${SITE.name} <hello@frontdoor.example>`,
      replyTo: null,
      postalAddress: SITE.address,
    })

    const res = await post(
      '/settings',
      json(
        {
          brandName: 'Northwind',
          marketingFrom: 'Riley at Northwind <riley@northwind.example>',
          replyTo: 'sales@northwind.example',
          postalAddress: '5 Harbour Road\nSpringfield',
        },
        { cookie: admin.cookie },
      ),
    )
    expect(res.status).toBe(200)
    expect((await res.json()).effective).toEqual({
      brandName: 'Northwind',
      transactionalFrom: 'Northwind <hello@frontdoor.example>',
      marketingFrom: 'Riley at Northwind <riley@northwind.example>',
      replyTo: 'sales@northwind.example',
      postalAddress: '5 Harbour Road, Springfield',
    })

    // An emptied field falls back to the environment again.
    const cleared = await (
      await post('/settings', json({ brandName: '' }, { cookie: admin.cookie }))
    ).json()
    expect(cleared.effective.brandName).toBe(SITE.name)
    expect(cleared.effective.postalAddress).toBe('5 Harbour Road, Springfield')
  })

  it('refuses a from-address that is not one', async () => {
    const res = await post(
      '/settings',
      json({ transactionalFrom: 'Frontdoor <not-an-address>' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(422)
    const back = await post('/settings', form({ replyTo: 'a@b' }, { cookie: admin.cookie }))
    expect(back.headers.get('location')).toMatch(/^\/app\/admin\/settings\?error=/)
  })

  it('sends a test email to the admin through the outbox', async () => {
    const res = await post('/test-email', bare())
    expect(res.status).toBe(202)
    const { outboxId } = await res.json()
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    const [message] = await db
      .select()
      .from(mailboxMessages)
      .where(eq(mailboxMessages.outboxId, outboxId))
    expect(message!.to).toBe(`admin person <${admin.user.email}>`)
    // The brand name was cleared above, so the company's name names the sender again.
    expect(Object.fromEntries(headerList(message!)).From).toBe(
      `${SITE.name} <hello@frontdoor.example>`,
    )
    expect(message!.text).toContain('This test was requested by admin person')
  })
})

describe('dev mailbox', () => {
  it('clears the mailbox', async () => {
    await enqueueAsset(db, ctx.clock.now(), 'clear@northwind.example')
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect((await db.select().from(mailboxMessages)).length).toBeGreaterThan(0)
    const res = await post('/mailbox/clear', form({}, { cookie: admin.cookie }))
    expect(res.status).toBe(303)
    expect(await db.select().from(mailboxMessages)).toEqual([])
  })

  it('gives a reader who is not an admin the messages sent to their own address, and no other', async () => {
    await db.delete(mailboxMessages)
    await enqueueAsset(db, ctx.clock.now(), 'taylor.sdr@northwind.example')
    await enqueueAsset(db, ctx.clock.now(), 'someone.else@northwind.example')
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    const all = await listMailboxMessages(db)
    expect(all.total).toBe(2)
    // Read off the outbox row's canonical recipient, whatever case the account's address has.
    const scope = { recipient: 'Taylor.SDR@Northwind.example' }
    const own = await listMailboxMessages(db, { scope })
    expect(own.total).toBe(1)
    expect(own.rows.map((r) => r.to)).toEqual([expect.stringContaining('taylor.sdr@')])
    const other = all.rows.find((r) => r.to.includes('someone.else@'))!
    expect(await findMailboxMessage(db, other.id, scope)).toBeNull()
    expect(await findMailboxMessage(db, other.id)).toMatchObject({ id: other.id })
    expect(await findMailboxMessage(db, own.rows[0]!.id, scope)).toMatchObject({
      id: own.rows[0]!.id,
    })
    // A search within one's own mail finds nothing of another's.
    expect((await listMailboxMessages(db, { q: 'someone.else', scope })).total).toBe(0)
    await db.delete(mailboxMessages)
  })
})

describe('the mailbox search', () => {
  it('finds a recipient or subject whatever its accents, and takes % as itself', async () => {
    const message = (to: string, subject: string) => ({
      id: newId(),
      from: 'Frontdoor <hello@frontdoor.example>',
      to,
      subject,
      html: '',
      text: '',
      headers: [],
      createdAt: ctx.clock.now(),
    })
    await db
      .insert(mailboxMessages)
      .values([
        message('Héctor Núñez <hector@lejos.example>', 'Your report'),
        message('jo@plain.example', 'Renée, your 100% report'),
        message('ann@other.example', 'Hello'),
      ])
    const found = async (q: string) =>
      (await listMailboxMessages(db, { q })).rows.map((r) => r.to).sort()
    expect(await found('hector nunez')).toEqual(['Héctor Núñez <hector@lejos.example>'])
    expect(await found('RENEE')).toEqual(['jo@plain.example'])
    expect(await found('NÚÑEZ')).toEqual(['Héctor Núñez <hector@lejos.example>'])
    expect(await found('0%')).toEqual(['jo@plain.example'])
    await db.delete(mailboxMessages)
  })
})

describe('the admin email pages’ ?page=', () => {
  // The outbox, mailbox and suppressions pages read ?page= with pageParam and ask their list for
  // (page - 1) × their page size; ?offset=100000000000000000000 once reached the database as is
  // and the page answered 500. A page past the end links back to the last (pageLinks).
  it.each(['100000000000000000000', '1e20', '-3', 'x', '99999999999'])(
    '?page=%s asks each list for an offset the database answers',
    async (typed) => {
      const offset = (pageParam(typed) - 1) * 100
      await expect(listOutbox(db, { limit: 50, offset })).resolves.toHaveProperty('total')
      await expect(listMailboxMessages(db, { limit: 50, offset })).resolves.toHaveProperty('total')
      await expect(listSuppressions(db, { limit: 100, offset })).resolves.toHaveProperty('total')
    },
  )
})
