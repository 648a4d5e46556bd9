import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { mailboxMessages, outbox, settings, unsubscribeTokens } from '../../../api/db/schema.ts'
import { formatAddress } from '../../../api/email-headers.ts'
import { headerList } from '../../../api/email/mailbox.ts'
import { enqueueMarketingEmail } from '../../../api/email/marketing.ts'
import { enqueueEmail, OutboxError } from '../../../api/email/outbox.ts'
import { claimDueEmails, retryDelayMs, shouldGiveUp } from '../../../api/email/outbox-worker.ts'
import {
  fromFor,
  loadSenderSettings,
  readStoredSenderSettings,
  resolveSenderSettings,
  SENDER_SETTINGS_KEY,
} from '../../../api/email/sender.ts'
import { SITE } from '../../../api/content/site.ts'
import { findSuppression, suppress } from '../../../api/email/suppressions.ts'
import { unsubscribe } from '../../../api/email/unsubscribe.ts'
import { renderOutreach } from '../../../email-templates/outreach.ts'
import { setupTestApp } from '../../helpers.ts'
import {
  enqueueAsset,
  mailboxFor,
  mailboxTransport,
  outboxRow,
  testWorker,
} from './outbox-fixtures.ts'

const ctx = await setupTestApp({
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
  POSTAL_ADDRESS: '1 Example Street, Springfield',
})
const db = ctx.deps.db

function outreachTo(address: string, firstName: string, campaignId: string | null = 'camp-1') {
  return enqueueMarketingEmail(db, ctx.deps.env, {
    category: 'outreach',
    to: formatAddress(firstName, address),
    campaignId,
    template: 'outreach',
    render: ({ brand, unsubscribeUrl }) =>
      renderOutreach(
        {
          subject: 'Quick question, {{firstName}}',
          body: 'Hi {{firstName}},\n\nhttps://frontdoor.example/whitepapers/x\n\nRiley',
        },
        { email: address, firstName },
        { brand, unsubscribeUrl },
      ),
    now: ctx.clock.now(),
  })
}

describe('retry rules', () => {
  it('doubles the delay per attempt, with jitter between half and all of it, up to the cap', () => {
    const policy = { baseMs: 10_000, capMs: 60_000 }
    expect(retryDelayMs(1, 0, policy)).toBe(5_000)
    expect(retryDelayMs(1, 0.999999, policy)).toBe(10_000)
    expect(retryDelayMs(2, 0, policy)).toBe(10_000)
    expect(retryDelayMs(3, 1, policy)).toBe(40_000)
    expect(retryDelayMs(4, 1, policy)).toBe(60_000)
    expect(retryDelayMs(50, 1, policy)).toBe(60_000)
    expect(retryDelayMs(50, 0, policy)).toBe(30_000)
  })

  it('gives up when the next attempt would come after the maximum age', () => {
    const created = new Date('2026-01-01T00:00:00Z')
    const hour = 3_600_000
    expect(shouldGiveUp(created, new Date(created.getTime() + 71 * hour), 72 * hour)).toBe(false)
    expect(shouldGiveUp(created, new Date(created.getTime() + 73 * hour), 72 * hour)).toBe(true)
  })
})

