import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import { rowsOf, sqlList } from '../db/raw-sql.ts'
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookSubscriptions,
  webhookSuccesses,
} from '../db/schema.ts'
import { readEventBodies } from './webhook-delivery.ts'
import { successEntries, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from '../db/webhook-outbox.ts'
import { cursorParam, encodeCursor, positionOf, type SyncPage, type SyncPosition } from './sync.ts'
import { findWorkerSuccesses, withoutSecrets, type SubscriptionView } from './webhooks.ts'

// A subscription's delivery log: the attempts logged (failures, sends by hand, and successes from
// before 0017) and the worker's successes, which webhook_successes holds a row per lane's write,
// the deliveries in a JSON array (webhook-delivery.ts recordDelivered; the delivered row leaves
// the queue). Each side is read in keyset order on (time, id) — the attempts off an index, the
// successes by walking their rows from the cursor by their time bounds, expanding only the few
// that can hold the page — and the two merged, so a page is the same whatever was logged since:
// cursors as the sync endpoints' are (sync.ts encodeCursor), timestamps to the microsecond. An
// event queued for a subscription whose delivery row is gone was delivered.

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
  /** Where the event's delivery stands now. */
  deliveryStatus: DeliveryStatus
}

/** A delivery waits ('pending'), was given up ('failed'), or left the queue delivered. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

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
  cursorParam(
    'webhook-log',
    `The ${what} cursor is not one this log gave out; start from the newest.`,
  )

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
function keyset(at: PgColumn | SQL, id: PgColumn | SQL, from: SyncPosition | null, dir: Direction) {
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
      // No delivery row: it left the queue delivered.
      deliveryStatus: sql<DeliveryStatus>`coalesce(${webhookDeliveries.status}, 'delivered')`,
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

/** How many success rows' bounds one step of the walk reads. */
const WALK_ROWS = 32

/** A success row's place in the walk: its bounds as positions (sync.ts positionOf). */
interface WalkRow {
  id: string
  /** last_delivered_at: the walk's order, both ways. */
  last: string
  /**
   * Nothing in this row or any after it in the walk is nearer the cursor than this: older, its
   * last_delivered_at; newer, that less the longest span of the subscription's rows.
   */
  reach: string
  count: number
}

/**
 * The worker's successes past `from` the way `dir` goes, the `limit` nearest it: webhook_successes
 * rows walked by last_delivered_at (webhook_successes_log_idx) from the cursor, a few expanded at a
 * time, until `limit` entries are held and the next row cannot hold a nearer one. Rows of a
 * subscription barely overlap in time, but may (two lanes of it at once, when a lease ran out):
 * the longest a row spans (webhook_successes_span_idx) says how far past the cursor a row holding
 * entries on its side may end, so such a row is found however far it reaches.
 */
async function deliveredSide(
  db: Db,
  subscriptionId: string,
  where: SQL | undefined,
  from: SyncPosition | null,
  dir: Direction,
  limit: number,
): Promise<Row[]> {
  const older = dir === 'older'
  const span = sql`(select last_delivered_at - first_delivered_at from ${webhookSuccesses}
    where subscription_id = ${subscriptionId}
    order by (last_delivered_at - first_delivered_at) desc limit 1)`
  // Entries before the cursor are in rows begun by then and ending within a span of it; entries
  // after it, in rows ending after it.
  const near = !from
    ? undefined
    : older
      ? sql`first_delivered_at <= ${from.at}::timestamptz and last_delivered_at <= ${from.at}::timestamptz + ${span}`
      : sql`last_delivered_at >= ${from.at}::timestamptz`
  const order = older ? sql`desc` : sql`asc`
  const reach = older ? sql`last_delivered_at` : sql`(last_delivered_at - ${span})`
  // Nearest the cursor first.
  const nearer = (a: Row, b: Row) => (older ? newestFirst(a, b) : newestFirst(b, a))
  // Whether a row, and every row after it in the walk, holds nothing nearer than `entry`.
  const beyond = (row: WalkRow, entry: Row) =>
    older ? row.reach < entry.position : row.reach > entry.position
  let held: Row[] = []
  let walked: WalkRow | undefined
  for (;;) {
    const rows = rowsOf<WalkRow>(
      await db.execute(sql`
        select id, ${positionOf(sql`last_delivered_at`)} as last, ${positionOf(reach)} as reach, count
        from ${webhookSuccesses}
        where ${and(
          sql`subscription_id = ${subscriptionId}`,
          near,
          walked &&
            (older
              ? sql`(last_delivered_at, id) < (${walked.last}::timestamptz, ${walked.id})`
              : sql`(last_delivered_at, id) > (${walked.last}::timestamptz, ${walked.id})`),
        )}
        order by last_delivered_at ${order}, id ${order}
        limit ${WALK_ROWS}`),
    )
    for (let i = 0; i < rows.length;) {
      // Rows enough to fill the page; once it is full, the rows that may hold entries nearer
      // than its farthest (which only gets nearer as entries come in), none past them.
      let take = 0
      const farthest = held[limit - 1]
      if (farthest) while (i + take < rows.length && !beyond(rows[i + take]!, farthest)) take++
      else
        for (let n = held.length; i + take < rows.length && (take === 0 || n < limit); take++)
          n += rows[i + take]!.count
      if (take === 0) return held
      const expand = rows.slice(i, i + take)
      i += take
      held = [...held, ...(await expandRows(db, expand, where, from, dir, limit))]
        .sort(nearer)
        .slice(0, limit)
    }
    if (rows.length < WALK_ROWS) return held
    walked = rows.at(-1)
  }
}

