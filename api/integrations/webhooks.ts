import { randomBytes } from 'node:crypto'
import { and, desc, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { rowsOf } from '../db/raw-sql.ts'
import {
  users,
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
  webhookSuccesses,
} from '../db/schema.ts'
import type { Env } from '../env.ts'
import { createAddressPolicy, type AddressPolicy } from '../grader/engine/address-policy.ts'
import { systemResolver, type Resolver } from '../grader/engine/guarded-fetch.ts'
import { checkTargetUrl, type TargetUrlRules } from '../grader/engine/target-url.ts'
import { parseAllowList } from '../grader/reports.ts'
import { successEntries, TEST_EVENT_TYPE, type WebhookEventData } from '../db/webhook-outbox.ts'
import { newId } from '../ids.ts'
import { positionOf } from './sync.ts'

// Webhook subscriptions: a URL, the events it wants, its signing secret. A URL is judged as the
// grader judges a site to fetch (api/grader/engine/target-url.ts and address-policy.ts): public
// addresses only, on ports 80 and 443, and every address its name resolves to must be public
// too. Delivery judges the addresses again at connect time (the DNS answer may have changed).

export type Subscription = typeof webhookSubscriptions.$inferSelect

/**
 * A subscription as reads show it: without its signing secrets, which travel only in the answers
 * that make one (subscribing, rotating) and in an explicit reveal (signingSecretsOf), so a list
 * read by a log, a proxy or an integration does not collect every secret.
 */
export type SubscriptionView = Omit<Subscription, 'secret' | 'previousSecret'>

export function withoutSecrets(sub: Subscription): SubscriptionView {
  const { secret: _secret, previousSecret: _previous, ...view } = sub
  return view
}

/** What a reveal shows: the current secret, and the previous one while it still signs. */
export interface SigningSecrets {
  secret: string
  previousSecret: string | null
  previousSecretExpiresAt: Date | null
}

export function signingSecretsOf(sub: Subscription, now: Date): SigningSecrets {
  const previous = previousSecretOf(sub, now)
  return {
    secret: sub.secret,
    previousSecret: previous?.secret ?? null,
    previousSecretExpiresAt: previous?.until ?? null,
  }
}

/**
 * The cookie that brings a secret just made or revealed to its subscription's page, for a minute
 * and once (as NEW_TOKEN_COOKIE does for an API token): never in a URL, a log or the history.
 */
export const SHOWN_SECRET_COOKIE = 'fd_webhook_secret'

/** A secret rotated out: deliveries are signed with it too, beside the current one, until `until`. */
export interface PreviousSecret {
  secret: string
  until: Date
}

export interface WebhookTargets {
  /**
   * The URL rules, at subscription and at every delivery: this policy, the allowed ports, and any
   * port but a bad one (a receiver's port is the subscriber's choice: n8n listens on 5678).
   */
  rules: TargetUrlRules & { policy: AddressPolicy; anyPort: true }
  /** In production events (names, emails) only travel encrypted. */
  requireHttps: boolean
}

const targetsCache = new WeakMap<object, WebhookTargets>()

/** What webhook URLs may point at; WEBHOOK_ALLOW_ADDRESSES counts only outside production. */
export function webhookTargets(env: Pick<Env, 'NODE_ENV' | 'WEBHOOK_ALLOW_ADDRESSES'>) {
  const cached = targetsCache.get(env)
  if (cached) return cached
  const allow =
    env.NODE_ENV === 'production'
      ? { addresses: [], ports: [] }
      : parseAllowList(env.WEBHOOK_ALLOW_ADDRESSES)
  const targets: WebhookTargets = {
    rules: {
      policy: createAddressPolicy({ allowAddresses: allow.addresses }),
      allowPorts: allow.ports,
      anyPort: true,
    },
    requireHttps: env.NODE_ENV === 'production',
  }
  targetsCache.set(env, targets)
  return targets
}

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string }

