// Webhook delivery: the worker that empties the webhook outbox (api/db/webhook-outbox.ts).
//
// - At least once, in order per subscription. A claim leases a subscription's oldest pending
//   delivery (its head), locked with FOR UPDATE SKIP LOCKED and re-checked on the locked row, and,
//   unless the head's last attempt failed, reads the deliveries after it too (up to
//   `claimSize`), in one statement. The head's lease stands for the whole batch: nobody else can
//   claim that subscription until the head is recorded, so several processes sharing one
//   PostgreSQL never send one delivery twice at once, and the deliveries after the head need no
//   write of their own. A batch is sent one request after another, in event order, never past
//   the lease; at the first failure the rest of it is left to wait behind the failed one.
// - A lane whose claim (or last read) came back full reads on, `batchSize` deliveries at a time,
//   while it sends: a backlog goes out as one stream instead of claim, send, record, claim again,
//   each claim and record a pause of the whole lane (on PostgreSQL, where every lane ended its
//   batch at about the same time, a pause of the worker). The claim itself reads few, so that
//   the first requests go out soon.
// - Every `batchMs` a batch's successes are recorded and, in the same statement, the lease is
//   handed from the head (now delivered) to the batch's next delivery, which becomes the head;
//   the batch goes on (for up to `laneMs`) without being claimed and read again. A crashed
//   worker's lease runs out and what it had not recorded goes again, with the same webhook-ids:
//   at most `batchMs` of sending.
// - Successes are recorded together with whatever the other lanes finished meanwhile (one
//   statement): the delivered rows leave the queue (deleted) and each subscription's successes
//   become one webhook_successes row, its deliveries a JSON array; a failure in its own
//   transaction, after the successes before it. PGlite runs each statement on the event loop's
//   thread: one per delivery stalled every request in flight, a claim re-reading a batch's unsent
//   rest every `batchMs` cost as much as the sending, and a row written per success (an update
//   and its index entries) ~10-20 µs, where a delete is ~1.5 µs (measured).
// - On PGlite every row a statement returns costs ~10 µs of that thread (encoding and parsing,
//   measured): claims, reads ahead and event bodies answer one row per subscription or per read,
//   their ids aggregated into strings.
// - Claims and reads ahead return deliveries as ids; the events' bodies (the payload sent) are
//   read once per event for all the lanes that send it, and kept for a while (createEventBodies):
//   an event goes to every subscription to its type, and each lane reading the same events again
//   was, on PGlite, the larger part of a delivery's SQL.
// - One dead receiver holds up nobody else: each subscription's batch is a lane of its own, and a
//   free lane claims the next heads at once instead of waiting for the slowest of a round.
// - Signed as Standard Webhooks: webhook-id (the event id, the same on every attempt),
//   webhook-timestamp, webhook-signature (`v1,` HMAC-SHA256 of `id.timestamp.body`), with
//   `fast-sha256` (the SHA-256 the `standardwebhooks` package signs with) keyed once per lane:
//   among the requests, node:crypto's `createHmac` cost ~0.05 of the bench's ratio, although it
//   is the faster of the two alone (2026-12-06). Tests check every signature with
//   `standardwebhooks`' own verify.
// - Sent through the grader's SSRF-guarded client: every address connected to is judged at
//   connect time, redirects are not followed, time and size are capped.
// - Failures retry with exponential backoff and jitter until the event is three days old; a
//   subscription whose every attempt failed for three days, or that answered 410 Gone, is turned
//   off and its admin emailed (through the email outbox, in the same transaction).

import { HMAC } from 'fast-sha256'
import { hostname } from 'node:os'
import { eq, sql } from 'drizzle-orm'
import * as webhookDisabled from '../../email-templates/webhook-disabled.ts'
import type { Db } from '../db/client.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'
import {
  webhookAttempts,
  webhookDeliveries,
  webhookSubscriptions,
  type WebhookSuccess,
} from '../db/schema.ts'
import type { Deps } from '../deps.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { retryDelayMs, shouldGiveUp, type RetryPolicy } from '../email/outbox-worker.ts'
import { brandOf, loadSenderSettings } from '../email/sender.ts'
import {
  createGuardedFetcher,
  DEADLINE_TICK_MS,
  type GuardedFetcher,
  type Resolver,
} from '../grader/engine/guarded-fetch.ts'
import { newId, newToken } from '../ids.ts'
import {
  previousSecretOf,
  subscriptionAdmins,
  webhookTargets,
  type PreviousSecret,
} from './webhooks.ts'

const DAY = 24 * 60 * 60 * 1000
export const GIVE_UP_AFTER_MS = 3 * DAY
export const DISABLE_AFTER_FAILING_MS = 3 * DAY
export const WEBHOOK_RETRY: RetryPolicy = { baseMs: 30_000, capMs: 6 * 60 * 60_000 }
const EXCERPT_CHARS = 500

export interface WebhookDeliveryOptions {
  workerId: string
  /** Subscriptions served at once, each by one lane sending its batch in order. */
  concurrency: number
  /** Deliveries of one subscription read by its claim (a head that failed goes alone). */
  claimSize: number
  /** Deliveries a lane reads ahead at a time, behind its claim, while it sends. */
  batchSize: number
  /**
   * A batch's successes are recorded at least this often: after this long, what it sent is
   * written and the lease handed on to the next delivery, or the batch ends.
   */
  batchMs: number
  /**
   * A lane keeps one subscription's batch (handing its lease on every `batchMs`) for at most
   * this long, so that other subscriptions' heads get their turn.
   */
  laneMs: number
  /** How long a claim holds a subscription; a batch stops sending before it runs out. */
  leaseMs: number
  /** Whole request, connect to last byte. */
  timeoutMs: number
  /** Sleep when nothing is due. */
  idleMs: number
  retry: RetryPolicy
  random: () => number
  /** Tests answer DNS themselves. */
  resolve?: Resolver
}

export const WEBHOOK_DELIVERY_DEFAULTS: Omit<WebhookDeliveryOptions, 'workerId'> = {
  concurrency: 8,
  claimSize: 50,
  batchSize: 500,
  batchMs: 1_000,
  laneMs: 10_000,
  leaseMs: 60_000,
  timeoutMs: 10_000,
  idleMs: 1_000,
  retry: WEBHOOK_RETRY,
  random: Math.random,
}

type DeliveryDeps = Pick<Deps, 'db' | 'env' | 'logger' | 'now'>

