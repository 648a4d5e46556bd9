import { pruneExpired } from '../../../api/background.ts'
import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  contacts,
  outbox,
  users,
  webhookAttempts,
  webhookDeliveries,
  webhookSuccesses,
  webhookEvents,
  webhookSubscriptions,
} from '../../../api/db/schema.ts'
import { rowsOf } from '../../../api/db/raw-sql.ts'
import { recordWebhookEvent, type WebhookEventType } from '../../../api/db/webhook-outbox.ts'
import type { Resolver } from '../../../api/grader/engine/guarded-fetch.ts'
import { newId } from '../../../api/ids.ts'
import { parseEnv } from '../../../api/env.ts'
import {
  claimDeliveries,
  createEventBodies,
  deliverDue,
  type EventBodies,
  recordDelivered,
  sendWebhook,
  startWebhookDelivery,
  WEBHOOK_DELIVERY_DEFAULTS,
  webhookFetcher,
  type WebhookDeliveryOptions,
} from '../../../api/integrations/webhook-delivery.ts'
import {
  checkWebhookUrl,
  createSubscription,
  findSubscription,
  setSubscriptionEnabled,
  subscriptionAdmins,
  webhookTargets,
} from '../../../api/integrations/webhooks.ts'
import { listAttempts } from '../../../api/integrations/webhook-log.ts'
import { createApp } from '../../../api/app.ts'
import { createLogger } from '../../../api/logger.ts'
import { changeDeal } from '../../../api/pipeline/deal-changes.ts'
import { qualifyContact } from '../../../api/pipeline/qualification.ts'
import {
  addUser,
  form,
  json,
  ORIGIN,
  setupTestApp,
  signedInAs,
  type TestContext,
} from '../../helpers.ts'
import { eventually } from '../../eventually.ts'
import { held, startReceiver, type Receiver } from './receiver.ts'

// Webhooks: events written with the change, delivered at least once, in order per subscription,
// signed so that the standardwebhooks package's own verify accepts them, retried with backoff,
// never to a private address, and a dead or slow receiver holds up only itself.

let ctx: TestContext
let receiver: Receiver
let admin: { cookie: string; user: { id: string; email: string } }
const DAY = 24 * 60 * 60 * 1000

const options = (over: Partial<WebhookDeliveryOptions> = {}): WebhookDeliveryOptions => ({
  ...WEBHOOK_DELIVERY_DEFAULTS,
  workerId: 'test-worker',
  random: () => 0,
  // The product's 10 s answer timeout (not 2 s: a loopback receiver on a loaded machine took
  // longer); a test that means a timeout sets its own, with a receiver that never answers.
  ...over,
})

function drain(over: Partial<WebhookDeliveryOptions> = {}, resolve?: Resolver) {
  const o = options(over)
  const fetcher = webhookFetcher(ctx.deps, { timeoutMs: o.timeoutMs, resolve })
  return deliverDue(ctx.deps, fetcher, o).finally(() => fetcher.close())
}

/** Rounds until nothing is claimed (each round sends one batch per subscription). */
async function drainAll(over: Partial<WebhookDeliveryOptions> = {}) {
  let total = 0
  for (let i = 0; i < 100; i++) {
    const r = await drain(over)
    total += r.delivered
    if (r.claimed === 0) return total
  }
  throw new Error('did not drain')
}

async function subscribe(url: string, events: WebhookEventType[]) {
  return createSubscription(ctx.deps.db, { url, events, createdBy: admin.user.id }, ctx.deps.now())
}

// Delivery never reads the payload: these tests send stand-ins, not each type's documented data.
async function emit(type: WebhookEventType, data: Record<string, unknown> = {}) {
  return ctx.deps.db.transaction((tx) =>
    recordWebhookEvent(tx, type, data as never, ctx.deps.now()),
  )
}

beforeAll(async () => {
  receiver = await startReceiver()
  ctx = await setupTestApp({ WEBHOOK_ALLOW_ADDRESSES: `127.0.0.1:${receiver.port}` })
  admin = await signedInAs(ctx, 'admin')
})
afterAll(() => receiver.close())
beforeEach(async () => {
  // Signatures carry the attempt's time; the verifier allows five minutes around its own clock.
  ctx.clock.set(new Date())
  receiver.received.length = 0
  receiver.answer = () => ({ status: 204 })
  receiver.hungUp = 0
  await ctx.deps.db.delete(webhookSubscriptions)
})

/**
 * A subscription's deliveries, oldest event first: the queue's rows (waiting, given up) and the
 * worker's successes, which leave the queue for webhook_successes.
 */
async function deliveriesOf(subscriptionId: string) {
  const queued = await ctx.deps.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.subscriptionId, subscriptionId))
  const runs = await ctx.deps.db
    .select()
    .from(webhookSuccesses)
    .where(eq(webhookSuccesses.subscriptionId, subscriptionId))
  const delivered = runs.flatMap((r) =>
    r.deliveries.map(([eventId, , attempts, statusCode, latencyMs, responseExcerpt]) => ({
      subscriptionId,
      eventId,
      status: 'delivered' as const,
      attempts,
      leaseUntil: null,
      lockedBy: null,
      lastStatusCode: statusCode,
      lastError: null,
      latencyMs,
      responseExcerpt,
    })),
  )
  return [...queued, ...delivered].sort((a, b) => (a.eventId < b.eventId ? -1 : 1))
}

/** A claim as one worker makes it: up to 8 subscriptions, batches of 50, a minute's lease. */
const claimAs = (workerId: string) =>
  claimDeliveries(ctx.deps.db, {
    now: ctx.deps.now(),
    limit: 8,
    batchSize: 50,
    leaseMs: 60_000,
    workerId,
  })

/**
 * The test database, counting the statements that read webhook_events on their way to it (and
 * failing them, if asked).
 */
function countingEventReads(fail = false) {
  const dialect = new PgDialect()
  let reads = 0
  const db = new Proxy(ctx.deps.db, {
    get(target, key) {
      if (key === 'execute')
        return (query: SQL) => {
          if (/\bwebhook_events\b/.test(dialect.sqlToQuery(query).sql)) {
            reads++
            if (fail) return Promise.reject(new Error('connection lost'))
          }
          return target.execute(query)
        }
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value
    },
  })
  return { db, eventReads: () => reads }
}

