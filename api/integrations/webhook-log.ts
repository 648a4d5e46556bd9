import { and, asc, desc, eq, isNotNull, sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
} from '../db/schema.ts'
import { readEventBodies } from './webhook-delivery.ts'
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from '../db/webhook-outbox.ts'
import { cursorParam, encodeCursor, positionOf, type SyncPage, type SyncPosition } from './sync.ts'
import { withoutSecrets, type SubscriptionView } from './webhooks.ts'

// A subscription's delivery log: the attempts logged (failures, sends by hand, and successes from
// before 0017) and the worker's successes, which are kept on their delivery (webhook-delivery.ts
// recordDelivered). Each side is read off an index in keyset order on (time, id) and the two
// merged, so a page is the same whatever was logged since: cursors as the sync endpoints' are
// (sync.ts encodeCursor), timestamps to the microsecond.

export interface AttemptLogItem {
  id: string
  eventId: string
  eventType: string
  ok: boolean
  statusCode: number | null
  latencyMs: number
  error: string | null
  responseExcerpt: string | null
  manual: boolean
  at: Date
  deliveryStatus: string | null
}

/**
 * Which entries: every one; the failed attempts; those of events the subscription has not been
 * sent yet (their delivery still pending: it is retried, or it waits for the subscription to be
 * turned on).
 */
const LOG_OUTCOMES = ['all', 'failed', 'waiting'] as const
type LogOutcome = (typeof LOG_OUTCOMES)[number]

interface LogQuery {
  outcome?: LogOutcome | undefined
  type?: string | undefined
  /** Entries older than this position (the `nextCursor` of a page). */
  before?: SyncPosition | null | undefined
  /** Entries newer than this position (a page's "Newer" link); `before` wins when both. */
  after?: SyncPosition | null | undefined
  limit?: number | undefined
}

export const LOG_PAGE_DEFAULT = 50
const LOG_PAGE_MAX = 200
export const LOG_EVENT_TYPES = [...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE] as const

const cursor = (what: string) =>
  cursorParam(`The ${what} cursor is not one this log gave out; start from the newest.`)

/** The log's filters and position, as the JSON endpoint and the page read them from the URL (http/input.ts's givenParams). */
export const logQuerySchema = z.object({
  status: z
    .enum(LOG_OUTCOMES, { message: `status is ${LOG_OUTCOMES.join(', ')}.` })
    .optional()
    .describe(
      'all (default), failed (attempts that failed) or waiting (attempts of events not yet delivered, to be tried again).',
    ),
  type: z
    .enum(LOG_EVENT_TYPES, { message: `type is one of ${LOG_EVENT_TYPES.join(', ')}.` })
    .optional()
    .describe('Only entries of this event type.'),
  cursor: cursor('older').describe('Entries older than this: the nextCursor of a page.'),
  newer: cursor('newer').describe('Entries newer than this: the prevCursor of a page.'),
  limit: z.coerce
    .number()
    .int()
    .min(1, 'limit is at least 1.')
    .max(LOG_PAGE_MAX, `limit is at most ${LOG_PAGE_MAX}.`)
    .default(LOG_PAGE_DEFAULT),
})

/** The log query a URL's parameters (logQuerySchema's output) name. */
export function logQueryOf(params: Partial<z.infer<typeof logQuerySchema>>): LogQuery {
  return {
    outcome: params.status,
    type: params.type,
    before: params.cursor,
    after: params.newer,
    limit: params.limit,
  }
}

export interface LogPage extends SyncPage<AttemptLogItem> {
  /** The position of the page's first entry: entries newer than it are the page before. */
  prevCursor: string | null
  /** Whether entries newer than this page's first one exist. */
  hasNewer: boolean
}

type Row = AttemptLogItem & { position: string }
type Direction = 'older' | 'newer'

/** `(at, id)` past `from`, the way the page goes. */
function keyset(at: PgColumn, id: PgColumn, from: SyncPosition | null, dir: Direction) {
  if (!from) return undefined
  return dir === 'older'
    ? sql`(${at}, ${id}) < (${from.at}::timestamptz, ${from.id})`
    : sql`(${at}, ${id}) > (${from.at}::timestamptz, ${from.id})`
}

