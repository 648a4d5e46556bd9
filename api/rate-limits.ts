import { and, eq, sql } from 'drizzle-orm'
import type { Db } from './db/client.ts'
import { rateLimitHits } from './db/schema.ts'

// Fixed-window counters in the database, so every process sharing it sees the same limits.

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
  const retryAfterSeconds = Math.max(1, Math.ceil((start.getTime() + rule.windowMs - now.getTime()) / 1000))
  return { allowed: count <= rule.limit, count, retryAfterSeconds }
}

/** Count one hit against `key` and say whether it is within the limit. */
export async function hitRateLimit(db: Db, key: string, rule: Limit, now: Date): Promise<LimitResult> {
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
