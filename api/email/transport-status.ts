// Shared transport health: when a provider rejects our credentials, every worker process stops
// sending through it (instead of burning each row's retries on the same error) until a check
// passes again. Kept in the database so /api/health and all workers see one state.

import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { transportStatus } from '../db/schema.ts'

export type TransportState = { state: 'ok' | 'paused'; reason: string | null; since: Date | null }

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