async function loggedSide(
  db: Db,
  subscriptionId: string,
  where: SQL | undefined,
  from: SyncPosition | null,
  dir: Direction,
  limit: number,
): Promise<Row[]> {
  const order = dir === 'older' ? desc : asc
  return db
    .select({
      id: webhookAttempts.id,
      eventId: webhookAttempts.eventId,
      eventType: webhookEvents.type,
      ok: webhookAttempts.ok,
      statusCode: webhookAttempts.statusCode,
      latencyMs: webhookAttempts.latencyMs,
      error: webhookAttempts.error,
      responseExcerpt: webhookAttempts.responseExcerpt,
      manual: webhookAttempts.manual,
      at: webhookAttempts.createdAt,
      deliveryStatus: webhookDeliveries.status,
      position: positionOf(webhookAttempts.createdAt),
    })
    .from(webhookAttempts)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookAttempts.eventId))
    .leftJoin(
      webhookDeliveries,
      and(
        eq(webhookDeliveries.subscriptionId, webhookAttempts.subscriptionId),
        eq(webhookDeliveries.eventId, webhookAttempts.eventId),
      ),
    )
    .where(
      and(
        eq(webhookAttempts.subscriptionId, subscriptionId),
        keyset(webhookAttempts.createdAt, webhookAttempts.id, from, dir),
        where,
      ),
    )
    .orderBy(order(webhookAttempts.createdAt), order(webhookAttempts.id))
    .limit(limit)
}

async function deliveredSide(
  db: Db,
  subscriptionId: string,
  where: SQL | undefined,
  from: SyncPosition | null,
  dir: Direction,
  limit: number,
): Promise<Row[]> {
  const order = dir === 'older' ? desc : asc
  const rows = await db
    .select({
      eventId: webhookDeliveries.eventId,
      eventType: webhookEvents.type,
      statusCode: webhookDeliveries.lastStatusCode,
      latencyMs: webhookDeliveries.latencyMs,
      responseExcerpt: webhookDeliveries.responseExcerpt,
      at: webhookDeliveries.deliveredAt,
      deliveryStatus: webhookDeliveries.status,
      position: positionOf(webhookDeliveries.deliveredAt),
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        // The worker's successes: the expression of webhook_deliveries_log_idx.
        isNotNull(webhookDeliveries.latencyMs),
        isNotNull(webhookDeliveries.deliveredAt),
        keyset(webhookDeliveries.deliveredAt, webhookDeliveries.eventId, from, dir),
        where,
      ),
    )
    .orderBy(order(webhookDeliveries.deliveredAt), order(webhookDeliveries.eventId))
    .limit(limit)
  return rows.map(deliveredEntry)
}

/** A delivery the worker sent successfully, as a log entry. */
function deliveredEntry(d: {
  eventId: string
  eventType: string
  statusCode: number | null
  latencyMs: number | null
  responseExcerpt: string | null
  at: Date | null
  deliveryStatus: string | null
  position: string
}): Row {
  return {
    // A delivery is sent successfully by the worker once: its event id names the entry.
    id: d.eventId,
    eventId: d.eventId,
    eventType: d.eventType,
    ok: true,
    statusCode: d.statusCode,
    latencyMs: d.latencyMs ?? 0,
    error: null,
    responseExcerpt: d.responseExcerpt,
    manual: false,
    at: d.at!,
    deliveryStatus: d.deliveryStatus,
    position: d.position,
  }
}

const newestFirst = (a: Row, b: Row) =>
  a.position < b.position
    ? 1
    : a.position > b.position
      ? -1
      : a.id < b.id
        ? 1
        : a.id > b.id
          ? -1
          : 0

/** Up to `limit` entries past `from` the way `dir` goes, newest first, and whether there are more. */
async function readLog(
  db: Db,
  subscriptionId: string,
  query: LogQuery,
  from: SyncPosition | null,
  dir: Direction,
  limit: number,
) {
  const outcome = query.outcome ?? 'all'
  const type = query.type === undefined ? undefined : eq(webhookEvents.type, query.type)
  const logged = await loggedSide(
    db,
    subscriptionId,
    and(
      type,
      outcome === 'failed' ? eq(webhookAttempts.ok, false) : undefined,
      outcome === 'waiting' ? eq(webhookDeliveries.status, 'pending') : undefined,
    ),
    from,
    dir,
    limit + 1,
  )
  // A worker's success is neither a failure nor waiting.
  const delivered =
    outcome === 'all' ? await deliveredSide(db, subscriptionId, type, from, dir, limit + 1) : []
  const merged = [...logged, ...delivered].sort(newestFirst)
  // The `limit + 1` nearest `from` of the two sides are the nearest of their union.
  const nearest = dir === 'older' ? merged.slice(0, limit + 1) : merged.slice(-(limit + 1))
  const more = nearest.length > limit
  const rows = dir === 'older' ? nearest.slice(0, limit) : nearest.slice(-limit)
  return { rows, more }
}

/**
 * One page of a subscription's delivery log, newest first: the entries older than `before`, or
 * newer than `after`, or the newest.
 */