export interface ClaimedDelivery {
  subscriptionId: string
  eventId: string
  attempts: number
  eventAt: Date
  /** The body sent, built once per event for all the subscriptions claimed with it. */
  payload: string
}

/** An event as one subscription is sent it outside the queue ("send again", the test event). */
export interface WebhookMessage {
  subscriptionId: string
  eventId: string
  url: string
  secret: string
  previousSecret: string | null
  previousSecretExpiresAt: Date | null
  type: string
  data: unknown
  eventAt: Date
}

/** Payload as receivers see it (Standard Webhooks: type, timestamp, data). */
export function webhookPayload(d: Pick<WebhookMessage, 'type' | 'eventAt' | 'data'>): string {
  return JSON.stringify({ type: d.type, timestamp: d.eventAt.toISOString(), data: d.data })
}

/** Signs as Standard Webhooks do: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`. */
export type WebhookSigner = (eventId: string, at: Date, payload: string) => string

/**
 * With a secret rotated out (`previous`), signs with both until it expires, the current first:
 * `v1,<new> v1,<old>`, space-separated as Standard Webhooks provides, so a receiver that still
 * knows only the old secret verifies too. Without one it is the one HMAC it always was.
 */
export function webhookSigner(
  secret: string,
  previous: PreviousSecret | null = null,
): WebhookSigner {
  const sign = signerWith(secret)
  if (!previous) return sign
  const signOld = signerWith(previous.secret)
  const until = previous.until.getTime()
  return (eventId, at, payload) =>
    at.getTime() < until
      ? `${sign(eventId, at, payload)} ${signOld(eventId, at, payload)}`
      : sign(eventId, at, payload)
}

function signerWith(secret: string): WebhookSigner {
  // Keyed once: reset() goes back to the state after the key, so a signature hashes its message
  // alone. The HMAC is used within one synchronous call, never shared across an await.
  const hmac = new HMAC(
    Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64'),
  )
  return (eventId, at, payload) => {
    const mac = hmac
      .reset()
      .update(Buffer.from(`${eventId}.${Math.floor(at.getTime() / 1000)}.${payload}`))
      .digest()
    return `v1,${Buffer.from(mac).toString('base64')}`
  }
}

/** One subscription's claimed deliveries, in event order; the first holds the lease. */
export interface ClaimedBatch {
  subscriptionId: string
  url: string
  secret: string
  /** The secret rotated out, while it still signs (as of the claim). */
  previous: PreviousSecret | null
  leaseUntil: Date
  deliveries: ClaimedDelivery[]
  /** The claim filled its batch: more deliveries may wait behind it, to be read ahead. */
  more: boolean
  /** Its head had failed before and went alone: deliveries may wait behind it, unread. */
  alone: boolean
}

/**
 * How many of a subscription's oldest pending deliveries a claim looks at for a lane's lease:
 * the leased one is the lane's head, behind only the deliveries committed late since (see below).
 */
const LANE_WINDOW = 8

/**
 * Claims the due heads of up to `limit` subscriptions, each leased, with up to `batchSize - 1`
 * of the deliveries after it unless the head's last attempt failed; one statement. A subscription
 * a lane holds is skipped.
 */
