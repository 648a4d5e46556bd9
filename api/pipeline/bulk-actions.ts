import { and, asc, eq, inArray, isNotNull, notInArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { deals, users } from '../db/schema.ts'
import { can } from '../accounts/permissions.ts'
import {
  assignLocked,
  assignProblem,
  claimLocked,
  claimProblem,
  failure,
  newOwnerProblem,
  NOT_FOUND,
  type Actor,
  type Deal,
  type DealFailure,
} from './deals.ts'
import { stageOf } from './stages.ts'

// Actions on many deals at once, all or nothing: one transaction locks every deal of the batch
// (in id order, so two batches never deadlock), checks each with the one-deal rule, and either
// changes them all or, when any is refused, none, answering which and why. A batch that had
// taken the deals before a refused (or failing) one left them changed behind a refusal or a 500.

export const MAX_BULK = 200

export interface BulkOutcome {
  id: string
  ok: boolean
  /** On refusal: already_claimed, not_in_queue, not_found, owner_changed, closed, … */
  code?: string
  message?: string
}

/** A refused deal of a batch: which one (its title, when it exists) and why. */
export interface BulkRefusal {
  id: string
  title: string | null
  code: string
  message: string
}

/** A batch refused as a whole: nothing was changed; `deals` says which were refused and why. */
export type BatchFailure = DealFailure & { deals: BulkRefusal[] }

function batchFailure(
  nothing: string,
  refused: ReadonlyArray<{ id: string; title: string | null; failure: DealFailure }>,
): BatchFailure {
  const [first] = refused
  const status = refused.every((r) => r.failure.status === first!.failure.status)
    ? first!.failure.status
    : 409
  return {
    ok: false,
    status,
    code: refused.length === 1 ? first!.failure.code : 'batch_refused',
    message: [nothing, ...refused.map((r) => `${r.title ?? r.id}: ${r.failure.message}`)].join(' '),
    deals: refused.map((r) => ({
      id: r.id,
      title: r.title,
      code: r.failure.code,
      message: r.failure.message,
    })),
  }
}

/**
 * The deals `where` picks, locked for this transaction, by id. A deal changed by another
 * transaction while this one waited is read as that one left it (and picked only if it still
 * matches).
 */
async function lockDeals(tx: Db, where: SQL | undefined): Promise<Map<string, Deal>> {
  const rows = await tx.select().from(deals).where(where).orderBy(asc(deals.id)).for('update')
  return new Map(rows.map((d) => [d.id, d]))
}

export type ClaimDealsResult = { ok: true; claimed: number; outcomes: BulkOutcome[] } | BatchFailure

/**
 * Takes over these leads for `userId`, all of them or none: one already someone else's, no longer
 * in the queue or unknown refuses the batch. Leads already theirs count as done.
 */
export async function claimDeals(
  db: Db,
  dealIds: readonly string[],
  userId: string,
  now: Date,
): Promise<ClaimDealsResult> {
  const ids = [...new Set(dealIds)]
  return db.transaction(async (tx) => {
    const locked = await lockDeals(tx, inArray(deals.id, ids))
    const ownerIds = [...new Set([...locked.values()].flatMap((d) => d.ownerId ?? []))]
    const names = new Map(
      ownerIds.length === 0
        ? []
        : (
            await tx
              .select({ id: users.id, name: users.name })
              .from(users)
              .where(inArray(users.id, ownerIds))
          ).map((u) => [u.id, u.name]),
    )
    const refused = ids.flatMap((id) => {
      const deal = locked.get(id)
      const problem = deal
        ? claimProblem(deal, userId, deal.ownerId ? (names.get(deal.ownerId) ?? null) : null)
        : NOT_FOUND
      return problem ? [{ id, title: deal?.title ?? null, failure: problem }] : []
    })
    if (refused.length > 0) return batchFailure('Nothing was taken over.', refused)
    const outcomes: BulkOutcome[] = []
    for (const id of ids) {
      if (locked.get(id)!.ownerId === userId) {
        outcomes.push({ id, ok: true, code: 'already_yours' })
        continue
      }
      await claimLocked(tx, id, userId, now)
      outcomes.push({ id, ok: true })
    }
    return { ok: true, claimed: outcomes.filter((o) => !o.code).length, outcomes }
  })
}

export type ReassignResult = { ok: true; moved: number; outcomes: BulkOutcome[] } | BatchFailure

/**
 * Hands every open deal of `fromId` (or only `dealIds` among them) to `toId`, an active rep or
 * admin, all of them or none: what an admin does when a rep leaves. Admins only.
 */
export async function reassignOpenDeals(
  db: Db,
  actor: Actor,
  fromId: string,
  toId: string,
  now: Date,
  dealIds?: readonly string[],
): Promise<ReassignResult | DealFailure> {
  if (!can(actor, 'deals:edit_any'))
    return failure(403, 'forbidden', 'Only admins can reassign deals.')
  if (fromId === toId)
    return failure(422, 'same_owner', 'Choose someone else to hand the deals to.')
  return db.transaction(async (tx) => {
    const invalid = await newOwnerProblem(tx, toId)
    if (invalid) return invalid
    const locked = await lockDeals(
      tx,
      dealIds
        ? inArray(deals.id, [...dealIds])
        : and(eq(deals.ownerId, fromId), notInArray(deals.stage, ['won', 'lost'])),
    )
    const ids = dealIds ? [...new Set(dealIds)] : [...locked.keys()]
    const refused = ids.flatMap((id) => {
      const deal = locked.get(id)
      const problem = deal ? handoverProblem(deal, fromId, toId) : NOT_FOUND
      return problem ? [{ id, title: deal?.title ?? null, failure: problem }] : []
    })
    if (refused.length > 0) return batchFailure('Nothing was handed over.', refused)
    for (const id of ids) await assignLocked(tx, locked.get(id)!, actor, toId, now)
    return { ok: true, moved: ids.length, outcomes: ids.map((id) => ({ id, ok: true })) }
  })
}

/** Why this deal, locked, cannot go from `fromId` to `toId` in a handover, or null. */
function handoverProblem(deal: Deal, fromId: string, toId: string): DealFailure | null {
  if (deal.ownerId !== fromId)
    return failure(409, 'owner_changed', 'This deal changed hands meanwhile.')
  if (stageOf(deal.stage).closed) return failure(409, 'closed', 'This deal was closed meanwhile.')
  return assignProblem(deal, toId)
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
