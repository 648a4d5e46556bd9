// Webhook delivery: the worker that empties the webhook outbox (api/db/webhook-outbox.ts).
//
// - At least once, in order per subscription: only the oldest pending delivery of a subscription
//   (its head) is ever claimed, so the next event waits until the one before it is delivered or
//   given up. A claim is a lease taken with FOR UPDATE SKIP LOCKED, re-checked on the locked row,
//   so several processes sharing one PostgreSQL never send one delivery twice at once; a crashed
//   worker's lease runs out and the delivery goes again, with the same webhook-id.
// - One dead receiver holds up nobody else: each delivery is a lane of its own, and a free lane
//   claims the next head at once instead of waiting for the slowest of a batch.
// - Signed as Standard Webhooks (the `standardwebhooks` package): webhook-id (the event id, the
//   same on every attempt), webhook-timestamp, webhook-signature.
// - Sent through the grader's SSRF-guarded client: every address connected to is judged at
//   connect time, redirects are not followed, time and size are capped.
// - Failures retry with exponential backoff and jitter until the event is three days old; a
//   subscription whose every attempt failed for three days, or that answered 410 Gone, is turned
//   off and its admin emailed (through the email outbox, in the same transaction).

import { hostname } from 'node:os'
import { eq, sql } from 'drizzle-orm'
import { Webhook } from 'standardwebhooks'
import * as webhookDisabled from '../../email-templates/webhook-disabled.ts'
import type { Db } from '../db/client.ts'
import { webhookAttempts, webhookDeliveries, webhookSubscriptions } from '../db/schema.ts'
import type { Deps } from '../deps.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { retryDelayMs, shouldGiveUp, type RetryPolicy } from '../email/outbox-worker.ts'
import { brandOf, loadSenderSettings } from '../email/sender.ts'
import {
  createGuardedFetcher,
  type GuardedFetcher,
  type Resolver,
} from '../grader/engine/guarded-fetch.ts'
import { newId, newToken } from '../ids.ts'
import { subscriptionOwner, webhookTargets } from './webhooks.ts'

const DAY = 24 * 60 * 60 * 1000
export const GIVE_UP_AFTER_MS = 3 * DAY
export const DISABLE_AFTER_FAILING_MS = 3 * DAY
export const WEBHOOK_RETRY: RetryPolicy = { baseMs: 30_000, capMs: 6 * 60 * 60_000 }
const EXCERPT_CHARS = 500

export interface WebhookDeliveryOptions {
  workerId: string
  /** Deliveries in flight at once (each to a different subscription). */
  concurrency: number
  /** How long a claim holds a delivery; longer than a request can take. */
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
  url: string
  secret: string
  type: string
  data: unknown
  eventAt: Date
}

/** Payload as receivers see it (Standard Webhooks: type, timestamp, data). */
export function webhookPayload(d: Pick<ClaimedDelivery, 'type' | 'eventAt' | 'data'>): string {
  return JSON.stringify({ type: d.type, timestamp: d.eventAt.toISOString(), data: d.data })
}

