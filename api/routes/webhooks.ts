import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import { WEBHOOK_EVENT_TYPES } from '../db/webhook-outbox.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { FORM_REDIRECT, okSchemaOf, type Operation, time } from '../http/openapi.ts'
import { readInput, readParam, refuse, respond } from '../http/form-or-json.ts'
import { showOnceCookie } from '../http/cookies.ts'
import { wantsJson, type AnswerOptions, type BodyKind } from '../http/input.ts'
import { sendNow, type AttemptResult } from '../integrations/webhook-delivery.ts'
import { readPagedQuery } from './sync.ts'
import {
  checkWebhookUrl,
  createSubscription,
  deleteSubscription,
  findDelivery,
  findSubscription,
  recordTestEvent,
  rotateSecret,
  setSubscriptionEnabled,
  SHOWN_SECRET_COOKIE,
  signingSecretsOf,
  updateSubscription,
  webhookTargets,
  withoutSecrets,
  type SigningSecrets,
  type Subscription,
  type SubscriptionView,
} from '../integrations/webhooks.ts'
import {
  findEventLog,
  listAttempts,
  listDeliveryLog,
  listSubscriptions,
  LOG_EVENT_TYPES,
  logQueryOf,
  logQuerySchema,
  type AttemptLogItem,
  type EventLog,
  type LogPage,
  type SubscriptionListItem,
} from '../integrations/webhook-log.ts'

// /api/admin/webhooks: subscriptions (admins, or an API token with webhooks:manage), editing
// one, rotating its signing secret, its delivery log (filtered, paged by cursor) and each event as
// sent, "send again" and a test event. A URL that
// is not a public address is refused with the reason, when subscribing and when editing.
// The signing secret is in the answer to subscribing and to rotating, and behind an explicit
// (logged) reveal; every other answer leaves it out (withoutSecrets). A plain form gets it on the
// subscription's page through a one-minute cookie, as a new API token is shown.

const PAGE = '/app/admin/webhooks'
const pageOf = (id: string) => `${PAGE}/${id}`

export const subscriptionSchema = z.object({
  url: z.string().trim().min(1, 'Enter the URL to send events to.').max(2048),
  events: z
    .array(
      z.enum(WEBHOOK_EVENT_TYPES, { message: `Events are ${WEBHOOK_EVENT_TYPES.join(', ')}.` }),
    )
    .min(1, 'Choose at least one event.')
    .transform((e) => [...new Set(e)]),
})
/** An edit: the URL, the events, or both (the page's form sends both). */
export const subscriptionEditSchema = subscriptionSchema
  .partial()
  .refine((v) => v.url !== undefined || v.events !== undefined, {
    message: 'Send the url, the events, or both.',
  })
const idSchema = z.string().uuid('Unknown subscription.')
const eventIdSchema = z.string().uuid('Unknown event.')

/** What the pages' forms send (fromForm reshapes it into subscriptionSchema's input). */
const subscriptionFormSchema = z.object({
  url: subscriptionSchema.shape.url,
  ...Object.fromEntries(WEBHOOK_EVENT_TYPES.map((t) => [`event:${t}`, z.literal('on').optional()])),
})

/** The form sends one checkbox per event type (`event:deal.won=on`). */
function fromForm(data: Record<string, unknown>, kind: 'json' | 'form') {
  if (kind === 'json') return data
  return {
    url: data.url,
    events: WEBHOOK_EVENT_TYPES.filter((t) => data[`event:${t}`] !== undefined),
  }
}

const attemptJson = (a: AttemptResult) => ({
  ok: a.ok,
  statusCode: a.statusCode,
  latencyMs: a.latencyMs,
  error: a.error,
  responseExcerpt: a.responseExcerpt,
})

/**
 * Every action but subscribing has no body: a bare request is an API call; the pages' buttons
 * post a form. A refused form goes back to the list (an unknown subscription has no page).
 */