describe('outbox worker with the dev mailbox', () => {
  it('delivers a transactional email into the mailbox with its headers, from the configured sender', async () => {
    const id = await enqueueAsset(db, ctx.clock.now())
    const result = await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect(result).toMatchObject({ claimed: 1, sent: 1 })

    const row = await outboxRow(db, id)
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lockedBy: null, leaseUntil: null })
    expect(row.sentAt).toEqual(ctx.clock.now())
    const [message] = await mailboxFor(db, id)
    expect(message).toMatchObject({
      from: 'Frontdoor <hello@frontdoor.example>',
      to: 'Dana Whitfield <dana@northwind.example>',
      subject: 'Your whitepaper: The 2025 B2B Lead Response Benchmark',
    })
    expect(message!.text).toContain('https://frontdoor.example/d/')
    expect(message!.html).toContain('href="https://frontdoor.example/d/')
    const headers = Object.fromEntries(headerList(message!))
    expect(headers['Message-ID']).toBe(`<outbox.${id}@frontdoor.example>`)
    expect(headers['List-Unsubscribe']).toBeUndefined()
  })

  it('sends nothing twice: a sent row is not claimed again', async () => {
    const id = await enqueueAsset(db, ctx.clock.now(), 'once@northwind.example')
    const worker = testWorker(ctx, mailboxTransport(ctx))
    await worker.drainOnce()
    expect(await worker.drainOnce()).toMatchObject({ claimed: 0 })
    expect(await mailboxFor(db, id)).toHaveLength(1)
  })

  it('gives outreach the unsubscribe headers, a visible unsubscribe link and the postal address', async () => {
    const { outboxId, unsubscribeUrl } = await outreachTo('lee@contoso.example', 'Lee')
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()

    const token = unsubscribeUrl.split('/u/')[1]!
    expect(unsubscribeUrl).toBe(`${ctx.deps.env.APP_ORIGIN}/u/${token}`)
    expect(token).toMatch(/^[a-z2-7]{26}$/) // 130 bits of base32 text, 128 of them random
    const [message] = await mailboxFor(db, outboxId!)
    const headers = Object.fromEntries(headerList(message!))
    expect(headers['List-Unsubscribe']).toBe(`<${unsubscribeUrl}>`)
    expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click')
    expect(message!.text).toContain(unsubscribeUrl)
    expect(message!.html).toContain(`href="${unsubscribeUrl}"`)
    expect(message!.text).toContain('1 Example Street, Springfield')
    expect(message!.html).toContain('1 Example Street, Springfield')
  })

  it('gives each message its own unsubscribe token, and each one works', async () => {
    const a = await outreachTo('kim@contoso.example', 'Kim', 'camp-7')
    const b = await outreachTo('kim@contoso.example', 'Kim', 'camp-7')
    expect(b.unsubscribeUrl).not.toBe(a.unsubscribeUrl)
    const tokenOf = (url: string) => url.split('/u/')[1]!
    expect(
      await unsubscribe(db, tokenOf(a.unsubscribeUrl), { via: 'page' }, ctx.clock.now()),
    ).toMatchObject({ email: 'kim@contoso.example', alreadySuppressed: false })
    expect(
      await unsubscribe(db, tokenOf(b.unsubscribeUrl), { via: 'page' }, ctx.clock.now()),
    ).toMatchObject({ email: 'kim@contoso.example', alreadySuppressed: true })
  })

  it('keeps no token for a duplicate that was not enqueued', async () => {
    const tokens = async () => (await db.select().from(unsubscribeTokens)).length
    const send = () =>
      enqueueMarketingEmail(db, ctx.deps.env, {
        category: 'outreach',
        to: { address: 'dup@contoso.example' },
        template: 'outreach',
        render: ({ brand, unsubscribeUrl }) =>
          renderOutreach(
            { subject: 'Hi', body: 'Hi' },
            { email: 'dup@contoso.example' },
            {
              brand,
              unsubscribeUrl,
            },
          ),
        dedupeKey: 'dup-once',
        now: ctx.clock.now(),
      })
    const first = await send()
    const before = await tokens()
    const again = await send()
    expect(again.outboxId).toBeNull()
    expect(await tokens()).toBe(before)
    expect(first.outboxId).not.toBeNull()
  })

  it('refuses marketing mail while no postal address is configured, and enqueues nothing', async () => {
    const bare = await setupTestApp()
    const before = await bare.deps.db.select().from(outbox)
    // Out of the box the company's address (api/content/site.ts) is the default: a company
    // without one gets no marketing mail out.
    const noAddress = resolveSenderSettings(
      await readStoredSenderSettings(bare.deps.db),
      bare.deps.env,
      { ...SITE, address: '' },
    )
    await expect(
      enqueueMarketingEmail(
        bare.deps.db,
        bare.deps.env,
        {
          category: 'marketing',
          to: { address: 'lee@contoso.example' },
          template: 'outreach',
          render: () => ({ subject: 's', html: 'h', text: 't' }),
        },
        noAddress,
      ),
    ).rejects.toThrow(/postal address/i)
    expect(await bare.deps.db.select().from(outbox)).toEqual(before)

    // Set in Settings, it is enough.
    await bare.deps.db
      .insert(settings)
      .values({ key: SENDER_SETTINGS_KEY, value: { postalAddress: '9 Side Road, Springfield' } })
    const ok = await enqueueMarketingEmail(bare.deps.db, bare.deps.env, {
      category: 'marketing',
      to: { address: 'lee@contoso.example' },
      template: 'outreach',
      render: ({ brand, unsubscribeUrl }) =>
        renderOutreach(
          { subject: 'Hi', body: 'Hello' },
          { email: 'lee@contoso.example' },
          { brand, unsubscribeUrl },
        ),
      now: bare.clock.now(),
    })
    expect(ok.outboxId).toBeTruthy()
  })

  it('out of the box (no BRAND_NAME, POSTAL_ADDRESS or Settings) mail carries the site’s company facts, so marketing can be sent', async () => {
    const fresh = await setupTestApp()
    const sent = await enqueueMarketingEmail(fresh.deps.db, fresh.deps.env, {
      category: 'marketing',
      to: { address: 'lee@contoso.example' },
      template: 'outreach',
      render: ({ brand, unsubscribeUrl }) =>
        renderOutreach(
          { subject: 'Hi', body: 'Hello' },
          { email: 'lee@contoso.example' },
          { brand, unsubscribeUrl },
        ),
      now: fresh.clock.now(),
    })
    expect(sent.outboxId).toBeTruthy()
    const [row] = await fresh.deps.db.select().from(outbox).where(eq(outbox.id, sent.outboxId!))
    const payload = row!.payload as { text: string; html: string }
    expect(payload.text).toContain(SITE.address)
    expect(payload.text).toContain(SITE.name)
    expect(payload.text).not.toContain('Frontdoor')
    // The dev mailbox's sender is the company's too, not "Frontdoor <noreply@frontdoor.localhost>".
    const sender = await loadSenderSettings(fresh.deps.db, fresh.deps.env)
    expect(fromFor(sender, 'marketing', 'dev')).toEqual({
      name: SITE.name,
      address: SITE.email.noreply,
    })
  })

  it('a stored sender field no longer valid falls back alone: the others still apply', async () => {
    // One bad reply-to (saved before it was checked) used to drop every stored field, so mail
    // went out from the environment's sender and brand instead of the ones in Settings.
    const app = await setupTestApp({
      MAIL_FROM: 'Env Sender <env@frontdoor.example>',
      MAIL_REPLY_TO: 'Env Desk <desk@frontdoor.example>',
      BRAND_NAME: 'Env Brand',
    })
    await app.deps.db.insert(settings).values({
      key: SENDER_SETTINGS_KEY,
      value: {
        brandName: 'Northwind',
        transactionalFrom: 'Northwind <hello@northwind.example>',
        marketingFrom: 'Northwind News <news@northwind.example>',
        replyTo: 'not an address',
        postalAddress: '9 Side Road, Springfield',
      },
    })
    expect(await readStoredSenderSettings(app.deps.db)).toEqual({
      brandName: 'Northwind',
      transactionalFrom: 'Northwind <hello@northwind.example>',
      marketingFrom: 'Northwind News <news@northwind.example>',
      replyTo: '',
      postalAddress: '9 Side Road, Springfield',
    })
    const sender = await loadSenderSettings(app.deps.db, app.deps.env)
    expect(sender).toMatchObject({
      brandName: 'Northwind',
      postalAddress: '9 Side Road, Springfield',
      transactionalFrom: { name: 'Northwind', address: 'hello@northwind.example' },
      marketingFrom: { name: 'Northwind News', address: 'news@northwind.example' },
      replyTo: { name: 'Env Desk', address: 'desk@frontdoor.example' },
    })
    // And what the worker sends.
    const id = await enqueueAsset(app.deps.db, app.clock.now())
    expect(await testWorker(app, mailboxTransport(app)).drainOnce()).toMatchObject({ sent: 1 })
    const [message] = await mailboxFor(app.deps.db, id)
    expect(message!.from).toBe('Northwind <hello@northwind.example>')
    expect(Object.fromEntries(headerList(message!))['Reply-To']).toBe(
      'Env Desk <desk@frontdoor.example>',
    )
  })

  it('refuses a marketing template that hides the unsubscribe link', async () => {
    await expect(
      enqueueMarketingEmail(db, ctx.deps.env, {
        category: 'marketing',
        to: { address: 'lee@contoso.example' },
        template: 'sneaky',
        render: () => ({ subject: 'Hi', html: '<p>Hi</p>', text: 'Hi' }),
      }),
    ).rejects.toMatchObject({ code: 'missing_unsubscribe_link' })
  })

  it('refuses marketing mail enqueued without the one-click headers', async () => {
    await expect(
      enqueueEmail(db, {
        category: 'marketing',
        to: { address: 'a@b.example' },
        recipient: 'a@b.example',
        subject: 's',
        html: 'h',
        text: 't',
        template: 'x',
      }),
    ).rejects.toBeInstanceOf(OutboxError)
  })

  it('commits the email with the caller’s transaction, or not at all', async () => {
    await expect(
      db.transaction(async (tx) => {
        await enqueueAsset(tx, ctx.clock.now(), 'rollback@northwind.example')
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    const rows = await db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, 'rollback@northwind.example'))
    expect(rows).toEqual([])
  })

  it('enqueues once per dedupe key', async () => {
    expect(
      await enqueueAsset(db, ctx.clock.now(), 'dedupe@northwind.example', {
        dedupeKey: 'asset:sub-1',
      }),
    ).toBeTruthy()
    expect(
      await enqueueAsset(db, ctx.clock.now(), 'dedupe@northwind.example', {
        dedupeKey: 'asset:sub-1',
      }),
    ).toBeNull()
  })

  it('waits for runAfter', async () => {
    const id = await enqueueAsset(db, ctx.clock.now(), 'later@northwind.example', {
      runAfter: new Date(ctx.clock.now().getTime() + 60_000),
    })
    const worker = testWorker(ctx, mailboxTransport(ctx))
    await worker.drainOnce()
    expect((await outboxRow(db, id)).status).toBe('pending')
    ctx.clock.advance(60_000)
    await worker.drainOnce()
    expect((await outboxRow(db, id)).status).toBe('sent')
  })
})

