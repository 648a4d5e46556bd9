import { sql, type SQLWrapper } from 'drizzle-orm'
import { z } from 'zod'
import { newId } from '../ids.ts'
import type { Db } from './client.ts'
import { CAMPAIGN_STATUSES, LEAD_SOURCES, STAGE_KEYS } from './schema.ts'

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

// What each event's `data` holds. recordWebhookEvent takes only data of its type's schema, the
// OpenAPI document's `webhooks` are converted from these very schemas (api/http/openapi.ts), and
// tests/api/integrations/webhook-event-schemas.db.test.ts records every type through the code
// that sends it and fails on a field the schema does not name. The JSON as sent: instants are
// ISO strings.

const instant = z.iso.datetime()
// An erasure scrubs the events still stored (api/pipeline/erasure.ts): the person's own fields
// become null, names in text become a placeholder.
const ERASED_BEFORE_SENT = 'null when the person was erased before the event was sent.'
const stage = z.enum(STAGE_KEYS)
const actorId = z
  .string()
  .nullable()
  .describe('The user who did it; null when nobody did (a job, a visitor).')

/** A deal as webhooks carry it: enough to find it again (GET /api/deals/{id}) and act on. */
export const webhookDeal = z
  .object({
    id: z.string(),
    title: z.string(),
    stage,
    source: z.enum(LEAD_SOURCES),
    contactId: z.string(),
    companyId: z.string().nullable(),
    ownerId: z.string().nullable().describe('null: in the queue, nobody has claimed it.'),
    amountCents: z.number().int().nullable(),
    currency: z.string().describe('ISO 4217, e.g. EUR.'),
  })
  .describe('The deal after the change; GET /api/deals/{id} has the rest.')
export type WebhookDeal = z.input<typeof webhookDeal>

const stageMove = z.object({
  deal: webhookDeal,
  from: stage.nullable().describe('The stage it left; null for a deal entered at this stage.'),
  to: stage,
  actorId,
})

const evidence = z
  .looseObject({
    kind: z
      .string()
      .describe(
        '`form` (a gated form or the contact form), `grader_unlock`, `click` (a human click on outreach) or `manual`.',
      ),
  })
  .describe(
    'Why the contact is a target, as the deal’s evidence ledger shows it; the other fields depend on `kind` (a form’s page, offer and UTM; a click’s URL, verdict and reasons; a grade).',
  )

const utm = z
  .record(z.string(), z.string())
  .describe('utm_source, utm_medium, utm_campaign, utm_term, utm_content: those present.')

const campaignEvent = z.object({
  campaign: z.object({
    id: z.string(),
    name: z.string(),
    status: z.enum(CAMPAIGN_STATUSES),
    ownerId: z.string(),
    senderEmail: z.string(),
    startedAt: instant.nullable(),
    startAfter: instant.nullable().describe('Started for later: nothing goes out before this.'),
    completedAt: instant.nullable(),
  }),
  actorId: actorId.describe(
    'Who started or stopped it; null when the scheduler completed it (every message sent or failed).',
  ),
  reason: z
    .enum(['stopped', 'everything_enqueued'])
    .optional()
    .describe(
      'campaign.completed only: stopped by a person, or `everything_enqueued`: every message handed to the outbox and sent (or failed) by it.',
    ),
})

