import { eq, inArray, sql } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { rowsOf } from '../../../api/db/raw-sql.ts'
import { outbox } from '../../../api/db/schema.ts'
import type { OutgoingEmail, SendOutcome, Transport } from '../../../api/email/transport.ts'
import { failure } from '../../../api/email/transport.ts'
import { eventually } from '../../eventually.ts'
import { setupTestApp } from '../../helpers.ts'
import { enqueueAsset, mailboxTransport, outboxRow, testWorker } from './outbox-fixtures.ts'

// Issue 19, item 2: the worker used to record a batch's sends at its end, so a crash mid-batch
// re-sent everything the server had already accepted. These tests stop a worker mid-batch (its
// transport holds the next sends unanswered, as a process killed at that moment would) and read
// what the database says at that moment.

const ctx = await setupTestApp({ MAIL_FROM: 'Frontdoor <hello@frontdoor.example>' })
const db = ctx.deps.db

/** A provider that accepts the first `accept` messages at once and holds every later one. */
function holdingTransport(accept: number) {
  const accepted: string[] = []
  const held: Array<{ msg: OutgoingEmail; answer: (o: SendOutcome) => void }> = []
  const transport: Transport = {
    name: 'smtp',
    send(msg) {
      if (accepted.length < accept) {
        accepted.push(msg.id)
        return Promise.resolve({ ok: true, providerId: `<${msg.id}@test>` })
      }
      return new Promise((answer) => held.push({ msg, answer }))
    },
    async close() {},
  }
  /** Ends the held sends as "server unreachable", which ends the batch. */
  const letGo = () => {
    for (const h of held.splice(0))
      h.answer(failure('retryable', 'ECONNECTION', 'connection refused'))
  }
  return { transport, accepted, held, letGo }
}

async function enqueueMany(n: number, tag: string) {
  const ids: string[] = []
  for (let i = 0; i < n; i++)
    ids.push(await enqueueAsset(db, ctx.clock.now(), `${tag}-${i}@northwind.example`))
  return ids
}

const statusOf = async (ids: string[]) => {
  const rows = await db
    .select({ id: outbox.id, status: outbox.status })
    .from(outbox)
    .where(inArray(outbox.id, ids))
  return Object.fromEntries(rows.map((r) => [r.id, r.status]))
}

describe('a worker stopped mid-batch', () => {
  it('has recorded as sent every message the transport accepted before it stopped', async () => {
    const ids = await enqueueMany(20, 'crash')
    const provider = holdingTransport(6)
    const drain = testWorker(ctx, provider.transport, { concurrency: 4 }).drainOnce()
    // Six accepted, then all four lanes wait on an unanswered send: the moment of a kill -9.
    await eventually(() => provider.held.length === 4)
    const status = await statusOf(ids)
    for (const id of provider.accepted) expect(status[id]).toBe('sent')
    expect(Object.values(status).filter((s) => s === 'sent')).toHaveLength(6)
    // In flight at the "kill": at most the concurrency, and not marked sent.
    for (const { msg } of provider.held) expect(status[msg.id]).toBe('sending')
    provider.letGo()
    const result = await drain
    expect(result.sent).toBe(6)
  })

  it('claims with a one-minute lease, so a dead worker’s rows go out again a minute later', async () => {
    await db.delete(outbox)
    const ids = await enqueueMany(5, 'dead')
    const provider = holdingTransport(0)
    const dying = testWorker(ctx, provider.transport, { concurrency: 1, workerId: 'dying' })
    const drain = dying.drainOnce()
    await eventually(() => provider.held.length === 1)
    const row = await outboxRow(db, ids[0]!)
    expect(row.leaseUntil).toEqual(new Date(ctx.clock.now().getTime() + 60_000))

    // Not yet after 59 s; after 61 s another worker takes every row, the untouched ones included.
    ctx.clock.advance(59_000)
    const early = await testWorker(ctx, mailboxTransport(ctx), { workerId: 'early' }).drainOnce()
    expect(early.claimed).toBe(0)
    ctx.clock.advance(2_000)
    const late = await testWorker(ctx, mailboxTransport(ctx), { workerId: 'late' }).drainOnce()
    expect(late).toMatchObject({ claimed: 5, sent: 5 })
    provider.letGo()
    await drain
    expect(Object.values(await statusOf(ids))).toEqual(Array(5).fill('sent'))
  })

  it('renews the leases of a batch while the worker lives', async () => {
    await db.delete(outbox)
    const [id] = await enqueueMany(1, 'alive')
    const provider = holdingTransport(0)
    const worker = testWorker(ctx, provider.transport, { heartbeatMs: 5, workerId: 'alive' })
    const drain = worker.drainOnce()
    await eventually(() => provider.held.length === 1)
    ctx.clock.advance(50_000)
    const renewed = new Date(ctx.clock.now().getTime() + 60_000)
    await eventually(
      async () => (await outboxRow(db, id!)).leaseUntil?.getTime() === renewed.getTime(),
    )
    ctx.clock.advance(30_000) // 80 s after the claim, but the lease was renewed at 50 s
    expect((await testWorker(ctx, mailboxTransport(ctx)).drainOnce()).claimed).toBe(0)
    provider.letGo()
    await drain
    const [row] = await db.select().from(outbox).where(eq(outbox.id, id!))
    expect(row!.status).toBe('pending')
  })
})

