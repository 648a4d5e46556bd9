import { and, asc, eq, isNotNull, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { deals } from '../db/schema.ts'
import { can } from '../accounts/permissions.ts'
import { assignDeal, claimDeal, type Actor, type DealFailure } from './deals.ts'

// Actions on many deals at once, each deal still its own transaction through the one-deal
// action: a bulk take-over is claimDeal in a loop, so a lead another rep took first is reported
// and left theirs; a bulk reassignment is assignDeal in a loop, conditional on the deal still
// being open and the departing rep's.

export const MAX_BULK = 200

export interface BulkOutcome {
  id: string
  ok: boolean
  /** On refusal: already_claimed, not_in_queue, not_found, owner_changed, closed, … */
  code?: string
  message?: string
}

/** Takes over each of these leads for `userId`, one atomic claim each, in the order given. */
export async function claimDeals(
  db: Db,
  dealIds: readonly string[],
  userId: string,
  now: Date,
): Promise<{ claimed: number; outcomes: BulkOutcome[] }> {
  const outcomes: BulkOutcome[] = []
  for (const id of new Set(dealIds)) {
    const result = await claimDeal(db, id, userId, now)
    outcomes.push(
      result.ok
        ? { id, ok: true, ...(result.alreadyYours ? { code: 'already_yours' } : {}) }
        : { id, ok: false, code: result.code, message: result.message },
    )
  }
  return { claimed: outcomes.filter((o) => o.ok && !o.code).length, outcomes }
}

export type ReassignResult = { ok: true; moved: number; outcomes: BulkOutcome[] } | DealFailure

/**
 * Hands every open deal of `fromId` (or only `dealIds` among them) to `toId`, an active rep or
 * admin: what an admin does when a rep leaves. Admins only.
 */
export async function reassignOpenDeals(
  db: Db,
  actor: Actor,
  fromId: string,
  toId: string,
  now: Date,
  dealIds?: readonly string[],
): Promise<ReassignResult> {
  if (!can(actor, 'deals:edit_any'))
    return {
      ok: false,
      status: 403,
      code: 'forbidden',
      message: 'Only admins can reassign deals.',
    }
  if (fromId === toId)
    return {
      ok: false,
      status: 422,
      code: 'same_owner',
      message: 'Choose someone else to hand the deals to.',
    }
  const ids = dealIds
    ? [...new Set(dealIds)]
    : (
        await db
          .select({ id: deals.id })
          .from(deals)
          .where(and(eq(deals.ownerId, fromId), notInArray(deals.stage, ['won', 'lost'])))
          .orderBy(asc(deals.id))
      ).map((r) => r.id)
  const outcomes: BulkOutcome[] = []
  for (const id of ids) {
    const result = await assignDeal(db, id, actor, toId, now, { from: fromId, open: true })
    // The new owner is checked on the first deal: refused there, nothing was moved.
    if (!result.ok && result.code === 'invalid_owner') return result
    outcomes.push(
      result.ok ? { id, ok: true } : { id, ok: false, code: result.code, message: result.message },
    )
  }
  return { ok: true, moved: outcomes.filter((o) => o.ok).length, outcomes }
}

/** Open deals per owner, for the users page ("12 open deals"). */
export async function openDealCounts(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .select({ ownerId: deals.ownerId, n: sql<number>`count(*)::int` })
    .from(deals)
    .where(and(isNotNull(deals.ownerId), notInArray(deals.stage, ['won', 'lost'])))
    .groupBy(deals.ownerId)
  return new Map(rows.map((r) => [r.ownerId!, r.n]))
}