export async function claimDeliveries(
  db: Db,
  options: { now: Date; limit: number; batchSize: number; leaseMs: number; workerId: string },
  bodies: EventBodies = createEventBodies(db),
): Promise<ClaimedBatch[]> {
  const now = options.now.toISOString()
  const leaseUntil = new Date(options.now.getTime() + options.leaseMs)
  const followers = Math.max(0, options.batchSize - 1)
  const result = await db.execute(sql`
    with heads as (
      -- Each enabled subscription's oldest pending delivery, read off the partial index.
      select h.subscription_id, h.event_id, h.run_after, h.lease_until
      from webhook_subscriptions s
      cross join lateral (
        select d.subscription_id, d.event_id, d.run_after, d.lease_until
        from webhook_deliveries d
        where d.subscription_id = s.id and d.status = 'pending'
        order by d.event_id
        limit 1
      ) h
      where s.disabled_at is null
        -- A lane holds the subscription while any of its first pending deliveries is leased: a
        -- delivery whose event committed after a later one was claimed (ids are taken before
        -- commit) becomes the oldest pending one without a lease, and must wait for that lane
        -- rather than start a second one, which would send the lane's deliveries again.
        and not exists (
          select 1 from (
            select d.lease_until from webhook_deliveries d
            where d.subscription_id = s.id and d.status = 'pending'
            order by d.event_id
            limit ${LANE_WINDOW}
          ) w
          where w.lease_until >= ${now}::timestamptz
        )
    ),
    due as (
      select subscription_id, event_id from heads
      where run_after <= ${now}::timestamptz
        and (lease_until is null or lease_until < ${now}::timestamptz)
      order by event_id
      limit ${options.limit}
    ),
    locked as (
      select d.subscription_id, d.event_id from webhook_deliveries d
      join due using (subscription_id, event_id)
      where d.status = 'pending'
        and (d.lease_until is null or d.lease_until < ${now}::timestamptz)
      for update of d skip locked
    ),
    leased as (
      update webhook_deliveries d
      set lease_until = ${leaseUntil.toISOString()}::timestamptz, locked_by = ${options.workerId},
        attempts = d.attempts + 1
      from locked
      where d.subscription_id = locked.subscription_id and d.event_id = locked.event_id
      returning d.subscription_id, d.event_id, d.attempts, d.last_error
    ),
    batch as (
      select subscription_id, event_id, attempts, true as head, last_error is not null as alone
      from leased
      union all
      -- Read, not written: the head's lease keeps every other claim off this subscription.
      select f.subscription_id, f.event_id, f.attempts + 1, false, false
      from leased l
      cross join lateral (
        select d.subscription_id, d.event_id, d.attempts
        from webhook_deliveries d
        where d.subscription_id = l.subscription_id and d.status = 'pending'
          and d.event_id > l.event_id
        order by d.event_id
        limit case when l.last_error is null then ${followers}::int else 0 end
      ) f
    )
    -- A row per subscription, its batch's ids and attempts as strings in event order (the head
    -- first): on PGlite each row returned costs ~10 µs of this thread to encode and parse, so
    -- 4 rows of 50 cost a fifth of 200 (measured). Its URL and secrets (a secret rotated out
    -- only while it still signs); the events' bodies come from \`bodies\`, read once per event
    -- however many subscriptions it goes to.
    select b.subscription_id, s.url, s.secret,
      case when s.previous_secret_expires_at > ${now}::timestamptz then s.previous_secret end
        as previous_secret,
      s.previous_secret_expires_at,
      string_agg(b.event_id, ',' order by b.event_id) as event_ids,
      string_agg(b.attempts::text, ',' order by b.event_id) as attempts,
      bool_or(b.alone) as alone
    from batch b
    join webhook_subscriptions s on s.id = b.subscription_id
    group by b.subscription_id, s.id`)
  // Back to a row per delivery, the subscription's URL and secrets on its head's row only.
  const rows: Record<string, unknown>[] = []
  for (const group of (result as unknown as { rows: Record<string, unknown>[] }).rows)
    for (const [i, row] of aggregatedRows(
      group.event_ids as string,
      group.attempts as string,
    ).entries())
      rows.push(
        i === 0
          ? { ...group, ...row }
          : { subscription_id: group.subscription_id, ...row, url: null },
      )
  const batches = new Map<string, ClaimedBatch>()
  let deliveries: (ClaimedDelivery | undefined)[]
  try {
    deliveries = await deliveriesOf(bodies, rows)
  } catch (err) {
    // Leased, but nothing can be sent without the bodies: the heads go back as they were.
    const heads = rows.filter((r) => r.url !== null)
    await releaseHeads(
      db,
      heads.map((r) => ({
        subscriptionId: r.subscription_id as string,
        eventId: r.event_id as string,
      })),
      options.workerId,
    ).catch(() => {})
    throw err
  }
  // Rows claimed per subscription, found or not: a full claim may have more behind it.
  const claimed = new Map<string, number>()
  // Heads whose event was gone when its body was read: a batch must start with its leased head
  // (the lease is on it, and handed on from it), so those batches are not sent: their leases go
  // back (if the head is still there).
  const lost: { subscriptionId: string; eventId: string }[] = []
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    const subscriptionId = r.subscription_id as string
    const count = claimed.get(subscriptionId)
    claimed.set(subscriptionId, (count ?? 0) + 1)
    const delivery = deliveries[i]
    if (count === undefined) {
      // Rows come in event order per subscription: the first is the head, with url and secret.
      if (delivery === undefined) {
        lost.push({ subscriptionId, eventId: r.event_id as string })
        continue
      }
      const url = r.url as string
      const secret = r.secret as string
      const previousSecret = r.previous_secret as string | null
      batches.set(subscriptionId, {
        subscriptionId,
        url,
        secret,
        previous:
          previousSecret === null
            ? null
            : {
                secret: previousSecret,
                until: new Date(r.previous_secret_expires_at as string | Date),
              },
        leaseUntil,
        deliveries: [],
        more: false,
        alone: r.alone === true,
      })
    }
    // Never missing: an event is kept while it has a pending delivery (pruneWebhookHistory); one
    // gone meanwhile has taken its delivery with it, and is skipped.
    const batch = batches.get(subscriptionId)
    if (batch && delivery !== undefined) batch.deliveries.push(delivery)
  }
  if (lost.length > 0) await releaseHeads(db, lost, options.workerId).catch(() => {})
  // A head that failed before goes alone (one row), so only a full batch of several reads on.
  if (options.batchSize > 1)
    for (const batch of batches.values())
      batch.more = claimed.get(batch.subscriptionId)! >= options.batchSize
  // Oldest heads first, as claimed.
  return [...batches.values()].sort((a, b) =>
    a.deliveries[0]!.eventId < b.deliveries[0]!.eventId ? -1 : 1,
  )
}

/** An event as receivers get it: its time, and the payload built once for every subscription. */
interface EventBody {
  eventAt: Date
  payload: string
}

/**
 * The bodies of the events being delivered, by event id, each read from the database once for
 * every lane that sends it: an event goes to every subscription to its type, and each lane used
 * to read (and parse, and build the payload of) the same events again — on PGlite, whose
 * statements run on this thread, the larger part of a delivery's SQL. Events are never changed
 * once written, so a body read once holds. Lanes asking for the same events at once share one
 * read. Bounded: past `max` bodies, the oldest are forgotten (and read again if asked for).
 * An id without an event (deleted by retention meanwhile) has no body.
 */
export type EventBodies = (eventIds: readonly string[]) => Promise<Map<string, EventBody>>

export function createEventBodies(db: Db, max = 4_096): EventBodies {
  const known = new Map<string, EventBody | Promise<Map<string, EventBody>>>()
  const forget = () => {
    for (const id of known.keys()) {
      if (known.size <= max) break
      known.delete(id)
    }
  }
  return async (eventIds) => {
    const missing = eventIds.filter((id) => !known.has(id))
    if (missing.length > 0) {
      const reading = readEventBodies(db, missing)
      for (const id of missing) known.set(id, reading)
      reading.then(
        (read) => {
          for (const id of missing) {
            if (known.get(id) !== reading) continue
            const body = read.get(id)
            if (body) known.set(id, body)
            else known.delete(id)
          }
          forget()
        },
        () => {
          for (const id of missing) if (known.get(id) === reading) known.delete(id)
        },
      )
    }
    // What this call needs, taken now: a body may be forgotten while another read is awaited.
    const entries = eventIds.map((id) => known.get(id))
    const found = new Map<string, EventBody>()
    const read = new Map<Promise<Map<string, EventBody>>, Map<string, EventBody>>()
    for (const [i, entry] of entries.entries()) {
      let body: EventBody | undefined
      if (entry instanceof Promise) {
        let got = read.get(entry)
        if (!got) read.set(entry, (got = await entry))
        body = got.get(eventIds[i]!)
      } else body = entry
      if (body) found.set(eventIds[i]!, body)
    }
    return found
  }
}

/** The events' bodies, read now (createEventBodies keeps them for the worker). */
export async function readEventBodies(db: Db, eventIds: string[]): Promise<Map<string, EventBody>> {
  // One row holding them all, as JSON parsed once here to build the payloads: a row per event
  // cost ~18 µs an event on PGlite, this ~12 (measured). Event ids never hold a comma (ids.ts).
  const result = await db.execute(sql`
    select json_agg(json_build_array(id, type, data, created_at))::text as events
    from webhook_events
    where id = any(string_to_array(${eventIds.join(',')}, ','))`)
  const [read] = (result as unknown as { rows: { events: string | null }[] }).rows
  const bodies = new Map<string, EventBody>()
  if (!read || read.events === null) return bodies
  for (const [id, type, data, createdAt] of JSON.parse(read.events) as [
    string,
    string,
    unknown,
    string,
  ][]) {
    const eventAt = new Date(createdAt)
    bodies.set(id, { eventAt, payload: webhookPayload({ type, eventAt, data }) })
  }
  return bodies
}