const BODYLESS = { bodyless: 'json' } as const

const UNKNOWN = { status: 404, code: 'not_found', message: 'Unknown subscription.' } as const
const NEVER_SENT = {
  status: 404,
  code: 'not_found',
  message: 'This subscription was never sent that event.',
} as const

/** The subscription id the path names, or the refusal to return. */
function subscriptionIdOf(c: Context<SignedInEnv>) {
  return readParam(c, idSchema, 'id', PAGE, BODYLESS)
}

/** A plain form's redirect carries the secret to the subscription's page, to be shown once. */
function showSecretOnPage(c: Context<SignedInEnv>, sub: Subscription, options?: AnswerOptions) {
  if (wantsJson(c, options)) return
  c.header(
    'Set-Cookie',
    showOnceCookie(c.var.deps.env, SHOWN_SECRET_COOKIE, sub.secret, pageOf(sub.id)),
  )
}

/** The subscription's signing secrets, for an admin who asked for them: logged, by whom. */
async function reveal(c: Context<SignedInEnv>) {
  const subscription = await subscriptionOf(c)
  if (subscription instanceof Response) return subscription
  c.var.log.info('webhook secret revealed', {
    subscriptionId: subscription.id,
    actorId: c.var.user.id,
    apiTokenId: c.var.apiToken?.id ?? null,
  })
  showSecretOnPage(c, subscription, BODYLESS)
  return respond(
    c,
    pageOf(subscription.id),
    { notice: 'The signing secret is shown below, this once.' },
    () => c.json(signingSecretsOf(subscription, c.var.deps.now())),
    BODYLESS,
  )
}

/** The subscription the path names, or the refusal to return. */
async function subscriptionOf(c: Context<SignedInEnv>) {
  const id = await subscriptionIdOf(c)
  if (id instanceof Response) return id
  return (await findSubscription(c.var.db, id)) ?? refuse(c, PAGE, UNKNOWN, BODYLESS)
}

/** `url` as stored once judged public (checkWebhookUrl), or the 422 to return. */
async function publicUrl(c: Context<SignedInEnv>, url: string, back: string) {
  const check = await checkWebhookUrl(url, webhookTargets(c.var.deps.env))
  if (check.ok) return check.url
  return refuse(c, back, {
    status: 422,
    code: 'url_not_allowed',
    message: check.message,
    fields: { url: check.message },
  })
}