export async function listDeliveryLog(
  db: Db,
  subscriptionId: string,
  query: LogQuery = {},
): Promise<LogPage> {
  const limit = query.limit ?? LOG_PAGE_DEFAULT
  let page: { rows: Row[]; more: boolean }
  let olderMore: boolean
  let newerMore: boolean
  if (query.before || !query.after) {
    page = await readLog(db, subscriptionId, query, query.before ?? null, 'older', limit)
    olderMore = page.more
    newerMore = Boolean(query.before)
  } else {
    page = await readLog(db, subscriptionId, query, query.after, 'newer', limit)
    // Back at the newest with less than a page: the first page, full.
    if (!page.more && page.rows.length < limit)
      return listDeliveryLog(db, subscriptionId, { ...query, after: null })
    olderMore = true
    newerMore = page.more
  }
  const position = (r: Row | undefined) => (r ? encodeCursor({ at: r.position, id: r.id }) : null)
  return {
    data: page.rows.map(({ position: _position, ...entry }) => entry),
    nextCursor: olderMore ? position(page.rows.at(-1)) : null,
    hasMore: olderMore,
    prevCursor: newerMore ? position(page.rows[0]) : null,
    hasNewer: newerMore,
  }
}

/** The newest `limit` entries of a subscription's delivery log. */
export async function listAttempts(
  db: Db,
  subscriptionId: string,
  limit = LOG_PAGE_DEFAULT,
): Promise<AttemptLogItem[]> {
  return (await listDeliveryLog(db, subscriptionId, { limit })).data
}

/**
 * Events queued for a subscription and not tried yet (a subscription turned off, or a backlog):
 * waiting, but with no entry in the log until their first attempt.
 */
export async function countUntried(db: Db, subscriptionId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        eq(webhookDeliveries.status, 'pending'),
        sql`not exists (select 1 from ${webhookAttempts} a where a.event_id = ${webhookDeliveries.eventId} and a.subscription_id = ${webhookDeliveries.subscriptionId})`,
      ),
    )
  return row?.n ?? 0
}

export interface SubscriptionListItem extends SubscriptionView {
  pending: number
  lastAttempt: { ok: boolean; statusCode: number | null; at: Date } | null
}

export async function listSubscriptions(db: Db): Promise<SubscriptionListItem[]> {
  const rows = await db
    .select({
      subscription: webhookSubscriptions,
      pending: sql<number>`(select count(*)::int from ${webhookDeliveries} d where d.subscription_id = ${webhookSubscriptions.id} and d.status = 'pending')`,
    })
    .from(webhookSubscriptions)
    .orderBy(desc(webhookSubscriptions.createdAt))
  const result: SubscriptionListItem[] = []
  for (const { subscription, pending } of rows) {
    const [last] = await listAttempts(db, subscription.id, 1)
    result.push({
      ...withoutSecrets(subscription),
      pending,
      lastAttempt: last ? { ok: last.ok, statusCode: last.statusCode, at: last.at } : null,
    })
  }
  return result
}

export interface EventLog {
  event: { id: string; type: string; createdAt: Date }
  /** The body every attempt sent, byte for byte: built as the worker builds it. */
  body: string | null
  delivery: {
    status: 'pending' | 'delivered' | 'failed'
    runAfter: Date
    deliveredAt: Date | null
  }
  /** Every attempt of the event to this subscription, newest first. */
  attempts: AttemptLogItem[]
}

/** An event as one subscription was sent it, with every attempt; null when it never was. */
export async function findEventLog(
  db: Db,
  subscriptionId: string,
  eventId: string,
): Promise<EventLog | null> {
  const [row] = await db
    .select({
      type: webhookEvents.type,
      createdAt: webhookEvents.createdAt,
      status: webhookDeliveries.status,
      runAfter: webhookDeliveries.runAfter,
      deliveredAt: webhookDeliveries.deliveredAt,
      statusCode: webhookDeliveries.lastStatusCode,
      latencyMs: webhookDeliveries.latencyMs,
      responseExcerpt: webhookDeliveries.responseExcerpt,
      position: positionOf(webhookDeliveries.deliveredAt),
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        eq(webhookDeliveries.eventId, eventId),
      ),
    )
  if (!row) return null
  const [logged, bodies] = await Promise.all([
    loggedSide(db, subscriptionId, eq(webhookAttempts.eventId, eventId), null, 'older', 1_000),
    readEventBodies(db, [eventId]),
  ])
  // The worker's success, when it sent the event, beside the attempts logged: in the log's order.
  const entries =
    row.latencyMs !== null && row.deliveredAt !== null
      ? [
          ...logged,
          deliveredEntry({
            ...row,
            eventId,
            eventType: row.type,
            at: row.deliveredAt,
            deliveryStatus: row.status,
          }),
        ]
      : logged
  const attempts: AttemptLogItem[] = entries
    .sort(newestFirst)
    .map(({ position: _position, ...entry }) => entry)
  return {
    event: { id: eventId, type: row.type, createdAt: row.createdAt },
    body: bodies.get(eventId)?.payload ?? null,
    delivery: { status: row.status, runAfter: row.runAfter, deliveredAt: row.deliveredAt },
    attempts,
  }
}
