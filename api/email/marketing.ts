// The one way to enqueue mail that carries our unsubscribe link: marketing and outreach, and the
// transactional mail a lead or prospect asked for (the asset, the grader report). Each message
// gets the recipient's own unsubscribe token; the template is handed the unsubscribe URL, the
// link must be visible in both parts, and the RFC 8058 headers are added. Marketing and outreach
// also need the postal address (CAN-SPAM): without one they are refused, with an error that says
// where to set one.
//
// The link in requested mail is the one the consent checkbox promises ("the unsubscribe link in
// every email"): it unsubscribes from marketing and outreach, like every unsubscribe, and the
// asset the person asks for next still goes (suppressions.ts, suppressionBlocks). Mail to staff
// (invitations, password resets, alerts, digests) carries none: there is no list to leave.

import { escapeHtml } from '../../email-templates/html.ts'
import type { Brand, RenderedEmail } from '../../email-templates/index.ts'
import type { Db } from '../db/client.ts'
import type { Env } from '../env.ts'
import type { EmailAddress } from '../email-headers.ts'
import { enqueueEmail, OutboxError } from './outbox.ts'
import type { EnqueueEmail } from './outbox.ts'
import { brandOf, loadSenderSettings } from './sender.ts'
import type { SenderSettings } from './sender.ts'
import { canonicalEmail } from '../email-address.ts'
import {
  discardUnsubscribeToken,
  issueUnsubscribeToken,
  unsubscribeHeaders,
  unsubscribeUrl,
} from './unsubscribe.ts'

export type MarketingEmail = {
  category: 'marketing' | 'outreach'
  to: EmailAddress
  /** Defaults to `to.address`. */
  recipient?: string
  /** Recorded with the message's unsubscribe token (the suppression names it). */
  campaignId?: string | null
  template: string
  /** Renders the message; must show `unsubscribeUrl` in the HTML and the text part. */
  render: (context: { brand: Brand; unsubscribeUrl: string }) => RenderedEmail
  from?: EmailAddress
  replyTo?: EmailAddress
  headers?: Record<string, string>
  dedupeKey?: string
  runAfter?: Date
  /** The caller's clock (deps.now()). */
  now?: Date
}

/** The problems that stop marketing mail, for a campaign to show before it starts. */
export function marketingProblems(sender: SenderSettings): string[] {
  const problems: string[] = []
  if (!sender.postalAddress) {
    problems.push(
      'No postal address is configured: set it in Settings (or POSTAL_ADDRESS). Marketing and outreach mail must show it (CAN-SPAM).',
    )
  }
  return problems
}

/**
 * Enqueues one marketing or outreach message in the caller's transaction. Returns the outbox row
 * id (null when `dedupeKey` was used before) and the unsubscribe URL it carries. Pass `sender`
 * when sending many, to load the settings once.
 */
export async function enqueueMarketingEmail(
  db: Db,
  env: Env,
  email: MarketingEmail,
  sender?: SenderSettings,
): Promise<{ outboxId: string | null; unsubscribeUrl: string }> {
  const settings = sender ?? (await loadSenderSettings(db, env))
  const problems = marketingProblems(settings)
  if (problems.length) throw new OutboxError('postal_address_missing', problems[0]!)

  const brand = brandOf(settings)
  return enqueueWithUnsubscribe(db, env.APP_ORIGIN, {
    category: email.category,
    to: email.to,
    recipient: email.recipient ?? email.to.address,
    campaignId: email.campaignId ?? null,
    template: email.template,
    render: (unsubscribeUrl) => email.render({ brand, unsubscribeUrl }),
    ...(email.from ? { from: email.from } : {}),
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    ...(email.headers ? { headers: email.headers } : {}),
    ...(email.dedupeKey ? { dedupeKey: email.dedupeKey } : {}),
    ...(email.runAfter ? { runAfter: email.runAfter } : {}),
    ...(email.now ? { now: email.now } : {}),
  })
}

export type RequestedEmail = {
  to: EmailAddress
  /** The canonical address, for the token and the suppression checks. */
  recipient: string
  template: string
  /** Renders the message; must show `unsubscribeUrl` in the HTML and the text part. */
  render: (context: { unsubscribeUrl: string }) => RenderedEmail
  dedupeKey?: string
  /** The caller's clock (deps.now()). */
  now?: Date
}

/**
 * Enqueues, in the caller's transaction, transactional mail a lead or prospect asked for, with
 * the unsubscribe link and headers of our marketing mail. `origin` is APP_ORIGIN. Returns the
 * outbox row id, or null when `dedupeKey` was used before.
 */
export async function enqueueRequestedEmail(
  db: Db,
  origin: string,
  email: RequestedEmail,
): Promise<string | null> {
  const { outboxId } = await enqueueWithUnsubscribe(db, origin, {
    category: 'transactional',
    to: email.to,
    recipient: email.recipient,
    campaignId: null,
    template: email.template,
    render: (unsubscribeUrl) => email.render({ unsubscribeUrl }),
    ...(email.dedupeKey ? { dedupeKey: email.dedupeKey } : {}),
    ...(email.now ? { now: email.now } : {}),
  })
  return outboxId
}

async function enqueueWithUnsubscribe(
  db: Db,
  origin: string,
  email: Omit<EnqueueEmail, 'subject' | 'html' | 'text'> & {
    campaignId: string | null
    render: (unsubscribeUrl: string) => RenderedEmail
  },
): Promise<{ outboxId: string | null; unsubscribeUrl: string }> {
  const { campaignId, render, ...rest } = email
  const recipient = canonicalEmail(email.recipient)
  const token = await issueUnsubscribeToken(db, recipient, campaignId)
  const url = unsubscribeUrl(origin, token)
  const rendered = render(url)
  if (!rendered.text.includes(url) || !rendered.html.includes(escapeHtml(url))) {
    throw new OutboxError(
      'missing_unsubscribe_link',
      `template ${email.template} must show the unsubscribe link in both the HTML and the text part`,
    )
  }
  const outboxId = await enqueueEmail(db, {
    ...rest,
    recipient,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    headers: { ...email.headers, ...unsubscribeHeaders(url) },
  })
  // A duplicate (dedupeKey seen before) sends nothing: the mail already queued carries its own token.
  if (outboxId === null) await discardUnsubscribeToken(db, token)
  return { outboxId, unsubscribeUrl: url }
}