export const webhookRoutes = new Hono<AppEnv>()
  .use(requirePermission('webhooks:manage'))
  .get('/', async (c) => c.json({ subscriptions: await listSubscriptions(c.var.db) }))
  .post('/', async (c) => {
    const input = await readInput(c, subscriptionSchema, PAGE, {
      prepare: fromForm,
      labels: { url: 'URL' },
    })
    if (input instanceof Response) return input
    const url = await publicUrl(c, input.url, PAGE)
    if (url instanceof Response) return url
    const subscription = await createSubscription(
      c.var.db,
      { url, events: input.events, createdBy: c.var.user.id },
      c.var.deps.now(),
    )
    showSecretOnPage(c, subscription)
    return respond(
      c,
      pageOf(subscription.id),
      { notice: 'Subscribed. Verify signatures with the secret shown here.' },
      () => c.json({ subscription }, 201),
    )
  })
  .get('/:id', async (c) => {
    const subscription = await subscriptionOf(c)
    if (subscription instanceof Response) return subscription
    return c.json({
      subscription: withoutSecrets(subscription),
      attempts: await listAttempts(c.var.db, subscription.id),
    })
  })
  .get('/:id/secret', reveal)
  .post('/:id/secret', reveal)
  .get('/:id/deliveries', async (c) => {
    const subscription = await subscriptionOf(c)
    if (subscription instanceof Response) return subscription
    const query = readPagedQuery(c, logQuerySchema)
    return c.json(await listDeliveryLog(c.var.db, subscription.id, logQueryOf(query)))
  })
  .get('/:id/events/:eventId', async (c) => {
    const subscriptionId = await subscriptionIdOf(c)
    if (subscriptionId instanceof Response) return subscriptionId
    const eventId = await readParam(c, eventIdSchema, 'eventId', pageOf(subscriptionId), BODYLESS)
    if (eventId instanceof Response) return eventId
    const log = await findEventLog(c.var.db, subscriptionId, eventId)
    if (!log) return refuse(c, pageOf(subscriptionId), NEVER_SENT, BODYLESS)
    return c.json(log)
  })
  // PATCH for API clients; the page's form posts (JavaScript off), as other edit forms do.
  .patch('/:id', async (c) => edit(c, ['json']))
  .post('/:id', async (c) => edit(c, ['json', 'form']))
  .post('/:id/rotate-secret', async (c) => {
    const id = await subscriptionIdOf(c)
    if (id instanceof Response) return id
    const subscription = await rotateSecret(c.var.db, id, c.var.deps.now())
    if (!subscription) return refuse(c, PAGE, UNKNOWN, BODYLESS)
    showSecretOnPage(c, subscription, BODYLESS)
    return respond(
      c,
      pageOf(id),
      {
        notice:
          'New signing secret. For 24 hours deliveries are signed with the old one too: give your receiver the new one before then.',
      },
      () => c.json({ subscription }),
      BODYLESS,
    )
  })
  .post('/:id/enable', async (c) => toggle(c, true))
  .post('/:id/disable', async (c) => toggle(c, false))
  .post('/:id/delete', remove)
  .delete('/:id', remove)
  .post('/:id/test', async (c) => {
    const subscription = await subscriptionOf(c)
    if (subscription instanceof Response) return subscription
    const event = await recordTestEvent(c.var.db, subscription.id, c.var.deps.now())
    const result = await sendNow(c.var.deps, {
      subscriptionId: subscription.id,
      eventId: event.id,
      url: subscription.url,
      secret: subscription.secret,
      previousSecret: subscription.previousSecret,
      previousSecretExpiresAt: subscription.previousSecretExpiresAt,
      type: event.type,
      data: event.data,
      eventAt: event.createdAt,
    })
    return respond(
      c,
      pageOf(subscription.id),
      {
        notice: result.ok
          ? `Test event delivered (HTTP ${result.statusCode}).`
          : `Test event failed: ${result.error}.`,
      },
      () => c.json({ eventId: event.id, attempt: attemptJson(result) }),
      BODYLESS,
    )
  })
  .post('/:id/deliveries/:eventId/resend', async (c) => {
    const subscriptionId = await subscriptionIdOf(c)
    if (subscriptionId instanceof Response) return subscriptionId
    const eventId = await readParam(c, eventIdSchema, 'eventId', pageOf(subscriptionId), BODYLESS)
    if (eventId instanceof Response) return eventId
    const delivery = await findDelivery(c.var.db, subscriptionId, eventId)
    if (!delivery) return refuse(c, pageOf(subscriptionId), NEVER_SENT, BODYLESS)
    const result = await sendNow(c.var.deps, delivery)
    return respond(
      c,
      pageOf(subscriptionId),
      {
        notice: result.ok
          ? `Sent again (HTTP ${result.statusCode}).`
          : `Sending again failed: ${result.error}.`,
      },
      () => c.json({ attempt: attemptJson(result) }),
      BODYLESS,
    )
  })

/**
 * Points a subscription at another URL or events. Nothing changes unless all of it is valid: a
 * URL is judged as when subscribing.
 */