describe('a row left mid-way by an error', () => {
  it('is not kept leased by the heartbeat of the worker’s later batches, so it goes out after its lease', async () => {
    await db.delete(outbox)
    const [orphan] = await enqueueMany(1, 'orphan')
    // The first send throws (a transport bug, or the database failing mid-row): the row keeps its
    // claim, to be taken again when the lease runs out.
    const provider = holdingTransport(0)
    const send = provider.transport.send
    provider.transport.send = (msg) =>
      msg.id === orphan ? Promise.reject(new Error('boom (test)')) : send(msg)
    const worker = testWorker(ctx, provider.transport, { heartbeatMs: 5, workerId: 'busy' })
    expect(await worker.drainOnce()).toMatchObject({ claimed: 1, sent: 0 })
    const lease = (await outboxRow(db, orphan!)).leaseUntil
    expect(lease).toEqual(new Date(ctx.clock.now().getTime() + 60_000))

    // The same worker, still alive, works on a long batch whose lease its heartbeat renews.
    const [busy] = await enqueueMany(1, 'busy')
    const drain = worker.drainOnce()
    await eventually(() => provider.held.length === 1)
    ctx.clock.advance(50_000)
    const renewed = new Date(ctx.clock.now().getTime() + 60_000)
    await eventually(
      async () => (await outboxRow(db, busy!)).leaseUntil?.getTime() === renewed.getTime(),
    )
    // Only that batch's lease: the earlier row's claim still ends when it did.
    expect((await outboxRow(db, orphan!)).leaseUntil).toEqual(lease)
    ctx.clock.advance(30_000)
    const other = await testWorker(ctx, mailboxTransport(ctx), { workerId: 'other' }).drainOnce()
    expect(other).toMatchObject({ claimed: 1, sent: 1 })
    expect(await statusOf([orphan!])).toEqual({ [orphan!]: 'sent' })
    provider.letGo()
    await drain
  })
})

describe('a send the database refuses to record', () => {
  /**
   * Makes the database refuse the first `times` statements that record sends, with a real error
   * from a trigger (a sequence counts them: its increments survive the rolled-back statement).
   */
  async function refuseRecords(times: number) {
    await db.execute(sql`create sequence outbox_refusals`)
    await db.execute(
      sql.raw(`create function outbox_refuse_sent() returns trigger language plpgsql as $$
        begin
          if new.status = 'sent' and nextval('outbox_refusals') <= ${times} then
            raise exception 'record refused (test)';
          end if;
          return new;
        end $$`),
    )
    await db.execute(
      sql`create trigger outbox_refuse_sent before update on outbox for each row execute function outbox_refuse_sent()`,
    )
  }
  afterEach(async () => {
    await db.execute(sql`drop trigger if exists outbox_refuse_sent on outbox`)
    await db.execute(sql`drop function if exists outbox_refuse_sent()`)
    await db.execute(sql`drop sequence if exists outbox_refusals`)
  })

  /** A provider that accepts everything, counting what it was given. */
  function acceptingTransport() {
    const accepted: string[] = []
    const transport: Transport = {
      name: 'smtp',
      send: (msg) => {
        accepted.push(msg.id)
        return Promise.resolve({ ok: true, providerId: `<${msg.id}@test>` })
      },
      async close() {},
    }
    return { transport, accepted }
  }

  it('records the sends answered together in one go, trying once more after a refusal', async () => {
    await db.delete(outbox)
    const ids = await enqueueMany(8, 'retry')
    await refuseRecords(1)
    const provider = acceptingTransport()
    const result = await testWorker(ctx, provider.transport, { concurrency: 4 }).drainOnce()
    expect(result).toMatchObject({ claimed: 8, sent: 8 })
    expect(Object.values(await statusOf(ids))).toEqual(Array(8).fill('sent'))
    expect(provider.accepted.toSorted()).toEqual(ids.toSorted())
    const [{ refusals }] = rowsOf<{ refusals: number }>(
      await db.execute(sql`select last_value::int as refusals from outbox_refusals`),
    ) as [{ refusals: number }]
    // One refused statement and its retry carried the first group; later groups went through.
    expect(refusals).toBeGreaterThanOrEqual(2)
  })

  it('stops sending when sends cannot be recorded: at most the ones in flight go out twice', async () => {
    await db.delete(outbox)
    const ids = await enqueueMany(20, 'refused')
    await refuseRecords(1_000)
    const provider = acceptingTransport()
    const worker = testWorker(ctx, provider.transport, { concurrency: 4, workerId: 'refused' })
    await expect(worker.drainOnce()).rejects.toThrow(/could not be recorded/)
    // The lanes stopped after the refused record: only the sends in flight went out, and the
    // rows not tried are back to pending, not left to a lease.
    expect(provider.accepted.length).toBeGreaterThan(0)
    expect(provider.accepted.length).toBeLessThanOrEqual(4)
    const status = await statusOf(ids)
    for (const id of provider.accepted) expect(status[id]).toBe('sending')
    expect(Object.values(status).filter((s) => s === 'pending')).toHaveLength(
      20 - provider.accepted.length,
    )

    // The database works again; after the lease the unrecorded ones go out once more.
    await db.execute(sql`drop trigger outbox_refuse_sent on outbox`)
    ctx.clock.advance(61_000)
    const again = acceptingTransport()
    const later = await testWorker(ctx, again.transport, { workerId: 'after' }).drainOnce()
    expect(later.sent).toBe(20)
    expect(Object.values(await statusOf(ids))).toEqual(Array(20).fill('sent'))
    const twice = again.accepted.filter((id) => provider.accepted.includes(id))
    expect(twice.toSorted()).toEqual(provider.accepted.toSorted())
    expect(twice.length).toBeLessThanOrEqual(4)
  })
})
