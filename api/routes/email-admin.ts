import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { clearMailbox } from '../email/mailbox.ts'
import { transportKindFor } from '../email/mailer.ts'
import {
  countFailedEmails,
  findOutboxRow,
  listOutbox,
  OUTBOX_STATUSES,
  outboxHealth,
  retryFailed,
} from '../email/outbox.ts'
import { checkTransport } from '../email/outbox-worker.ts'
import { loadSenderSettings, saveSenderSettings, senderSettingsSchema } from '../email/sender.ts'
import { canonicalEmail } from '../email-address.ts'
import { listSuppressions, removeManualSuppression, suppress } from '../email/suppressions.ts'
import { enqueueTestEmail } from '../email/test-email.ts'
import { readTransportState } from '../email/transport-status.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { FORM_REDIRECT, type Operation } from '../http/openapi.ts'
import { readInput, refuse, respond, type FieldLabels } from '../http/form-or-json.ts'
import { givenParams, validate } from '../http/input.ts'
import { isSearchable, UNSEARCHABLE } from '../db/like.ts'
import { requirePermission } from '../accounts/guards.ts'
import { emailAddressField } from '../email-address.ts'

// Admin API for email: the outbox (failed rows, retry, transport check), suppressions, sender
// settings, the dev mailbox. Plain HTML forms post here and are sent back to their page with a
// notice or an error; JSON callers get JSON.

const PAGES = {
  outbox: '/app/admin/outbox',
  suppressions: '/app/admin/suppressions',
  settings: '/app/admin/settings',
  mailbox: '/app/admin/mailbox',
} as const

