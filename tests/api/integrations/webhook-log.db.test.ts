import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
} from '../../../api/db/schema.ts'
import { recordWebhookEvent, type WebhookEventType } from '../../../api/db/webhook-outbox.ts'
import { newId } from '../../../api/ids.ts'
import {
  deliverDue,
  WEBHOOK_DELIVERY_DEFAULTS,
  webhookFetcher,
} from '../../../api/integrations/webhook-delivery.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
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
    await ctx.deps.db.insert(webhookDeliveries).values(
      events.map((e, i) => ({
        subscriptionId: sub.id,
        eventId: e.id,
        ...(i < 40
          ? { status: 'delivered' as const, deliveredAt: at(i), latencyMs: 5, lastStatusCode: 200 }
          : { status: 'pending' as const }),
      })),
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
    await drain()
    ctx.clock.advance(1_000)
    await post(`/api/admin/webhooks/${sub.id}/deliveries/${eventId}/resend`)
    expect(receiver.received).toHaveLength(3)
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1)

    const res = await get(`/api/admin/webhooks/${sub.id}/events/${eventId}`)
    expect(res.status).toBe(200)
    const log = (await res.json()) as {
      event: { id: string; type: string }
      body: string
      delivery: { status: string }
      attempts: Array<{ ok: boolean; manual: boolean; statusCode: number; responseExcerpt: string }>
    }
    expect(log.body).toBe(receiver.received[0]!.body)
    expect(log.event).toMatchObject({ id: eventId, type: 'deal.won' })
    expect(log.delivery.status).toBe('delivered')
    expect(log.attempts.map((a) => [a.ok, a.manual, a.statusCode])).toEqual([
      [true, true, 204],
      [true, false, 204],
      [false, false, 500],
    ])
    expect(log.attempts[2]!.responseExcerpt).toBe('try later')
    expect(receiver.received[0]!.headers['webhook-id']).toBe(eventId)
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