describe('webhook delivery', () => {
  it('signs each delivery so that the standardwebhooks verifier accepts it', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const eventId = await emit('deal.won', { deal: { id: 'd1' } })
    expect(await drain()).toMatchObject({ claimed: 1, delivered: 1 })
    expect(receiver.received).toHaveLength(1)
    const { headers, body } = receiver.received[0]!
    expect(headers['webhook-id']).toBe(eventId)
    const verified = new Webhook(sub.secret).verify(body, headers) as {
      type: string
      data: unknown
    }
    expect(verified).toMatchObject({ type: 'deal.won', data: { deal: { id: 'd1' } } })
    // Tampering with the body, or another secret, fails verification.
    expect(() => new Webhook(sub.secret).verify(body.replace('d1', 'd2'), headers)).toThrow()
    const other = `whsec_${Buffer.from('another secret of 24 bytes').toString('base64')}`
    expect(() => new Webhook(other).verify(body, headers)).toThrow()
  })

  it('sends only the events a subscription asked for, and nothing while it is off', async () => {
    const sub = await subscribe(receiver.url(), ['deal.lost'])
    await emit('deal.won')
    const lost = await emit('deal.lost')
    await drainAll()
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([lost])
    await ctx.deps.db
      .update(webhookSubscriptions)
      .set({ disabledAt: ctx.deps.now() })
      .where(eq(webhookSubscriptions.id, sub.id))
    await emit('deal.lost')
    expect(await drain()).toMatchObject({ claimed: 0 })
  })

  it('delivers every event once, in order, after the receiver was down for a while', async () => {
    await subscribe(receiver.url(), ['deal.stage_changed'])
    await receiver.down()
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push(await emit('deal.stage_changed', { n: i }))
    // Only the head is tried while it fails: the others wait behind it. The first claim takes
    // the head with the events after it, and leaves those unsent when the head fails; a head
    // that failed is claimed alone.
    for (let round = 0; round < 3; round++) {
      const r = await drain()
      expect(r).toMatchObject(
        round === 0
          ? { claimed: 4, retried: 1, released: 3 }
          : { claimed: 1, retried: 1, released: 0 },
      )
      expect(await drain()).toMatchObject({ claimed: 0 }) // backing off
      ctx.clock.advance(6 * 60 * 60 * 1000)
    }
    await receiver.up()
    expect(await drainAll()).toBe(4)
    const got = receiver.received.map((r) => r.headers['webhook-id'])
    expect(got).toEqual(ids)
    expect(
      receiver.received.map((r) => (JSON.parse(r.body) as { data: { n: number } }).data.n),
    ).toEqual([0, 1, 2, 3])
  })

  it('backs off exponentially, logs what the receiver said, and gives up on an event after three days', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    receiver.answer = () => ({ status: 500, body: 'database on fire' })
    const eventId = await emit('deal.won')
    const waits: number[] = []
    for (let i = 0; i < 40; i++) {
      const r = await drain()
      if (r.claimed === 0) break
      const [row] = await ctx.deps.db
        .select()
        .from(webhookDeliveries)
        .where(
          and(eq(webhookDeliveries.subscriptionId, sub.id), eq(webhookDeliveries.eventId, eventId)),
        )
      if (row!.status === 'failed') break
      waits.push(row!.runAfter.getTime() - ctx.deps.now().getTime())
      ctx.clock.set(row!.runAfter)
    }
    expect(waits.slice(0, 4)).toEqual([15_000, 30_000, 60_000, 120_000])
    expect(Math.max(...waits)).toBe(3 * 60 * 60 * 1000)
    const log = await ctx.app.request(`/api/admin/webhooks/${sub.id}`, {
      headers: { cookie: admin.cookie },
    })
    const { attempts, subscription } = (await log.json()) as {
      attempts: Array<{ statusCode: number; responseExcerpt: string; deliveryStatus: string }>
      subscription: { disabledAt: string | null }
    }
    expect(attempts[0]).toMatchObject({ statusCode: 500, responseExcerpt: 'database on fire' })
    // The event is given up before it is three days old; the subscription, failing for less
    // than three days, stays on for the events after it (the next test turns one off).
    expect(attempts[0]!.deliveryStatus).toBe('failed')
    expect(subscription.disabledAt).toBeNull()
  })

  it('records what a receiver answered even when its body has a NUL byte (a text column refuses one)', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    receiver.answer = () => ({ status: 200, body: 'o\u0000k' })
    const delivered = await emit('deal.won')
    expect(await drain()).toMatchObject({ claimed: 1, delivered: 1 })
    receiver.answer = () => ({ status: 500, body: 'no\u0000pe' })
    const failed = await emit('deal.won')
    expect(await drain()).toMatchObject({ claimed: 1, retried: 1 })
    expect((await deliveriesOf(sub.id)).map((d) => [d.eventId, d.status, d.lockedBy])).toEqual([
      [delivered, 'delivered', null],
      [failed, 'pending', null],
    ])
    const test = await ctx.app.request(`/api/admin/webhooks/${sub.id}/test`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    expect(test.status).toBe(200)
    expect(await test.json()).toMatchObject({ attempt: { ok: false, statusCode: 500 } })
    expect((await listAttempts(ctx.deps.db, sub.id)).map((a) => a.responseExcerpt)).toEqual([
      'no\ufffdpe',
      'no\ufffdpe',
      'o\ufffdk',
    ])
  })

  it('turns off a subscription failing for three days and emails its admin', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    await receiver.down()
    await emit('deal.won')
    await drain()
    ctx.clock.advance(3 * DAY)
    await emit('deal.won') // a newer event keeps the queue going
    await drainAll()
    const [row] = await ctx.deps.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.id, sub.id))
    expect(row!.disabledReason).toMatch(/failed for three days/)
    const mail = await ctx.deps.db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, admin.user.email))
    expect(mail.map((m) => (m.payload as { template: string }).template)).toContain(
      'webhook-disabled',
    )
    await receiver.up()
  })

  it('turns off a subscription whose receiver answers 410 Gone', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    receiver.answer = () => ({ status: 410 })
    await emit('deal.won')
    expect(await drain()).toMatchObject({ claimed: 1, disabled: 1 })
    const [row] = await ctx.deps.db
      .select()
      .from(webhookSubscriptions)
      .where(eq(webhookSubscriptions.id, sub.id))
    expect(row!.disabledReason).toBe('The receiver answered 410 Gone.')
    // Turned back on, the waiting event goes out.
    receiver.answer = () => ({ status: 200 })
    const on = await ctx.app.request(`/api/admin/webhooks/${sub.id}/enable`, {
      method: 'POST',
      headers: { cookie: admin.cookie, 'content-type': 'application/json', origin: ORIGIN },
      body: '{}',
    })
    expect(on.status).toBe(200)
    expect(await drainAll()).toBe(1)
  })

  it('tells every active admin that a subscription was turned off once its creator no longer is one', async () => {
    const turnedOffMail = async (subscriptionId: string) =>
      (await ctx.deps.db.select().from(outbox))
        .filter((m) => m.dedupeKey?.startsWith(`webhook-disabled:${subscriptionId}:`))
        .map((m) => m.recipient)
        .sort()
    const activeAdmins = async () =>
      (
        await ctx.deps.db
          .select({ email: users.email })
          .from(users)
          .where(and(eq(users.role, 'admin'), isNull(users.disabledAt)))
      )
        .map((u) => u.email)
        .sort()
    receiver.answer = () => ({ status: 410 })
    for (const change of [{ disabledAt: ctx.deps.now() }, { role: 'rep' as const }]) {
      const creator = await addUser(ctx, 'admin')
      const sub = await createSubscription(
        ctx.deps.db,
        { url: receiver.url(), events: ['deal.won'], createdBy: creator.id },
        ctx.deps.now(),
      )
      // While the creator is an active admin, the email is theirs alone.
      expect(await subscriptionAdmins(ctx.deps.db, sub.id)).toEqual([
        { id: creator.id, name: creator.name, email: creator.email },
      ])
      await ctx.deps.db.update(users).set(change).where(eq(users.id, creator.id))
      await emit('deal.won')
      expect(await drain()).toMatchObject({ disabled: 1 })
      const told = await turnedOffMail(sub.id)
      expect(told).not.toContain(creator.email)
      expect(told).toContain(admin.user.email)
      expect(told).toEqual(await activeAdmins())
      await ctx.deps.db.delete(webhookSubscriptions)
    }
  })

  it('keeps the events of a subscription that is off, and sends them in order once it is on again', async () => {
    // As the page ("events wait until it is on again") and the turned-off email promise.
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const before = await emit('deal.won', { n: 0 })
    await setSubscriptionEnabled(ctx.deps.db, sub.id, false, ctx.deps.now())
    const whileOff = [await emit('deal.won', { n: 1 }), await emit('deal.won', { n: 2 })]
    await emit('deal.lost') // not asked for
    expect(await drain()).toMatchObject({ claimed: 0 })
    await setSubscriptionEnabled(ctx.deps.db, sub.id, true, ctx.deps.now())
    await drainAll()
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([before, ...whileOff])
  })

  it('gives up on a receiver slower than the timeout without holding up another', async () => {
    const slow = await subscribe(receiver.url('/slow'), ['deal.won'])
    await subscribe(receiver.url('/fast'), ['deal.won'])
    const late = held<{ status: number }>()
    receiver.answer = (req) => (req.path === '/slow' ? late.promise : { status: 200 })
    await emit('deal.won')
    const r = await drain({ timeoutMs: 300 })
    late.release({ status: 200 })
    expect(r).toMatchObject({ claimed: 2, delivered: 1, retried: 1 })
    const [row] = await deliveriesOf(slow.id)
    expect(row).toMatchObject({ status: 'pending', lastError: 'no answer within 300 ms' })
  })

  it('gives up on a receiver that answers at once but drips its body for longer than the timeout', async () => {
    const drip = await subscribe(receiver.url('/drip'), ['deal.won'])
    receiver.answer = () => ({ status: 200, drip: true })
    await emit('deal.won')
    // A byte every 20 ms: never quiet long enough for the idle timeout, and the 4 KB excerpt
    // would take 80 s to fill. Only the delivery's overall time limit ends this answer.
    const r = await drain({ timeoutMs: 300 })
    expect(r).toMatchObject({ claimed: 1, delivered: 0, retried: 1 })
    const [row] = await deliveriesOf(drip.id)
    expect(row).toMatchObject({ status: 'pending', lastError: 'no answer within 300 ms' })
    await eventually(() => receiver.hungUp === 1) // and the receiver saw it hang up
  })
})

