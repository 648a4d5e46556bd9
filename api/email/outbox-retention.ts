import { and, asc, inArray, lt, notExists, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { campaignRecipients, emailEvents, outbox } from '../db/schema.ts'
import { deleteMailboxMessagesBefore } from './mailbox.ts'
import { hasBody, prunedPayload } from './outbox.ts'

// How long sent mail keeps what it was: OUTBOX_RETENTION_DAYS after it was written, a message
// that is done (sent, failed or suppressed; never one waiting or being sent) loses its body, the
// recipient's name and address in `to`, and its headers (prunedPayload). The row stays, because
// things still read it: its dedupe key (deleting it would let the same key send again), its
// recipient and sent_at (the contact's page, the deal's timeline, and the contact retention's
// last activity), its subject (a late click's evidence), its provider id (a late bounce or
// complaint finds it and suppresses the address), its status (campaign outcomes). Suppressions are
// a table of their own and never expire here.
//
// A message's delivery events go with its body, unless it is a campaign's: the campaign's results
// count its deliveries. Nothing else reads them (a provider redelivers an event within a day).
// The dev mailbox's copies, which hold the whole message, are deleted at the same age.

const DAY = 86_400_000

/**
 * Rows one statement prunes at most: 200 messages of ~6 KB took 25-60 ms on PGlite and 15-35 ms on
 * PostgreSQL (1,000: 170-480 ms on PGlite, measured), so other queries wait no longer than that
 * for the embedded database's one thread.
 */
export const OUTBOX_RETENTION_BATCH = 200

/**
 * A run starts no statement after this long: on the embedded database each holds the server's
 * thread. What is left waits for the next run (hourly).
 */
export const OUTBOX_RETENTION_BUDGET_MS = 1_000

export interface SentMailPruned {
  /** Messages that lost their body and recipient's name. */
  emailContentsForgotten: number
  /** Delivery events deleted with their message's body. */
  emailEvents: number
  /** Dev-mailbox copies deleted. */
  mailboxMessages: number
}

/**
 * Prunes the mail written more than `days` before `now` (see above), oldest first, in statements
 * of at most `batch` rows, none started after `budgetMs`; says how many of each. Only rows that
 * still carry their body are read (outbox_unpruned_idx), so a run's cost grows with what it
 * prunes, never with the rows pruned before. Safe in several processes at once (SKIP LOCKED).
 */
export async function pruneSentMail(
  db: Db,
  now: Date,
  days: number,
  { batch = OUTBOX_RETENTION_BATCH, budgetMs = OUTBOX_RETENTION_BUDGET_MS } = {},
): Promise<SentMailPruned> {
  const before = new Date(now.getTime() - days * DAY)
  const started = performance.now()
  const total: SentMailPruned = { emailContentsForgotten: 0, emailEvents: 0, mailboxMessages: 0 }
  let messagesLeft = true
  let copiesLeft = true
  while ((messagesLeft || copiesLeft) && performance.now() - started < budgetMs) {
    if (messagesLeft) {
      const pruned = await pruneMessages(db, before, batch)
      total.emailContentsForgotten += pruned.messages
      total.emailEvents += pruned.events
      messagesLeft = pruned.messages === batch
    }
    if (copiesLeft) {
      const copies = await deleteMailboxMessagesBefore(db, before, batch)
      total.mailboxMessages += copies
      copiesLeft = copies === batch
    }
  }
  return total
}

/** Messages done with, still carrying their body: outbox_unpruned_idx's predicate. */
const prunable = sql`${outbox.status} in ('sent', 'failed', 'suppressed') and ${hasBody}`

async function pruneMessages(db: Db, before: Date, batch: number) {
  return db.transaction(async (tx) => {
    const due = tx
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(prunable, lt(outbox.createdAt, before)))
      .orderBy(asc(outbox.createdAt))
      .limit(batch)
      .for('update', { skipLocked: true })
    // Each row is read again as it is locked: one an admin sent again meanwhile is left alone.
    const pruned = await tx
      .update(outbox)
      .set({ payload: prunedPayload })
      .where(inArray(outbox.id, due))
      .returning({ id: outbox.id })
    if (pruned.length === 0) return { messages: 0, events: 0 }
    const events = await tx
      .delete(emailEvents)
      .where(
        and(
          inArray(
            emailEvents.outboxId,
            pruned.map((r) => r.id),
          ),
          notExists(
            tx
              .select({ id: campaignRecipients.id })
              .from(campaignRecipients)
              .where(sql`${campaignRecipients.outboxId} = ${emailEvents.outboxId}`),
          ),
        ),
      )
      .returning({ id: emailEvents.id })
    return { messages: pruned.length, events: events.length }
  })
}
