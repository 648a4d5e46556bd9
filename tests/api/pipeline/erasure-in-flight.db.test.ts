import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, mailboxMessages, outbox, suppressions } from '../../../api/db/schema.ts'
import { hashToken, newId } from '../../../api/ids.ts'
import { erasePerson } from '../../../api/pipeline/erasure.ts'
import type { SendOutcome, Transport } from '../../../api/email/transport.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { held } from '../tracking/fixtures.ts'
import { enqueueAsset, mailboxTransport, outboxRow, testWorker } from '../email/outbox-fixtures.ts'

// A message already handed to the transport (outbox status `sending`) when its recipient is
// erased: too late to stop it, but whatever the send answers, the worker's record of it keeps
// nothing of them: no address in the row or its error, no copy in the dev mailbox, no address on
// the do-not-email list, and no way back to `pending` (its message is gone).

const ctx = await setupTestApp()
const { db } = ctx.deps
const admin = await addUser(ctx, 'admin')

/** A transport that waits for `gate` before answering with `answer` (the dev mailbox for 'sent'). */
type Answer = (address: string) => SendOutcome | 'deliver' | Promise<never>

function heldTransport(answer: Answer) {
  const entered = held()
  const gate = held()
  const mailbox = mailboxTransport(ctx)
  const transport: Transport = {
    name: 'dev',
    async send(msg) {
      entered.release()
      await gate.promise
      const outcome = answer(msg.to.address)
      return outcome === 'deliver' ? mailbox.send(msg) : outcome
    },
    async close() {},
  }
  return { transport, entered, gate }
}

async function erasedWhileSending(answer: Answer, options: { dies?: boolean } = {}) {
  const tag = Math.random().toString(36).slice(2, 8)
  const address = `mira.${tag}@harbourline.example`
  const contactId = newId()
  await db.insert(contacts).values({
    id: contactId,
    email: address,
    emailDisplay: address,
    firstName: 'Mira',
    lastName: `Thornquist${tag}`,
    source: 'inbound',
  })
  const outboxId = await enqueueAsset(db, ctx.clock.now(), address)
  const { transport, entered, gate } = heldTransport(answer)
  const worker = testWorker(ctx, transport)
  const draining = worker.drainOnce()
  await entered.promise
  expect((await outboxRow(db, outboxId)).status).toBe('sending')
  const erased = await erasePerson(
    db,
    contactId,
    { reason: 'request', actor: admin, confirm: address },
    ctx.clock.now(),
  )
  expect(erased.ok).toBe(true)
  gate.release()
  // A worker that died never answers: another claims the row once the lease runs out.
  if (!options.dies) await draining
  ctx.clock.advance(24 * 3_600_000)
  await testWorker(ctx, mailboxTransport(ctx)).drainOnce()

  const row = await outboxRow(db, outboxId)
  const rowText = JSON.stringify(row).toLowerCase()
  const copies = await db
    .select({ id: mailboxMessages.id })
    .from(mailboxMessages)
    .where(
      sql`${mailboxMessages.outboxId} = ${outboxId} or ${mailboxMessages.to} ilike ${'%' + address + '%'}`,
    )
  const listed = await db
    .select({ email: suppressions.email, reason: suppressions.reason })
    .from(suppressions)
    .where(sql`${suppressions.email} in (${address}, ${hashToken(address)})`)
  return { row, rowText, address, copies, listed }
}

describe('erasing a person whose message is being sent', () => {
  it('sent: recorded as sent, without them, and no copy in the dev mailbox', async () => {
    const r = await erasedWhileSending(() => 'deliver')
    expect(r.row).toMatchObject({ status: 'sent', recipient: null })
    expect(r.rowText).not.toContain(r.address)
    expect(r.copies).toEqual([])
    expect(r.listed).toEqual([{ email: hashToken(r.address), reason: 'erased' }])
  })

  it('a retryable failure quoting the address: never back to pending, the error not kept', async () => {
    const r = await erasedWhileSending((to) => ({
      ok: false,
      kind: 'retryable',
      code: 'smtp_451',
      message: `451 4.2.0 <${to}>: mailbox busy, try later`,
    }))
    expect(r.row).toMatchObject({ status: 'suppressed', recipient: null })
    expect(r.rowText).not.toContain(r.address)
    expect(r.copies).toEqual([])
  })

  it('a hard bounce quoting the address: failed, and the address in clear not put back on the do-not-email list', async () => {
    const r = await erasedWhileSending((to) => ({
      ok: false,
      kind: 'permanent',
      code: 'smtp_550',
      message: `550 5.1.1 <${to}>: Recipient address rejected`,
      hardBounce: true,
    }))
    expect(r.row).toMatchObject({ status: 'failed', recipient: null })
    expect(r.rowText).not.toContain(r.address)
    expect(r.listed).toEqual([{ email: hashToken(r.address), reason: 'erased' }])
  })

  it('a worker that died while sending it: claimed again once its lease runs out, and suppressed, not failed', async () => {
    const r = await erasedWhileSending(() => new Promise<never>(() => {}), { dies: true })
    expect(r.row).toMatchObject({
      status: 'suppressed',
      recipient: null,
      lastErrorKind: 'suppressed',
    })
    expect(r.rowText).not.toContain(r.address)
  })

  it('a message to someone else, in the same state, is recorded as before', async () => {
    const outboxId = await enqueueAsset(db, ctx.clock.now(), 'kept@harbourline.example')
    const { transport, entered, gate } = heldTransport((to) => ({
      ok: false,
      kind: 'permanent',
      code: 'smtp_550',
      message: `550 5.1.1 <${to}>: Recipient address rejected`,
      hardBounce: true,
    }))
    const draining = testWorker(ctx, transport).drainOnce()
    await entered.promise
    gate.release()
    await draining
    expect(await outboxRow(db, outboxId)).toMatchObject({
      status: 'failed',
      recipient: 'kept@harbourline.example',
      lastError: 'smtp_550: 550 5.1.1 <kept@harbourline.example>: Recipient address rejected',
    })
    const [listed] = await db
      .select({ reason: suppressions.reason })
      .from(suppressions)
      .where(eq(suppressions.email, 'kept@harbourline.example'))
    expect(listed).toEqual({ reason: 'hard_bounce' })
  })
})