const listSchema = z.object({
  status: z.enum(OUTBOX_STATUSES as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
})
const suppressionSchema = z.object({
  email: emailAddressField,
  note: z.string().trim().max(500).optional(),
})
/** The sender settings' labels (admin/settings.astro), for a refused form's message. */
const SENDER_LABELS: FieldLabels = {
  brandName: 'Brand name',
  transactionalFrom: 'From, for transactional email',
  marketingFrom: 'From, for marketing and outreach',
  replyTo: 'Reply-To',
  postalAddress: 'Postal address',
}
const removeSchema = z.object({ email: emailAddressField })
const senderSettingsBody = senderSettingsSchema.partial()
const searchSchema = z.object({
  q: z.string().trim().max(200).refine(isSearchable, UNSEARCHABLE).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

export const emailAdminRoutes = new Hono<AppEnv>()
  // ── Outbox ────────────────────────────────────────────────────────────────────────────────
  .get('/outbox', requirePermission('outbox:manage'), async (c) => {
    const query = validate(listSchema, givenParams(c.req.query()))
    const { db, env, now } = c.var.deps
    const transport = transportKindFor(env)
    const [list, health, failedEmails, state] = await Promise.all([
      listOutbox(db, { status: query.status as never, limit: query.limit, offset: query.offset }),
      outboxHealth(db, now()),
      countFailedEmails(db),
      readTransportState(db, transport),
    ])
    return c.json({ ...list, health, failedEmails, transport: { name: transport, ...state } })
  })
  .post('/outbox/retry-failed', requirePermission('outbox:manage'), async (c) => {
    const n = await retryFailed(c.var.db, 'all', c.var.deps.now())
    return answer(
      c,
      PAGES.outbox,
      { retried: n },
      `${n} failed ${n === 1 ? 'email is' : 'emails are'} queued again.`,
    )
  })
  .post('/outbox/:id/retry', requirePermission('outbox:manage'), async (c) => {
    const row = await findOutboxRow(c.var.db, c.req.param('id'))
    if (!row)
      return refuse(c, PAGES.outbox, {
        status: 404,
        code: 'not_found',
        message: 'No such outbox row.',
      })
    if (row.status !== 'failed') {
      return refuse(c, PAGES.outbox, {
        status: 409,
        code: 'not_failed',
        message: `Only failed emails can be retried (this one is ${row.status}).`,
      })
    }
    if ((await retryFailed(c.var.db, [row.id], c.var.deps.now())) === 0)
      return refuse(c, PAGES.outbox, {
        status: 409,
        code: 'content_deleted',
        message: `This email cannot be sent again: its content is no longer kept (deleted after ${c.var.deps.env.OUTBOX_RETENTION_DAYS} days).`,
      })
    return answer(c, PAGES.outbox, { retried: 1 }, 'Queued again.')
  })
  .post('/transport/check', requirePermission('outbox:manage'), async (c) => {
    const result = await checkTransport(c.var.deps)
    if (!result.ok)
      return refuse(c, PAGES.outbox, {
        status: 409,
        code: 'transport_not_ready',
        message: `Still not working: ${result.reason}`,
      })
    return answer(
      c,
      PAGES.outbox,
      result,
      `The ${result.transport} transport works: sending resumes.`,
    )
  })

  // ── Suppressions ──────────────────────────────────────────────────────────────────────────
  .get('/suppressions', requirePermission('suppressions:manage'), async (c) => {
    const query = validate(searchSchema, givenParams(c.req.query()))
    return c.json(await listSuppressions(c.var.db, query))
  })
  .post('/suppressions', requirePermission('suppressions:manage'), async (c) => {
    const input = await readInput(c, suppressionSchema, PAGES.suppressions, {
      labels: { email: 'Email address' },
    })
    if (input instanceof Response) return input
    const created = await suppress(
      c.var.db,
      {
        email: input.email,
        reason: 'manual',
        source: `added by ${c.var.user.email}`,
        note: input.note || null,
        createdBy: c.var.user.id,
      },
      c.var.deps.now(),
    )
    const email = canonicalEmail(input.email)
    if (!created)
      return refuse(c, PAGES.suppressions, {
        status: 409,
        code: 'already_suppressed',
        message: 'That address is already suppressed.',
      })
    return answer(c, PAGES.suppressions, { email }, 'That address will receive no more email.', 201)
  })
  .post('/suppressions/remove', requirePermission('suppressions:manage'), async (c) => {
    const input = await readInput(c, removeSchema, PAGES.suppressions)
    if (input instanceof Response) return input
    const removed = await removeManualSuppression(c.var.db, input.email, c.var.deps.now())
    const email = canonicalEmail(input.email)
    if (removed === 'unsubscribed')
      return answer(
        c,
        PAGES.suppressions,
        { email },
        'Your entry is removed, but they unsubscribed themselves: marketing and outreach stay stopped.',
      )
    if (!removed) {
      return refuse(c, PAGES.suppressions, {
        status: 409,
        code: 'not_removable',
        message:
          'Only entries added by hand can be removed; unsubscribes, bounces and complaints stay.',
      })
    }
    return answer(c, PAGES.suppressions, { email }, 'That address is no longer suppressed.')
  })

  // ── Sender settings ───────────────────────────────────────────────────────────────────────
  .get('/settings', requirePermission('settings:manage'), async (c) => {
    const sender = await loadSenderSettings(c.var.db, c.var.deps.env)
    return c.json({ stored: sender.stored, effective: effective(sender) })
  })
  .post('/settings', requirePermission('settings:manage'), async (c) => {
    const input = await readInput(c, senderSettingsBody, PAGES.settings, {
      labels: SENDER_LABELS,
    })
    if (input instanceof Response) return input
    const { db, env, now } = c.var.deps
    const current = (await loadSenderSettings(db, env)).stored
    await saveSenderSettings(db, { ...current, ...input }, c.var.user.id, now())
    const sender = await loadSenderSettings(db, env)
    return answer(
      c,
      PAGES.settings,
      { stored: sender.stored, effective: effective(sender) },
      'Sender settings saved.',
    )
  })
  .post('/test-email', requirePermission('settings:manage'), async (c) => {
    const user = c.var.user
    const id = await enqueueTestEmail(
      c.var.db,
      c.var.deps.env,
      { name: user.name, email: user.email },
      c.var.deps.now(),
    )
    return answer(
      c,
      PAGES.settings,
      { outboxId: id },
      `A test email to ${user.email} is in the outbox.`,
      202,
    )
  })

  // ── Dev mailbox ───────────────────────────────────────────────────────────────────────────
  .post('/mailbox/clear', requirePermission('mailbox:read'), async (c) => {
    const n = await clearMailbox(c.var.db)
    return answer(
      c,
      PAGES.mailbox,
      { deleted: n },
      `Deleted ${n} ${n === 1 ? 'message' : 'messages'}.`,
    )
  })

function effective(sender: Awaited<ReturnType<typeof loadSenderSettings>>) {
  const show = (a: { name?: string; address: string } | null) =>
    a ? (a.name ? `${a.name} <${a.address}>` : a.address) : null
  return {
    brandName: sender.brandName,
    transactionalFrom: show(sender.transactionalFrom),
    marketingFrom: show(sender.marketingFrom),
    replyTo: show(sender.replyTo),
    postalAddress: sender.postalAddress,
  }
}

/** Done: JSON callers get `body` with the notice as `message`; a plain form goes back to its page. */
function answer(
  c: Context,
  page: string,
  body: object,
  notice: string,
  status: 200 | 201 | 202 = 200,
) {
  return respond(c, page, { notice }, () => c.json({ ...body, message: notice }, status))
}

const outboxId = z.object({ id: z.string().describe('An outbox row’s id.') })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/admin/email/outbox',
    summary:
      'Outbox rows (by status), its health (`failed` counts every failed row, as /api/health does), the failed emails that can be sent again (`failedEmails.retryable`: what retry-failed queues) and those whose content is deleted (`failedEmails.contentDeleted`), and the transport’s state.',
    auth: 'outbox:manage',
    query: listSchema,
    ok: [200, '{ rows, total, health, failedEmails: { retryable, contentDeleted }, transport }'],
  },
  {
    method: 'post',
    path: '/api/admin/email/outbox/retry-failed',
    summary: 'Queue every failed email again (those whose content is still kept).',
    auth: 'outbox:manage',
    ok: [200, '{ retried, message }'],
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'post',
    path: '/api/admin/email/outbox/{id}/retry',
    summary: 'Queue one failed email again.',
    auth: 'outbox:manage',
    params: outboxId,
    ok: [200, '{ retried: 1, message }'],
    other: { 303: FORM_REDIRECT },
    errors: {
      409: 'Only failed emails can be retried (`not_failed`), and only while their content is kept (`content_deleted`: OUTBOX_RETENTION_DAYS).',
    },
  },
  {
    method: 'post',
    path: '/api/admin/email/transport/check',
    summary: 'Try the email transport now; when it works, paused sending resumes.',
    auth: 'outbox:manage',
    ok: [200, '{ transport, ok, reason, message }'],
    other: { 303: FORM_REDIRECT },
    errors: { 409: 'The transport still does not work (`transport_not_ready`), with the reason.' },
  },
  {
    method: 'get',
    path: '/api/admin/email/suppressions',
    summary: 'Suppressed addresses (unsubscribes, bounces, complaints, added by hand), searchable.',
    auth: 'suppressions:manage',
    query: searchSchema,
    ok: [200, '{ rows, total }'],
  },
  {
    method: 'post',
    path: '/api/admin/email/suppressions',
    summary: 'Suppress an address by hand: it receives no more email.',
    auth: 'suppressions:manage',
    body: suppressionSchema,
    ok: [201, '{ email, message }'],
    errors: { 409: 'Already suppressed (`already_suppressed`).' },
  },
  {
    method: 'post',
    path: '/api/admin/email/suppressions/remove',
    summary:
      'Remove a suppression added by hand. One whose person unsubscribed meanwhile becomes their unsubscribe (the message says so).',
    auth: 'suppressions:manage',
    body: removeSchema,
    ok: [200, '{ email, message }'],
    errors: {
      409: 'Only entries added by hand can be removed (`not_removable`).',
    },
  },
  {
    method: 'get',
    path: '/api/admin/email/settings',
    summary: 'Sender settings: as stored, and as in effect (with the environment’s defaults).',
    auth: 'settings:manage',
    ok: [200, '{ stored, effective }'],
  },
  {
    method: 'post',
    path: '/api/admin/email/settings',
    summary: 'Change some of the sender settings; what is not sent stays.',
    auth: 'settings:manage',
    body: senderSettingsBody,
    ok: [200, '{ stored, effective, message }'],
  },
  {
    method: 'post',
    path: '/api/admin/email/test-email',
    summary: 'Queue a test email to yourself.',
    auth: 'settings:manage',
    ok: [202, '{ outboxId, message }'],
    other: { 303: FORM_REDIRECT },
  },
  {
    method: 'post',
    path: '/api/admin/email/mailbox/clear',
    summary: 'Empty the development mailbox.',
    auth: 'mailbox:read',
    ok: [200, '{ deleted, message }'],
    other: { 303: FORM_REDIRECT },
  },
]
