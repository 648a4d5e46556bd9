import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { createUser, signIn } from '../../../api/accounts/users.ts'
import {
  contacts,
  outbox,
  settings,
  suppressions,
  unsubscribeTokens,
  users,
} from '../../../api/db/schema.ts'
import { hashToken, newId } from '../../../api/ids.ts'
import {
  canonicaliseStoredAddresses,
  migrateStoredAddresses,
} from '../../../api/db/stored-addresses.ts'
import { findSuppression, suppress } from '../../../api/email/suppressions.ts'
import { issueUnsubscribeToken, unsubscribe } from '../../../api/email/unsubscribe.ts'
import { json, PASSWORD, setupTestApp, signedInAs } from '../../helpers.ts'
import { enqueueAsset, mailboxTransport, outboxRow, testWorker } from './outbox-fixtures.ts'

// One canonical form for every stored address (api/email/address.ts): a suppression, a user, a
// contact and an outbox recipient typed with a Unicode domain all mean its punycode form.

const ctx = await setupTestApp({ MAIL_FROM: 'hello@frontdoor.example' })
const { db } = ctx.deps
const admin = await signedInAs(ctx, 'admin')
const worker = testWorker(ctx, mailboxTransport(ctx))

async function sendAll() {
  return worker.drainOnce()
}