/**
 * Deliveries from rows of (subscription_id unless given, event_id, attempts), with their events'
 * bodies; undefined where the event is gone.
 */
async function deliveriesOf(
  bodies: EventBodies,
  rows: Record<string, unknown>[],
  subscriptionId?: string,
): Promise<(ClaimedDelivery | undefined)[]> {
  const found = await bodies(rows.map((r) => r.event_id as string))
  return rows.map((r) => {
    const eventId = r.event_id as string
    const body = found.get(eventId)
    if (!body) return undefined
    return {
      subscriptionId: subscriptionId ?? (r.subscription_id as string),
      eventId,
      attempts: Number(r.attempts),
      eventAt: body.eventAt,
      payload: body.payload,
    }
  })
}

/**
 * Deliveries answered as two strings, their event ids and their attempts, comma-separated in the
 * same order (a claim's or a read-ahead's aggregate), as rows of (event_id, attempts). Event ids
 * never hold a comma (api/ids.ts).
 */
function aggregatedRows(eventIds: string, attempts: string) {
  const counts = attempts.split(',')
  return eventIds.split(',').map((eventId, i) => ({ event_id: eventId, attempts: counts[i] }))
}

/**
 * Reads the next pending deliveries of a subscription after `after`, for a lane that holds the
 * subscription's head leased: read, not written, as a claim reads a head's followers (the head's
 * lease keeps every other claim off the subscription). A lane reads ahead while it sends, so
 * that a long queue is not claimed again batch by batch, each claim and record a pause in which
 * the lane sent nothing.
 */
export async function readAhead(
  db: Db,
  subscriptionId: string,
  after: string,
  limit: number,
  bodies: EventBodies = createEventBodies(db),
): Promise<ClaimedDelivery[]> {
  // One row of two strings, not a row per delivery: on PGlite, whose SQL runs on this thread,
  // each row and column returned costs ~1-3 µs to encode and parse, and 500 rows aggregated cost
  // a third of that (measured). Event ids never hold a comma (api/ids.ts).
  const result = await db.execute(sql`
    select string_agg(event_id, ',' order by event_id) as event_ids,
      string_agg((attempts + 1)::text, ',' order by event_id) as attempts
    from (
      select d.event_id, d.attempts
      from webhook_deliveries d
      where d.subscription_id = ${subscriptionId} and d.status = 'pending' and d.event_id > ${after}
      order by d.event_id
      limit ${limit}
    ) next`)
  const [read] = (result as unknown as { rows: { event_ids: string | null; attempts: string }[] })
    .rows
  if (!read || read.event_ids === null) return []
  const deliveries = await deliveriesOf(
    bodies,
    aggregatedRows(read.event_ids, read.attempts),
    subscriptionId,
  )
  return deliveries.filter((d) => d !== undefined)
}

export interface AttemptResult {
  ok: boolean
  statusCode: number | null
  latencyMs: number
  error: string | null
  responseExcerpt: string | null
}

/** Where a subscription's events go, and how they are signed. */
export interface WebhookTarget {
  url: string
  sign: WebhookSigner
}

/** One POST of one event to one receiver, signed; never throws. */
export async function sendWebhook(
  fetcher: GuardedFetcher,
  target: WebhookTarget,
  delivery: Pick<ClaimedDelivery, 'eventId' | 'payload'>,
  now: Date,
  timeoutMs: number,
): Promise<AttemptResult> {
  const signature = target.sign(delivery.eventId, now, delivery.payload)
  const started = performance.now()
  const outcome = await fetcher.fetch(target.url, {
    method: 'POST',
    body: delivery.payload,
    headers: [
      'content-type',
      'application/json',
      'webhook-id',
      delivery.eventId,
      'webhook-timestamp',
      String(Math.floor(now.getTime() / 1000)),
      'webhook-signature',
      signature,
    ],
    accept: 'application/json, text/plain, */*',
    followRedirects: false,
    maxBytes: 4096,
    timeoutMs,
  })
  const latencyMs = Math.round(performance.now() - started)
  if (!outcome.ok) {
    const { kind, cause } = outcome.error
    const error =
      kind === 'blocked'
        ? `refused: ${cause}`
        : kind === 'timeout'
          ? `no answer within ${timeoutMs} ms`
          : `${kind}: ${cause}`
    return {
      ok: false,
      statusCode: null,
      latencyMs,
      error: error.slice(0, 500),
      responseExcerpt: null,
    }
  }
  const { status, body } = outcome.response
  const ok = status >= 200 && status < 300
  return {
    ok,
    statusCode: status,
    latencyMs,
    error: ok
      ? null
      : status >= 300 && status < 400
        ? `redirect ${status} not followed`
        : `HTTP ${status}`,
    // A NUL (a UTF-16 or binary answer) cannot be stored in a text column: the record of the
    // attempt, and every success recorded with it, would fail, and the deliveries go again.
    // Most receivers answer with no body: nothing to decode (~1.4 µs a delivery, measured).
    responseExcerpt:
      body.length === 0
        ? null
        : body.toString('utf8').slice(0, EXCERPT_CHARS).replaceAll('\0', '\ufffd') || null,
  }
}

async function logAttempt(
  tx: Db,
  delivery: Pick<ClaimedDelivery, 'subscriptionId' | 'eventId'>,
  result: AttemptResult,
  now: Date,
  manual: boolean,
) {
  await tx.insert(webhookAttempts).values({
    id: newId(now.getTime()),
    subscriptionId: delivery.subscriptionId,
    eventId: delivery.eventId,
    ok: result.ok,
    statusCode: result.statusCode,
    latencyMs: result.latencyMs,
    error: result.error,
    responseExcerpt: result.responseExcerpt,
    manual,
    createdAt: now,
  })
}