describe('suppression, checked right before each send', () => {
  it('ends a row as suppressed when the address is suppressed between enqueue and send', async () => {
    const id = await enqueueAsset(db, ctx.clock.now(), 'Bounced@Northwind.example')
    await suppress(
      db,
      { email: 'bounced@northwind.example', reason: 'hard_bounce', source: 'test' },
      ctx.clock.now(),
    )
    const result = await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect(result).toMatchObject({ claimed: 1, suppressed: 1, sent: 0 })
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'suppressed',
      lastError: 'suppressed (hard_bounce)',
    })
    expect(await mailboxFor(db, id)).toEqual([])
  })

  it('stops outreach after an unsubscribe, but still delivers the asset the person asked for', async () => {
    const { outboxId: outreachId, unsubscribeUrl } = await outreachTo('ana@contoso.example', 'Ana')
    const assetId = await enqueueAsset(db, ctx.clock.now(), 'ana@contoso.example')
    await unsubscribe(db, unsubscribeUrl.split('/u/')[1]!, { via: 'one-click' }, ctx.clock.now())

    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect((await outboxRow(db, outreachId!)).status).toBe('suppressed')
    expect((await outboxRow(db, assetId)).status).toBe('sent')
    expect(await findSuppression(db, 'ANA@contoso.example')).toMatchObject({
      reason: 'unsubscribe',
    })
  })
})

