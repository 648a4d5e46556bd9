import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
  webhookSuccesses,
  type WebhookSuccess,
} from '../../../api/db/schema.ts'
import { recordWebhookEvent, type WebhookEventType } from '../../../api/db/webhook-outbox.ts'
import { newId } from '../../../api/ids.ts'
import {
  deliverDue,
  recordDelivered,
  WEBHOOK_DELIVERY_DEFAULTS,
  webhookFetcher,
} from '../../../api/integrations/webhook-delivery.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { makeDeal } from '../pipeline/fixtures.ts'
import { SYNC_SETTLE_MS } from '../../../api/integrations/sync.ts'
import { countUntried } from '../../../api/integrations/webhook-log.ts'
import { json, ORIGIN, setupTestApp, signedInAs, type TestContext } from '../../helpers.ts'
import { startReceiver, type Receiver } from './receiver.ts'

// The delivery log of a subscription, as an integration developer debugging a receiver reads it:
// filtered by outcome and event type, paged by cursor newest first with nothing skipped or twice,
// and each event with the exact body the receiver got and every attempt.

let ctx: TestContext
let receiver: Receiver
let admin: { cookie: string; user: { id: string } }

interface Entry {
  id: string
  eventId: string
  eventType: string
  ok: boolean
  manual: boolean
  at: string
  deliveryStatus: string | null
}
interface LogPage {
  data: Entry[]
  nextCursor: string | null
  hasMore: boolean
  prevCursor: string | null
  hasNewer: boolean
}

function drain() {
  const options = { ...WEBHOOK_DELIVERY_DEFAULTS, workerId: 'test-worker', random: () => 0 }
  const fetcher = webhookFetcher(ctx.deps, { timeoutMs: options.timeoutMs })
  return deliverDue(ctx.deps, fetcher, options).finally(() => fetcher.close())
}

async function subscribe(events: WebhookEventType[] = ['deal.won', 'deal.lost']) {
  return createSubscription(
    ctx.deps.db,
    { url: receiver.url(), events, createdBy: admin.user.id },
    ctx.deps.now(),
  )
}

// Delivery never reads the payload: these tests send stand-ins, not each type's documented data.
async function emit(type: WebhookEventType, data: Record<string, unknown> = {}) {
  return ctx.deps.db.transaction((tx) =>
    recordWebhookEvent(tx, type, data as never, ctx.deps.now()),
  )
}

/** A webhook_successes row as recordDelivered writes one, of any shape (overlapping others). */
async function insertSuccesses(
  subscriptionId: string,
  sent: Array<{ eventId: string; at: Date; excerpt?: string }>,
  id = newId(),
) {
  const deliveries: WebhookSuccess[] = sent.map((d) => [
    d.eventId,
    d.at.getTime(),
    1,
    200,
    5,
    d.excerpt ?? null,
  ])
  const times = sent.map((d) => d.at.getTime())
  const ids = sent.map((d) => d.eventId).sort()
  await ctx.deps.db.insert(webhookSuccesses).values({
    id,
    subscriptionId,
    firstDeliveredAt: new Date(Math.min(...times)),
    lastDeliveredAt: new Date(Math.max(...times)),
    firstEventId: ids[0]!,
    lastEventId: ids.at(-1)!,
    count: sent.length,
    deliveries,
  })
}

const get = (path: string, cookie = admin.cookie) => ctx.app.request(path, { headers: { cookie } })
const post = (path: string) =>
  ctx.app.request(path, { method: 'POST', headers: { cookie: admin.cookie, origin: ORIGIN } })

async function logOf(subscriptionId: string, query = '') {
  const res = await get(`/api/admin/webhooks/${subscriptionId}/deliveries${query}`)
  expect(res.status).toBe(200)
  return (await res.json()) as LogPage
}

beforeAll(async () => {
  receiver = await startReceiver()
  ctx = await setupTestApp({ WEBHOOK_ALLOW_ADDRESSES: `127.0.0.1:${receiver.port}` })
  admin = await signedInAs(ctx, 'admin')
})
afterAll(() => receiver.close())
beforeEach(async () => {
  ctx.clock.set(new Date())
  receiver.received.length = 0
  receiver.answer = () => ({ status: 204 })
  await ctx.deps.db.delete(webhookSubscriptions)
})

