import { sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'

/**
 * The updated_at (or a contact's sync_at) an UPDATE gives a row: `now`, but always later than the
 * row's own, so every change moves the row past a sync cursor that has already handed it out
 * (api/integrations/sync.ts) — even a second change in the same millisecond, or one whose `now`
 * was taken before another request's that committed first.
 */
export function nextUpdatedAt(column: PgColumn, now: Date): SQL<Date> {
  return sql<Date>`greatest(${now.toISOString()}::timestamptz, ${column} + interval '1 microsecond')`
}