describe('a backlog is sent in batches, in order, and never lost', () => {
  it('claims a backlog in one batch per subscription, reads on past a full one, and records every delivery and its log entry', async () => {
    const a = await subscribe(receiver.url('/a'), ['lead.captured'])
    const b = await subscribe(receiver.url('/b'), ['lead.captured'])
    const ids: string[] = []
    for (let i = 0; i < 12; i++) ids.push(await emit('lead.captured', { n: i }))
    // Claimed 10 each, the last 2 each read ahead by the lane holding the subscription.
    expect(await drain({ batchSize: 10 })).toMatchObject({ claimed: 24, delivered: 24 })
    expect(await drain({ batchSize: 10 })).toMatchObject({ claimed: 0 })
    for (const [sub, path] of [
      [a, '/a'],
      [b, '/b'],
    ] as const) {
      const got = receiver.received.filter((r) => r.path === path)
      expect(got.map((r) => r.headers['webhook-id'])).toEqual(ids)
      for (const r of got) expect(new Webhook(sub.secret).verify(r.body, r.headers)).toBeTruthy()
      const rows = await deliveriesOf(sub.id)
      expect(rows.map((d) => [d.status, d.attempts, d.leaseUntil, d.lastStatusCode])).toEqual(
        ids.map(() => ['delivered', 1, null, 204]),
      )
      // The delivery log shows each success, newest first, with what the receiver answered.
      const log = await listAttempts(ctx.deps.db, sub.id)
      expect(log.map((l) => l.eventId)).toEqual([...ids].reverse())
      for (const l of log)
        expect(l).toMatchObject({
          ok: true,
          statusCode: 204,
          error: null,
          manual: false,
          deliveryStatus: 'delivered',
          eventType: 'lead.captured',
        })
      // Kept on the deliveries themselves: a success writes no log row of its own.
      expect(
        await ctx.deps.db
          .select()
          .from(webhookAttempts)
          .where(eq(webhookAttempts.subscriptionId, sub.id)),
      ).toEqual([])
    }
  })

  it('reads each event once for all the subscriptions it goes to, however the lanes interleave', async () => {
    const subs = [
      await subscribe(receiver.url('/a'), ['deal.won']),
      await subscribe(receiver.url('/b'), ['deal.won']),
      await subscribe(receiver.url('/c'), ['deal.won']),
    ]
    const ids: string[] = []
    for (let i = 0; i < 7; i++) ids.push(await emit('deal.won', { n: i }))
    const { db, eventReads } = countingEventReads()
    const o = options({ claimSize: 2, batchSize: 3 })
    const fetcher = webhookFetcher(ctx.deps, { timeoutMs: o.timeoutMs })
    const result = await deliverDue({ ...ctx.deps, db }, fetcher, o).finally(() => fetcher.close())
    expect(result).toMatchObject({ claimed: 21, delivered: 21 })
    // The claim's two, then the lanes' reads ahead (3, 2): each event read by whichever lane
    // asked first, the others served the same body, even while that read was on its way.
    expect(eventReads()).toBe(3)
    for (const [i, sub] of subs.entries()) {
      const got = receiver.received.filter((r) => r.path === `/${'abc'[i]}`)
      expect(got.map((r) => r.headers['webhook-id'])).toEqual(ids)
      expect(
        got.map(
          (r) => (new Webhook(sub.secret).verify(r.body, r.headers) as { data: unknown }).data,
        ),
      ).toEqual(ids.map((_, n) => ({ n })))
    }
  })

  it('keeps the bodies of the newest events it read, up to its bound', async () => {
    const ids: string[] = []
    await subscribe(receiver.url(), ['deal.won'])
    for (let i = 0; i < 3; i++) ids.push(await emit('deal.won', { n: i }))
    const { db, eventReads } = countingEventReads()
    const bodies = createEventBodies(db, 2)
    const [first, second] = [bodies(ids), bodies(ids.slice(1))]
    expect([...(await first).keys()]).toEqual(ids)
    expect([...(await second).keys()]).toEqual(ids.slice(1))
    expect(eventReads()).toBe(1)
    await bodies(ids.slice(1))
    expect(eventReads()).toBe(1)
    // The oldest was forgotten past the bound: read again.
    expect(JSON.parse((await bodies([ids[0]!])).get(ids[0]!)!.payload)).toMatchObject({
      type: 'deal.won',
      data: { n: 0 },
    })
    expect(eventReads()).toBe(2)
    expect((await bodies(['no-such-event'])).size).toBe(0)
  })

  it('gives a claimed head back when its events cannot be read', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    await emit('deal.won')
    const { db } = countingEventReads(true)
    await expect(
      claimDeliveries(db, {
        now: ctx.deps.now(),
        limit: 8,
        batchSize: 50,
        leaseMs: 60_000,
        workerId: 'w1',
      }),
    ).rejects.toThrow('connection lost')
    expect((await deliveriesOf(sub.id)).map((d) => [d.attempts, d.lockedBy])).toEqual([[0, null]])
    expect(await drain()).toMatchObject({ claimed: 1, delivered: 1 })
  })

  /** Bodies read as the worker reads them, but for the events in `gone` (deleted meanwhile). */
  const bodiesWithout =
    (...gone: string[]): EventBodies =>
    async (ids) => {
      const found = await createEventBodies(ctx.deps.db)(ids)
      for (const id of gone) found.delete(id)
      return found
    }
  const claimWith = (bodies: EventBodies, batchSize: number) =>
    claimDeliveries(
      ctx.deps.db,
      { now: ctx.deps.now(), limit: 8, batchSize, leaseMs: 60_000, workerId: 'w1' },
      bodies,
    )

  it('sends nothing of a claim whose head has no body: a batch starts with its leased head', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await emit('deal.won', { n: i }))
    expect(await claimWith(bodiesWithout(ids[0]!), 50)).toEqual([])
    // The head's lease went back, its attempt not counted; the next claim sends all, in order.
    expect((await deliveriesOf(sub.id)).map((d) => [d.attempts, d.lockedBy])).toEqual([
      [0, null],
      [0, null],
      [0, null],
    ])
    expect(await drain()).toMatchObject({ claimed: 3, delivered: 3 })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids)
  })

  it('reads on behind a full claim even when a follower has no body', async () => {
    await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push(await emit('deal.won', { n: i }))
    const [batch] = await claimWith(bodiesWithout(ids[1]!), 3)
    expect(batch!.deliveries.map((d) => d.eventId)).toEqual([ids[0], ids[2]])
    expect(batch!.more).toBe(true)
  })

  it('stops a batch at a failure: what came before is delivered, what follows waits behind it, in order', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await emit('deal.won', { n: i }))
    receiver.answer = (req) =>
      req.headers['webhook-id'] === ids[2] ? { status: 503 } : { status: 204 }
    expect(await drain()).toMatchObject({ claimed: 5, delivered: 2, retried: 1, released: 2 })
    expect((await deliverDue()).map((d) => [d.status, d.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 1],
      ['pending', 1],
      ['pending', 0],
      ['pending', 0],
    ])
    expect(await drain()).toMatchObject({ claimed: 0 }) // the failed one backs off; the rest waits
    receiver.answer = () => ({ status: 204 })
    ctx.clock.advance(60_000)
    expect(await drain()).toMatchObject({ claimed: 1, delivered: 1 }) // a retried head goes alone
    // Its log: the failure (a log row) and the success after it (on the delivery), newest first.
    const log = await listAttempts(ctx.deps.db, sub.id)
    expect(
      log.filter((l) => l.eventId === ids[2]).map((l) => [l.ok, l.statusCode, l.deliveryStatus]),
    ).toEqual([
      [true, 204, 'delivered'],
      [false, 503, 'delivered'],
    ])
    expect(log[0]).toMatchObject({ eventId: ids[2], ok: true, manual: false })
    expect(await drain()).toMatchObject({ claimed: 2, delivered: 2 })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([
      ids[0],
      ids[1],
      ids[2],
      ids[2],
      ids[3],
      ids[4],
    ])
    function deliverDue() {
      return deliveriesOf(sub.id)
    }
  })

  it('a worker that dies holding a batch blocks its subscription only until the lease runs out; then the batch goes again, same ids', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await emit('deal.won', { n: i }))
    // The dead worker claimed and never recorded anything (killed mid-batch).
    const dead = await claimAs('dead-worker')
    expect(dead.map((b) => b.deliveries.map((d) => d.eventId))).toEqual([ids])
    expect(await drain({ workerId: 'w2' })).toMatchObject({ claimed: 0 })
    ctx.clock.advance(30_000)
    expect(await drain({ workerId: 'w2' })).toMatchObject({ claimed: 0 })
    ctx.clock.advance(31_000)
    expect(await drain({ workerId: 'w2' })).toMatchObject({ claimed: 3, delivered: 3 })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids)
    // The head was claimed twice (it had not failed, so the batch came with it again).
    expect((await deliveriesOf(sub.id)).map((d) => [d.status, d.attempts])).toEqual([
      ['delivered', 2],
      ['delivered', 1],
      ['delivered', 1],
    ])
  })

  it('a batch past batchMs records what it sent and goes on under a lease handed to its next delivery, without a new claim', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await emit('deal.won', { n: i }))
    const fourth = held<{ status: number }>()
    const inFourth = held<void>()
    receiver.answer = (req) => {
      // Sending the second takes the whole batchMs: the third goes under a handed-on lease.
      if (req.headers['webhook-id'] === ids[1]) ctx.clock.advance(1_000)
      if (req.headers['webhook-id'] !== ids[3]) return { status: 204 }
      inFourth.release()
      return fourth.promise
    }
    const draining = drain({ batchMs: 1_000 })
    await inFourth.promise
    // Mid-batch: the first two recorded, the third the head now, leased to this worker (a
    // crash here re-sends from the third on, nothing before it); the subscription stays held.
    const mid = await deliveriesOf(sub.id)
    expect(mid.map((d) => [d.status, d.attempts, d.lockedBy])).toEqual([
      ['delivered', 1, null],
      ['delivered', 1, null],
      ['pending', 1, 'test-worker'],
      ['pending', 0, null],
      ['pending', 0, null],
    ])
    expect(mid[2]!.leaseUntil!.getTime()).toBe(ctx.deps.now().getTime() + 60_000)
    const other = await claimAs('w2')
    expect(other).toEqual([])
    fourth.release({ status: 204 })
    expect(await draining).toMatchObject({ claimed: 5, delivered: 5, released: 0 })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids)
    const rows = await deliveriesOf(sub.id)
    expect(rows.map((d) => [d.status, d.attempts, d.leaseUntil, d.lockedBy])).toEqual(
      ids.map(() => ['delivered', 1, null, null]),
    )
  })

  it('an event committed after a later one was claimed waits for that lane: no second lane on the subscription', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const later = await emit('deal.won', { n: 2 })
    const [lane] = await claimAs('w1')
    expect(lane!.deliveries.map((d) => d.eventId)).toEqual([later])
    // An event whose id was taken before, in a transaction that commits only now.
    const earlier = await ctx.deps.db.transaction((tx) =>
      recordWebhookEvent(
        tx,
        'deal.won',
        { n: 1 } as never,
        new Date(ctx.deps.now().getTime() - 1_000),
      ),
    )
    expect(earlier < later).toBe(true)
    // While w1's lane holds the subscription, nobody claims it — not the earlier event, and not
    // the later one again behind it.
    expect(await claimAs('w2')).toEqual([])
    const sent = {
      delivery: lane!.deliveries[0]!,
      result: { ok: true, statusCode: 204, latencyMs: 1, error: null, responseExcerpt: null },
      at: ctx.deps.now(),
    }
    await recordDelivered(ctx.deps.db, [sent])
    // The lane is done: the earlier event goes next, once.
    const [next] = await claimAs('w2')
    expect(next!.subscriptionId).toBe(sub.id)
    expect(next!.deliveries.map((d) => d.eventId)).toEqual([earlier])
  })

  it('recording a lane’s successes leaves waiting an event committed among them after the lane read past it', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const at = (msAgo: number) => new Date(ctx.deps.now().getTime() - msAgo)
    const record = (ms: number) =>
      ctx.deps.db.transaction((tx) => recordWebhookEvent(tx, 'deal.won', {} as never, at(ms)))
    const first = await record(2_000)
    const last = await record(0)
    const [lane] = await claimAs('w1')
    expect(lane!.deliveries.map((d) => d.eventId)).toEqual([first, last])
    // Its id taken between the two, its transaction committed only after the lane read them.
    const between = await record(1_000)
    expect(first < between && between < last).toBe(true)
    await recordDelivered(
      ctx.deps.db,
      lane!.deliveries.map((delivery) => ({
        delivery,
        result: { ok: true, statusCode: 204, latencyMs: 1, error: null, responseExcerpt: null },
        at: ctx.deps.now(),
      })),
    )
    expect((await deliveriesOf(sub.id)).map((d) => [d.eventId, d.status])).toEqual([
      [first, 'delivered'],
      [between, 'pending'],
      [last, 'delivered'],
    ])
    expect(await drain()).toMatchObject({ claimed: 1, delivered: 1 })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([between])
  })

  it('sending again the head a lane holds leaves it queued: no second lane starts on the subscription', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await emit('deal.won', { n: i }))
    const [lane] = await claimAs('w1')
    expect(lane!.deliveries.map((d) => d.eventId)).toEqual(ids)
    const again = await ctx.app.request(
      `/api/admin/webhooks/${sub.id}/deliveries/${ids[0]}/resend`,
      {
        method: 'POST',
        headers: { cookie: admin.cookie, origin: ORIGIN },
      },
    )
    expect(again.status).toBe(200)
    expect(await claimAs('w2')).toEqual([])
    expect((await deliveriesOf(sub.id)).map((d) => [d.status, d.lockedBy])).toEqual([
      ['pending', 'w1'],
      ['pending', null],
      ['pending', null],
    ])
  })

  it('once a failed head goes through alone, the worker sends what waited behind it at once, not at its next idle poll', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await emit('deal.won', { n: i }))
    receiver.answer = () => ({ status: 503 })
    expect(await drain()).toMatchObject({ claimed: 3, retried: 1, released: 2 })
    receiver.answer = () => ({ status: 204 })
    ctx.clock.advance(DAY)
    receiver.received.length = 0
    // An idle poll far beyond the test's time: only a claim woken by the lane sends the rest.
    const worker = startWebhookDelivery(ctx.deps, { ...options(), idleMs: 3_600_000 })
    try {
      await eventually(() => receiver.received.length === 3)
    } finally {
      await worker.stop()
    }
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids)
    expect((await deliveriesOf(sub.id)).map((d) => d.status)).toEqual(ids.map(() => 'delivered'))
  })

  // Two connections: the deletion holds its lock while the successes are recorded.
  it('recording successes waits for a subscription being deleted, skips it, and records the others', async ({
    skip,
  }) => {
    // PGlite has one connection: nothing runs beside a transaction.
    if (ctx.database.engine !== 'postgres') skip()
    const a = await subscribe(receiver.url('/a'), ['deal.won'])
    const b = await subscribe(receiver.url('/b'), ['deal.won'])
    const id = await emit('deal.won')
    const lanes = await claimAs('w1')
    expect(lanes).toHaveLength(2)
    const successes = lanes.flatMap((lane) =>
      lane.deliveries.map((delivery) => ({
        delivery,
        result: { ok: true, statusCode: 204, latencyMs: 1, error: null, responseExcerpt: null },
        at: ctx.deps.now(),
      })),
    )
    const deleted = Promise.withResolvers<void>()
    const commit = Promise.withResolvers<void>()
    const deletion = ctx.deps.db.transaction(async (tx) => {
      await tx.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, a.id))
      deleted.resolve()
      await commit.promise
    })
    await deleted.promise
    const recording = recordDelivered(ctx.deps.db, successes)
    // Until the recording waits for the deletion's lock.
    await eventually(async () => {
      const [row] = rowsOf<{ n: number }>(
        await ctx.deps.db.execute(
          sql`select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`,
        ),
      )
      return row!.n > 0
    })
    commit.resolve()
    await deletion
    await recording
    expect((await deliveriesOf(b.id)).map((d) => [d.eventId, d.status])).toEqual([
      [id, 'delivered'],
    ])
    expect(await deliveriesOf(a.id)).toEqual([])
  })

  it('a lane stops at its next handoff once an admin turns its subscription off', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push(await emit('deal.won', { n: i }))
    receiver.answer = async (req) => {
      // Turned off while the first is being sent, which takes the whole batchMs.
      if (req.headers['webhook-id'] === ids[0])
        await setSubscriptionEnabled(ctx.deps.db, sub.id, false, ctx.deps.now())
      ctx.clock.advance(1_000)
      return { status: 204 }
    }
    expect(await drain({ batchMs: 1_000 })).toMatchObject({
      claimed: 4,
      delivered: 1,
      released: 3,
    })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([ids[0]])
    expect((await deliveriesOf(sub.id)).map((d) => [d.status, d.lockedBy])).toEqual([
      ['delivered', null],
      ['pending', null],
      ['pending', null],
      ['pending', null],
    ])
  })

  it('a lane gives its subscription up after laneMs, and a lease that ran out is not handed on', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push(await emit('deal.won', { n: i }))
    receiver.answer = () => {
      ctx.clock.advance(1_000)
      return { status: 204 }
    }
    // Handed on once (after the first), then the lane's time is up after the second.
    expect(await drain({ batchMs: 1_000, laneMs: 2_000 })).toMatchObject({
      claimed: 4,
      delivered: 2,
      released: 2,
    })
    expect((await deliveriesOf(sub.id)).map((d) => [d.status, d.lockedBy])).toEqual([
      ['delivered', null],
      ['delivered', null],
      ['pending', null],
      ['pending', null],
    ])
    // A worker whose lease ran out (or was never its own) hands nothing on, records what it sent.
    const [batch] = await claimAs('w1')
    const [third, fourth] = batch!.deliveries
    const sent = {
      delivery: third!,
      result: { ok: true, statusCode: 204, latencyMs: 1, error: null, responseExcerpt: null },
      at: ctx.deps.now(),
    }
    const handoff = {
      subscriptionId: sub.id,
      workerId: 'w1',
      from: third!.eventId,
      to: fourth!.eventId,
      leaseUntil: new Date(ctx.deps.now().getTime() + 120_000),
      url: batch!.url,
      secret: batch!.secret,
    }
    expect(
      await recordDelivered(ctx.deps.db, [], [{ ...handoff, workerId: 'w2', now: ctx.deps.now() }]),
    ).toEqual(new Set())
    const late = new Date(ctx.deps.now().getTime() + 60_000)
    expect(await recordDelivered(ctx.deps.db, [sent], [{ ...handoff, now: late }])).toEqual(
      new Set(),
    )
    expect((await deliveriesOf(sub.id)).map((d) => [d.status, d.attempts, d.lockedBy])).toEqual([
      ['delivered', 1, null],
      ['delivered', 1, null],
      ['delivered', 1, null],
      ['pending', 0, null],
    ])
  })

  it('the background worker, stopped mid-batch, records what it sent and leaves the rest to the next worker', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push(await emit('deal.won', { n: i }))
    const second = held<{ status: number }>()
    const inSecond = held<void>()
    receiver.answer = (req) => {
      if (req.headers['webhook-id'] !== ids[1]) return { status: 204 }
      inSecond.release()
      return second.promise
    }
    // A request's time limit well inside the 60 s lease: at 60 s a lane would never send past its
    // head (the lease check), and this test would pass without the stop being heeded mid-batch.
    const worker = startWebhookDelivery(ctx.deps, { idleMs: 10, timeoutMs: 30_000 })
    await inSecond.promise
    const stopped = worker.stop()
    second.release({ status: 204 })
    await stopped
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids.slice(0, 2))
    const rows = await deliveriesOf(sub.id)
    expect(rows.map((d) => d.status)).toEqual(['delivered', 'delivered', 'pending', 'pending'])
    expect(rows.every((d) => d.leaseUntil === null)).toBe(true)
    expect(await drain()).toMatchObject({ claimed: 2, delivered: 2 })
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids)
  })
  it('the background worker, stopped while its claim is on its way, gives the claimed lease back and sends nothing', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    await emit('deal.won', { n: 1 })
    // The worker's first query is its claim: held until the worker has been told to stop.
    const claiming = held<void>()
    const gate = held<void>()
    let first = true
    const db = new Proxy(ctx.deps.db, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown
        if (key !== 'execute' || typeof value !== 'function') return value
        return async (...args: unknown[]) => {
          if (first) {
            first = false
            claiming.release()
            await gate.promise
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
    const worker = startWebhookDelivery({ ...ctx.deps, db }, { idleMs: 10 })
    await claiming.promise
    const stopped = worker.stop()
    gate.release()
    await stopped
    expect(receiver.received).toHaveLength(0)
    const rows = await deliveriesOf(sub.id)
    expect(rows.map((d) => [d.status, d.attempts, d.leaseUntil, d.lockedBy])).toEqual([
      ['pending', 0, null, null],
    ])
    expect(await drain()).toMatchObject({ claimed: 1, delivered: 1 })
  })
})

