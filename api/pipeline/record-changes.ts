import { and, desc, eq, inArray, or } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { recordChanges, users } from '../db/schema.ts'
import { newId } from '../ids.ts'
import { can } from '../accounts/permissions.ts'
import type { Actor, DealFailure } from './deals.ts'

// The history of contacts and companies created or edited by hand: who, when, what changed
// (field → [old, new]). Written in the transaction of the change; read by the contact and company
// pages and merged into the timelines of their deals.

export type RecordType = (typeof recordChanges.$inferSelect)['recordType']
export type FieldChanges = Record<string, [unknown, unknown]>

export interface RecordChangeInput {
  recordType: RecordType
  recordId: string
  action: 'created' | 'updated'
  actorId: string
  changes?: FieldChanges | null
}

export async function recordChange(tx: Db, change: RecordChangeInput, now: Date): Promise<void> {
  await tx.insert(recordChanges).values({
    id: newId(now.getTime()),
    ...change,
    changes: change.changes ?? null,
    createdAt: now,
  })
}

export interface RecordChange {
  id: string
  recordType: RecordType
  recordId: string
  action: 'created' | 'updated'
  actorName: string | null
  changes: FieldChanges | null
  at: Date
}

/** The changes to these records, newest first (at most `limit`). */
export async function recordHistory(
  db: Db,
  records: Array<{ type: RecordType; id: string | null }>,
  limit = 100,
): Promise<RecordChange[]> {
  const wanted = records.filter((r): r is { type: RecordType; id: string } => r.id !== null)
  if (wanted.length === 0) return []
  const byType = (type: RecordType) => wanted.filter((r) => r.type === type).map((r) => r.id)
  const conditions = (['contact', 'company'] as const)
    .filter((type) => byType(type).length > 0)
    .map((type) =>
      and(eq(recordChanges.recordType, type), inArray(recordChanges.recordId, byType(type)))!,
    )
  const rows = await db
    .select({ c: recordChanges, actorName: users.name })
    .from(recordChanges)
    .leftJoin(users, eq(users.id, recordChanges.actorId))
    .where(or(...conditions))
    .orderBy(desc(recordChanges.createdAt), desc(recordChanges.id))
    .limit(limit)
  return rows.map(({ c, actorName }) => ({
    id: c.id,
    recordType: c.recordType,
    recordId: c.recordId,
    action: c.action,
    actorName,
    changes: (c.changes as FieldChanges | null) ?? null,
    at: c.createdAt,
  }))
}

const FIELD_NAMES: Record<string, string> = {
  email: 'Email',
  firstName: 'First name',
  lastName: 'Last name',
  jobTitle: 'Job title',
  phone: 'Phone',
  company: 'Company',
  name: 'Name',
  domain: 'Domain',
}

/** "Contact created", "Company details changed" and "Phone: — → +44 20 …" for a timeline. Pure. */
export function describeRecordChange(
  change: Pick<RecordChange, 'recordType' | 'action' | 'changes'>,
): {
  title: string
  detail: string | null
} {
  const noun = change.recordType === 'contact' ? 'Contact' : 'Company'
  const show = (v: unknown) =>
    v === null || v === undefined || v === '' ? '—' : String(v).slice(0, 80)
  const parts = Object.entries(change.changes ?? {}).map(([field, [from, to]]) =>
    change.action === 'created'
      ? `${FIELD_NAMES[field] ?? field}: ${show(to)}`
      : `${FIELD_NAMES[field] ?? field}: ${show(from)} → ${show(to)}`,
  )
  return {
    title: change.action === 'created' ? `${noun} added by hand` : `${noun} details changed`,
    detail: parts.join(' · ') || null,
  }
}

/** Field by field, what `next` changes in `current` (undefined in `next`: unchanged). Pure. */
export function diffFields<T extends Record<string, unknown>>(
  current: T,
  next: Partial<T>,
): FieldChanges {
  const changes: FieldChanges = {}
  for (const [field, value] of Object.entries(next)) {
    if (value === undefined || value === current[field]) continue
    changes[field] = [current[field] ?? null, value]
  }
  return changes
}

/**
 * Why this actor may not edit a contact or company whose deals have these owners, or null.
 * Admins edit any; reps one with a deal of theirs, or with no deal at all (a lead in the queue is
 * taken over first, as for its deal); SDRs read only. Pure.
 */
export function recordEditProblem(
  actor: Actor,
  dealOwners: ReadonlyArray<string | null>,
  noun: 'contact' | 'company',
): DealFailure | null {
  if (can(actor, 'deals:edit_any')) return null
  if (!can(actor, 'deals:edit_own'))
    return { ok: false, status: 403, code: 'forbidden', message: 'Your role does not allow this.' }
  if (dealOwners.length === 0 || dealOwners.includes(actor.id)) return null
  if (dealOwners.every((o) => o === null))
    return {
      ok: false,
      status: 403,
      code: 'claim_first',
      message: `Take over this ${noun}’s lead before changing it.`,
    }
  return {
    ok: false,
    status: 403,
    code: 'not_yours',
    message: `This ${noun}’s deals belong to another rep; ask them or an admin.`,
  }
}
