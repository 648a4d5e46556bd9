// One-click unsubscribe (RFC 8058). A token is 128 random bits in 26 base32 characters: opaque,
// short enough that the List-Unsubscribe header stays on one line under DKIM, and it never
// expires (a person may unsubscribe from a mail years old). Only its hash is stored (hashToken),
// so a copy of the database holds no link that works; the token exists only in the mail it was
// issued for, and each message gets its own.

import { and, eq } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { consentEvents, contacts, unsubscribeTokens } from '../db/schema.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import { hashToken, newId, newToken } from '../ids.ts'
import { canonicalEmail } from '../email-address.ts'
import { findSuppression, suppress } from './suppressions.ts'

const TOKEN_BYTES = 16
/** The shape of every token we issue: a URL that is not this shape is answered without a query. */
export const unsubscribeTokenPattern = /^[a-z2-7]{26}$/

/** A new token for `email` (and the campaign the mail belongs to); call it in the enqueue's transaction. */
export async function issueUnsubscribeToken(
  db: Db,
  email: string,
  campaignId: string | null = null,
): Promise<string> {
  const token = newToken(TOKEN_BYTES)
  await db
    .insert(unsubscribeTokens)
    .values({ tokenHash: hashToken(token), email: canonicalEmail(email), campaignId })
  return token
}

/** Withdraws a token no mail carries (its message was a duplicate and never enqueued). */
export async function discardUnsubscribeToken(db: Db, token: string): Promise<void> {
  await db.delete(unsubscribeTokens).where(eq(unsubscribeTokens.tokenHash, hashToken(token)))
}

export function unsubscribeUrl(origin: string, token: string): string {
  return `${origin}/u/${token}`
}

/**
 * The unsubscribe "token" of a message nobody is on a list for (a campaign's test send, its
 * preview): not the shape of a token we issue, so it never names anybody. Its page says so.
 */
export const TEST_UNSUBSCRIBE_TOKEN = 'test-message'

/** The headers RFC 8058 asks for; the URL in angle brackets, the POST body a mail provider sends. */
export function unsubscribeHeaders(url: string): Record<string, string> {
  return {
    'List-Unsubscribe': `<${url}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  }
}

export async function findUnsubscribeToken(
  db: Db,
  token: string,
): Promise<{ email: string; campaignId: string | null } | null> {
  if (!unsubscribeTokenPattern.test(token)) return null
  const [row] = await db
    .select({ email: unsubscribeTokens.email, campaignId: unsubscribeTokens.campaignId })
    .from(unsubscribeTokens)
    .where(eq(unsubscribeTokens.tokenHash, hashToken(token)))
  return row ?? null
}

export type UnsubscribeResult = { email: string; alreadySuppressed: boolean } | null

/**
 * Suppresses the token's address at once and, for a known contact, appends the withdrawal of
 * marketing consent. Repeating it changes nothing. Null for a token we never issued.
 *
 * An address an admin or a bounce suppressed first keeps that entry (suppressions.ts), but the
 * person's own unsubscribe is still recorded, once: dropping it lost the withdrawal from the
 * consent record, the webhook and the campaign's figures, and removing the admin's entry later
 * mailed them again (removeManualSuppression keeps an unsubscribe in its place).
 */
export async function unsubscribe(
  db: Db,
  token: string,
  context: { via: 'one-click' | 'page'; ip?: string | null; userAgent?: string | null },
  now: Date,
): Promise<UnsubscribeResult> {
  const found = await findUnsubscribeToken(db, token)
  if (!found) return null
  return db.transaction(async (tx) => {
    const created = await suppress(
      tx,
      {
        email: found.email,
        reason: 'unsubscribe',
        source: `${found.campaignId ? `campaign ${found.campaignId}, ` : ''}${context.via === 'one-click' ? 'one-click (List-Unsubscribe-Post)' : 'unsubscribe page'}`,
      },
      now,
    )
    const [contact] = await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(eq(contacts.email, canonicalEmail(found.email)))
    const first =
      created ||
      (contact !== undefined &&
        (await findSuppression(tx, found.email))?.reason !== 'unsubscribe' &&
        !(await hasUnsubscribed(tx, contact.id)))
    if (first) {
      if (contact) {
        await tx.insert(consentEvents).values({
          id: newId(now.getTime()),
          contactId: contact.id,
          purpose: 'marketing',
          granted: false,
          method: 'unsubscribe',
          source: { via: context.via, campaignId: found.campaignId },
          ip: context.ip ?? null,
          userAgent: context.userAgent?.slice(0, 500) ?? null,
          createdAt: now,
        })
      }
      await recordWebhookEvent(
        tx,
        'contact.unsubscribed',
        {
          email: found.email,
          contactId: contact?.id ?? null,
          campaignId: found.campaignId,
          via: context.via,
        },
        now,
      )
    }
    return { email: found.email, alreadySuppressed: !first }
  })
}

/** Whether the contact's consent record holds an unsubscribe (a withdrawal through /u). */
export async function hasUnsubscribed(db: Db, contactId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: consentEvents.id })
    .from(consentEvents)
    .where(and(eq(consentEvents.contactId, contactId), eq(consentEvents.method, 'unsubscribe')))
    .limit(1)
  return row !== undefined
}

/** `j•••@example.com`: enough for a person to recognise their address on a shared screen. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@')
  if (at < 1) return '•••'
  return `${Array.from(email.slice(0, at))[0]}•••${email.slice(at)}`
}