async function edit(c: Context<SignedInEnv>, accept: BodyKind[]) {
  const id = await subscriptionIdOf(c)
  if (id instanceof Response) return id
  const back = pageOf(id)
  const input = await readInput(c, subscriptionEditSchema, back, {
    prepare: fromForm,
    accept,
    labels: { url: 'URL' },
  })
  if (input instanceof Response) return input
  if (!(await findSubscription(c.var.db, id))) return refuse(c, PAGE, UNKNOWN)
  const url = input.url === undefined ? undefined : await publicUrl(c, input.url, back)
  if (url instanceof Response) return url
  const updated = await updateSubscription(c.var.db, id, { url, events: input.events })
  if (!updated) return refuse(c, PAGE, UNKNOWN)
  return respond(
    c,
    back,
    { notice: 'Saved. Waiting events go to this URL; the events chosen count from now on.' },
    () => c.json({ subscription: withoutSecrets(updated) }),
  )
}

async function toggle(c: Context<SignedInEnv>, enabled: boolean) {
  const id = await subscriptionIdOf(c)
  if (id instanceof Response) return id
  const subscription = await setSubscriptionEnabled(c.var.db, id, enabled, c.var.deps.now())
  if (!subscription) return refuse(c, PAGE, UNKNOWN, BODYLESS)
  return respond(
    c,
    pageOf(id),
    {
      notice: enabled
        ? 'Turned on: waiting events go out in order.'
        : 'Turned off: events wait until it is on again.',
    },
    () => c.json({ subscription: withoutSecrets(subscription) }),
    BODYLESS,
  )
}

async function remove(c: Context<SignedInEnv>) {
  const id = await subscriptionIdOf(c)
  if (id instanceof Response) return id
  if (!(await deleteSubscription(c.var.db, id))) return refuse(c, PAGE, UNKNOWN, BODYLESS)
  return respond(
    c,
    PAGE,
    { notice: 'Subscription deleted.' },
    () => c.json({ deleted: id }),
    BODYLESS,
  )
}

// What each operation answers, field by field (the document's answer schemas, held by okSchemaOf
// to the types the routes send; tests/api/integrations/response-schemas.db.test.ts reads each
// answer through them). Times are ISO 8601 in UTC.
const eventType = z.string().describe(`One of ${LOG_EVENT_TYPES.join(', ')}.`)

const subscriptionViewJson = okSchemaOf<SubscriptionView>()(
  z.strictObject({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()).describe('The event types it is sent.'),
    previousSecretExpiresAt: time
      .nullable()
      .describe('Until when the secret before the last rotation still signs too.'),
    createdBy: z.string(),
    createdAt: time,
    failingSince: time
      .nullable()
      .describe('Since when every attempt has failed; null after a success.'),
    disabledAt: time.nullable(),
    disabledReason: z.string().nullable(),
  }),
)

const secretJson = z.string().describe('whsec_…: verify each delivery’s webhook-signature with it.')
const previousSecretJson = z
  .string()
  .nullable()
  .describe('The secret before the last rotation, still signed with until it expires.')

/** A subscription with its signing secrets: only where one is made (subscribing, rotating). */
const subscriptionJson = okSchemaOf<Subscription>()(
  subscriptionViewJson.extend({ secret: secretJson, previousSecret: previousSecretJson }),
)

const secretsAnswer = okSchemaOf<SigningSecrets>()(
  z.strictObject({
    secret: secretJson,
    previousSecret: previousSecretJson.describe(
      'The secret before the last rotation while it still signs (24 hours), else null.',
    ),
    previousSecretExpiresAt: time.nullable(),
  }),
)

const attemptJsonSchema = okSchemaOf<ReturnType<typeof attemptJson>>()(
  z.strictObject({
    ok: z.boolean(),
    statusCode: z.number().int().nullable().describe('The receiver’s status; null: no answer.'),
    latencyMs: z.number(),
    error: z.string().nullable(),
    responseExcerpt: z.string().nullable().describe('The start of what the receiver answered.'),
  }),
)

const attemptLogJson = okSchemaOf<AttemptLogItem>()(
  attemptJsonSchema.extend({
    id: z.string(),
    eventId: z.string(),
    eventType: eventType,
    manual: z.boolean().describe('Sent by hand (“send again”, a test event).'),
    at: time,
    deliveryStatus: z
      .enum(['pending', 'delivered', 'failed'])
      .describe(
        'Where the event’s delivery to this subscription stands now: pending, delivered or failed.',
      ),
  }),
)