describe('suppressions across spellings', () => {
  it('a suppression an admin adds in Unicode blocks mail to the punycode form', async () => {
    const res = await ctx.app.request(
      '/api/admin/email/suppressions',
      json({ email: 'Ann@Bücher.example' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(201)
    expect((await res.json()).email).toBe('ann@xn--bcher-kva.example')

    const id = await enqueueAsset(db, ctx.clock.now(), 'ann@xn--bcher-kva.example')
    await sendAll()
    expect(await outboxRow(db, id)).toMatchObject({
      status: 'suppressed',
      lastError: 'suppressed (manual)',
    })
  })

  it('a suppression stored in punycode blocks mail enqueued to the Unicode form', async () => {
    await suppress(
      db,
      { email: 'bob@xn--bcher-kva.example', reason: 'hard_bounce' },
      ctx.clock.now(),
    )
    const id = await enqueueAsset(db, ctx.clock.now(), 'Bob@Bücher.example')
    expect((await outboxRow(db, id)).recipient).toBe('bob@xn--bcher-kva.example')
    await sendAll()
    expect((await outboxRow(db, id)).status).toBe('suppressed')
  })

  it('finds and removes a hand-added entry by either spelling', async () => {
    await suppress(db, { email: 'cy@bücher.example', reason: 'manual' }, ctx.clock.now())
    expect(await findSuppression(db, 'CY@xn--bcher-kva.example')).toMatchObject({
      email: 'cy@xn--bcher-kva.example',
    })
    const res = await ctx.app.request(
      '/api/admin/email/suppressions/remove',
      json({ email: 'cy@xn--bcher-kva.example' }, { cookie: admin.cookie }),
    )
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'cy@bücher.example')).toBeNull()
  })

  it('an unsubscribe from a Unicode-spelled address suppresses the punycode form', async () => {
    const token = await issueUnsubscribeToken(db, 'Dee@Bücher.example', null)
    const [row] = await db
      .select()
      .from(unsubscribeTokens)
      .where(eq(unsubscribeTokens.tokenHash, hashToken(token)))
    expect(row!.email).toBe('dee@xn--bcher-kva.example')
    await unsubscribe(db, token, { via: 'one-click' }, ctx.clock.now())
    expect(await findSuppression(db, 'dee@xn--bcher-kva.example')).toMatchObject({
      reason: 'unsubscribe',
    })
  })
})

describe('user accounts', () => {
  it('a user added as Ann@Bücher.example signs in as ann@xn--bcher-kva.example', async () => {
    const created = await createUser(db, {
      email: 'Ann@Bücher.example',
      name: 'Ann',
      role: 'rep',
      password: PASSWORD,
    })
    expect(created).toMatchObject({ ok: true, user: { email: 'ann@xn--bcher-kva.example' } })
    const res = await ctx.app.request(
      '/api/sessions',
      json({ email: 'ann@xn--bcher-kva.example', password: PASSWORD }),
    )
    expect(res.status).toBe(201)
    const again = await signIn(
      db,
      { email: ' ANN@Bücher.EXAMPLE ', password: PASSWORD, ip: '192.0.2.1' },
      ctx.clock.now(),
    )
    expect(again).toMatchObject({ ok: true })
  })

  it('refuses the same person under another spelling, and what is not an address', async () => {
    expect(
      await createUser(db, { email: 'ann@xn--bcher-kva.example', name: 'Ann 2', role: 'rep' }),
    ).toMatchObject({ ok: false, code: 'duplicate_email' })
    expect(
      await createUser(db, { email: 'dana@localhost', name: 'Dana', role: 'rep' }),
    ).toMatchObject({
      ok: false,
      code: 'invalid_email',
    })
  })
})

describe('rows stored before there was one canonicaliser', () => {
  // As the old code wrote them: trimmed, NFC, lower case, the domain left in Unicode.
  const at = (minutes: number) => new Date(ctx.clock.now().getTime() + minutes * 60_000)

  it('rewrites a Unicode suppression row, so it blocks mail to the punycode form', async () => {
    await db
      .insert(suppressions)
      .values({ email: 'eve@bücher.example', reason: 'manual', createdAt: at(0) })
    const id = await enqueueAsset(db, ctx.clock.now(), 'eve@xn--bcher-kva.example')

    const report = await canonicaliseStoredAddresses(db)
    expect(report.rewritten.suppressions).toBe(1)
    expect(
      await db.select().from(suppressions).where(eq(suppressions.email, 'eve@bücher.example')),
    ).toEqual([])
    expect(await findSuppression(db, 'eve@xn--bcher-kva.example')).toMatchObject({
      reason: 'manual',
    })
    await sendAll()
    expect((await outboxRow(db, id)).status).toBe('suppressed')
  })

  it('rewrites users, contacts, outbox recipients and unsubscribe tokens', async () => {
    const userId = newId()
    await db
      .insert(users)
      .values({ id: userId, email: 'fay@bücher.example', name: 'Fay', role: 'rep' })
    const contactId = newId()
    await db.insert(contacts).values({
      id: contactId,
      email: 'Gus@Bücher.example',
      emailDisplay: 'Gus@Bücher.example',
      source: 'manual',
    })
    const outboxId = await enqueueAsset(db, ctx.clock.now(), 'gus@xn--bcher-kva.example')
    await db.update(outbox).set({ recipient: 'gus@bücher.example' }).where(eq(outbox.id, outboxId))
    const oldToken = 'a'.repeat(26)
    await db
      .insert(unsubscribeTokens)
      .values({ tokenHash: hashToken(oldToken), email: 'gus@bücher.example' })

    const report = await canonicaliseStoredAddresses(db)
    expect(report.rewritten).toMatchObject({
      users: 1,
      contacts: 1,
      outbox: 1,
      unsubscribeTokens: 1,
    })
    const [user] = await db.select().from(users).where(eq(users.id, userId))
    expect(user!.email).toBe('fay@xn--bcher-kva.example')
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, contactId))
    expect(contact).toMatchObject({
      email: 'gus@xn--bcher-kva.example',
      emailDisplay: 'Gus@Bücher.example',
    })
    expect((await outboxRow(db, outboxId)).recipient).toBe('gus@xn--bcher-kva.example')
    const [token] = await db
      .select()
      .from(unsubscribeTokens)
      .where(eq(unsubscribeTokens.tokenHash, hashToken(oldToken)))
    expect(token!.email).toBe('gus@xn--bcher-kva.example')
    // The link in the mail still works, and suppresses the canonical address.
    expect(await unsubscribe(db, oldToken, { via: 'page' }, ctx.clock.now())).toMatchObject({
      email: 'gus@xn--bcher-kva.example',
    })
  })

  it('keeps the earlier of two suppressions for one address, and leaves two accounts for a person to merge', async () => {
    await suppress(db, { email: 'hal@xn--bcher-kva.example', reason: 'unsubscribe' }, at(10))
    await db
      .insert(suppressions)
      .values({ email: 'hal@bücher.example', reason: 'hard_bounce', createdAt: at(5) })
    await suppress(db, { email: 'ida@xn--bcher-kva.example', reason: 'complaint' }, at(5))
    await db
      .insert(suppressions)
      .values({ email: 'ida@bücher.example', reason: 'manual', createdAt: at(10) })
    const first = await createUser(db, {
      email: 'jo@xn--bcher-kva.example',
      name: 'Jo',
      role: 'rep',
    })
    const twinId = newId()
    await db
      .insert(users)
      .values({ id: twinId, email: 'jo@bücher.example', name: 'Jo (old)', role: 'rep' })

    const report = await canonicaliseStoredAddresses(db)
    expect(report.suppressionsMerged).toBe(2)
    expect(await findSuppression(db, 'hal@xn--bcher-kva.example')).toMatchObject({
      reason: 'hard_bounce',
    })
    expect(await findSuppression(db, 'ida@xn--bcher-kva.example')).toMatchObject({
      reason: 'complaint',
    })
    expect(
      (await db.select().from(suppressions)).filter((s) => s.email.includes('bücher')),
    ).toEqual([])
    expect(report.collisions).toEqual([
      {
        table: 'users',
        key: twinId,
        email: 'jo@bücher.example',
        canonical: 'jo@xn--bcher-kva.example',
      },
    ])
    const [kept] = await db.select().from(users).where(eq(users.email, 'jo@xn--bcher-kva.example'))
    expect(kept!.id).toBe(first.ok ? first.user.id : null)
  })

  it('changes nothing on a second run', async () => {
    const report = await canonicaliseStoredAddresses(db)
    expect(report.rewritten).toEqual({
      users: 0,
      contacts: 0,
      suppressions: 0,
      outbox: 0,
      unsubscribeTokens: 0,
    })
    expect(report.suppressionsMerged).toBe(0)
    // The twin account is still reported: nothing merges it but a person.
    expect(report.collisions.map((c) => c.table)).toEqual(['users'])
  })

  it('runs once at start-up: a later start skips the scan', async () => {
    await db.delete(settings).where(eq(settings.key, 'migration:canonical-addresses'))
    await db
      .insert(suppressions)
      .values({ email: 'kim@bücher.example', reason: 'manual', createdAt: at(0) })
    expect((await migrateStoredAddresses(ctx.deps))?.rewritten.suppressions).toBe(1)
    await db
      .insert(suppressions)
      .values({ email: 'lou@bücher.example', reason: 'manual', createdAt: at(0) })
    expect(await migrateStoredAddresses(ctx.deps)).toBeNull()
    expect(
      await db.select().from(suppressions).where(eq(suppressions.email, 'lou@bücher.example')),
    ).toHaveLength(1)
  })
})