/** Turns a subscription off and tells its admins, in the caller's transaction. */
async function disableSubscription(
  tx: Db,
  deps: DeliveryDeps,
  subscriptionId: string,
  reason: string,
  now: Date,
) {
  const [row] = await tx
    .update(webhookSubscriptions)
    .set({ disabledAt: now, disabledReason: reason })
    .where(
      sql`${webhookSubscriptions.id} = ${subscriptionId} and ${webhookSubscriptions.disabledAt} is null`,
    )
    .returning({ url: webhookSubscriptions.url })
  if (!row) return
  const admins = await subscriptionAdmins(tx, subscriptionId)
  if (admins.length === 0) return
  const sender = await loadSenderSettings(tx, deps.env)
  for (const admin of admins) {
    const rendered = webhookDisabled.render({
      brand: brandOf(sender),
      name: admin.name,
      url: row.url,
      reason,
      manageUrl: `${deps.env.APP_ORIGIN}/app/admin/webhooks`,
    })
    await enqueueEmail(tx, {
      category: 'transactional',
      to: formatAddress(admin.name, admin.email),
      recipient: admin.email,
      ...rendered,
      template: 'webhook-disabled',
      dedupeKey: `webhook-disabled:${subscriptionId}:${now.getTime()}:${admin.id}`,
      now,
    })
  }
}

export type Outcome = 'delivered' | 'retry' | 'failed' | 'disabled'

export interface DeliveredAttempt {
  delivery: Pick<ClaimedDelivery, 'subscriptionId' | 'eventId' | 'attempts'>
  result: AttemptResult
  at: Date
}

/**
 * A batch going on past `batchMs`: its lease moves from the head it holds (sent, and recorded
 * delivered in the same statement) to the next delivery it is about to send, which becomes the
 * subscription's head, leased as a claim leases one.
 */
export interface LeaseHandoff {
  subscriptionId: string
  workerId: string
  /** The head whose lease the worker holds. */
  from: string
  /** The batch's next delivery. */
  to: string
  now: Date
  leaseUntil: Date
  /** Where the lane sends and what it signs with: an admin's edit or rotation since ends it. */
  url: string
  secret: string
}

/**
 * Records successful attempts, of any subscriptions, in one statement (one round trip, atomic on
 * its own): per subscription, one webhook_successes row holding its deliveries with what the
 * receiver answered (the delivery log expands it), and the delivered rows deleted from the queue;
 * the failing streaks cleared; and leases handed on. On PGlite, whose SQL runs on this thread,
 * a row written per delivery (an update and its index entries, ~10-20 µs) cost more than the POST
 * it recorded; a delete is ~1.5 µs (measured). A handoff holds only if the worker still held the
 * lease it hands on (not run out, not claimed by another worker meanwhile) and the subscription
 * is still on, at the URL and with the secret the lane read (an admin who turns it off, edits its
 * URL or rotates its secret stops its lane within `batchMs`). Returns the subscriptions whose
 * lease was handed on.
 */
export async function recordDelivered(
  db: Db,
  attempts: DeliveredAttempt[],
  handoffs: LeaseHandoff[] = [],
): Promise<Set<string>> {
  if (attempts.length === 0 && handoffs.length === 0) return new Set()
  const runs = [...Map.groupBy(attempts, (a) => a.delivery.subscriptionId)].map(
    ([subscriptionId, sent]) => successRun(subscriptionId, sent),
  )
  const leases = handoffs.map((h) => ({
    subscription_id: h.subscriptionId,
    worker: h.workerId,
    from_id: h.from,
    to_id: h.to,
    now: h.now.toISOString(),
    lease_until: h.leaseUntil.toISOString(),
    url: h.url,
    secret: h.secret,
  }))
  // A row of parameters per subscription, each one's deliveries one JSON text: json_to_recordset
  // over one document holding them all cost ~10 µs a delivery on PGlite, this ~1.5 (measured).
  const values = runs.map(
    (r) =>
      sql`(${r.id}, ${r.subscriptionId}, ${r.firstDeliveredAt}::timestamptz,
        ${r.lastDeliveredAt}::timestamptz, ${r.firstEventId}, ${r.lastEventId}, ${r.count}::int,
        ${r.deliveries}::json)`,
  )
  const result = await db.execute(sql`
    with runs(id, subscription_id, first_delivered_at, last_delivered_at, first_event_id,
      last_event_id, count, deliveries) as (
      ${values.length > 0 ? sql`values ${sql.join(values, sql`, `)}` : sql`select null::text, null::text, null::timestamptz, null::timestamptz, null::text, null::text, null::int, null::json where false`}
    ),
    subscribed as (
      -- Each run's subscription, whose failing streak a success ends, locked by this update: one
      -- being deleted meanwhile is waited for and then left out, where its foreign key would fail
      -- the whole statement, every lane's successes with it (PostgreSQL). (A lock taken by a
      -- select beside this update would skip the rows the update changes.)
      update webhook_subscriptions set failing_since = null
      where id in (select subscription_id from runs)
      returning id
    ),
    logged as (
      -- A subscription deleted meanwhile took its deliveries with it: nothing to record.
      insert into webhook_successes (id, subscription_id, first_delivered_at, last_delivered_at,
        first_event_id, last_event_id, count, deliveries)
      select r.id, r.subscription_id, r.first_delivered_at, r.last_delivered_at,
        r.first_event_id, r.last_event_id, r.count, r.deliveries
      from runs r
      join subscribed s on s.id = r.subscription_id
    ),
    delivered as (
      -- Per run, the primary key's range from its first event to its last, less what the lane
      -- did not send there (an event committed after the lane read past its id): each id checked
      -- against the run's ids, a constant array hashed. ~2.4 µs a delivery on PGlite, where
      -- searching the key for each id cost ~3.6 (measured). \`|| ''\` keeps that check off the
      -- index.
      delete from webhook_deliveries d
      where ${sql.join(
        [
          sql`false`,
          ...runs.map(
            (r) =>
              sql`(d.subscription_id = ${r.subscriptionId}
              and d.event_id between ${r.firstEventId} and ${r.lastEventId}
              and (d.event_id || '') = any(string_to_array(${r.eventIds}, ',')))`,
          ),
        ],
        sql` or `,
      )}
    ),
    handoff as (
      select h.* from jsonb_to_recordset(${JSON.stringify(leases)}::jsonb)
        as h(subscription_id text, worker text, from_id text, to_id text, now timestamptz,
          lease_until timestamptz, url text, secret text)
      -- The statement's snapshot: the head as it was before this statement deletes it.
      join webhook_deliveries held on held.subscription_id = h.subscription_id
        and held.event_id = h.from_id and held.locked_by = h.worker
        and held.lease_until > h.now
      -- A subscription turned off, pointed elsewhere or given a new secret since the claim: its
      -- lane ends here, and the next claim reads what it is now.
      join webhook_subscriptions s on s.id = h.subscription_id and s.disabled_at is null
        and s.url = h.url and s.secret = h.secret
    )
    update webhook_deliveries d
    set lease_until = h.lease_until, locked_by = h.worker, attempts = d.attempts + 1
    from handoff h
    where d.subscription_id = h.subscription_id and d.event_id = h.to_id and d.status = 'pending'
    returning d.subscription_id`)
  const handed = (result as unknown as { rows: { subscription_id: string }[] }).rows
  return new Set(handed.map((r) => r.subscription_id))
}