const subscriptionAnswer = okSchemaOf<{ subscription: Subscription }>()(
  z.strictObject({ subscription: subscriptionJson }),
)

const subscriptionViewAnswer = okSchemaOf<{ subscription: SubscriptionView }>()(
  z.strictObject({ subscription: subscriptionViewJson }),
)

const listAnswer = okSchemaOf<{ subscriptions: SubscriptionListItem[] }>()(
  z.strictObject({
    subscriptions: z.array(
      subscriptionViewJson.extend({
        pending: z.number().int().describe('Events waiting to be delivered to it.'),
        lastAttempt: z
          .strictObject({ ok: z.boolean(), statusCode: z.number().int().nullable(), at: time })
          .nullable(),
      }),
    ),
  }),
)

const oneAnswer = okSchemaOf<{ subscription: SubscriptionView; attempts: AttemptLogItem[] }>()(
  z.strictObject({
    subscription: subscriptionViewJson,
    attempts: z.array(attemptLogJson).describe('The latest entries of its delivery log.'),
  }),
)

const logPageJson = okSchemaOf<LogPage>()(
  z.strictObject({
    data: z.array(attemptLogJson).describe('Log entries, newest first.'),
    nextCursor: z.string().nullable().describe('Pass it as ?cursor= for older entries.'),
    hasMore: z.boolean(),
    prevCursor: z.string().nullable().describe('Pass it as ?newer= for newer entries.'),
    hasNewer: z.boolean(),
  }),
)

const eventLogJson = okSchemaOf<EventLog>()(
  z.strictObject({
    event: z.strictObject({ id: z.string(), type: eventType, createdAt: time }),
    body: z
      .string()
      .nullable()
      .describe('The body every attempt sent, byte for byte (null once the event is gone).'),
    delivery: z.strictObject({
      status: z.enum(['pending', 'delivered', 'failed']),
      runAfter: time
        .nullable()
        .describe('When it is tried next (pending) or was to be (failed); null once delivered.'),
      deliveredAt: time.nullable().describe('Its first success; null until delivered.'),
    }),
    attempts: z.array(attemptLogJson).describe('Every attempt, newest first.'),
  }),
)