/** The entries of some success rows past `from` the way `dir` goes: the `limit` nearest it. */
async function expandRows(
  db: Db,
  rows: WalkRow[],
  where: SQL | undefined,
  from: SyncPosition | null,
  dir: Direction,
  limit: number,
): Promise<Row[]> {
  const order = dir === 'older' ? sql`desc` : sql`asc`
  const at = sql`d.delivered_at`
  const entries = rowsOf<{
    eventId: string
    eventType: string
    statusCode: number | null
    latencyMs: number | null
    responseExcerpt: string | null
    position: string
  }>(
    await db.execute(sql`
      select d.event_id as "eventId", ${webhookEvents.type} as "eventType",
        d.status_code as "statusCode", d.latency_ms as "latencyMs",
        d.response_excerpt as "responseExcerpt", ${positionOf(at)} as position
      from ${webhookSuccesses} s
      cross join lateral ${successEntries(sql`s.deliveries`)} d
      join ${webhookEvents} on ${webhookEvents.id} = d.event_id
      where ${and(
        sql`s.id in (${sqlList(rows.map((r) => r.id))})`,
        keyset(at, sql`d.event_id`, from, dir),
        where,
      )}
      order by ${at} ${order}, d.event_id ${order}
      limit ${limit}`),
  )
  return entries.map((e) =>
    deliveredEntry({ ...e, at: new Date(e.position), deliveryStatus: 'delivered' }),
  )
}

/** A delivery the worker sent successfully, as a log entry. */
function deliveredEntry(d: {
  eventId: string
  eventType: string
  statusCode: number | null
  latencyMs: number | null
  responseExcerpt: string | null
  at: Date
  deliveryStatus: DeliveryStatus
  position: string
}): Row {
  return {
    // The worker sends a delivery successfully once (twice at the most, seconds apart, when a
    // lease ran out): its event id names the entry, its time tells two apart.
    id: d.eventId,
    eventId: d.eventId,
    eventType: d.eventType,
    ok: true,
    statusCode: d.statusCode,
    latencyMs: d.latencyMs ?? 0,
    error: null,
    responseExcerpt: d.responseExcerpt,
    manual: false,
    at: d.at,
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
  const position = (r: Row | undefined) =>
    r ? encodeCursor('webhook-log', { at: r.position, id: r.id }) : null
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
    status: DeliveryStatus
    /** When it is tried next (pending) or was to be (given up); null once delivered. */
    runAfter: Date | null
    /** Its first success, by the worker or by hand; null until delivered. */
    deliveredAt: Date | null
  }
  /** Every attempt of the event to this subscription, newest first. */
  attempts: AttemptLogItem[]
}

/**
 * An event as one subscription was sent it, with every attempt: queued still (its delivery row),
 * or delivered (the row gone: a success of the worker's or one by hand); null when it never was.
 */
export async function findEventLog(
  db: Db,
  subscriptionId: string,
  eventId: string,
): Promise<EventLog | null> {
  const [[event], [queued], logged, successes, bodies] = await Promise.all([
    db
      .select({ type: webhookEvents.type, createdAt: webhookEvents.createdAt })
      .from(webhookEvents)
      .where(eq(webhookEvents.id, eventId)),
    db
      .select({ status: webhookDeliveries.status, runAfter: webhookDeliveries.runAfter })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.subscriptionId, subscriptionId),
          eq(webhookDeliveries.eventId, eventId),
        ),
      ),
    loggedSide(db, subscriptionId, eq(webhookAttempts.eventId, eventId), null, 'older', 1_000),
    findWorkerSuccesses(db, subscriptionId, eventId),
    readEventBodies(db, [eventId]),
  ])
  if (!event) return null
  // The worker's successes beside the attempts logged: in the log's order.
  const entries = [
    ...logged,
    ...successes.map((d) =>
      deliveredEntry({
        eventId,
        eventType: event.type,
        statusCode: d.status_code,
        latencyMs: d.latency_ms,
        responseExcerpt: d.response_excerpt,
        at: new Date(d.position),
        deliveryStatus: queued?.status ?? 'delivered',
        position: d.position,
      }),
    ),
  ].sort(newestFirst)
  const firstSuccess = entries.findLast((e) => e.ok)
  if (!queued && !firstSuccess) return null
  return {
    event: { id: eventId, type: event.type, createdAt: event.createdAt },
    body: bodies.get(eventId)?.payload ?? null,
    delivery: queued
      ? { status: queued.status, runAfter: queued.runAfter, deliveredAt: null }
      : { status: 'delivered', runAfter: null, deliveredAt: firstSuccess!.at },
    attempts: entries.map(({ position: _position, ...entry }) => entry),
  }
}