/** Claims up to `limit` subscription heads that are due, each with a lease. */
export async function claimDeliveries(
  db: Db,
  options: { now: Date; limit: number; leaseMs: number; workerId: string },
): Promise<ClaimedDelivery[]> {
  const now = options.now.toISOString()
  const leaseUntil = new Date(options.now.getTime() + options.leaseMs).toISOString()
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
    )
    update webhook_deliveries d
    set lease_until = ${leaseUntil}::timestamptz, locked_by = ${options.workerId},
        attempts = d.attempts + 1
    from locked, webhook_subscriptions s, webhook_events e
    where d.subscription_id = locked.subscription_id and d.event_id = locked.event_id
      and s.id = d.subscription_id and e.id = d.event_id
    returning d.subscription_id, d.event_id, d.attempts, s.url, s.secret, e.type, e.data,
      e.created_at`)
  const rows = (result as unknown as { rows: Record<string, unknown>[] }).rows
  return rows.map((r) => ({
    subscriptionId: r.subscription_id as string,
    eventId: r.event_id as string,
    attempts: Number(r.attempts),
    url: r.url as string,
    secret: r.secret as string,
    type: r.type as string,
    data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
    eventAt: new Date(r.created_at as string | Date),
  }))
}

export interface AttemptResult {
  ok: boolean
  statusCode: number | null
  latencyMs: number
  error: string | null
  responseExcerpt: string | null
}

/** One POST of one event to one receiver, signed; never throws. */
export async function sendWebhook(
  fetcher: GuardedFetcher,
  delivery: Pick<ClaimedDelivery, 'url' | 'secret' | 'eventId' | 'type' | 'eventAt' | 'data'>,
  now: Date,
  timeoutMs: number,
): Promise<AttemptResult> {
  const payload = webhookPayload(delivery)
  const signature = new Webhook(delivery.secret).sign(delivery.eventId, now, payload)
  const started = performance.now()
  const outcome = await fetcher.fetch(delivery.url, {
    method: 'POST',
    body: payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    },
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
    responseExcerpt: body.toString('utf8').slice(0, EXCERPT_CHARS) || null,
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

/** Turns a subscription off and tells its admin, in the caller's transaction. */
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
  const owner = await subscriptionOwner(tx, subscriptionId)
  if (!owner) return
  const sender = await loadSenderSettings(tx, deps.env)
  const rendered = webhookDisabled.render({
    brand: brandOf(sender),
    name: owner.name,
    url: row.url,
    reason,
    manageUrl: `${deps.env.APP_ORIGIN}/app/admin/webhooks`,
  })
  await enqueueEmail(tx, {
    category: 'transactional',
    to: formatAddress(owner.name, owner.email),
    recipient: owner.email,
    ...rendered,
    template: 'webhook-disabled',
    dedupeKey: `webhook-disabled:${subscriptionId}:${now.getTime()}`,
    now,
  })
}

export type Outcome = 'delivered' | 'retry' | 'failed' | 'disabled'

/** Records what one claimed attempt did: the log entry, the delivery, the subscription. */
export async function recordOutcome(
  deps: DeliveryDeps,
  delivery: ClaimedDelivery,
  result: AttemptResult,
  options: Pick<WebhookDeliveryOptions, 'retry' | 'random'>,
): Promise<Outcome> {
  const now = deps.now()
  const key = sql`${webhookDeliveries.subscriptionId} = ${delivery.subscriptionId} and ${webhookDeliveries.eventId} = ${delivery.eventId}`
  if (result.ok) {
    // The common case in one statement (one round trip, atomic on its own): log, mark
    // delivered, clear the subscription's failing streak.
    await deps.db.execute(sql`
      with attempt as (
        insert into webhook_attempts
          (id, subscription_id, event_id, ok, status_code, latency_ms, response_excerpt, manual, created_at)
        values (${newId(now.getTime())}, ${delivery.subscriptionId}, ${delivery.eventId}, true,
          ${result.statusCode}, ${result.latencyMs}, ${result.responseExcerpt}, false,
          ${now.toISOString()}::timestamptz)
      ),
      delivered as (
        update webhook_deliveries
        set status = 'delivered', delivered_at = ${now.toISOString()}::timestamptz,
          lease_until = null, locked_by = null, last_status_code = ${result.statusCode}, last_error = null
        where subscription_id = ${delivery.subscriptionId} and event_id = ${delivery.eventId}
      )
      update webhook_subscriptions set failing_since = null
      where id = ${delivery.subscriptionId} and failing_since is not null`)
    return 'delivered'
  }
  return deps.db.transaction(async (tx) => {
    await logAttempt(tx, delivery, result, now, false)
    const failed = {
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

/** The SSRF-guarded client for webhook targets (WEBHOOK_ALLOW_ADDRESSES outside production). */
export function webhookFetcher(
  deps: Pick<Deps, 'env' | 'version'>,
  options: { timeoutMs: number; resolve?: Resolver | undefined },
): GuardedFetcher {
  const targets = webhookTargets(deps.env)
  return createGuardedFetcher({
    userAgent: `Frontdoor-Webhooks/${deps.version}`,
    policy: targets.policy,
    allowPorts: targets.allowPorts,
    requestTimeoutMs: options.timeoutMs,
    headersTimeoutMs: options.timeoutMs,
    bodyIdleTimeoutMs: options.timeoutMs,
    connectTimeoutMs: Math.min(5_000, options.timeoutMs),
    maxRedirects: 0,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  })
}

export interface DrainResult {
  claimed: number
  delivered: number
  retried: number
  failed: number
  disabled: number
}

/** One round: claim what is due and deliver it, all of it finished before returning (tests). */
export async function deliverDue(
  deps: DeliveryDeps,
  fetcher: GuardedFetcher,
  options: WebhookDeliveryOptions,
): Promise<DrainResult> {
  const claimed = await claimDeliveries(deps.db, {
    now: deps.now(),
    limit: options.concurrency,
    leaseMs: options.leaseMs,
    workerId: options.workerId,
  })
  const result: DrainResult = {
    claimed: claimed.length,
    delivered: 0,
    retried: 0,
    failed: 0,
    disabled: 0,
  }
  const outcomes = await Promise.all(claimed.map((d) => deliverOne(deps, fetcher, d, options)))
  for (const outcome of outcomes) {
    if (outcome === 'delivered') result.delivered++
    else if (outcome === 'retry') result.retried++
    else if (outcome === 'failed') result.failed++
    else result.disabled++
  }
  return result
}

async function deliverOne(
  deps: DeliveryDeps,
  fetcher: GuardedFetcher,
  delivery: ClaimedDelivery,
  options: WebhookDeliveryOptions,
): Promise<Outcome> {
  const result = await sendWebhook(fetcher, delivery, deps.now(), options.timeoutMs)
  const outcome = await recordOutcome(deps, delivery, result, options)
  if (outcome !== 'delivered')
    deps.logger.warn('webhook delivery failed', {
      subscriptionId: delivery.subscriptionId,
      eventId: delivery.eventId,
      attempt: delivery.attempts,
      error: result.error,
      outcome,
    })
  return outcome
}

/**
 * Sends an event to a subscription now, outside the queue ("send again", the test event), and
 * logs it as a manual attempt; a delivery not yet delivered counts as delivered when it works.
 */
export async function sendNow(
  deps: DeliveryDeps & Pick<Deps, 'version'>,
  delivery: Omit<ClaimedDelivery, 'attempts'>,
  options: { timeoutMs?: number; resolve?: Resolver } = {},
): Promise<AttemptResult> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_DELIVERY_DEFAULTS.timeoutMs
  const fetcher = webhookFetcher(deps, { timeoutMs, resolve: options.resolve })
  try {
    const now = deps.now()
    const result = await sendWebhook(fetcher, delivery, now, timeoutMs)
    await deps.db.transaction(async (tx) => {
      await logAttempt(tx, delivery, result, now, true)
      if (result.ok)
        await tx
          .update(webhookDeliveries)
          .set({
            status: 'delivered',
            deliveredAt: now,
            lastStatusCode: result.statusCode,
            lastError: null,
          })
          .where(
            sql`${webhookDeliveries.subscriptionId} = ${delivery.subscriptionId} and ${webhookDeliveries.eventId} = ${delivery.eventId} and ${webhookDeliveries.status} <> 'delivered'`,
          )
    })
    return result
  } finally {
    await fetcher.close()
  }
}

/**
 * The background worker: up to `concurrency` deliveries in flight; whenever one finishes, the
 * next due heads are claimed at once, so a receiver that takes its time holds up only its own
 * subscription. Stop waits for the deliveries in flight.
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
  const inFlight = new Set<Promise<unknown>>()
  let stopped = false
  let wake: (() => void) | null = null
  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.idleMs)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    }).finally(() => {
      wake = null
    })
  const loop = (async () => {
    while (!stopped) {
      const free = options.concurrency - inFlight.size
      let claimed: ClaimedDelivery[] = []
      if (free > 0) {
        try {
          claimed = await claimDeliveries(deps.db, {
            now: deps.now(),
            limit: free,
            leaseMs: options.leaseMs,
            workerId: options.workerId,
          })
        } catch (err) {
          deps.logger.error('webhook claim failed', { err })
        }
      }
      for (const delivery of claimed) {
        const running: Promise<unknown> = deliverOne(deps, fetcher, delivery, options)
          .catch((err: unknown) => deps.logger.error('webhook delivery failed', { err }))
          .finally(() => {
            inFlight.delete(running)
            wake?.()
          })
        inFlight.add(running)
      }
      if (claimed.length === 0 && !stopped) await pause()
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
