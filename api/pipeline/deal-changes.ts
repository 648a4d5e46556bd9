import { and, eq, type SQL } from 'drizzle-orm'
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core'
import type { Db } from '../db/client.ts'
import { dealEvents, deals } from '../db/schema.ts'
import { nextUpdatedAt } from '../db/updated-at.ts'
import { recordWebhookEvent, type WebhookDeal } from '../db/webhook-outbox.ts'
import { newId } from '../ids.ts'
import { isStageKey } from './stages.ts'

// The one way a deal changes: one UPDATE that always moves updated_at on, and the deal_events
// entries that say who did what, in the caller's transaction. The timeline, the stage history
// (stage_moves is kept from deal_events) and "last touched" all read what this writes.

export type DealEventInput = Omit<typeof dealEvents.$inferInsert, 'id' | 'dealId' | 'createdAt'>

export interface DealChange {
  /** Columns to set besides updatedAt: `now`, or just after the row's own (nextUpdatedAt). */
  set?: Omit<PgUpdateSetSource<typeof deals>, 'id' | 'createdAt' | 'updatedAt'>
  /** A further condition on the row: when it does not hold, nothing changes and null is returned. */
  onlyIf?: SQL | undefined
  /** What happened, appended to the deal's timeline in this order. */
  events: DealEventInput | readonly DealEventInput[]
}

/** Changes a deal and appends its events; the updated row and the events' ids, or null. */
export async function changeDeal(
  tx: Db,
  dealId: string,
  now: Date,
  change: DealChange,
): Promise<{ deal: typeof deals.$inferSelect; eventIds: string[] } | null> {
  const [deal] = await tx
    .update(deals)
    .set({ ...change.set, updatedAt: nextUpdatedAt(deals.updatedAt, now) })
    .where(change.onlyIf ? and(eq(deals.id, dealId), change.onlyIf) : eq(deals.id, dealId))
    .returning()
  if (!deal) return null
  const eventIds: string[] = []
  for (const event of [change.events].flat()) {
    eventIds.push(await recordDealEvent(tx, dealId, now, event))
    await announce(tx, deal, event, now)
  }
  return { deal, eventIds }
}

/** A deal as webhooks carry it (its schema: webhookDeal, with every event's, in the outbox). */
export function dealSummary(deal: typeof deals.$inferSelect): WebhookDeal {
  return {
    id: deal.id,
    title: deal.title,
    stage: deal.stage,
    source: deal.source,
    contactId: deal.contactId,
    companyId: deal.companyId,
    ownerId: deal.ownerId,
    amountCents: deal.amountCents,
    currency: deal.currency,
  }
}

/**
 * What a won deal's event adds to the move: the two dates that make it won, so a receiver needs
 * no GET /api/deals/:id to book it.
 */
export function wonDates(deal: typeof deals.$inferSelect) {
  return { contractSignedOn: deal.contractSignedOn, paymentReceivedOn: deal.paymentReceivedOn }
}

/** Claims and stage moves go out as webhook events, in the transaction of the change. */
async function announce(tx: Db, deal: typeof deals.$inferSelect, event: DealEventInput, now: Date) {
  const by = { actorId: event.actorId ?? null }
  if (event.type === 'claimed')
    await recordWebhookEvent(tx, 'deal.claimed', { deal: dealSummary(deal), ...by }, now)
  if (event.type !== 'stage_changed' || !isStageKey(event.toStage)) return
  const move = {
    deal: dealSummary(deal),
    from: isStageKey(event.fromStage) ? event.fromStage : null,
    ...by,
  }
  await recordWebhookEvent(tx, 'deal.stage_changed', { ...move, to: event.toStage }, now)
  if (event.toStage === 'won')
    await recordWebhookEvent(tx, 'deal.won', { ...move, to: 'won', ...wonDates(deal) }, now)
  if (event.toStage === 'lost')
    await recordWebhookEvent(
      tx,
      'deal.lost',
      { ...move, to: 'lost', lostReason: deal.lostReason },
      now,
    )
}

/**
 * Appends an entry to a deal's timeline, stamped `now`; returns its id. Only for a deal inserted
 * in the same transaction (its updatedAt is already `now`): every other change is a changeDeal.
 */
export async function recordDealEvent(
  tx: Db,
  dealId: string,
  now: Date,
  event: DealEventInput,
): Promise<string> {
  const id = newId(now.getTime())
  await tx.insert(dealEvents).values({ ...event, id, dealId, createdAt: now })
  return id
}
