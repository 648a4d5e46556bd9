// The dev mailbox: the default transport when neither SMTP_URL nor RESEND_API_KEY is set. It
// "delivers" into the mailbox_messages table, which admins read at /app/admin/mailbox, so a new
// install shows every email its flows send without any mail server (like a local Mailpit). Every
// other user reads there the messages sent to their own address (an SDR's campaign test, say).

import { and, asc, count, desc, eq, inArray, lt, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { containsPattern } from '../db/like.ts'
import { mailboxMessages, outbox } from '../db/schema.ts'
import { newId } from '../ids.ts'
import { canonicalEmail } from '../email-address.ts'
import type { EmailAddress } from '../email-headers.ts'
import { isErasedRow } from './outbox.ts'
import { messageIdFor, prepareEmail } from './transport.ts'
import type { Transport } from './transport.ts'

export type MailboxMessage = typeof mailboxMessages.$inferSelect
/** Headers in the order a mail client would show them. */
export type HeaderList = Array<[name: string, value: string]>

export function createMailboxTransport(db: Db, options: { now: () => Date }): Transport {
  return {
    name: 'dev',
    async send(msg) {
      const prepared = prepareEmail(msg)
      if (!prepared.ok) return prepared
      const email = prepared.email
      const now = options.now()
      const messageId = messageIdFor(email.id, email.from.address.split('@')[1]!)
      const headers: HeaderList = [
        ['Message-ID', messageId],
        ['Date', now.toUTCString()],
        ['From', display(email.from)],
        ['To', display(email.to)],
        ...(email.replyTo ? [['Reply-To', display(email.replyTo)] as [string, string]] : []),
        ['Subject', email.subject],
        ['MIME-Version', '1.0'],
        ['Content-Type', 'multipart/alternative'],
        ...Object.entries(email.headers),
        ['X-Frontdoor-Category', email.category],
      ]
      await db.transaction(async (tx) => {
        // No copy of a message whose person was erased while it was being sent: their erasure
        // (api/pipeline/erasure.ts) deleted the copies there were. The row is locked until the copy
        // is in, so an erasure meanwhile waits and then finds it.
        const [row] = await tx
          .select({ erased: isErasedRow })
          .from(outbox)
          .where(eq(outbox.id, email.id))
          .for('share')
        if (row?.erased) return
        await tx.insert(mailboxMessages).values({
          id: newId(now.getTime()),
          outboxId: email.id,
          from: display(email.from),
          to: display(email.to),
          subject: email.subject,
          html: email.html,
          text: email.text,
          headers,
          createdAt: now,
        })
      })
      return { ok: true, providerId: messageId }
    },
    async verify() {
      return { ok: true, providerId: 'verified' }
    },
    async close() {},
  }
}

function display(a: EmailAddress): string {
  return a.name ? `${a.name} <${a.address}>` : a.address
}

/**
 * Whose messages a reader sees: every message (an admin), or those sent to one address, read off
 * the message's outbox row (its `recipient`, the canonical address the suppressions check): the
 * `To` header holds a display name that anyone's merge fields may have written.
 */
export type MailboxScope = { all: true } | { recipient: string }

function scopeCondition(scope: MailboxScope) {
  if ('all' in scope) return undefined
  return inArray(
    mailboxMessages.outboxId,
    sql`(select ${outbox.id} from ${outbox} where ${outbox.recipient} = ${canonicalEmail(scope.recipient)})`,
  )
}

export async function listMailboxMessages(
  db: Db,
  options: {
    q?: string | undefined
    limit?: number
    offset?: number
    scope?: MailboxScope
  } = {},
): Promise<{ rows: Omit<MailboxMessage, 'html' | 'text' | 'headers'>[]; total: number }> {
  const q = options.q?.trim()
  // Recipients ("Héctor Núñez <hector@…>") and subjects carry people's names, so they fold as
  // search folds (search_fold: accents off, lowercased): "nunez" finds Núñez. One fold a row.
  const where = and(
    q
      ? sql`search_fold(${mailboxMessages.to} || chr(10) || ${mailboxMessages.subject}) like search_fold(${containsPattern(q)})`
      : undefined,
    scopeCondition(options.scope ?? { all: true }),
  )
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: mailboxMessages.id,
        outboxId: mailboxMessages.outboxId,
        from: mailboxMessages.from,
        to: mailboxMessages.to,
        subject: mailboxMessages.subject,
        createdAt: mailboxMessages.createdAt,
      })
      .from(mailboxMessages)
      .where(where)
      .orderBy(desc(mailboxMessages.createdAt), desc(mailboxMessages.id))
      .limit(options.limit ?? 50)
      .offset(options.offset ?? 0),
    db.select({ n: count() }).from(mailboxMessages).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
}

export async function findMailboxMessage(
  db: Db,
  id: string,
  scope: MailboxScope = { all: true },
): Promise<MailboxMessage | null> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return null
  const [row] = await db
    .select()
    .from(mailboxMessages)
    .where(and(eq(mailboxMessages.id, id), scopeCondition(scope)))
  return row ?? null
}

/** Headers of a stored message as a list, whatever shape an older row used. */
export function headerList(message: Pick<MailboxMessage, 'headers'>): HeaderList {
  const h = message.headers
  if (Array.isArray(h))
    return h
      .filter((p): p is [string, string] => Array.isArray(p) && p.length === 2)
      .map(([k, v]) => [String(k), String(v)])
  if (h && typeof h === 'object') return Object.entries(h).map(([k, v]) => [k, String(v)])
  return []
}

export async function clearMailbox(db: Db): Promise<number> {
  const rows = await db.delete(mailboxMessages).returning({ id: mailboxMessages.id })
  return rows.length
}

/** Deletes up to `limit` of the messages delivered before `before`, oldest first; says how many. */
export async function deleteMailboxMessagesBefore(
  db: Db,
  before: Date,
  limit: number,
): Promise<number> {
  const due = db
    .select({ id: mailboxMessages.id })
    .from(mailboxMessages)
    .where(lt(mailboxMessages.createdAt, before))
    .orderBy(asc(mailboxMessages.createdAt))
    .limit(limit)
  const rows = await db
    .delete(mailboxMessages)
    .where(inArray(mailboxMessages.id, due))
    .returning({ id: mailboxMessages.id })
  return rows.length
}