/** One subscription's successes as the webhook_successes row that records them. */
function successRun(subscriptionId: string, sent: DeliveredAttempt[]) {
  let firstEventId = sent[0]!.delivery.eventId
  let lastEventId = firstEventId
  let firstAt = sent[0]!.at.getTime()
  let lastAt = firstAt
  const deliveries: WebhookSuccess[] = []
  for (const { delivery, result, at } of sent) {
    const eventId = delivery.eventId
    const ms = at.getTime()
    if (eventId < firstEventId) firstEventId = eventId
    if (eventId > lastEventId) lastEventId = eventId
    if (ms < firstAt) firstAt = ms
    if (ms > lastAt) lastAt = ms
    deliveries.push([
      eventId,
      ms,
      delivery.attempts,
      result.statusCode ?? 200,
      result.latencyMs,
      result.responseExcerpt,
    ])
  }
  return {
    id: newId(lastAt),
    subscriptionId,
    firstDeliveredAt: new Date(firstAt).toISOString(),
    lastDeliveredAt: new Date(lastAt).toISOString(),
    firstEventId,
    lastEventId,
    count: deliveries.length,
    // Event ids never hold a comma (api/ids.ts).
    eventIds: deliveries.map((d) => d[0]).join(','),
    deliveries: JSON.stringify(deliveries),
  }
}

/**
 * Records a failed attempt: the log entry, the delivery's backoff (or giving up), the
 * subscription's failing streak (turning it off after three days, or at once on 410); one
 * transaction. It becomes (or stays) its subscription's head: what follows waits behind it.
 */
export async function recordFailure(
  deps: DeliveryDeps,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  options: Pick<WebhookDeliveryOptions, 'retry' | 'random'>,
): Promise<Exclude<Outcome, 'delivered'>> {
  const now = deps.now()
  const key = sql`${webhookDeliveries.subscriptionId} = ${delivery.subscriptionId} and ${webhookDeliveries.eventId} = ${delivery.eventId} and ${webhookDeliveries.status} = 'pending'`
  return deps.db.transaction(async (tx) => {
    await logAttempt(tx, delivery, result, now, false)
    const failed = {
      attempts: delivery.attempts,
      lastStatusCode: result.statusCode,
      lastError: result.error,
      leaseUntil: null,
      lockedBy: null,
    }
    if (result.statusCode === 410) {
      // The receiver says it is gone for good: stop now; the event waits for a re-enable.
      await tx
        .update(webhookDeliveries)
        .set({ ...failed, runAfter: now })
        .where(key)
      await disableSubscription(
        tx,
        deps,
        delivery.subscriptionId,
        'The receiver answered 410 Gone.',
        now,
      )
      return 'disabled'
    }
    const next = new Date(
      now.getTime() + retryDelayMs(delivery.attempts, options.random(), options.retry),
    )
    const giveUp = shouldGiveUp(delivery.eventAt, next, GIVE_UP_AFTER_MS)
    await tx
      .update(webhookDeliveries)
      .set(giveUp ? { ...failed, status: 'failed' } : { ...failed, runAfter: next })
      .where(key)
    const [sub] = await tx
      .update(webhookSubscriptions)
      .set({
        failingSince: sql`coalesce(${webhookSubscriptions.failingSince}, ${now.toISOString()}::timestamptz)`,
      })
      .where(eq(webhookSubscriptions.id, delivery.subscriptionId))
      .returning({ failingSince: webhookSubscriptions.failingSince })
    if (
      sub?.failingSince &&
      now.getTime() - sub.failingSince.getTime() >= DISABLE_AFTER_FAILING_MS
    ) {
      await disableSubscription(
        tx,
        deps,
        delivery.subscriptionId,
        `Every delivery failed for three days (last: ${result.error ?? 'no answer'}).`,
        now,
      )
      return 'disabled'
    }
    return giveUp ? 'failed' : 'retry'
  })
}

/**
 * Successes are written when a lane's batch ends, together with what the other lanes finished
 * meanwhile: a lane that ends while a group is being written joins the next one.
 */
function createDeliveredRecorder(db: Db) {
  type Entry = {
    attempts: DeliveredAttempt[]
    handoff: LeaseHandoff | undefined
    done: (handed: boolean) => void
    fail: (err: unknown) => void
  }
  let queue: Entry[] = []
  let writing = false
  async function write() {
    writing = true
    while (queue.length > 0) {
      const group = queue
      queue = []
      try {
        const handed = await recordDelivered(
          db,
          group.flatMap((e) => e.attempts),
          group.flatMap((e) => (e.handoff ? [e.handoff] : [])),
        )
        for (const e of group) e.done(e.handoff ? handed.has(e.handoff.subscriptionId) : false)
      } catch (err) {
        for (const e of group) e.fail(err)
      }
    }
    writing = false
  }
  /**
   * Writes these (and whatever else waits), and hands the lease on if asked, resolving once they
   * are written: true if the lease was handed on.
   */
  return (attempts: DeliveredAttempt[], handoff?: LeaseHandoff): Promise<boolean> => {
    if (attempts.length === 0 && !handoff) return Promise.resolve(false)
    const written = new Promise<boolean>((done, fail) =>
      queue.push({ attempts, handoff, done, fail }),
    )
    if (!writing) void write()
    return written
  }
}

type Recorder = ReturnType<typeof createDeliveredRecorder>

/** The webhook outcome counts of one round (tests) or one batch. */
export interface DrainResult {
  /** Deliveries claimed. */
  claimed: number
  delivered: number
  retried: number
  failed: number
  disabled: number
  /** Claimed but not sent: behind a failure, or the batch's time, the lease or the worker ran out. */
  released: number
}

