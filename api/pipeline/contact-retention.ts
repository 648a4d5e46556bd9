import { and, asc, eq, isNull, lt, not, sql, type SQL } from 'drizzle-orm'
import { RETENTION } from '../content/site.ts'
import type { Db } from '../db/client.ts'
import {
  activities,
  campaignRecipients,
  clickEvents,
  contacts,
  dealEvents,
  deals,
  downloadTokens,
  outbox,
  submissions,
} from '../db/schema.ts'
import type { StageKey } from './stages.ts'

// The privacy policy's promise for contacts (RETENTION.inactiveContactMonths): a person with no
// activity for that many months is erased (api/pipeline/erasure.ts), unless a rep is working an
// open deal of theirs or they won a deal with us (a customer: the contract is the legal basis).
// Activity is the latest of: the contact's creation and any edit, their form posts, their
// download links used, clicks on the links we sent them, email sent to them, and any event or
// activity (next step) on their deals.

/** `months` calendar months before `now` (UTC); a day the month lacks becomes its last (31 March less one month is 28 or 29 February). */
export function monthsBefore(now: Date, months: number): Date {
  const year = now.getUTCFullYear()
  const month = now.getUTCMonth() - months
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  const d = new Date(now)
  d.setUTCFullYear(year, month, Math.min(now.getUTCDate(), lastDay))
  return d
}

/** A contact whose last activity is before this is due for erasure. */
export const inactiveBefore = (now: Date) => monthsBefore(now, RETENTION.inactiveContactMonths)

export interface RetentionFacts {
  erasedAt: Date | null
  /** The latest of the contact's activities (see above). */
  lastActivityAt: Date
  /** The deals the contact is the person of. */
  deals: { stage: StageKey; ownerId: string | null }[]
}

export type RetentionVerdict =
  { due: true } | { due: false; reason: 'erased' | 'customer' | 'being_worked' | 'active' }

const open = (stage: StageKey) => stage !== 'won' && stage !== 'lost'

/** Whether the contact is due for erasure at `now`, and if not, why. */
export function contactRetention(contact: RetentionFacts, now: Date): RetentionVerdict {
  if (contact.erasedAt) return { due: false, reason: 'erased' }
  if (contact.deals.some((d) => d.stage === 'won')) return { due: false, reason: 'customer' }
  if (contact.deals.some((d) => open(d.stage) && d.ownerId))
    return { due: false, reason: 'being_worked' }
  if (contact.lastActivityAt.getTime() >= inactiveBefore(now).getTime())
    return { due: false, reason: 'active' }
  return { due: true }
}

/**
 * When the contact (its id and canonical address, as columns of the outer query) did something
 * or had something done with them: one `select at …` per kind of activity.
 */
function activityTimes(id: SQL, email: SQL): SQL[] {
  const ownDeal = sql`${deals.contactId} = ${id}`
  return [
    sql`select ${submissions.createdAt} as at from ${submissions} where ${submissions.contactId} = ${id}`,
    sql`select ${downloadTokens.lastDownloadAt} as at from ${downloadTokens} where ${downloadTokens.contactId} = ${id}`,
    sql`select ${clickEvents.createdAt} as at from ${campaignRecipients} join ${clickEvents} on ${clickEvents.recipientId} = ${campaignRecipients.id} where ${campaignRecipients.contactId} = ${id}`,
    sql`select ${campaignRecipients.sentAt} as at from ${campaignRecipients} where ${campaignRecipients.contactId} = ${id}`,
    sql`select ${outbox.sentAt} as at from ${outbox} where ${outbox.recipient} = ${email}`,
    sql`select ${dealEvents.createdAt} as at from ${deals} join ${dealEvents} on ${dealEvents.dealId} = ${deals.id} where ${ownDeal}`,
    sql`select greatest(${activities.createdAt}, ${activities.doneAt}) as at from ${deals} join ${activities} on ${activities.dealId} = ${deals.id} where ${ownDeal}`,
  ]
}

const contactId = sql`${contacts.id}`
const contactEmail = sql`${contacts.email}`

/** What the rule needs of one contact, read in `db` (the erasure's transaction, after its lock). */
export async function retentionFacts(db: Db, id: string): Promise<RetentionFacts | null> {
  const latest = activityTimes(contactId, contactEmail).map(
    (times) => sql`(select max(a.at) from (${times}) a)`,
  )
  const [contact] = await db
    .select({
      erasedAt: contacts.erasedAt,
      lastActivityAt:
        sql`greatest(${contacts.createdAt}, ${contacts.updatedAt}, ${sql.join(latest, sql`, `)})`.mapWith(
          contacts.updatedAt,
        ),
    })
    .from(contacts)
    .where(eq(contacts.id, id))
  if (!contact) return null
  const own = await db
    .select({ stage: deals.stage, ownerId: deals.ownerId })
    .from(deals)
    .where(eq(deals.contactId, id))
  return { ...contact, deals: own }
}

/**
 * Up to `limit` contacts the rule finds due at `now`, least recently changed first: the rule in
 * SQL, so contacts kept (customers, deals being worked, recent activity) take no place in a batch.
 * Each is checked again by the rule in the erasure's transaction.
 */
export async function dueForErasure(db: Db, now: Date, limit: number): Promise<string[]> {
  const before = inactiveBefore(now)
  const kept = sql`exists (select 1 from ${deals} where ${deals.contactId} = ${contacts.id} and (${deals.stage} = 'won' or (${deals.stage} <> 'lost' and ${deals.ownerId} is not null)))`
  const recent = activityTimes(contactId, contactEmail).map(
    (times) =>
      sql`exists (select 1 from (${times}) a where a.at >= ${before.toISOString()}::timestamptz)`,
  )
  const rows = await db
    .select({ id: contacts.id })
    .from(contacts)
    .where(
      and(
        isNull(contacts.erasedAt),
        lt(contacts.updatedAt, before),
        lt(contacts.createdAt, before),
        not(kept),
        ...recent.map((r) => not(r)),
      ),
    )
    .orderBy(asc(contacts.updatedAt), asc(contacts.id))
    .limit(limit)
  return rows.map((r) => r.id)
}
