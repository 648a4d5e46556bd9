// The one way to enqueue marketing or outreach mail. It issues the recipient's unsubscribe token,
// hands the template the brand (with the postal address) and the unsubscribe URL, checks that
// the link is visible in both parts, and adds the RFC 8058 headers. Without a postal address it
// refuses (CAN-SPAM), with an error that says where to set one.

import { escapeHtml } from '../../email-templates/html.ts'
import type { Brand, RenderedEmail } from '../../email-templates/index.ts'
import type { Db } from '../db/client.ts'
import type { Env } from '../env.ts'
import type { EmailAddress } from '../email-headers.ts'
import { enqueueEmail, OutboxError } from './outbox.ts'
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

  const recipient = canonicalEmail(email.recipient ?? email.to.address)
  const token = await issueUnsubscribeToken(db, recipient, email.campaignId ?? null)
  const url = unsubscribeUrl(env.APP_ORIGIN, token)
  const rendered = email.render({ brand: brandOf(settings), unsubscribeUrl: url })
  if (!rendered.text.includes(url) || !rendered.html.includes(escapeHtml(url))) {
    throw new OutboxError(
      'missing_unsubscribe_link',
      `template ${email.template} must show the unsubscribe link in both the HTML and the text part`,
    )
  }
  const outboxId = await enqueueEmail(db, {
    category: email.category,
    to: email.to,
    recipient,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    ...(email.from ? { from: email.from } : {}),
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    headers: { ...email.headers, ...unsubscribeHeaders(url) },
    template: email.template,
    ...(email.dedupeKey ? { dedupeKey: email.dedupeKey } : {}),
    ...(email.runAfter ? { runAfter: email.runAfter } : {}),
    ...(email.now ? { now: email.now } : {}),
  })
  // A duplicate (dedupeKey seen before) sends nothing: the mail already queued carries its own token.
  if (outboxId === null) await discardUnsubscribeToken(db, token)
  return { outboxId, unsubscribeUrl: url }
}