const emptyResult = (): DrainResult => ({
  claimed: 0,
  delivered: 0,
  retried: 0,
  failed: 0,
  disabled: 0,
  released: 0,
})

function add(total: DrainResult, part: DrainResult) {
  for (const k of Object.keys(total) as (keyof DrainResult)[]) total[k] += part[k]
}

/**
 * Sends one subscription's batch in order, one request at a time, the head always; stops at the
 * first failure (the rest waits behind it), before a request could outlast the lease, after
 * `laneMs`, or when told to stop. While its claim was full it reads ahead, half a batch before
 * its queue runs dry, so a backlog goes out as one stream. Every `batchMs` the successes so far
 * are recorded and the lease handed on to the next delivery, so a crash re-sends at most
 * `batchMs` of them. The successes are recorded before it returns, which frees the subscription
 * for the next claim.
 */
async function deliverBatch(
  deps: DeliveryDeps,
  fetcher: GuardedFetcher,
  record: Recorder,
  bodies: EventBodies,
  batch: ClaimedBatch,
  options: WebhookDeliveryOptions,
  stopping: () => boolean = () => false,
): Promise<DrainResult & { drained: boolean }> {
  const result = emptyResult()
  const queue = batch.deliveries
  const target: WebhookTarget = {
    url: batch.url,
    sign: webhookSigner(batch.secret, batch.previous),
  }
  let delivered: DeliveredAttempt[] = []
  const laneStarted = deps.now().getTime()
  let segmentStarted = laneStarted
  let head = queue[0]!.eventId
  let leaseUntil = batch.leaseUntil.getTime()
  let more = batch.more
  let reading: Promise<ClaimedDelivery[]> | null = null
  // The lane ended because its subscription had nothing more pending when it last looked.
  let drained = false
  const readMore = () => {
    reading = readAhead(
      deps.db,
      batch.subscriptionId,
      queue.at(-1)!.eventId,
      options.batchSize,
      bodies,
    )
    // Read while sending: a failure shows when the lane needs the rows (or never, if it stops).
    reading.catch(() => {})
  }
  let i = 0
  for (;;) {
    if (more && reading === null && queue.length - i <= options.batchSize / 2) readMore()
    if (i === queue.length) {
      if (reading === null) {
        drained = !more && !batch.alone
        break
      }
      let got: ClaimedDelivery[]
      try {
        got = await reading
      } catch (err) {
        deps.logger.error('webhook read-ahead failed', { err })
        break
      }
      reading = null
      more = got.length >= options.batchSize
      if (got.length === 0) {
        drained = true
        break
      }
      for (const d of got) queue.push(d)
      continue
    }
    const delivery = queue[i]!
    let now = deps.now()
    if (i > 0) {
      // A request may outlast its time limit by up to the fetcher's deadline sweep period.
      if (stopping() || now.getTime() + options.timeoutMs + DEADLINE_TICK_MS >= leaseUntil) break
      if (now.getTime() - segmentStarted >= options.batchMs) {
        // What was sent is recorded; the batch goes on under a lease handed to this delivery
        // (claiming again would read the rest of the batch once more), or ends.
        if (now.getTime() - laneStarted >= options.laneMs) break
        const until = new Date(now.getTime() + options.leaseMs)
        const handed = await record(delivered, {
          subscriptionId: batch.subscriptionId,
          workerId: options.workerId,
          from: head,
          to: delivery.eventId,
          now,
          leaseUntil: until,
          url: batch.url,
          secret: batch.secret,
        })
        result.delivered += delivered.length
        delivered = []
        // The lease ran out meanwhile, or the subscription was turned off, edited or given a new
        // secret: what follows is the next claim's, which reads the subscription as it is now.
        if (!handed) break
        head = delivery.eventId
        leaseUntil = until.getTime()
        now = deps.now()
        segmentStarted = now.getTime()
      }
    }
    i++
    const attempt = await sendWebhook(fetcher, target, delivery, now, options.timeoutMs)
    if (attempt.ok) {
      delivered.push({ delivery, result: attempt, at: deps.now() })
      continue
    }
    // The failing streak is judged after the successes before it.
    await record(delivered)
    result.delivered += delivered.length
    delivered = []
    const outcome = await recordFailure(deps, delivery, attempt, options)
    if (outcome === 'retry') result.retried++
    else if (outcome === 'failed') result.failed++
    else result.disabled++
    deps.logger.warn('webhook delivery failed', {
      subscriptionId: delivery.subscriptionId,
      eventId: delivery.eventId,
      attempt: delivery.attempts,
      error: attempt.error,
      outcome,
    })
    break
  }
  await record(delivered)
  result.delivered += delivered.length
  result.claimed = queue.length
  result.released = queue.length - i
  return { ...result, drained }
}

/**
 * Gives back leased heads that were never sent (the worker stopped while claiming, or the claim
 * could not read its events): each as it was before the claim, its attempt not counted.
 */
async function releaseHeads(
  db: Db,
  heads: { subscriptionId: string; eventId: string }[],
  workerId: string,
): Promise<void> {
  if (heads.length === 0) return
  await db.execute(sql`
    update webhook_deliveries d
    set lease_until = null, locked_by = null, attempts = greatest(d.attempts - 1, 0)
    from unnest(${sql.param(heads.map((h) => h.subscriptionId))}::text[],
      ${sql.param(heads.map((h) => h.eventId))}::text[]) as h(subscription_id, event_id)
    where d.subscription_id = h.subscription_id and d.event_id = h.event_id
      and d.locked_by = ${workerId} and d.status = 'pending'`)
}

/** The SSRF-guarded client for webhook targets (WEBHOOK_ALLOW_ADDRESSES outside production). */
export function webhookFetcher(
  deps: Pick<Deps, 'env' | 'version'>,
  options: { timeoutMs: number; resolve?: Resolver | undefined },
): GuardedFetcher {
  return createGuardedFetcher({
    userAgent: `Frontdoor-Webhooks/${deps.version}`,
    ...webhookTargets(deps.env).rules,
    requestTimeoutMs: options.timeoutMs,
    headersTimeoutMs: options.timeoutMs,
    bodyIdleTimeoutMs: options.timeoutMs,
    connectTimeoutMs: Math.min(5_000, options.timeoutMs),
    maxRedirects: 0,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  })
}