/** Whether events may be sent to `input`, with the reason in words when not. */
export async function checkWebhookUrl(
  input: string,
  targets: WebhookTargets,
  resolve: Resolver = systemResolver,
): Promise<UrlCheck> {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    return { ok: false, message: 'That is not a valid URL (include https://).' }
  }
  url.hash = ''
  if (targets.requireHttps && url.protocol !== 'https:')
    return {
      ok: false,
      message: 'Webhook URLs must start with https://: events carry names and email addresses.',
    }
  const verdict = checkTargetUrl(url, targets.rules)
  if (!verdict.ok) {
    if (verdict.kind === 'address')
      return {
        ok: false,
        message: `Webhooks only go to public addresses: ${verdict.reason}.`,
      }
    if (verdict.reason.startsWith('host'))
      return {
        ok: false,
        message: `Webhooks only go to public host names: ${url.hostname} is not one.`,
      }
    return { ok: false, message: `That URL cannot receive webhooks: ${verdict.reason}.` }
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (/^[\d.]+$/.test(host) || host.includes(':')) return { ok: true, url: url.href }
  let answers
  try {
    answers = await resolve(host)
  } catch {
    return { ok: false, message: `The host name ${host} does not resolve.` }
  }
  if (answers.length === 0) return { ok: false, message: `The host name ${host} does not resolve.` }
  for (const answer of answers) {
    const judged = targets.rules.policy(answer.address)
    if (!judged.allowed)
      return {
        ok: false,
        message: `Webhooks only go to public addresses: ${host} resolves to ${judged.reason}.`,
      }
  }
  return { ok: true, url: url.href }
}

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`

/** How long a secret rotated out still signs, beside the new one: the receiver's time to switch. */
export const PREVIOUS_SECRET_MS = 24 * 60 * 60 * 1000

export async function createSubscription(
  db: Db,
  input: { url: string; events: readonly string[]; createdBy: string },
  now: Date,
): Promise<Subscription> {
  const [row] = await db
    .insert(webhookSubscriptions)
    .values({
      id: newId(now.getTime()),
      url: input.url,
      events: [...input.events],
      secret: newSecret(),
      createdBy: input.createdBy,
      createdAt: now,
    })
    .returning()
  return row!
}

/**
 * Points a subscription at another URL, or another set of events, or both (the URL already judged
 * by checkWebhookUrl). Deliveries waiting go to the new URL: the worker reads it at each claim,
 * and a lane holding a batch stops at its next lease hand-off (recordDelivered). The events apply
 * to events recorded from now on; those already queued still go. Null when there is no such
 * subscription.
 */
export async function updateSubscription(
  db: Db,
  id: string,
  changes: { url?: string | undefined; events?: readonly string[] | undefined },
): Promise<Subscription | null> {
  const [row] = await db
    .update(webhookSubscriptions)
    .set({
      ...(changes.url === undefined ? {} : { url: changes.url }),
      ...(changes.events === undefined ? {} : { events: [...changes.events] }),
    })
    .where(eq(webhookSubscriptions.id, id))
    .returning()
  return row ?? null
}

/**
 * A new signing secret; the one it replaces still signs beside it for PREVIOUS_SECRET_MS (the
 * Standard Webhooks way to rotate without downtime: two signatures, either verifies). Rotating
 * again within that time replaces the previous one with the one current until now. A lane
 * sending with the old secrets stops at its next lease hand-off (recordDelivered).
 */
export async function rotateSecret(db: Db, id: string, now: Date): Promise<Subscription | null> {
  const [row] = await db
    .update(webhookSubscriptions)
    .set({
      // The row's value before this update, as SQL reads the right-hand side.
      previousSecret: sql`${webhookSubscriptions.secret}`,
      previousSecretExpiresAt: new Date(now.getTime() + PREVIOUS_SECRET_MS),
      secret: newSecret(),
    })
    .where(eq(webhookSubscriptions.id, id))
    .returning()
  return row ?? null
}

/** The secret rotated out that still signs at `now`, or null. */
export function previousSecretOf(
  sub: Pick<Subscription, 'previousSecret' | 'previousSecretExpiresAt'>,
  now: Date,
): PreviousSecret | null {
  const until = sub.previousSecretExpiresAt
  if (sub.previousSecret === null || until === null || until <= now) return null
  return { secret: sub.previousSecret, until }
}

export async function findSubscription(db: Db, id: string): Promise<Subscription | null> {
  const [row] = await db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id))
  return row ?? null
}

export async function deleteSubscription(db: Db, id: string): Promise<boolean> {
  const deleted = await db
    .delete(webhookSubscriptions)
    .where(eq(webhookSubscriptions.id, id))
    .returning({ id: webhookSubscriptions.id })
  return deleted.length === 1
}

/**
 * Turns a subscription back on (events that waited go out in order) or off by hand. One already
 * so is left as it is: an off one keeps why it went off, an on one its failing streak.
 */
export async function setSubscriptionEnabled(
  db: Db,
  id: string,
  enabled: boolean,
  now: Date,
): Promise<Subscription | null> {
  const [row] = await db
    .update(webhookSubscriptions)
    .set(
      enabled
        ? { disabledAt: null, disabledReason: null, failingSince: null }
        : { disabledAt: now, disabledReason: 'Turned off by an admin.' },
    )
    .where(
      and(
        eq(webhookSubscriptions.id, id),
        enabled
          ? isNotNull(webhookSubscriptions.disabledAt)
          : isNull(webhookSubscriptions.disabledAt),
      ),
    )
    .returning()
  if (!row) return findSubscription(db, id)
  if (enabled)
    // What waited in backoff goes now, not hours later.
    await db
      .update(webhookDeliveries)
      .set({ runAfter: now })
      .where(and(eq(webhookDeliveries.subscriptionId, id), eq(webhookDeliveries.status, 'pending')))
  return row
}

/**
 * Who to tell when a subscription is switched off: the admin who made it while they still are an
 * active admin; else (disabled, or no longer an admin) every active admin, so that someone hears.
 */
export async function subscriptionAdmins(db: Db, subscriptionId: string) {
  const person = { id: users.id, name: users.name, email: users.email }
  const activeAdmin = and(eq(users.role, 'admin'), isNull(users.disabledAt))
  const owner = await db
    .select(person)
    .from(webhookSubscriptions)
    .innerJoin(users, and(eq(users.id, webhookSubscriptions.createdBy), activeAdmin))
    .where(eq(webhookSubscriptions.id, subscriptionId))
  if (owner.length > 0) return owner
  return db.select(person).from(users).where(activeAdmin).orderBy(users.id)
}

/** A `webhook.test` event queued for this one subscription (the page's test button). */
export async function recordTestEvent(db: Db, subscriptionId: string, now: Date) {
  const id = newId(now.getTime())
  const data: WebhookEventData<typeof TEST_EVENT_TYPE> = {
    message: 'A test event from Frontdoor: your receiver is set up.',
  }
  await db.transaction(async (tx) => {
    await tx.insert(webhookEvents).values({ id, type: TEST_EVENT_TYPE, data, createdAt: now })
    // Already delivered or not, it is sent at once by the caller and never retried.
    await tx.insert(webhookDeliveries).values({
      subscriptionId,
      eventId: id,
      status: 'failed',
      runAfter: now,
      createdAt: now,
    })
  })
  return { id, type: TEST_EVENT_TYPE, data, createdAt: now }
}

/**
 * An event as one subscription had it queued ("send again"): still queued (waiting or given up),
 * or delivered, by the worker or by hand (its row then left the queue); null when it never was.
 */
export async function findDelivery(db: Db, subscriptionId: string, eventId: string) {
  const queued = sql`exists (select 1 from ${webhookDeliveries} d where d.subscription_id = ${subscriptionId} and d.event_id = ${eventId})`
  const sentByHand = sql`exists (select 1 from ${webhookAttempts} a where a.subscription_id = ${subscriptionId} and a.event_id = ${eventId} and a.ok)`
  const [row] = await db
    .select({
      subscriptionId: webhookSubscriptions.id,
      eventId: webhookEvents.id,
      url: webhookSubscriptions.url,
      secret: webhookSubscriptions.secret,
      previousSecret: webhookSubscriptions.previousSecret,
      previousSecretExpiresAt: webhookSubscriptions.previousSecretExpiresAt,
      type: webhookEvents.type,
      data: webhookEvents.data,
      eventAt: webhookEvents.createdAt,
      queued: sql<boolean>`${queued} or ${sentByHand}`,
    })
    .from(webhookSubscriptions)
    .innerJoin(webhookEvents, eq(webhookEvents.id, eventId))
    .where(eq(webhookSubscriptions.id, subscriptionId))
  if (!row) return null
  const { queued: wasQueued, ...delivery } = row
  if (wasQueued || (await findWorkerSuccesses(db, subscriptionId, eventId)).length > 0)
    return delivery
  return null
}

/**
 * How many of a subscription's success rows, the nearest at or below an event id by first event,
 * are looked at for that event. A row holds one lane's run in event order and the next run starts
 * past it, so the event's row is almost always the nearest; but each event committed out of order
 * and sent later starts a row of its own below the runs around it, so the bound is generous: only
 * the rows whose event range holds the id are expanded, and ~1,000 rows' bounds cost a few ms.
 */
const ROWS_NEAR_AN_EVENT = 1_000

/** A worker's success as webhook_successes holds it, with its log position (sync.ts positionOf). */
export interface WorkerSuccess {
  status_code: number
  latency_ms: number
  response_excerpt: string | null
  position: string
}

/**
 * The worker's successful deliveries of an event to a subscription (one, unless a lane's lease ran
 * out while it sent and another sent it again), oldest first: looked for in the rows nearest
 * below it by first event id (webhook_successes_event_idx, ROWS_NEAR_AN_EVENT), not in all.
 */
export async function findWorkerSuccesses(
  db: Db,
  subscriptionId: string,
  eventId: string,
): Promise<WorkerSuccess[]> {
  return rowsOf<WorkerSuccess>(
    await db.execute(sql`
      select d.status_code, d.latency_ms, d.response_excerpt,
        ${positionOf(sql`d.delivered_at`)} as position
      from (
        select near.deliveries from (
          select s.deliveries, s.last_event_id from ${webhookSuccesses} s
          where s.subscription_id = ${subscriptionId} and s.first_event_id <= ${eventId}
          order by s.first_event_id desc
          limit ${ROWS_NEAR_AN_EVENT}
        ) near
        where near.last_event_id >= ${eventId}
      ) s
      cross join lateral ${successEntries(sql`s.deliveries`)} d
      where d.event_id = ${eventId}
      order by position`),
  )
}

/** Webhook history is kept this long: events, their deliveries and the delivery log. */
export const WEBHOOK_HISTORY_DAYS = 30

/**
 * Deletes events older than the history window that nothing waits to send, and the worker's
 * successes last delivered before it (housekeeping); says how many of each.
 */
export async function pruneWebhookHistory(
  db: Db,
  now: Date,
): Promise<{ events: number; successes: number }> {
  const before = new Date(now.getTime() - WEBHOOK_HISTORY_DAYS * 24 * 60 * 60 * 1000)
  const deleted = await db
    .delete(webhookEvents)
    .where(
      and(
        sql`${webhookEvents.createdAt} < ${before.toISOString()}::timestamptz`,
        sql`not exists (select 1 from ${webhookDeliveries} d where d.event_id = ${webhookEvents.id} and d.status = 'pending')`,
      ),
    )
    .returning({ id: webhookEvents.id })
  // Off webhook_successes_retention_idx. A row delivered within the window stays whole, its
  // entries of events deleted above with it: the log shows only entries whose event is kept.
  const successes = await db
    .delete(webhookSuccesses)
    .where(sql`${webhookSuccesses.lastDeliveredAt} < ${before.toISOString()}::timestamptz`)
    .returning({ id: webhookSuccesses.id })
  return { events: deleted.length, successes: successes.length }
}