describe('leases', () => {
  it('sends the rows of a worker that died mid-lease once the lease runs out, and only then', async () => {
    const ids = await Promise.all(
      ['l1', 'l2', 'l3'].map((n) => enqueueAsset(db, ctx.clock.now(), `${n}@lease.example`)),
    )
    const claimed = await claimDueEmails(db, 'dead-worker', ctx.clock.now(), {
      limit: 50,
      leaseMs: 60_000,
    })
    expect(claimed.map((r) => r.id)).toEqual(expect.arrayContaining(ids))

    const survivor = testWorker(ctx, mailboxTransport(ctx), { workerId: 'survivor' })
    expect(await survivor.drainOnce()).toMatchObject({ claimed: 0 })
    ctx.clock.advance(59_000)
    expect(await survivor.drainOnce()).toMatchObject({ claimed: 0 })

    ctx.clock.advance(2_000)
    expect(await survivor.drainOnce()).toMatchObject({ claimed: 3, sent: 3 })
    for (const id of ids) {
      expect(await outboxRow(db, id)).toMatchObject({ status: 'sent', attempts: 2 })
      expect(await mailboxFor(db, id)).toHaveLength(1)
    }
  })

  it('does not let a worker whose lease was taken over overwrite the outcome', async () => {
    const id = await enqueueAsset(db, ctx.clock.now(), 'slow@lease.example')
    const slow = testWorker(ctx, mailboxTransport(ctx), { workerId: 'slow', leaseMs: 1_000 })
    await claimDueEmails(db, 'slow', ctx.clock.now(), { limit: 50, leaseMs: 1_000 })
    ctx.clock.advance(1_001)
    await testWorker(ctx, mailboxTransport(ctx), { workerId: 'fast' }).drainOnce()
    expect(await outboxRow(db, id)).toMatchObject({ status: 'sent' })
    // The slow worker finds nothing of its own to finish, and the row stays sent.
    await slow.drainOnce()
    expect(await outboxRow(db, id)).toMatchObject({ status: 'sent' })
    expect(
      await db.select().from(mailboxMessages).where(eq(mailboxMessages.outboxId, id)),
    ).toHaveLength(1)
  })
})
