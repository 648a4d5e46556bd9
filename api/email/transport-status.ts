// Shared transport health: when a provider rejects our credentials, every worker process stops
// sending through it (instead of burning each row's retries on the same error) until a check
// passes again. Kept in the database so /api/health and all workers see one state.
//
// `unreachable` is informational: the server could not be reached (or answered "try later" for
// the whole service) on the last attempt. Workers keep retrying with their backoff; /api/health
// shows the last error and since when, instead of "ok" while only the backlog grows.

import { and, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { transportStatus } from '../db/schema.ts'

export type TransportState = {
  state: 'ok' | 'paused' | 'unreachable'
  reason: string | null
  since: Date | null
}

export async function readTransportState(db: Db, name: string): Promise<TransportState> {
  const [row] = await db.select().from(transportStatus).where(eq(transportStatus.name, name))
  if (!row) return { state: 'ok', reason: null, since: null }
  return { state: row.state, reason: row.reason, since: row.updatedAt }
}

export async function pauseTransport(
  db: Db,
  name: string,
  reason: string,
  now: Date,
): Promise<void> {
  const values = { state: 'paused' as const, reason: reason.slice(0, 500), updatedAt: now }
  await db
    .insert(transportStatus)
    .values({ name, ...values })
    .onConflictDoUpdate({
      target: transportStatus.name,
      // `since` stays the time of the first pause while later checks keep failing.
      set: {
        ...values,
        updatedAt: sql`case when ${transportStatus.state} = 'paused' then ${transportStatus.updatedAt} else excluded.updated_at end`,
      },
    })
}

export async function resumeTransport(db: Db, name: string, now: Date): Promise<void> {
  const values = { state: 'ok' as const, reason: null, updatedAt: now }
  await db
    .insert(transportStatus)
    .values({ name, ...values })
    .onConflictDoUpdate({ target: transportStatus.name, set: values })
}

/** The server could not be reached: record the last error; `since` stays the first failure's time. A paused transport stays paused. */
export async function markUnreachable(
  db: Db,
  name: string,
  reason: string,
  now: Date,
): Promise<void> {
  const values = { state: 'unreachable' as const, reason: reason.slice(0, 500), updatedAt: now }
  await db
    .insert(transportStatus)
    .values({ name, ...values })
    .onConflictDoUpdate({
      target: transportStatus.name,
      set: {
        state: sql`case when ${transportStatus.state} = 'paused' then ${transportStatus.state} else excluded.state end`,
        reason: sql`case when ${transportStatus.state} = 'paused' then ${transportStatus.reason} else excluded.reason end`,
        updatedAt: sql`case when ${transportStatus.state} = 'ok' then excluded.updated_at else ${transportStatus.updatedAt} end`,
      },
    })
}

/** A send went through: an unreachable transport is ok again (a paused one is not touched). */
export async function markReachable(db: Db, name: string, now: Date): Promise<void> {
  await db
    .update(transportStatus)
    .set({ state: 'ok', reason: null, updatedAt: now })
    .where(and(eq(transportStatus.name, name), eq(transportStatus.state, 'unreachable')))
}