describe('SSRF: webhook targets are public addresses only', () => {
  const targets = () => webhookTargets(ctx.deps.env)
  const privateUrls = [
    'http://10.0.0.1/hook',
    'http://192.168.1.10/hook',
    'http://172.16.0.5/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.2/hook',
    'http://0x7f000002/hook',
    'http://2130706434/hook',
    'http://[::1]/hook',
    'http://[::ffff:10.0.0.1]/hook',
    'http://[fe80::1]/hook',
    'http://[fc00::1]/hook',
    'http://100.64.0.1/hook',
    'http://0.0.0.0/hook',
    'http://localhost/hook',
    'http://metadata.google.internal/computeMetadata/v1/',
    'https://hooks.example.com:8443/hook',
    'ftp://hooks.example.com/hook',
    'http://user:pass@hooks.example.com/hook',
  ]

  it.each(privateUrls)('refuses %s at subscription with a reason', async (url) => {
    const res = await ctx.app.request(
      '/api/admin/webhooks',
      json({ url, events: ['deal.won'] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    expect(res.status).toBe(422)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('url_not_allowed')
    expect(body.error.message.length).toBeGreaterThan(20)
  })

  it('refuses a name that resolves to a private address, even among public ones', async () => {
    const answers: Record<string, string[]> = {
      'hooks.example.com': ['93.184.215.14'],
      'inside.example.com': ['10.1.2.3'],
      'mixed.example.com': ['93.184.215.14', '169.254.169.254'],
    }
    const resolve: Resolver = async (host) =>
      (answers[host] ?? []).map((address) => ({ address, family: 4 as const }))
    expect(await checkWebhookUrl('https://hooks.example.com/h', targets(), resolve)).toMatchObject({
      ok: true,
    })
    const inside = await checkWebhookUrl('https://inside.example.com/h', targets(), resolve)
    expect(inside).toMatchObject({ ok: false })
    expect(inside.ok || inside.message).toMatch(
      /inside\.example\.com resolves to IPv4 10\.1\.2\.3 is private/,
    )
    expect(await checkWebhookUrl('https://mixed.example.com/h', targets(), resolve)).toMatchObject({
      ok: false,
    })
    expect(
      await checkWebhookUrl('https://nowhere.example.com/h', targets(), resolve),
    ).toMatchObject({ ok: false })
  })

  it('delivers to a receiver on a port other than 80 and 443 that no setting names', async () => {
    // The address allowed (a test's loopback), its port not: the fetcher must take any port.
    const env = parseEnv({ NODE_ENV: 'test', WEBHOOK_ALLOW_ADDRESSES: '127.0.0.1' })
    const fetcher = webhookFetcher({ env, version: 'test' }, { timeoutMs: 5_000 })
    try {
      const target = { url: receiver.url('/any-port'), sign: () => 'v1,x' }
      const sent = await sendWebhook(
        fetcher,
        target,
        { eventId: 'e1', payload: '{}' },
        new Date(),
        5_000,
      )
      expect(sent).toMatchObject({ ok: true, error: null })
    } finally {
      await fetcher.close()
    }
  })

  it('takes a receiver on any port but a bad one (self-hosted n8n listens on 5678)', async () => {
    const resolve: Resolver = async () => [{ address: '93.184.215.14', family: 4 }]
    for (const url of [
      'https://n8n.example.com:5678/webhook/abc',
      'https://hooks.example.com:8443/h',
    ])
      expect(await checkWebhookUrl(url, targets(), resolve), url).toMatchObject({ ok: true })
    expect(await checkWebhookUrl('http://mail.example.com:25/', targets(), resolve)).toEqual({
      ok: false,
      message: 'That URL cannot receive webhooks: port 25 is not for HTTP.',
    })
  })

  it('refuses at delivery a name whose DNS answer turned private after subscribing', async () => {
    // Subscribed while the name was public; now it answers with the metadata address.
    const sub = await subscribe(`http://rebind.example.com:${receiver.port}/hook`, ['deal.won'])
    await emit('deal.won')
    const rebound: Resolver = async () => [{ address: '169.254.169.254', family: 4 }]
    const r = await drain({}, rebound)
    expect(r).toMatchObject({ claimed: 1, retried: 1 })
    expect(receiver.received).toHaveLength(0)
    const [row] = await ctx.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.subscriptionId, sub.id))
    expect(row!.lastError).toMatch(/^refused: .*169\.254\.169\.254/)
  })

  it('refuses at delivery an address literal that is private (a row written some other way)', async () => {
    const sub = await subscribe('http://169.254.169.254/latest/meta-data/', ['deal.won'])
    await emit('deal.won')
    expect(await drain()).toMatchObject({ claimed: 1, retried: 1 })
    const [row] = await ctx.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.subscriptionId, sub.id))
    expect(row!.lastError).toMatch(/^refused:/)
  })

  it('accepts the allow-listed loopback receiver only outside production', async () => {
    const res = await ctx.app.request(
      '/api/admin/webhooks',
      json({ url: receiver.url(), events: ['deal.won'] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    expect(res.status).toBe(201)
    const production = webhookTargets({
      NODE_ENV: 'production',
      WEBHOOK_ALLOW_ADDRESSES: `127.0.0.1:${receiver.port}`,
    })
    expect(await checkWebhookUrl(receiver.url(), production)).toMatchObject({ ok: false })
    // And in production only https.
    const resolve: Resolver = async () => [{ address: '93.184.215.14', family: 4 }]
    expect(await checkWebhookUrl('http://hooks.example.com/h', production, resolve)).toMatchObject({
      ok: false,
    })
    expect(await checkWebhookUrl('https://hooks.example.com/h', production, resolve)).toMatchObject(
      { ok: true },
    )
  })
})

describe('the webhook admin API', () => {
  it('sends a test event and sends a delivered event again with the same id', async () => {
    const res = await ctx.app.request(
      '/api/admin/webhooks',
      json({ url: receiver.url(), events: ['deal.won'] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    const { subscription } = (await res.json()) as { subscription: { id: string; secret: string } }
    const post = (path: string) =>
      ctx.app.request(path, { method: 'POST', headers: { cookie: admin.cookie, origin: ORIGIN } })
    const test = await post(`/api/admin/webhooks/${subscription.id}/test`)
    expect(test.status).toBe(200)
    expect(await test.json()).toMatchObject({ attempt: { ok: true, statusCode: 204 } })
    expect(
      new Webhook(subscription.secret).verify(
        receiver.received[0]!.body,
        receiver.received[0]!.headers,
      ),
    ).toMatchObject({
      type: 'webhook.test',
    })
    const eventId = await emit('deal.won')
    await drainAll()
    const again = await post(`/api/admin/webhooks/${subscription.id}/deliveries/${eventId}/resend`)
    expect(again.status).toBe(200)
    const ids = receiver.received.map((r) => r.headers['webhook-id'])
    expect(ids.slice(1)).toEqual([eventId, eventId])
    const log = (await (
      await ctx.app.request(`/api/admin/webhooks/${subscription.id}`, {
        headers: { cookie: admin.cookie },
      })
    ).json()) as { attempts: Array<{ manual: boolean; eventType: string }> }
    expect(log.attempts.map((a) => [a.eventType, a.manual])).toEqual([
      ['deal.won', true],
      ['deal.won', false],
      ['webhook.test', true],
    ])
    expect(
      (await post(`/api/admin/webhooks/${subscription.id}/deliveries/${newId()}/resend`)).status,
    ).toBe(404)
  })

  it('a test event or a send again that works ends the failing streak, as a delivery does', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const failingSince = async () =>
      (
        await ctx.deps.db
          .select({ at: webhookSubscriptions.failingSince })
          .from(webhookSubscriptions)
          .where(eq(webhookSubscriptions.id, sub.id))
      )[0]!.at
    const post = (path: string) =>
      ctx.app.request(path, { method: 'POST', headers: { cookie: admin.cookie, origin: ORIGIN } })
    receiver.answer = () => ({ status: 503 })
    const eventId = await emit('deal.won')
    expect(await drain()).toMatchObject({ retried: 1 })
    const since = await failingSince()
    expect(since).not.toBeNull()
    // A send by hand that fails changes nothing.
    ctx.clock.advance(60_000)
    await post(`/api/admin/webhooks/${sub.id}/test`)
    expect(await failingSince()).toEqual(since)
    receiver.answer = () => ({ status: 204 })
    expect((await post(`/api/admin/webhooks/${sub.id}/test`)).status).toBe(200)
    expect(await failingSince()).toBeNull()
    // Failing again, then the event sent again by hand.
    receiver.answer = () => ({ status: 503 })
    await emit('deal.won')
    ctx.clock.advance(DAY)
    await drain()
    expect(await failingSince()).not.toBeNull()
    receiver.answer = () => ({ status: 204 })
    await post(`/api/admin/webhooks/${sub.id}/deliveries/${eventId}/resend`)
    expect(await failingSince()).toBeNull()
  })

  it('turning off one already off, or on one already on, changes nothing', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const row = async () =>
      (
        await ctx.deps.db
          .select()
          .from(webhookSubscriptions)
          .where(eq(webhookSubscriptions.id, sub.id))
      )[0]!
    const post = (path: string) =>
      ctx.app.request(path, { method: 'POST', headers: { cookie: admin.cookie, origin: ORIGIN } })
    receiver.answer = () => ({ status: 410 })
    await emit('deal.won')
    expect(await drain()).toMatchObject({ disabled: 1 })
    const off = await row()
    ctx.clock.advance(60_000)
    expect((await post(`/api/admin/webhooks/${sub.id}/disable`)).status).toBe(200)
    expect(await row()).toEqual(off)
    expect(off.disabledReason).toBe('The receiver answered 410 Gone.')
    // On again, and failing: the streak and the backoff stay as they are.
    expect((await post(`/api/admin/webhooks/${sub.id}/enable`)).status).toBe(200)
    receiver.answer = () => ({ status: 503 })
    expect(await drain()).toMatchObject({ retried: 1 })
    const failing = await row()
    const waiting = await deliveriesOf(sub.id)
    expect(failing.failingSince).not.toBeNull()
    ctx.clock.advance(60_000)
    expect((await post(`/api/admin/webhooks/${sub.id}/enable`)).status).toBe(200)
    expect(await row()).toEqual(failing)
    expect(await deliveriesOf(sub.id)).toEqual(waiting)
    expect((await post(`/api/admin/webhooks/${newId()}/disable`)).status).toBe(404)
  })

  it('is for admins and tokens with webhooks:manage only, and validates what it is sent', async () => {
    const rep = await signedInAs(ctx, 'rep')
    expect(
      (await ctx.app.request('/api/admin/webhooks', { headers: { cookie: rep.cookie } })).status,
    ).toBe(403)
    const bad = await ctx.app.request(
      '/api/admin/webhooks',
      json(
        { url: receiver.url(), events: ['deal.exploded'] },
        { cookie: admin.cookie, origin: ORIGIN },
      ),
    )
    expect(bad.status).toBe(422)
    const none = await ctx.app.request(
      '/api/admin/webhooks',
      json({ url: receiver.url(), events: [] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    expect(none.status).toBe(422)
    const tokenRes = await ctx.app.request(
      '/api/admin/api-tokens',
      json(
        { name: 'zapier', scopes: ['webhooks:manage'] },
        { cookie: admin.cookie, origin: ORIGIN },
      ),
    )
    const { token } = (await tokenRes.json()) as { token: string }
    const viaToken = await ctx.app.request('/api/admin/webhooks', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url(), events: ['lead.captured'] }),
    })
    expect(viaToken.status).toBe(201)
  })
})

describe('editing a subscription and rotating its secret', () => {
  const headers = () => ({ cookie: admin.cookie, origin: ORIGIN })
  const patch = (id: string, body: unknown) =>
    ctx.app.request(`/api/admin/webhooks/${id}`, { ...json(body, headers()), method: 'PATCH' })
  const rotate = async (id: string) => {
    const res = await ctx.app.request(`/api/admin/webhooks/${id}/rotate-secret`, {
      method: 'POST',
      headers: headers(),
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { subscription: { secret: string } }).subscription.secret
  }
  const row = async (id: string) => (await findSubscription(ctx.deps.db, id))!
  const signatures = (r: { headers: Record<string, string> }) =>
    r.headers['webhook-signature']!.split(' ')
  const verifies = (secret: string, r: { headers: Record<string, string>; body: string }) => {
    try {
      new Webhook(secret).verify(r.body, r.headers)
      return true
    } catch {
      return false
    }
  }

  it('refuses a URL that is not public, or events it does not know, with 422, and changes nothing', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const before = await row(sub.id)
    const refusals: Array<[unknown, string]> = [
      [{ url: 'http://10.0.0.1/hook' }, 'url_not_allowed'],
      [{ url: 'http://127.0.0.2/hook', events: ['deal.lost'] }, 'url_not_allowed'],
      [{ url: 'http://169.254.169.254/latest/meta-data/' }, 'url_not_allowed'],
      [{ url: 'http://[::1]/hook' }, 'url_not_allowed'],
      [{ url: 'http://localhost/hook' }, 'url_not_allowed'],
      [{ url: receiver.url('/new'), events: ['deal.exploded'] }, 'invalid_input'],
      [{ url: receiver.url('/new'), events: [] }, 'invalid_input'],
      [{}, 'invalid_input'],
    ]
    for (const [body, code] of refusals) {
      const res = await patch(sub.id, body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
    }
    // The page's form (JavaScript off) goes back to the subscription's page with the reason.
    const back = await ctx.app.request(
      `/api/admin/webhooks/${sub.id}`,
      form({ url: 'http://192.168.1.10/hook', 'event:deal.lost': 'on' }, { cookie: admin.cookie }),
    )
    expect(back.status).toBe(303)
    const to = new URL(back.headers.get('location')!, ORIGIN)
    expect(to.pathname).toBe(`/app/admin/webhooks/${sub.id}`)
    expect(to.searchParams.get('error')).toMatch(/public addresses/)
    expect(await row(sub.id)).toEqual(before)
    // An unknown subscription is a 404, whatever is sent.
    expect((await patch(newId(), { url: receiver.url('/new') })).status).toBe(404)
  })

  it('sends waiting and later deliveries to the new URL; new events apply to events recorded from then on', async () => {
    const sub = await subscribe(receiver.url('/old'), ['deal.won'])
    const waiting = await emit('deal.won')
    const res = await patch(sub.id, { url: receiver.url('/new'), events: ['deal.lost'] })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      subscription: { url: receiver.url('/new'), events: ['deal.lost'] },
    })
    await emit('deal.won') // no longer subscribed to
    const lost = await emit('deal.lost')
    expect(await drainAll()).toBe(2)
    expect(receiver.received.map((r) => [r.path, r.headers['webhook-id']])).toEqual([
      ['/new', waiting],
      ['/new', lost],
    ])
    // The page's form: the URL and one checkbox per event.
    const saved = await ctx.app.request(
      `/api/admin/webhooks/${sub.id}`,
      form(
        { url: receiver.url('/form'), 'event:deal.won': 'on', 'event:lead.captured': 'on' },
        { cookie: admin.cookie },
      ),
    )
    expect(saved.status).toBe(303)
    expect(new URL(saved.headers.get('location')!, ORIGIN).searchParams.get('notice')).toMatch(
      /^Saved/,
    )
    expect(await row(sub.id)).toMatchObject({
      url: receiver.url('/form'),
      events: ['lead.captured', 'deal.won'],
    })
  })

  it.each(['edited', 'rotated'] as const)(
    'a lane holding a batch stops at its next hand-off once its subscription is %s',
    async (change) => {
      const sub = await subscribe(receiver.url('/old'), ['deal.won'])
      const ids: string[] = []
      for (let i = 0; i < 4; i++) ids.push(await emit('deal.won', { n: i }))
      let secret = sub.secret
      receiver.answer = async (req) => {
        // Changed while the first is being sent, which takes the whole batchMs.
        if (req.headers['webhook-id'] === ids[0]) {
          if (change === 'edited')
            expect((await patch(sub.id, { url: receiver.url('/new') })).status).toBe(200)
          else secret = await rotate(sub.id)
        }
        ctx.clock.advance(1_000)
        return { status: 204 }
      }
      expect(await drain({ batchMs: 1_000 })).toMatchObject({
        claimed: 4,
        delivered: 1,
        released: 3,
      })
      expect(receiver.received).toHaveLength(1)
      receiver.answer = () => ({ status: 204 })
      expect(await drainAll()).toBe(3)
      expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual(ids)
      const rest = receiver.received.slice(1)
      if (change === 'edited') expect(rest.map((r) => r.path)).toEqual(['/new', '/new', '/new'])
      // The rest carry the new secret's signature (and the old one's, within the day).
      else for (const r of rest) expect(signatures(r)).toHaveLength(2)
      for (const r of rest) expect(verifies(secret, r)).toBe(true)
    },
  )

  it('signs with the new secret and the old one for 24 hours, every way a delivery is sent', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const first = sub.secret
    const second = await rotate(sub.id)
    expect(second).toMatch(/^whsec_/)
    expect(second).not.toBe(first)
    const eventId = await emit('deal.won')
    await drainAll()
    const post = (path: string) =>
      ctx.app.request(`/api/admin/webhooks/${sub.id}${path}`, {
        method: 'POST',
        headers: headers(),
      })
    expect((await post('/test')).status).toBe(200)
    expect((await post(`/deliveries/${eventId}/resend`)).status).toBe(200)
    expect(receiver.received).toHaveLength(3)
    for (const r of receiver.received) {
      expect(signatures(r)).toHaveLength(2)
      expect(verifies(second, r)).toBe(true)
      expect(verifies(first, r)).toBe(true)
    }
    // Rotating again within the day: the one current until now is the one still honoured.
    const third = await rotate(sub.id)
    receiver.received.length = 0
    await emit('deal.won')
    await drainAll()
    const [r] = receiver.received
    expect(verifies(third, r!)).toBe(true)
    expect(verifies(second, r!)).toBe(true)
    expect(verifies(first, r!)).toBe(false)
  })

  it('signs with the new secret only once the 24 hours are over', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    // Rotated a day and a minute ago (the verifier checks the timestamp against the real clock).
    const now = ctx.deps.now()
    ctx.clock.set(new Date(now.getTime() - DAY - 60_000))
    const current = await rotate(sub.id)
    ctx.clock.set(now)
    const eventId = await emit('deal.won')
    await drainAll()
    const post = (path: string) =>
      ctx.app.request(`/api/admin/webhooks/${sub.id}${path}`, {
        method: 'POST',
        headers: headers(),
      })
    expect((await post('/test')).status).toBe(200)
    expect((await post(`/deliveries/${eventId}/resend`)).status).toBe(200)
    expect(receiver.received).toHaveLength(3)
    for (const r of receiver.received) {
      expect(signatures(r)).toHaveLength(1)
      expect(verifies(current, r)).toBe(true)
      expect(verifies(sub.secret, r)).toBe(false)
    }
  })

  it('is refused with 403 to a reader without webhooks:manage, and changes nothing', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const before = await row(sub.id)
    const tokenRes = await ctx.app.request(
      '/api/admin/api-tokens',
      json(
        { name: 'reader', scopes: ['leads:read', 'deals:read', 'deals:write', 'campaigns:read'] },
        headers(),
      ),
    )
    const { token } = (await tokenRes.json()) as { token: string }
    const callers: Record<string, string>[] = [{ authorization: `Bearer ${token}` }]
    for (const role of ['rep', 'sdr'] as const)
      callers.push({ cookie: (await signedInAs(ctx, role)).cookie, origin: ORIGIN })
    for (const who of callers) {
      const edit = await ctx.app.request(`/api/admin/webhooks/${sub.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...who },
        body: JSON.stringify({ url: receiver.url('/theirs') }),
      })
      expect(edit.status).toBe(403)
      const rotated = await ctx.app.request(`/api/admin/webhooks/${sub.id}/rotate-secret`, {
        method: 'POST',
        headers: who,
      })
      expect(rotated.status).toBe(403)
    }
    expect(await row(sub.id)).toEqual(before)
  })
})

describe('a subscription’s signing secret', () => {
  const headers = () => ({ cookie: admin.cookie, origin: ORIGIN })
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await ctx.app.request(`/api/admin/webhooks${path}`, {
      ...init,
      headers: { ...headers(), ...(init.headers as Record<string, string> | undefined) },
    })
    return { status: res.status, text: await res.text() }
  }

  it('is in the answers to subscribing and rotating only, never in a read, an edit or a toggle', async () => {
    const created = await call('', json({ url: receiver.url(), events: ['deal.won'] }))
    expect(created.status).toBe(201)
    const { subscription } = JSON.parse(created.text) as {
      subscription: { id: string; secret: string }
    }
    expect(subscription.secret).toMatch(/^whsec_/)
    const rotated = await call(`/${subscription.id}/rotate-secret`, { method: 'POST' })
    expect(rotated.status).toBe(200)
    const current = (JSON.parse(rotated.text) as { subscription: { secret: string } }).subscription
      .secret
    expect(current).not.toBe(subscription.secret)

    const reads = {
      list: await call(''),
      one: await call(`/${subscription.id}`),
      patch: await call(`/${subscription.id}`, {
        ...json({ events: ['deal.won', 'deal.lost'] }),
        method: 'PATCH',
      }),
      edit: await call(`/${subscription.id}`, json({ url: receiver.url('/v2') })),
      disable: await call(`/${subscription.id}/disable`, { method: 'POST' }),
      enable: await call(`/${subscription.id}/enable`, { method: 'POST' }),
    }
    for (const [name, answer] of Object.entries(reads)) {
      expect(answer.status, name).toBe(200)
      expect(answer.text, name).toContain(subscription.id)
      // Neither the current secret, nor the one rotated out, nor a field for either.
      expect(answer.text, name).not.toContain(current)
      expect(answer.text, name).not.toContain(subscription.secret)
      expect(answer.text, name).not.toMatch(/"(secret|previousSecret)"/)
    }
  })

  it('is revealed on request, with the previous one while it still signs, and the reveal is logged', async () => {
    const lines: string[] = []
    const app = createApp({
      ...ctx.deps,
      logger: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
    })
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const first = sub.secret
    const rotated = await app.request(`/api/admin/webhooks/${sub.id}/rotate-secret`, {
      method: 'POST',
      headers: headers(),
    })
    const { secret } = ((await rotated.json()) as { subscription: { secret: string } }).subscription

    const revealed = await app.request(`/api/admin/webhooks/${sub.id}/secret`, {
      headers: headers(),
    })
    expect(revealed.status).toBe(200)
    expect(await revealed.json()).toEqual({
      secret,
      previousSecret: first,
      previousSecretExpiresAt: new Date(ctx.deps.now().getTime() + DAY).toISOString(),
    })
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(logged.filter((l) => l.msg === 'webhook secret revealed')).toEqual([
      expect.objectContaining({ subscriptionId: sub.id, actorId: admin.user.id }),
    ])
    // The log says who looked, never what they saw.
    expect(lines.join('\n')).not.toContain(secret)

    // A day on, the old secret no longer signs and is not revealed.
    ctx.clock.set(new Date(ctx.deps.now().getTime() + DAY + 1000))
    const later = await app.request(`/api/admin/webhooks/${sub.id}/secret`, { headers: headers() })
    expect(await later.json()).toEqual({
      secret,
      previousSecret: null,
      previousSecretExpiresAt: null,
    })
    const unknown = await app.request(`/api/admin/webhooks/${newId()}/secret`, {
      headers: headers(),
    })
    expect(unknown.status).toBe(404)
  })

  it('comes to the page after subscribing, rotating or “Reveal the secret” in a one-minute cookie for that page, never in the URL', async () => {
    const created = await ctx.app.request(
      '/api/admin/webhooks',
      form({ url: receiver.url(), 'event:deal.won': 'on' }, { cookie: admin.cookie }),
    )
    expect(created.status).toBe(303)
    const page = created.headers.get('location')!.split('?')[0]!
    const id = page.split('/').at(-1)!
    const sub = await findSubscription(ctx.deps.db, id)
    const cookieFor = (secret: string) =>
      `fd_webhook_secret=${secret}; HttpOnly; SameSite=Strict; Path=${page}; Max-Age=60`
    expect(page).toMatch(/^\/app\/admin\/webhooks\/[0-9a-f-]{36}$/)
    expect(created.headers.get('set-cookie')).toBe(cookieFor(sub!.secret))
    expect(created.headers.get('location')).not.toContain(sub!.secret)

    const rotated = await ctx.app.request(`/api/admin/webhooks/${id}/rotate-secret`, {
      ...form({}, { cookie: admin.cookie }),
    })
    expect(rotated.status).toBe(303)
    const now = (await findSubscription(ctx.deps.db, id))!.secret
    expect(rotated.headers.get('set-cookie')).toBe(cookieFor(now))

    const revealed = await ctx.app.request(`/api/admin/webhooks/${id}/secret`, {
      ...form({}, { cookie: admin.cookie }),
    })
    expect(revealed.status).toBe(303)
    expect(revealed.headers.get('location')).toMatch(new RegExp(`^${page}\\?notice=`))
    expect(revealed.headers.get('set-cookie')).toBe(cookieFor(now))

    // Editing and toggling by form set no such cookie.
    const toggled = await ctx.app.request(`/api/admin/webhooks/${id}/disable`, {
      ...form({}, { cookie: admin.cookie }),
    })
    expect(toggled.status).toBe(303)
    expect(toggled.headers.get('set-cookie')).toBeNull()
  })

  it('is not revealed to a rep', async () => {
    const sub = await subscribe(receiver.url(), ['deal.won'])
    const rep = await signedInAs(ctx, 'rep')
    const res = await ctx.app.request(`/api/admin/webhooks/${sub.id}/secret`, {
      headers: { cookie: rep.cookie },
    })
    expect(res.status).toBe(403)
    expect(await res.text()).not.toContain(sub.secret)
  })
})

describe('events are written with the change that causes them', () => {
  it('qualifying, claiming and winning a deal record their events; a rolled-back change records none', async () => {
    await subscribe(receiver.url(), [
      'deal.qualified',
      'deal.claimed',
      'deal.stage_changed',
      'deal.won',
    ])
    const lostBefore = await ctx.deps.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.type, 'deal.lost'))
    const contactId = newId()
    await ctx.deps.db.insert(contacts).values({
      id: contactId,
      email: `w${contactId}@buyer.example`,
      emailDisplay: 'w@buyer.example',
      source: 'inbound',
    })
    const now = ctx.deps.now()
    const { dealId } = await ctx.deps.db.transaction((tx) =>
      qualifyContact(tx, {
        contactId,
        companyId: null,
        source: 'inbound',
        evidence: { kind: 'form' },
        title: 'W',
        now,
      }),
    )
    await ctx.deps.db.transaction((tx) =>
      changeDeal(tx, dealId, now, {
        set: { ownerId: admin.user.id },
        events: { type: 'claimed', actorId: admin.user.id },
      }),
    )
    await expect(
      ctx.deps.db.transaction(async (tx) => {
        await changeDeal(tx, dealId, now, {
          set: { stage: 'lost' },
          events: { type: 'stage_changed', fromStage: 'target', toStage: 'lost' },
        })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    await ctx.deps.db.transaction((tx) =>
      changeDeal(tx, dealId, now, {
        set: { stage: 'won' },
        events: { type: 'stage_changed', fromStage: 'target', toStage: 'won' },
      }),
    )
    await drainAll()
    const types = receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type)
    expect(types).toEqual(['deal.qualified', 'deal.claimed', 'deal.stage_changed', 'deal.won'])
    const lost = await ctx.deps.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.type, 'deal.lost'))
    expect(lost).toHaveLength(lostBefore.length)
  })
})

describe('several workers sharing one database', () => {
  // Batches of 2: each lane reads ahead, one delivery at a time, behind its leased head.
  it.each([500, 2])(
    'deliver each event once per subscription, in order, past a dead receiver (batches of %i)',
    async (batchSize) => {
      await subscribe(receiver.url('/a'), ['lead.captured'])
      await subscribe(receiver.url('/b'), ['lead.captured'])
      await subscribe(receiver.url('/dead'), ['lead.captured'])
      receiver.answer = (req) => (req.path === '/dead' ? { status: 503 } : { status: 200 })
      const ids: string[] = []
      for (let i = 0; i < 8; i++) ids.push(await emit('lead.captured', { n: i }))
      const worker = async (workerId: string) => {
        for (let round = 0; round < 60; round++) {
          const r = await drain({ workerId, concurrency: 2, batchSize })
          if (r.claimed === 0) {
            const left = await ctx.deps.db
              .select()
              .from(webhookDeliveries)
              .where(eq(webhookDeliveries.status, 'pending'))
            // Only the dead receiver's events are left, backing off.
            if (left.every((d) => d.lastError === 'HTTP 503')) return
          }
        }
      }
      await Promise.all([worker('w1'), worker('w2'), worker('w3')])
      for (const path of ['/a', '/b']) {
        const got = receiver.received
          .filter((r) => r.path === path)
          .map((r) => r.headers['webhook-id'])
        expect(got, path).toEqual(ids)
      }
      // The dead one was tried once, on its first event; the rest wait behind it, in order.
      expect(
        receiver.received.filter((r) => r.path === '/dead').map((r) => r.headers['webhook-id']),
      ).toEqual([ids[0]])
    },
  )
})

describe('webhook history', () => {
  it('is pruned after 30 days, except events still waiting to be sent', async () => {
    await subscribe(receiver.url(), ['deal.won'])
    receiver.answer = () => ({ status: 200 })
    const sent = await emit('deal.won')
    await drainAll()
    await receiver.down()
    const waiting = await emit('deal.won')
    await drain()
    ctx.clock.advance(31 * DAY)
    const pruned = await pruneExpired(ctx.deps, ctx.deps.now())
    expect(pruned.webhookEvents).toBeGreaterThanOrEqual(1)
    const left = (await ctx.deps.db.select({ id: webhookEvents.id }).from(webhookEvents)).map(
      (e) => e.id,
    )
    expect(left).not.toContain(sent)
    expect(left).toContain(waiting)
    await receiver.up()
  })
})

describe('the background worker', () => {
  it('delivers as events come, a slow receiver holding up only its own subscription, and stops cleanly', async () => {
    await subscribe(receiver.url('/slow'), ['deal.won'])
    await subscribe(receiver.url('/fast'), ['deal.won'])
    const late = held<{ status: number }>()
    receiver.answer = (req) => (req.path === '/slow' ? late.promise : { status: 200 })
    const worker = startWebhookDelivery(ctx.deps, { idleMs: 10, concurrency: 4, timeoutMs: 60_000 })
    try {
      const ids = [await emit('deal.won'), await emit('deal.won'), await emit('deal.won')]
      // The fast receiver gets all three while the slow one still holds the first.
      await eventually(() => receiver.received.filter((r) => r.path === '/fast').length === 3)
      expect(
        receiver.received.filter((r) => r.path === '/slow').map((r) => r.headers['webhook-id']),
      ).toEqual([ids[0]])
      late.release({ status: 200 })
      await eventually(() => receiver.received.filter((r) => r.path === '/slow').length === 3)
      expect(
        receiver.received.filter((r) => r.path === '/slow').map((r) => r.headers['webhook-id']),
      ).toEqual(ids)
    } finally {
      await worker.stop()
    }
    const pending = await ctx.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, 'pending'))
    expect(
      pending.filter(
        (d) => d.lockedBy !== null && d.leaseUntil !== null && d.leaseUntil > ctx.deps.now(),
      ),
    ).toEqual([])
  })
})