describe('the delivery log, filtered', () => {
  it('shows failed attempts, attempts of events still waiting, and one event type', async () => {
    const sub = await subscribe()
    const won = await emit('deal.won', { dealId: 'd1' })
    await drain()
    ctx.clock.advance(1_000)
    receiver.answer = () => ({ status: 503 })
    const lost = await emit('deal.lost', { dealId: 'd2' })
    expect(await drain()).toMatchObject({ retried: 1 })
    ctx.clock.advance(1_000)
    expect((await post(`/api/admin/webhooks/${sub.id}/test`)).status).toBe(200)
    ctx.clock.advance(1_000)
    receiver.answer = () => ({ status: 204 })
    expect((await post(`/api/admin/webhooks/${sub.id}/deliveries/${won}/resend`)).status).toBe(200)

    const rows = (p: LogPage) => p.data.map((e) => [e.eventType, e.ok, e.manual, e.eventId])
    const testEvent = (await logOf(sub.id, '?type=webhook.test')).data[0]!.eventId
    expect(rows(await logOf(sub.id))).toEqual([
      ['deal.won', true, true, won],
      ['webhook.test', false, true, testEvent],
      ['deal.lost', false, false, lost],
      ['deal.won', true, false, won],
    ])
    // Where each event's delivery stands: delivered (its row left the queue), given up, waiting.
    expect((await logOf(sub.id)).data.map((e) => e.deliveryStatus)).toEqual([
      'delivered',
      'failed',
      'pending',
      'delivered',
    ])
    expect(rows(await logOf(sub.id, '?status=all'))).toEqual(rows(await logOf(sub.id)))
    // As a GET form sends filters left blank.
    expect(rows(await logOf(sub.id, '?status=&type=&cursor='))).toEqual(rows(await logOf(sub.id)))
    expect(rows(await logOf(sub.id, '?status=failed'))).toEqual([
      ['webhook.test', false, true, testEvent],
      ['deal.lost', false, false, lost],
    ])
    // The test event is never retried: failed, not waiting.
    expect(rows(await logOf(sub.id, '?status=waiting'))).toEqual([
      ['deal.lost', false, false, lost],
    ])
    expect(rows(await logOf(sub.id, '?type=deal.won'))).toEqual([
      ['deal.won', true, true, won],
      ['deal.won', true, false, won],
    ])
    expect(rows(await logOf(sub.id, '?status=failed&type=deal.won'))).toEqual([])
    // Queued while the subscription is off: waiting, not tried, so not in the log yet.
    await ctx.app.request(`/api/admin/webhooks/${sub.id}/disable`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    // The event retried is waiting too, but has its entries.
    expect(await countUntried(ctx.deps.db, sub.id)).toBe(0)
    await emit('deal.won')
    expect(await countUntried(ctx.deps.db, sub.id)).toBe(1)
    expect(rows(await logOf(sub.id, '?status=waiting'))).toHaveLength(1)
    await ctx.app.request(`/api/admin/webhooks/${sub.id}/enable`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    // Once the waiting events go through, nothing waits.
    ctx.clock.advance(60 * 60_000)
    while ((await drain()).claimed > 0);
    expect(rows(await logOf(sub.id, '?status=waiting'))).toEqual([])
    expect(await countUntried(ctx.deps.db, sub.id)).toBe(0)
  })

  it('refuses an unknown outcome or type with a 422 that says which', async () => {
    const sub = await subscribe()
    const refusal = async (query: string) => {
      const res = await get(`/api/admin/webhooks/${sub.id}/deliveries${query}`)
      expect(res.status, query).toBe(422)
      return ((await res.json()) as { error: { message: string } }).error.message
    }
    expect(await refusal('?status=delivered')).toMatch(/status is all, failed, waiting/)
    expect(await refusal('?type=deal.burned')).toMatch(/type is one of/)
    expect(await refusal('?limit=0')).toMatch(/limit/)
  })

  it('refuses a cursor it did not give out as /api/sync does: 400 invalid_cursor, naming it', async () => {
    const sub = await subscribe()
    const refusal = async (query: string) => {
      const res = await get(`/api/admin/webhooks/${sub.id}/deliveries${query}`)
      expect(res.status, query).toBe(400)
      const { error } = (await res.json()) as {
        error: { code: string; message: string; fields: Record<string, string> }
      }
      expect(error.code, query).toBe('invalid_cursor')
      return error
    }
    expect((await refusal('?cursor=nonsense')).message).toMatch(
      /cursor is not one this log gave out/,
    )
    const forged = Buffer.from(JSON.stringify(['2026-02-30T00:00:00.000000Z', 'x'])).toString(
      'base64url',
    )
    expect(Object.keys((await refusal(`?cursor=${forged}`)).fields)).toEqual(['cursor'])
    expect(Object.keys((await refusal(`?newer=${'A'.repeat(400)}`)).fields)).toEqual(['newer'])
    // Ahead of other problems in the same query.
    expect((await refusal('?status=delivered&cursor=nonsense')).fields).toHaveProperty('cursor')
    // A sync list's cursor, as that list gives it out, names that list, not this log.
    await makeDeal(ctx.deps.db)
    ctx.clock.advance(SYNC_SETTLE_MS + 1_000)
    const sync = (await (await get('/api/sync/deals?limit=1')).json()) as { nextCursor: string }
    expect(sync.nextCursor).toBeTruthy()
    expect((await refusal(`?cursor=${sync.nextCursor}`)).message).toMatch(
      /not one this log gave out/,
    )
  })
})

describe('the delivery log, paged', () => {
  it('hands out 120 entries, many at the same instant, each exactly once in order, both ways', async () => {
    const sub = await subscribe()
    const base = ctx.deps.now().getTime()
    const events = Array.from({ length: 60 }, (_, i) => ({
      id: newId(base + i),
      type: i % 2 ? 'deal.won' : 'deal.lost',
      data: { i },
      createdAt: new Date(base + i),
    }))
    await ctx.deps.db.insert(webhookEvents).values(events)
    // 40 worker successes and 80 failed attempts, stamped with only 6 different instants.
    const at = (i: number) => new Date(base + 60_000 + (i % 6) * 1_000)
    await ctx.deps.db
      .insert(webhookDeliveries)
      .values(events.slice(40).map((e) => ({ subscriptionId: sub.id, eventId: e.id })))
    // Written three at a time: rows spanning 0-2 s and 3-5 s, overlapping each other in time.
    for (let i = 0; i < 40; i += 3)
      await insertSuccesses(
        sub.id,
        events.slice(i, Math.min(i + 3, 40)).map((e, j) => ({ eventId: e.id, at: at(i + j) })),
      )
    await ctx.deps.db.insert(webhookAttempts).values(
      Array.from({ length: 80 }, (_, i) => ({
        id: newId(base + i),
        subscriptionId: sub.id,
        eventId: events[i % 60]!.id,
        ok: false,
        statusCode: 500,
        latencyMs: 7,
        createdAt: at(i + 3),
      })),
    )
    const key = (e: Entry) => `${e.at}|${e.id}`
    const older: Entry[] = []
    const pages: LogPage[] = []
    let query = '?limit=7'
    for (;;) {
      const page = await logOf(sub.id, query)
      pages.push(page)
      older.push(...page.data)
      if (!page.hasMore) break
      query = `?limit=7&cursor=${page.nextCursor}`
    }
    expect(pages).toHaveLength(18)
    expect(older).toHaveLength(120)
    expect(new Set(older.map(key)).size).toBe(120)
    const sorted = [...older].sort((a, b) => (key(a) < key(b) ? 1 : -1))
    expect(older.map(key)).toEqual(sorted.map(key))
    expect(older.filter((e) => e.ok)).toHaveLength(40)
    // Back up with "Newer" from the last page: the same pages, the first one full.
    const back: Entry[] = [...pages.at(-1)!.data]
    let page = pages.at(-1)!
    while (page.hasNewer) {
      page = await logOf(sub.id, `?limit=7&newer=${page.prevCursor}`)
      back.unshift(...page.data)
    }
    expect(page).toEqual(pages[0])
    expect(back.map(key)).toEqual(older.map(key))
    // Filters page too: the 80 failures, 7 at a time.
    const failed: Entry[] = []
    query = '?status=failed&limit=7'
    for (;;) {
      const p = await logOf(sub.id, query)
      failed.push(...p.data)
      if (!p.hasMore) break
      query = `?status=failed&limit=7&cursor=${p.nextCursor}`
    }
    expect(failed.map(key)).toEqual(older.filter((e) => !e.ok).map(key))
  })

  it('pages the worker successes exactly however their rows overlap, as expanding every row would', async () => {
    const sub = await subscribe()
    const base = ctx.deps.now().getTime()
    const events = Array.from({ length: 200 }, (_, i) => ({
      id: newId(base + i),
      type: i % 3 ? 'deal.won' : 'deal.lost',
      data: { i },
      createdAt: new Date(base + i),
    }))
    await ctx.deps.db.insert(webhookEvents).values(events)
    const t = (ms: number) => new Date(base + 60_000 + ms)
    const rows: Array<Array<{ eventId: string; at: Date }>> = []
    // One lane's runs: 5 events a row, a second apart, rows one after another in time, except
    // every fourth row, whose deliveries share one instant.
    for (let r = 0; r < 30; r++)
      rows.push(
        events
          .slice(r * 5, r * 5 + 5)
          .map((e, j) => ({ eventId: e.id, at: t(r * 10_000 + (r % 4 === 3 ? 0 : j * 1_000)) })),
      )
    // A second lane at once (a lease ran out): one row spanning most of the others.
    rows.push(events.slice(150, 160).map((e, j) => ({ eventId: e.id, at: t(3_500 + j * 29_000) })))
    // Sent again after a crash, at instants other rows use too, and a long row of late commits.
    rows.push([
      { eventId: events[3]!.id, at: t(40_000) },
      { eventId: events[4]!.id, at: t(41_000) },
      { eventId: events[160]!.id, at: t(41_000) },
    ])
    rows.push([
      { eventId: events[2]!.id, at: t(30_000) },
      { eventId: events[190]!.id, at: t(30_000) },
    ])
    rows.push(events.slice(161, 180).map((e, j) => ({ eventId: e.id, at: t(200_000 - j * 7_000) })))
    // An event since deleted: its entry is not shown.
    rows.push([
      { eventId: newId(base + 500), at: t(120_000) },
      { eventId: events[180]!.id, at: t(120_000) },
    ])
    for (const row of rows) await insertSuccesses(sub.id, row)

    const known = new Map(events.map((e) => [e.id, e.type]))
    const key = (e: { at: string; id: string }) => `${e.at}|${e.id}`
    // Every row expanded, newest first.
    const all = rows
      .flat()
      .filter((d) => known.has(d.eventId))
      .map((d) => ({ at: d.at.toISOString(), id: d.eventId, type: known.get(d.eventId)! }))
      .sort((a, b) => (key(a) < key(b) ? 1 : -1))
    expect(all).toHaveLength(185)

    for (const [filter, expected, limits] of [
      ['', all, [3, 50]],
      ['&type=deal.lost', all.filter((e) => e.type === 'deal.lost'), [7]],
    ] as const)
      for (const limit of limits) {
        const what = `limit ${limit}${filter}`
        const pages: LogPage[] = []
        let query = `?limit=${limit}${filter}`
        for (;;) {
          const page = await logOf(sub.id, query)
          pages.push(page)
          if (!page.hasMore) break
          query = `?limit=${limit}${filter}&cursor=${page.nextCursor}`
        }
        const older = pages.flatMap((p) => p.data)
        expect(older.map(key), what).toEqual(expected.map(key))
        expect(
          pages.slice(0, -1).every((p) => p.data.length === limit),
          what,
        ).toBe(true)
        // Back up with "Newer" from the last page: the same pages.
        let page = pages.at(-1)!
        for (let i = pages.length - 2; i >= 0; i--) {
          page = await logOf(sub.id, `?limit=${limit}${filter}&newer=${page.prevCursor}`)
          expect(page.data.map(key), `${what}, page ${i}`).toEqual(pages[i]!.data.map(key))
        }
        expect(page.hasNewer, what).toBe(false)
      }
  })

  it('pages successes of rows that end at the same instant in order of event, both ways', async () => {
    const sub = await subscribe()
    const base = ctx.deps.now().getTime()
    const [z, e00, e0, e1, e2, w] = Array.from({ length: 6 }, (_, i) => ({
      id: newId(base + i),
      type: 'deal.won',
      data: { i },
      createdAt: new Date(base + i),
    }))
    await ctx.deps.db.insert(webhookEvents).values([z!, e00!, e0!, e1!, e2!, w!])
    const t = new Date(base + 60_000)
    const later = (ms: number) => new Date(t.getTime() + ms)
    await insertSuccesses(sub.id, [{ eventId: z!.id, at: later(-10_000) }])
    // Two rows ending at t, the one that sorts after holding the earlier events.
    await insertSuccesses(
      sub.id,
      [
        { eventId: e1!.id, at: t },
        { eventId: e2!.id, at: t },
      ],
      newId(base),
    )
    await insertSuccesses(
      sub.id,
      [
        { eventId: e00!.id, at: t },
        { eventId: e0!.id, at: t },
      ],
      newId(base + 1),
    )
    await insertSuccesses(sub.id, [{ eventId: w!.id, at: later(10_000) }])
    const pages: LogPage[] = []
    let query = '?limit=1'
    for (;;) {
      const page = await logOf(sub.id, query)
      pages.push(page)
      if (!page.hasMore) break
      query = `?limit=1&cursor=${page.nextCursor}`
    }
    expect(pages.flatMap((p) => p.data.map((e) => e.eventId))).toEqual(
      [w, e2, e1, e0, e00, z].map((e) => e!.id),
    )
    let page = pages.at(-1)!
    for (let i = pages.length - 2; i >= 0; i--) {
      page = await logOf(sub.id, `?limit=1&newer=${page.prevCursor}`)
      expect(page.data, `page ${i}`).toEqual(pages[i]!.data)
    }
  })

  it('keeps a page where it was when newer entries are logged meanwhile', async () => {
    const sub = await subscribe()
    receiver.answer = () => ({ status: 500 })
    for (let i = 0; i < 5; i++) {
      await emit('deal.won', { i })
      await drain()
      ctx.clock.advance(DAY)
    }
    const first = await logOf(sub.id, '?limit=2')
    const second = await logOf(sub.id, `?limit=2&cursor=${first.nextCursor}`)
    await emit('deal.won', { i: 5 })
    await drain()
    expect(await logOf(sub.id, `?limit=2&cursor=${first.nextCursor}`)).toEqual(second)
  })
})

const DAY = 24 * 60 * 60 * 1000

describe('one event as sent', () => {
  it('shows the exact body the receiver got, and every attempt of it', async () => {
    const sub = await subscribe()
    receiver.answer = () => ({ status: 500, body: 'try later' })
    const data = {
      note: '<script>alert("x")</script> & “quotes”',
      n: 1.5e-7,
      nested: { é: [1, null] },
    }
    const eventId = await emit('deal.won', data)
    await drain()
    ctx.clock.advance(DAY)
    receiver.answer = () => ({ status: 204 })
    const deliveredAt = ctx.deps.now().toISOString()
    await drain()
    ctx.clock.advance(1_000)
    // Delivered, its row gone from the queue: it can still be sent again.
    expect((await post(`/api/admin/webhooks/${sub.id}/deliveries/${eventId}/resend`)).status).toBe(
      200,
    )
    expect(receiver.received).toHaveLength(3)
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1)

    const res = await get(`/api/admin/webhooks/${sub.id}/events/${eventId}`)
    expect(res.status).toBe(200)
    const log = (await res.json()) as {
      event: { id: string; type: string }
      body: string
      delivery: { status: string; runAfter: string | null; deliveredAt: string | null }
      attempts: Array<{ ok: boolean; manual: boolean; statusCode: number; responseExcerpt: string }>
    }
    expect(log.body).toBe(receiver.received[0]!.body)
    expect(log.event).toMatchObject({ id: eventId, type: 'deal.won' })
    // Its first success, the worker's.
    expect(log.delivery).toEqual({ status: 'delivered', runAfter: null, deliveredAt })
    expect(log.attempts.map((a) => [a.ok, a.manual, a.statusCode])).toEqual([
      [true, true, 204],
      [true, false, 204],
      [false, false, 500],
    ])
    expect(log.attempts[2]!.responseExcerpt).toBe('try later')
    expect(receiver.received[0]!.headers['webhook-id']).toBe(eventId)
  })

  it('says whether it waits, or was delivered by hand, and when', async () => {
    const sub = await subscribe()
    receiver.answer = () => ({ status: 503 })
    const waiting = await emit('deal.won')
    await drain()
    receiver.answer = () => ({ status: 204 })
    ctx.clock.advance(1_000)
    const test = (await (await post(`/api/admin/webhooks/${sub.id}/test`)).json()) as {
      eventId: string
    }
    const sentAt = ctx.deps.now().toISOString()
    type Log = {
      delivery: { status: string; runAfter: string | null; deliveredAt: string | null }
      attempts: Array<{ ok: boolean; manual: boolean; at: string; deliveryStatus: string }>
    }
    const eventLog = async (id: string) =>
      (await (await get(`/api/admin/webhooks/${sub.id}/events/${id}`)).json()) as Log
    const tested = await eventLog(test.eventId)
    expect(tested.delivery).toEqual({ status: 'delivered', runAfter: null, deliveredAt: sentAt })
    expect(tested.attempts).toMatchObject([
      { ok: true, manual: true, at: sentAt, deliveryStatus: 'delivered' },
    ])
    const [queued] = await ctx.deps.db
      .select({ runAfter: webhookDeliveries.runAfter })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.eventId, waiting))
    expect((await eventLog(waiting)).delivery).toEqual({
      status: 'pending',
      runAfter: queued!.runAfter.toISOString(),
      deliveredAt: null,
    })
    // A test event delivered by hand is sent again as any other.
    expect(
      (await post(`/api/admin/webhooks/${sub.id}/deliveries/${test.eventId}/resend`)).status,
    ).toBe(200)
    expect((await eventLog(test.eventId)).attempts).toHaveLength(2)
  })

  it('finds the worker’s success of an event in a row that began before another did', async () => {
    const sub = await subscribe()
    const ids = await Promise.all(Array.from({ length: 8 }, () => emit('deal.won')))
    const t = ctx.deps.now().getTime()
    const sent = (eventIds: string[], at: (i: number) => number) =>
      recordDelivered(
        ctx.deps.db,
        eventIds.map((eventId, i) => ({
          delivery: { subscriptionId: sub.id, eventId, attempts: 1 },
          result: { ok: true, statusCode: 204, latencyMs: 3, error: null, responseExcerpt: null },
          at: new Date(at(i)),
        })),
      )
    await sent(ids.slice(0, 5), (i) => t + i * 1_000)
    // A lane sent the fourth again (its lease had run out) before the last three.
    await sent([ids[3]!, ...ids.slice(5)], (i) => t + 10_000 + i)
    type Log = { delivery: { deliveredAt: string }; attempts: Array<{ at: string }> }
    const eventLog = async (id: string) => {
      const res = await get(`/api/admin/webhooks/${sub.id}/events/${id}`)
      expect(res.status).toBe(200)
      return (await res.json()) as Log
    }
    const third = await eventLog(ids[2]!)
    expect(third.delivery.deliveredAt).toBe(new Date(t + 2_000).toISOString())
    expect(third.attempts.map((a) => a.at)).toEqual([new Date(t + 2_000).toISOString()])
    const fourth = await eventLog(ids[3]!)
    expect(fourth.delivery.deliveredAt).toBe(new Date(t + 3_000).toISOString())
    expect(fourth.attempts.map((a) => a.at)).toEqual(
      [t + 10_000, t + 3_000].map((ms) => new Date(ms).toISOString()),
    )
    expect((await eventLog(ids[4]!)).delivery.deliveredAt).toBe(new Date(t + 4_000).toISOString())
    expect((await eventLog(ids[7]!)).delivery.deliveredAt).toBe(new Date(t + 10_003).toISOString())
  })

  it('finds an event’s success below many later rows of events committed out of order', async () => {
    const sub = await subscribe(['deal.won'])
    const ids: string[] = []
    for (let i = 0; i < 40; i++) ids.push(await emit('deal.won', { i }))
    const t = ctx.deps.now().getTime()
    const sent = (eventIds: string[], at: number) =>
      recordDelivered(
        ctx.deps.db,
        eventIds.map((eventId) => ({
          delivery: { subscriptionId: sub.id, eventId, attempts: 1 },
          result: { ok: true, statusCode: 204, latencyMs: 3, error: null, responseExcerpt: null },
          at: new Date(at),
        })),
      )
    // One lane's run: the first event and the last twenty (the others committed late)...
    const x = ids[20]!
    await sent([ids[0]!, ...ids.slice(20)], t)
    // ...then each late one sent on its own, every row starting below x.
    for (let i = 1; i < 20; i++) await sent([ids[i]!], t + i * 1_000)
    const res = await get(`/api/admin/webhooks/${sub.id}/events/${x}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      delivery: { status: 'delivered', deliveredAt: new Date(t).toISOString() },
    })
    const again = await ctx.app.request(`/api/admin/webhooks/${sub.id}/deliveries/${x}/resend`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    expect(again.status).toBe(200)
  })

  it('is a 404 for an event the subscription was never sent or an unknown subscription', async () => {
    const sub = await subscribe(['deal.won'])
    const other = await emit('deal.lost')
    expect((await get(`/api/admin/webhooks/${sub.id}/events/${other}`)).status).toBe(404)
    expect((await get(`/api/admin/webhooks/${sub.id}/events/${newId()}`)).status).toBe(404)
    const won = await emit('deal.won')
    expect((await get(`/api/admin/webhooks/${newId()}/events/${won}`)).status).toBe(404)
    expect((await get(`/api/admin/webhooks/${newId()}/deliveries`)).status).toBe(404)
    // A malformed id is refused as the other webhook routes refuse it.
    expect((await get(`/api/admin/webhooks/${sub.id}/events/nope`)).status).toBe(422)
  })
})

describe('who may read the log', () => {
  it('refuses reps, SDRs and a token without webhooks:manage', async () => {
    const sub = await subscribe(['deal.won'])
    const eventId = await emit('deal.won')
    const paths = [
      `/api/admin/webhooks/${sub.id}/deliveries`,
      `/api/admin/webhooks/${sub.id}/events/${eventId}`,
    ]
    for (const role of ['rep', 'sdr'] as const) {
      const { cookie } = await signedInAs(ctx, role)
      for (const path of paths)
        expect((await get(path, cookie)).status, `${role} ${path}`).toBe(403)
    }
    const made = await ctx.app.request(
      '/api/admin/api-tokens',
      json({ name: 'reader', scopes: ['deals:read'] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    const { token } = (await made.json()) as { token: string }
    for (const path of paths)
      expect(
        (await ctx.app.request(path, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(403)
    const manager = await ctx.app.request(
      '/api/admin/api-tokens',
      json(
        { name: 'hooks', scopes: ['webhooks:manage'] },
        { cookie: admin.cookie, origin: ORIGIN },
      ),
    )
    const hooks = ((await manager.json()) as { token: string }).token
    for (const path of paths)
      expect(
        (await ctx.app.request(path, { headers: { authorization: `Bearer ${hooks}` } })).status,
      ).toBe(200)
  })
})