/** One round: claim what is due and deliver it, all of it finished before returning (tests). */
export async function deliverDue(
  deps: DeliveryDeps,
  fetcher: GuardedFetcher,
  options: WebhookDeliveryOptions,
): Promise<DrainResult> {
  const bodies = createEventBodies(deps.db)
  const batches = await claimDeliveries(
    deps.db,
    {
      now: deps.now(),
      limit: options.concurrency,
      batchSize: Math.min(options.claimSize, options.batchSize),
      leaseMs: options.leaseMs,
      workerId: options.workerId,
    },
    bodies,
  )
  const record = createDeliveredRecorder(deps.db)
  const total = emptyResult()
  const results = await Promise.all(
    batches.map((b) => deliverBatch(deps, fetcher, record, bodies, b, options)),
  )
  for (const r of results) add(total, r)
  return total
}

/**
 * Sends an event to a subscription now, outside the queue ("send again", the test event), and
 * logs it as a manual attempt; when it works, a delivery still queued (waiting or given up) leaves
 * the queue as delivered, and the subscription's failing streak ends (as recordDelivered's do).
 */
export async function sendNow(
  deps: DeliveryDeps & Pick<Deps, 'version'>,
  delivery: WebhookMessage,
  options: { timeoutMs?: number; resolve?: Resolver } = {},
): Promise<AttemptResult> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_DELIVERY_DEFAULTS.timeoutMs
  const fetcher = webhookFetcher(deps, { timeoutMs, resolve: options.resolve })
  try {
    const now = deps.now()
    const result = await sendWebhook(
      fetcher,
      { url: delivery.url, sign: webhookSigner(delivery.secret, previousSecretOf(delivery, now)) },
      { eventId: delivery.eventId, payload: webhookPayload(delivery) },
      now,
      timeoutMs,
    )
    await deps.db.transaction(async (tx) => {
      await logAttempt(tx, delivery, result, now, true)
      if (!result.ok) return
      // Delivered: it leaves the queue (waiting or given up); the attempt logged above says so.
      // Not the head a lane holds leased now: its lease keeps a second lane off the
      // subscription, so it stays until that lane, which sends it too, records it.
      await tx.delete(webhookDeliveries).where(
        sql`${webhookDeliveries.subscriptionId} = ${delivery.subscriptionId} and ${webhookDeliveries.eventId} = ${delivery.eventId}
            and (${webhookDeliveries.leaseUntil} is null or ${webhookDeliveries.leaseUntil} <= ${now.toISOString()}::timestamptz)`,
      )
      // The receiver works: its failing streak ends, as a delivery's success ends it.
      await tx
        .update(webhookSubscriptions)
        .set({ failingSince: null })
        .where(
          sql`${webhookSubscriptions.id} = ${delivery.subscriptionId} and ${webhookSubscriptions.failingSince} is not null`,
        )
    })
    return result
  } finally {
    await fetcher.close()
  }
}

/**
 * The background worker: up to `concurrency` subscriptions served at once, each lane sending its
 * batch in order; whenever a lane finishes, the next due heads are claimed at once (unless its
 * subscription had nothing more and the last claim found nobody else waiting: then the idle poll
 * looks again), so a receiver that takes its time holds up only its own subscription. Stop lets
 * each lane finish the request
 * in flight and record what it sent; the rest is claimed again by whoever runs next.
 */
export function startWebhookDelivery(
  deps: DeliveryDeps & Pick<Deps, 'version'>,
  overrides: Partial<WebhookDeliveryOptions> = {},
): { stop(): Promise<void> } {
  const options: WebhookDeliveryOptions = {
    ...WEBHOOK_DELIVERY_DEFAULTS,
    workerId: `${hostname()}:${process.pid}:${newToken(5)}`,
    ...overrides,
  }
  const fetcher = webhookFetcher(deps, options)
  const record = createDeliveredRecorder(deps.db)
  const bodies = createEventBodies(deps.db)
  const inFlight = new Set<Promise<unknown>>()
  let stopped = false
  let wake: (() => void) | null = null
  const outage = watchDatabaseOutage(deps.logger, 'webhook claim', deps.now)
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    }).finally(() => {
      wake = null
    })
  // Whether the last claim took as many subscriptions as it could, so that others may be due and
  // waiting for a free lane. A lane that ends because its subscription has nothing more to send
  // frees a lane for them; when the last claim found nobody else, the next is left to the idle
  // poll: on PGlite a claim that finds nothing still costs ~3 ms of the server's thread.
  let othersWaiting = true
  const loop = (async () => {
    while (!stopped) {
      const free = options.concurrency - inFlight.size
      let batches: ClaimedBatch[] = []
      if (free > 0) {
        try {
          batches = await claimDeliveries(
            deps.db,
            {
              now: deps.now(),
              limit: free,
              batchSize: Math.min(options.claimSize, options.batchSize),
              leaseMs: options.leaseMs,
              workerId: options.workerId,
            },
            bodies,
          )
          othersWaiting = batches.length >= free
          outage.succeeded()
        } catch (err) {
          if (!outage.failed(err)) deps.logger.error('webhook claim failed', { err })
        }
      }
      if (stopped) {
        // Stopped while the claim was on its way: nothing of it is sent, its leases go back.
        const heads = batches.map((b) => ({
          subscriptionId: b.subscriptionId,
          eventId: b.deliveries[0]!.eventId,
        }))
        await releaseHeads(deps.db, heads, options.workerId).catch((err: unknown) =>
          deps.logger.error('webhook leases not given back', { err }),
        )
        break
      }
      for (const batch of batches) {
        const running: Promise<unknown> = deliverBatch(
          deps,
          fetcher,
          record,
          bodies,
          batch,
          options,
          () => stopped,
        )
          .then(
            (r) => r.drained,
            (err: unknown) => {
              deps.logger.error('webhook delivery failed', { err })
              return false
            },
          )
          .then((drained) => {
            inFlight.delete(running)
            // A lane that stopped short (its time, a failure, the lease) may have more to send.
            if (!drained || othersWaiting) wake?.()
          })
        inFlight.add(running)
      }
      // While the database is unreachable the claims back off (up to 30 s), not every idleMs.
      if (batches.length === 0 && !stopped) await pause(Math.max(options.idleMs, outage.waitMs()))
    }
  })()
  return {
    async stop() {
      stopped = true
      wake?.()
      await loop
      await Promise.all(inFlight)
      await fetcher.close()
    },
  }
}
