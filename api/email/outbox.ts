import type { Db } from '../db/client.ts'
import { outbox } from '../db/schema.ts'
import { newId } from '../ids.ts'
import type { EmailCategory, OutgoingEmail } from './transport.ts'

// The transactional outbox: call `enqueueEmail` with the transaction that makes the change the
// email is about, so both commit or neither does. The worker sends it later.

export interface EnqueueEmail {
  category: EmailCategory
  to: OutgoingEmail['to']
  /** Canonical recipient email, for suppression checks before sending. */
  recipient: string
  subject: string
  html: string
  text: string
  from?: OutgoingEmail['from']
  replyTo?: OutgoingEmail['replyTo']
  headers?: Record<string, string>
  /** Which template made it (for the admin views). */
  template: string
  /** Enqueue at most once per key (e.g. `asset:<submissionId>`). */
  dedupeKey?: string
  runAfter?: Date
}

export async function enqueueEmail(db: Db, email: EnqueueEmail): Promise<string | null> {
  const id = newId()
  const rows = await db
    .insert(outbox)
    .values({
      id,
      kind: 'email',
      category: email.category,
      recipient: email.recipient,
      payload: {
        template: email.template,
        to: email.to,
        from: email.from ?? null,
        replyTo: email.replyTo ?? null,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: email.headers ?? {},
      },
      dedupeKey: email.dedupeKey ?? null,
      ...(email.runAfter ? { runAfter: email.runAfter } : {}),
    })
    .onConflictDoNothing({ target: outbox.dedupeKey })
    .returning({ id: outbox.id })
  return rows[0]?.id ?? null
}
