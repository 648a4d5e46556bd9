import { and, eq, sql } from 'drizzle-orm'
import ipaddr from 'ipaddr.js'
import type { Db } from './db/client.ts'
import { rateLimitHits } from './db/schema.ts'

// Counters in the database, so every process sharing it sees the same limits: fixed windows, and
// sliding windows estimated from two fixed ones (the current count plus the previous window's,
// weighted by how much of it the sliding window still covers), so no burst fits around a
// window boundary.

/**
 * The address a per-IP limit counts, the one rule every per-IP key goes through: an IPv4 address
 * itself, an IPv4-mapped IPv6 address as its IPv4, any other IPv6 address as its /64
 * (`2001:db8:1:2::/64`). An IPv6 client normally holds a whole /64 (often more), so counting
 * its single addresses would give it a fresh limit for every address it rotates to. Anything
 * that is no address ('unknown') is counted as it is. Only for limit keys: what is stored as
 * evidence (a lead's or a click's IP) stays the full address.
 */
export function limitAddress(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const network = (address as ipaddr.IPv6).parts.slice(0, 4)
  return `${new ipaddr.IPv6([...network, 0, 0, 0, 0]).toString()}/64`
}

export interface Limit {
  limit: number
  windowMs: number
}

export interface LimitResult {
  allowed: boolean
  count: number
  retryAfterSeconds: number
}

function windowStart(now: Date, windowMs: number): Date {
  return new Date(Math.floor(now.getTime() / windowMs) * windowMs)
}

function result(count: number, rule: Limit, start: Date, now: Date): LimitResult {
  const retryAfterSeconds = Math.max(
    1,
    Math.ceil((start.getTime() + rule.windowMs - now.getTime()) / 1000),
  )
  return { allowed: count <= rule.limit, count, retryAfterSeconds }
}

/** Count one hit against `key` and say whether it is within the limit. */
export async function hitRateLimit(
  db: Db,
  key: string,
  rule: Limit,
  now: Date,
): Promise<LimitResult> {
  const start = windowStart(now, rule.windowMs)
  const [row] = await db
    .insert(rateLimitHits)
    .values({ key, windowStart: start, count: 1 })
    .onConflictDoUpdate({
      target: [rateLimitHits.key, rateLimitHits.windowStart],
      set: { count: sql`${rateLimitHits.count} + 1` },
    })
    .returning({ count: rateLimitHits.count })
  return result(row!.count, rule, start, now)
}

export async function clearRateLimit(db: Db, key: string): Promise<void> {
  await db.delete(rateLimitHits).where(eq(rateLimitHits.key, key))
}

/** Old windows are useless; the server prunes them now and then. */
export async function pruneRateLimits(db: Db, before: Date): Promise<void> {
  await db.delete(rateLimitHits).where(sql`${rateLimitHits.windowStart} < ${before}`)
}

/**
 * The sliding-window count at `now`: the current fixed window's count plus the previous one's,
 * weighted by the share of it still inside the window that ends now. Pure.
 */
export function slidingCount(
  current: number,
  previous: number,
  now: Date,
  windowMs: number,
): number {
  const elapsed = (now.getTime() - windowStart(now, windowMs).getTime()) / windowMs
  return current + previous * (1 - elapsed)
}

/** Count one hit against `key` in a sliding window and say whether it is within the limit. */
export async function hitSlidingLimit(
  db: Db,
  key: string,
  rule: Limit,
  now: Date,
): Promise<LimitResult> {
  const start = windowStart(now, rule.windowMs)
  const current = await hitRateLimit(db, key, rule, now)
  const [previous] = await db
    .select({ count: rateLimitHits.count })
    .from(rateLimitHits)
    .where(
      and(
        eq(rateLimitHits.key, key),
        eq(rateLimitHits.windowStart, new Date(start.getTime() - rule.windowMs)),
      ),
    )
  const count = slidingCount(current.count, previous?.count ?? 0, now, rule.windowMs)
  return {
    allowed: count <= rule.limit,
    count,
    retryAfterSeconds: slidingRetryAfter(current.count, previous?.count ?? 0, rule, start, now),
  }
}

/** Seconds until the sliding count, with no new hits, is back within the limit (at least 1). */
function slidingRetryAfter(
  current: number,
  previous: number,
  rule: Limit,
  start: Date,
  now: Date,
): number {
  const { limit, windowMs } = rule
  // Within this window the previous one's share shrinks; after it, this one's does.
  const at =
    current <= limit
      ? start.getTime() + windowMs * (1 - (limit - current) / previous)
      : start.getTime() + windowMs + windowMs * (1 - limit / current)
  return Math.max(1, Math.ceil((at - now.getTime()) / 1000))
}
/** Takes back one hit counted at `now` (an attempt that turned out to be legitimate). */
export async function undoHit(db: Db, key: string, rule: Limit, now: Date): Promise<void> {
  await db
    .update(rateLimitHits)
    .set({ count: sql`greatest(${rateLimitHits.count} - 1, 0)` })
    .where(
      and(
        eq(rateLimitHits.key, key),
        eq(rateLimitHits.windowStart, windowStart(now, rule.windowMs)),
      ),
    )
}
