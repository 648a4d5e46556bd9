import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { isValidAddress } from '../email/headers.ts'
import { clearMailbox } from '../email/mailbox.ts'
import { transportKindFor } from '../email/mailer.ts'
import {
  findOutboxRow,
  listOutbox,
  OUTBOX_STATUSES,
  outboxHealth,
  retryFailed,
} from '../email/outbox.ts'
import { checkTransport } from '../email/outbox-worker.ts'
import { loadSenderSettings, saveSenderSettings, senderSettingsSchema } from '../email/sender.ts'
import { canonicalEmail } from '../email/address.ts'
import { listSuppressions, removeManualSuppression, suppress } from '../email/suppressions.ts'
import { enqueueTestEmail } from '../email/test-email.ts'
import { readTransportState } from '../email/transport-status.ts'
import type { AppEnv } from '../http/app-env.ts'
import { requirePermission } from '../http/guards.ts'
import { fail, readBody, validate, wantsJson } from '../http/input.ts'

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
const emailField = z
  .string()
  .trim()
  .max(320)
  .refine((v) => isValidAddress(v), 'Enter a valid email address.')
const suppressionSchema = z.object({
  email: emailField,
  note: z.string().trim().max(500).optional(),
})
const removeSchema = z.object({ email: emailField })
const searchSchema = z.object({
  q: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
})

export const emailAdminRoutes = new Hono<AppEnv>()
  // ── Outbox ────────────────────────────────────────────────────────────────────────────────
  .get('/outbox', requirePermission('outbox:manage'), async (c) => {
    const query = validate(listSchema, c.req.query())
    const { db, env, now } = c.var.deps
    const transport = transportKindFor(env)
    const [list, health, state] = await Promise.all([
      listOutbox(db, { status: query.status as never, limit: query.limit, offset: query.offset }),
      outboxHealth(db, now()),
      readTransportState(db, transport),
    ])
    return c.json({ ...list, health, transport: { name: transport, ...state } })
  })
  .post('/outbox/retry-failed', requirePermission('outbox:manage'), async (c) => {
    const n = await retryFailed(c.var.db, 'all', c.var.deps.now())
    return respond(
      c,
      PAGES.outbox,
      { retried: n },
      `${n} failed ${n === 1 ? 'email is' : 'emails are'} queued again.`,
    )
  })
  .post('/outbox/:id/retry', requirePermission('outbox:manage'), async (c) => {
    const row = await findOutboxRow(c.var.db, c.req.param('id'))
    if (!row) return respondError(c, PAGES.outbox, 404, 'not_found', 'No such outbox row.')
    if (row.status !== 'failed') {
      return respondError(
        c,
        PAGES.outbox,
        409,
        'not_failed',
        `Only failed emails can be retried (this one is ${row.status}).`,
      )
    }
    await retryFailed(c.var.db, [row.id], c.var.deps.now())
    return respond(c, PAGES.outbox, { retried: 1 }, `Queued again: ${row.recipient ?? row.id}.`)
  })
  .post('/transport/check', requirePermission('outbox:manage'), async (c) => {
    const result = await checkTransport(c.var.deps)
    if (!result.ok)
      return respondError(
        c,
        PAGES.outbox,
        409,
        'transport_not_ready',
        `Still not working: ${result.reason}`,
      )
    return respond(
      c,
      PAGES.outbox,
      result,
      `The ${result.transport} transport works: sending resumes.`,
    )
  })

  // ── Suppressions ──────────────────────────────────────────────────────────────────────────
  .get('/suppressions', requirePermission('suppressions:manage'), async (c) => {
    const query = validate(searchSchema, c.req.query())
    return c.json(await listSuppressions(c.var.db, query))
  })
  .post('/suppressions', requirePermission('suppressions:manage'), async (c) => {
    const input = await input_(c, suppressionSchema, PAGES.suppressions)
    if (input instanceof Response) return input
    const created = await suppress(
      c.var.db,
      {
        email: input.email,
        reason: 'manual',
        source: `added by ${c.var.user!.email}`,
        note: input.note || null,
        createdBy: c.var.user!.id,
      },
      c.var.deps.now(),
    )
    const email = canonicalEmail(input.email)
    if (!created)
      return respondError(
        c,
        PAGES.suppressions,
        409,
        'already_suppressed',
        `${email} is already suppressed.`,
      )
    return respond(c, PAGES.suppressions, { email }, `${email} will receive no more email.`, 201)
  })
  .post('/suppressions/remove', requirePermission('suppressions:manage'), async (c) => {
    const input = await input_(c, removeSchema, PAGES.suppressions)
    if (input instanceof Response) return input
    const removed = await removeManualSuppression(c.var.db, input.email)
    if (!removed) {
      return respondError(
        c,
        PAGES.suppressions,
        409,
        'not_removable',
        'Only entries added by hand can be removed; unsubscribes, bounces and complaints stay.',
      )
    }
    return respond(
      c,
      PAGES.suppressions,
      { email: canonicalEmail(input.email) },
      `${canonicalEmail(input.email)} is no longer suppressed.`,
    )
  })

  // ── Sender settings ───────────────────────────────────────────────────────────────────────
  .get('/settings', requirePermission('settings:manage'), async (c) => {
    const sender = await loadSenderSettings(c.var.db, c.var.deps.env)
    return c.json({ stored: sender.stored, effective: effective(sender) })
  })
  .post('/settings', requirePermission('settings:manage'), async (c) => {
    const input = await input_(c, senderSettingsSchema.partial(), PAGES.settings)
    if (input instanceof Response) return input
    const { db, env, now } = c.var.deps
    const current = (await loadSenderSettings(db, env)).stored
    await saveSenderSettings(db, { ...current, ...input }, c.var.user!.id, now())
    const sender = await loadSenderSettings(db, env)
    return respond(
      c,
      PAGES.settings,
      { stored: sender.stored, effective: effective(sender) },
      'Sender settings saved.',
    )
  })
  .post('/test-email', requirePermission('settings:manage'), async (c) => {
    const user = c.var.user!
    const id = await enqueueTestEmail(
      c.var.db,
      c.var.deps.env,
      { name: user.name, email: user.email },
      c.var.deps.now(),
    )
    return respond(
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
    return respond(
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

// A body read as JSON (validated, 422 with fields) or as a form (an error goes back to the page).
async function input_<T extends z.ZodType>(
  c: Context<AppEnv>,
  schema: T,
  page: string,
): Promise<z.infer<T> | Response> {
  const { kind, data } = await readBody(c)
  if (kind === 'json') return validate(schema, data)
  const parsed = schema.safeParse(data)
  if (parsed.success) return parsed.data
  return back(c, page, { error: parsed.error.issues[0]?.message ?? 'Invalid input.' })
}

function isForm(c: Context<AppEnv>): boolean {
  return !wantsJson(c)
}

function respond(
  c: Context<AppEnv>,
  page: string,
  body: object,
  notice: string,
  status: 200 | 201 | 202 = 200,
) {
  if (isForm(c)) return back(c, page, { notice })
  return c.json({ ...body, message: notice }, status)
}

function respondError(
  c: Context<AppEnv>,
  page: string,
  status: 404 | 409,
  code: string,
  message: string,
) {
  if (isForm(c)) return back(c, page, { error: message })
  fail(status, code, message)
}

function back(c: Context<AppEnv>, page: string, params: Record<string, string>) {
  return c.redirect(`${page}?${new URLSearchParams(params)}`, 303)
}