/** Every event's description and the schema of its `data`. */
export const WEBHOOK_EVENTS = {
  'lead.captured': {
    description:
      'A lead form or grader unlock was accepted (not quarantined): its contact and deal.',
    data: z.object({
      submissionId: z.string(),
      contactId: z.string(),
      email: z.string().nullable().describe(`As the person typed it. ${ERASED_BEFORE_SENT}`),
      offer: z
        .string()
        .describe('The form’s offer key, e.g. `ebook:pipeline` or `grader:<reportId>`.'),
      source: z.enum(['inbound', 'grader', 'outbound']),
      dealId: z.string(),
      newDeal: z.boolean().describe('false: the evidence went to the contact’s open deal.'),
      attribution: z.object({
        pageUrl: z.string().nullable(),
        referrer: z.string().nullable(),
        utm: utm.nullable().describe('Last touch: the form page’s UTM parameters.'),
        firstTouch: z
          .object({
            utm,
            landingPage: z.string(),
            referrer: z.string().nullable(),
            ts: instant,
          })
          .nullable()
          .describe('The campaign that first brought the visitor (30 days).'),
      }),
    }),
  },
  'deal.qualified': {
    description:
      'A contact became a target (10%): a new deal, an outbound prospect moved up, or a deal entered by hand.',
    data: z.object({
      dealId: z.string(),
      contactId: z.string(),
      source: z.enum(LEAD_SOURCES),
      evidence,
      deal: webhookDeal.optional().describe('A deal entered by hand (`source: manual`) only.'),
      actorId: actorId.optional().describe('A deal entered by hand only: who entered it.'),
    }),
  },
  'deal.claimed': {
    description: 'A rep took a deal from the queue.',
    data: z.object({ deal: webhookDeal, actorId }),
  },
  'deal.stage_changed': {
    description:
      'A deal moved to another stage (also to won or lost, which send their own event too).',
    data: stageMove,
  },
  'deal.won': {
    description: 'A deal was won: moved to won, or entered by hand as won.',
    data: stageMove.extend({
      to: z.literal('won'),
      contractSignedOn: z.iso
        .date()
        .nullable()
        .describe(
          'When the stamped contract came back (a deal is won only once both are recorded).',
        ),
      paymentReceivedOn: z.iso.date().nullable().describe('When the payment was received.'),
    }),
  },
  'deal.lost': {
    description: 'A deal was lost.',
    data: stageMove.extend({
      to: z.literal('lost'),
      lostReason: z
        .string()
        .nullable()
        .describe('Why, as the rep gave it (a move to lost needs one).'),
    }),
  },
  'contact.unsubscribed': {
    description: 'Someone unsubscribed from marketing email (the first time only).',
    data: z.object({
      email: z.string().nullable().describe(`The address, canonical. ${ERASED_BEFORE_SENT}`),
      contactId: z.string().nullable().describe('null: no contact has this address.'),
      campaignId: z.string().nullable().describe('The campaign whose email was unsubscribed from.'),
      via: z.enum(['one-click', 'page']),
    }),
  },
  'contact.erased': {
    description: 'A contact was erased (a request, or retention): erase them in your CRM too.',
    data: z.object({ contactId: z.string() }),
  },
  'grader.report_completed': {
    description: 'A website grader report finished.',
    data: z.object({
      reportId: z.string(),
      url: z.string().describe('The URL as asked for, normalised.'),
      finalUrl: z.string().describe('Where it led after redirects.'),
      total: z.number().describe('The score, 0–100.'),
      band: z.enum(['A', 'B', 'C', 'D', 'F']),
    }),
  },
  'campaign.started': {
    description: 'A campaign started sending (or was started for later: see `startAfter`).',
    data: campaignEvent,
  },
  'campaign.completed': {
    description:
      'A campaign completed: stopped by a person, or every message sent (or failed) by the outbox.',
    data: campaignEvent,
  },
  'click.human': {
    description: 'A click on a tracked link was judged a person’s (not a mail scanner’s).',
    data: z.object({
      click: z.object({
        id: z.string(),
        at: instant,
        url: z.string().nullable().describe('Where the link led.'),
        verdict: z
          .enum(['bot', 'likely_bot', 'human', 'human_confirmed'])
          .describe('`human` or `human_confirmed` (the page’s beacon arrived).'),
        reasons: z
          .array(z.object({ code: z.string(), sentence: z.string() }))
          .describe('Why, as codes and a sentence a rep understands.'),
        rulesVersion: z.string(),
      }),
      campaignId: z.string().nullable(),
      recipientId: z.string().nullable(),
      contactId: z.string().nullable(),
    }),
  },
  [TEST_EVENT_TYPE]: {
    description:
      'Sent only by the “Send a test event” button, to that one subscription; never retried.',
    data: z.object({ message: z.string() }),
  },
} satisfies Record<WebhookEventType | typeof TEST_EVENT_TYPE, WebhookEventDoc>

export interface WebhookEventDoc {
  description: string
  data: z.ZodObject
}

/** The `data` of an event of this type, as the code that records it must build it. */
export type WebhookEventData<T extends keyof typeof WEBHOOK_EVENTS> = z.input<
  (typeof WEBHOOK_EVENTS)[T]['data']
>

/**
 * Records an event and queues it for every subscription to its type, on or off, in one statement
 * (a single round trip, and cheap when nobody subscribes). Returns the event id, which receivers
 * see as `webhook-id`.
 */
export async function recordWebhookEvent<T extends WebhookEventType>(
  tx: Db,
  type: T,
  data: WebhookEventData<T>,
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
export async function recordWebhookEvents<T extends WebhookEventType>(
  tx: Db,
  type: T,
  data: WebhookEventData<T>[],
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

/**
 * A webhook_successes row's deliveries (schema.ts WebhookSuccess, JSON arrays) as rows, to join
 * laterally: `cross join lateral ${successEntries(sql`s.deliveries`)} d` gives d.event_id,
 * d.delivered_at (timestamptz), d.attempts, d.status_code, d.latency_ms, d.response_excerpt.
 */
export function successEntries(deliveries: SQLWrapper) {
  return sql`(
    select e ->> 0 as event_id, to_timestamp((e ->> 1)::bigint / 1000.0) as delivered_at,
      (e ->> 2)::int as attempts, (e ->> 3)::int as status_code, (e ->> 4)::int as latency_ms,
      e ->> 5 as response_excerpt
    from json_array_elements(${deliveries}) e
  )`
}