const deletedAnswer = z.strictObject({ deleted: z.string().describe('The subscription’s id.') })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/admin/webhooks',
    summary: 'List subscriptions (never their signing secrets).',
    auth: 'webhooks:manage',
    ok: [200, '{ subscriptions }'],
    okSchema: listAnswer,
  },
  {
    method: 'post',
    path: '/api/admin/webhooks',
    summary: 'Subscribe a public URL to events.',
    auth: 'webhooks:manage',
    body: subscriptionSchema,
    formBody: subscriptionFormSchema,
    ok: [201, '{ subscription } with its signing secret'],
    okSchema: subscriptionAnswer,
    errors: {
      422: 'Invalid input, or a URL that is not a public address (`url_not_allowed`, with the reason).',
    },
  },
  {
    method: 'get',
    path: '/api/admin/webhooks/{id}',
    summary: 'One subscription (without its signing secret) and its delivery log.',
    auth: 'webhooks:manage',
    ok: [200, '{ subscription, attempts }'],
    okSchema: oneAnswer,
  },
  {
    method: 'get',
    path: '/api/admin/webhooks/{id}/secret',
    summary:
      'Reveal a subscription’s signing secret (and the previous one while it still signs); logged.',
    auth: 'webhooks:manage',
    ok: [200, '{ secret, previousSecret, previousSecretExpiresAt }'],
    okSchema: secretsAnswer,
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/secret',
    summary:
      'Reveal a subscription’s signing secret (the page’s “Reveal the secret” button; as GET); logged.',
    auth: 'webhooks:manage',
    ok: [200, '{ secret, previousSecret, previousSecretExpiresAt }'],
    okSchema: secretsAnswer,
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'get',
    path: '/api/admin/webhooks/{id}/deliveries',
    summary:
      'A page of the delivery log, newest first, filtered by outcome and event type (keyset by cursor, as /api/sync).',
    auth: 'webhooks:manage',
    query: logQuerySchema,
    ok: [200, '{ data, nextCursor, hasMore, prevCursor, hasNewer }'],
    okSchema: logPageJson,
    errors: {
      400: 'A cursor this log did not give out (`invalid_cursor`, as /api/sync).',
      422: 'An unknown status or type.',
    },
  },
  {
    method: 'get',
    path: '/api/admin/webhooks/{id}/events/{eventId}',
    summary:
      'One event as this subscription is sent it: the body byte for byte, and every attempt.',
    auth: 'webhooks:manage',
    ok: [200, '{ event, body, delivery, attempts }'],
    okSchema: eventLogJson,
    errors: { 404: 'Unknown subscription, or an event it was never sent.' },
  },
  {
    method: 'patch',
    path: '/api/admin/webhooks/{id}',
    summary:
      'Change a subscription’s URL, events or both; waiting events go to the new URL, the events count from now on.',
    auth: 'webhooks:manage',
    body: subscriptionEditSchema,
    bodyTypes: ['json'],
    ok: [200, '{ subscription }'],
    okSchema: subscriptionViewAnswer,
    errors: {
      422: 'Invalid input, or a URL that is not a public address (`url_not_allowed`, with the reason); nothing is changed.',
    },
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}',
    summary: 'Change a subscription’s URL, events or both (the page’s form; as PATCH).',
    auth: 'webhooks:manage',
    body: subscriptionEditSchema,
    formBody: subscriptionFormSchema,
    ok: [200, '{ subscription }'],
    okSchema: subscriptionViewAnswer,
    other: { 303: FORM_REDIRECT },
    errors: {
      422: 'Invalid input, or a URL that is not a public address (`url_not_allowed`, with the reason); nothing is changed.',
    },
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/rotate-secret',
    summary:
      'Give a subscription a new signing secret; for 24 hours deliveries carry a signature with the old one too.',
    auth: 'webhooks:manage',
    ok: [200, '{ subscription } with its new secret'],
    okSchema: subscriptionAnswer,
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/enable',
    summary: 'Turn a subscription on; waiting events go out in order.',
    auth: 'webhooks:manage',
    ok: [200, '{ subscription }'],
    okSchema: subscriptionViewAnswer,
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/disable',
    summary: 'Turn a subscription off; events wait.',
    auth: 'webhooks:manage',
    ok: [200, '{ subscription }'],
    okSchema: subscriptionViewAnswer,
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/delete',
    summary: 'Delete a subscription (form-friendly).',
    auth: 'webhooks:manage',
    ok: [200, '{ deleted }'],
    okSchema: deletedAnswer,
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'delete',
    path: '/api/admin/webhooks/{id}',
    summary: 'Delete a subscription.',
    auth: 'webhooks:manage',
    ok: [200, '{ deleted }'],
    okSchema: deletedAnswer,
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/test',
    summary: 'Send a webhook.test event now and report what the receiver answered.',
    auth: 'webhooks:manage',
    ok: [200, '{ eventId, attempt }'],
    okSchema: z.strictObject({ eventId: z.string(), attempt: attemptJsonSchema }),
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'post',
    path: '/api/admin/webhooks/{id}/deliveries/{eventId}/resend',
    summary: 'Send an event to this subscription again now (same webhook-id).',
    auth: 'webhooks:manage',
    ok: [200, '{ attempt }'],
    okSchema: z.strictObject({ attempt: attemptJsonSchema }),
    other: { 303: FORM_REDIRECT },
  },
]
