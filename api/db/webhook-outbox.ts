import { sql } from 'drizzle-orm'
import { newId } from '../ids.ts'
import type { Db } from './client.ts'

// The webhook outbox, on the ground floor so that every capability can write to it: an event is
// recorded with `recordWebhookEvent(tx, …)` inside the transaction of the change it announces,
// so both commit or neither does, and one delivery row per subscription that wants it is queued
// by the same statement, also for a subscription that is off: its events wait for it to be turned
// on again (nothing claims them meanwhile). api/integrations/ delivers them (webhook-delivery.ts).

export const WEBHOOK_EVENT_TYPES = [
  'lead.captured',
  'deal.qualified',
  'deal.claimed',
  'deal.stage_changed',
  'deal.won',
  'deal.lost',
  'contact.unsubscribed',
  'contact.erased',
  'grader.report_completed',
  'campaign.started',
  'campaign.completed',
  'click.human',
] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]
/** Sent only by the "Send a test event" button, to one subscription. */
export const TEST_EVENT_TYPE = 'webhook.test'

/**
 * Records an event and queues it for every subscription to its type, on or off, in one statement
 * (a single round trip, and cheap when nobody subscribes). Returns the event id, which receivers
 * see as `webhook-id`.
 */
export async function recordWebhookEvent(
  tx: Db,
  type: WebhookEventType,
  data: Record<string, unknown>,
  now: Date,
): Promise<string> {
  const id = newId(now.getTime())
  await tx.execute(sql`
    with event as (
      insert into webhook_events (id, type, data, created_at)
      values (${id}, ${type}, ${JSON.stringify(data)}::jsonb, ${now.toISOString()}::timestamptz)
      returning id, created_at
    )
    insert into webhook_deliveries (subscription_id, event_id, run_after, created_at)
    select s.id, event.id, event.created_at, event.created_at
    from webhook_subscriptions s, event
    where s.events @> ${JSON.stringify([type])}::jsonb`)
  return id
}

/**
 * Records several events of one type, each queued for every subscription to the type,
 * in one statement (a batch of judged clicks). Returns their ids, in the order of `data`.
 */
export async function recordWebhookEvents(
  tx: Db,
  type: WebhookEventType,
  data: Record<string, unknown>[],
  now: Date,
): Promise<string[]> {
  if (data.length === 0) return []
  const rows = data.map((d) => ({ id: newId(now.getTime()), data: d }))
  await tx.execute(sql`
    with event as (
      insert into webhook_events (id, type, data, created_at)
      select x.id, ${type}, x.data, ${now.toISOString()}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(id text, data jsonb)
      returning id, created_at
    )
    insert into webhook_deliveries (subscription_id, event_id, run_after, created_at)
    select s.id, event.id, event.created_at, event.created_at
    from webhook_subscriptions s, event
    where s.events @> ${JSON.stringify([type])}::jsonb`)
  return rows.map((r) => r.id)
}
