import { Hono } from 'hono'
import { z } from 'zod'
import type { Permission } from '../accounts/permissions.ts'
import { readResendEvent, recordResendEvent } from '../email/delivery-events.ts'
import type { AppEnv } from '../http/app-env.ts'
import { bodyKind, fail } from '../http/input.ts'
import type { Operation } from '../http/openapi.ts'

// POST /api/email/events/resend: Resend's webhook for what became of the mail it took (delivered,
// bounced, reported as spam, not sent; api/email/delivery-events.ts). Public: the Svix signature is the
// authentication, checked before anything is read or written. Resend posts JSON with no Origin,
// which the app's CSRF check lets through as it does any JSON (only form-like or bodiless posts
// need our origin); anything else is 415 here. No per-address rate limit: Svix delivers a
// campaign's events in bursts from a few addresses, and an unsigned flood costs an HMAC each and
// writes nothing. Bodies are capped by the app's body limit, as every POST.
//
// Without RESEND_WEBHOOK_SECRET it answers 503, not 404: the route exists, it is not configured
// yet, and Svix retries a 5xx for about a day, so events sent before the secret is set still
// arrive once it is.

export const RESEND_EVENTS_PATH = '/api/email/events/resend'

export const emailEventRoutes = new Hono<AppEnv>().post('/resend', async (c) => {
  const { deps } = c.var
  if (bodyKind(c) !== 'json')
    fail(415, 'unsupported_media_type', 'Send the body as application/json.')
  const secret = deps.env.RESEND_WEBHOOK_SECRET
  if (!secret)
    return c.json(
      {
        error: {
          code: 'not_configured',
          message:
            'This server does not accept Resend events: RESEND_WEBHOOK_SECRET is not set (see the README, Email).',
        },
      },
      503,
    )
  const body = new Uint8Array(await c.req.arrayBuffer())
  const read = readResendEvent(secret, body, {
    id: c.req.header('svix-id'),
    timestamp: c.req.header('svix-timestamp'),
    signature: c.req.header('svix-signature'),
  })
  if (!read.ok && read.reason === 'unsigned')
    fail(401, 'bad_signature', 'The svix signature is missing, does not match or is too old.')
  if (!read.ok) fail(400, 'bad_request', 'The body is not a Resend email event.')
  if (!read.event) return c.body(null, 204)
  const result = await recordResendEvent(deps.db, c.req.header('svix-id')!, read.event, deps.now())
  c.var.log.info('resend event', { type: read.event.type, result })
  if (result === 'not_yet')
    return c.json(
      {
        error: {
          code: 'not_yet_known',
          message:
            'No message has this email id yet (its send may still be being recorded): send it again.',
        },
      },
      503,
    )
  return c.body(null, 204)
})

export const operations: Operation<Permission>[] = [
  {
    method: 'post',
    path: RESEND_EVENTS_PATH,
    summary:
      'Resend’s webhook (signed with Svix: svix-id, svix-timestamp, svix-signature): email.delivered is recorded for campaign results; a permanent email.bounced fails the message and suppresses the address (hard_bounce); email.complained suppresses it (complaint); email.suppressed (the address on the Resend account’s suppression list) fails the message and suppresses the address (hard_bounce); email.failed fails the message. Other event types, a redelivered svix-id and an email id of no message of ours (once the event is ten minutes old; before, 503 so that it comes again) are accepted and change nothing.',
    auth: 'none',
    body: z.object({
      type: z.string(),
      created_at: z.string(),
      data: z.looseObject({ email_id: z.string() }),
    }),
    bodyTypes: ['json'],
    ok: [204, 'Accepted (recorded, or ignored).'],
    errors: {
      400: 'The signed body is not JSON or not a Resend email event (`bad_request`).',
      401: 'The signature is missing, does not match or is older than five minutes (`bad_signature`).',
      503: 'RESEND_WEBHOOK_SECRET is not set (`not_configured`); or no message has the event’s email id yet and the event is under ten minutes old (`not_yet_known`): Svix sends it again.',
    },
  },
]
