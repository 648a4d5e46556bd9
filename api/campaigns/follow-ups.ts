import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { emailPayloadSchema } from '../email/outbox.ts'
import { suppressedBy } from '../email/suppressions.ts'
import { messageIdFor } from '../email/transport.ts'
import { campaignRecipients, campaigns, outbox } from '../db/schema.ts'
import type { Env } from '../env.ts'
import { sqlIdsFrom } from '../ids.ts'
import { plural } from '../pipeline/format.ts'
import { HUMAN } from '../tracking/results.ts'
import { campaignDecision, type CampaignActor } from './access.ts'
import { createCampaign, findCampaign, type Campaign, type CampaignResult } from './campaigns.ts'
import { waitingInAnotherLiveCampaign } from './recipients.ts'

// "Follow up with non-clickers": a campaign that has sent gets a new draft, credited to the same
// SDR (an admin's follow-up too, as "Use as a template" keeps it), from the same sender at the
// same rate and window, subject "Re: …", and as its recipients the original's who were sent it,
// made no click a person made, are not suppressed (unsubscribed, bounced) nor erased and are still an
// untaken prospect: an open deal at the 0% `opportunity` stage with no owner, none further on.
// A click still waiting for its verdict (its 30 s burst window) holds its recipient back: it may
// be a person's. One who still waits for their turn in another live campaign is left out and
// counted apart, by the rule an import follows (recipients.ts): two campaigns would write to them
// at once. The rows are copied with their merge fields and file lines in one statement.

/** The original's recipients a follow-up writes to, as a condition on `campaign_recipients r`. */
function nonClickers(originalId: string): SQL {
  return sql`r.campaign_id = ${originalId} and r.status = 'sent'
    and not exists (
      select 1 from click_events k
      where k.recipient_id = r.id and (k.${HUMAN} or k.verdict = 'pending'))
    and ${suppressedBy(sql`r.email`)} is null
    -- An erased person's row keeps only a placeholder address (api/pipeline/erasure.ts).
    and not exists (select 1 from contacts c where c.id = r.contact_id and c.erased_at is not null)
    and exists (
      -- A contact has one open deal at most (deals_one_open_per_contact): this one, untaken.
      select 1 from deals d
      where d.contact_id = r.contact_id and d.stage = 'opportunity' and d.owner_id is null)`
}

/**
 * Of those, who still waits in another live campaign. Another than the original, where they were
 * sent it already; the follow-up being made has no rows yet when this is asked.
 */
const waiting = (originalId: string) => waitingInAnotherLiveCampaign(sql`r.contact_id`, originalId)

export interface NonClickerCount {
  /** Whom a follow-up would write to now. */
  recipients: number
  /** Non-clickers left out: still waiting for their turn in another live campaign. */
  inOtherCampaign: number
}

/** How many of the original's recipients a follow-up would write to now (the page asks first). */
export async function countNonClickers(db: Db, originalId: string): Promise<NonClickerCount> {
  const [row] = rowsOf<NonClickerCount>(
    await db.execute(
      sql`select count(*) filter (where not ${waiting(originalId)})::int as recipients,
        count(*) filter (where ${waiting(originalId)})::int as "inOtherCampaign"
      from campaign_recipients r where ${nonClickers(originalId)}`,
    ),
  )
  return row ?? { recipients: 0, inOtherCampaign: 0 }
}

/**
 * The follow-ups already made of a campaign, oldest first: the page that makes one lists them, so
 * an SDR does not write to the same people twice by mistake.
 */
export function listFollowUps(db: Db, originalId: string) {
  return db
    .select({
      id: campaigns.id,
      name: campaigns.name,
      status: campaigns.status,
      stoppedAt: campaigns.stoppedAt,
      recipients: campaigns.followUpCount,
      createdAt: campaigns.createdAt,
    })
    .from(campaigns)
    .where(eq(campaigns.followUpOf, originalId))
    .orderBy(asc(campaigns.createdAt), asc(campaigns.id))
}

const RE = 'Re: '
const FOLLOW_UP = ' — follow-up'

/** The draft's fields: the original's sender, rate and window, a subject "Re: …", a body to edit. */
export function followUpValues(original: Campaign) {
  const subject = /^re:/i.test(original.subjectTemplate)
    ? original.subjectTemplate
    : `${RE}${original.subjectTemplate}`
  return {
    name: `${original.name.slice(0, 200 - FOLLOW_UP.length)}${FOLLOW_UP}`,
    ownerId: original.ownerId,
    senderName: original.senderName,
    senderEmail: original.senderEmail,
    replyTo: original.replyTo,
    subjectTemplate: subject.slice(0, 300),
    bodyTemplate:
      `Hi {{firstName|there}},\n\nFollowing up on my note below, in case it got buried.\n\n${original.senderName}\n\n---\n\n${original.bodyTemplate}`.slice(
        0,
        20_000,
      ),
    ratePerHour: original.ratePerHour,
    windowStartHour: original.windowStartHour,
    windowEndHour: original.windowEndHour,
    timezone: original.timezone,
  }
}

class NobodyQualifies extends Error {
  readonly inOtherCampaign: number
  constructor(inOtherCampaign: number) {
    super('nobody to follow up')
    this.inOtherCampaign = inOtherCampaign
  }
}

/**
 * Creates the follow-up draft of `originalId` with its non-clickers as recipients, in one
 * transaction: the campaign, then its rows by one insert … select (50,000 as one statement), with
 * how many were left out as waiting in another live campaign. 409 when nobody qualifies, and then
 * nothing is created.
 */
export async function createFollowUp(
  db: Db,
  env: Env,
  actor: CampaignActor,
  originalId: string,
  now: Date,
): Promise<CampaignResult<{ campaign: Campaign } & NonClickerCount>> {
  const original = await findCampaign(db, originalId)
  if (!original)
    return { ok: false, status: 404, code: 'not_found', message: 'There is no such campaign.' }
  const decision = campaignDecision(actor, original, 'follow_up')
  if (!decision.ok) return decision
  try {
    return await db.transaction(async (tx) => {
      const created = await createCampaign(tx, env, actor, followUpValues(original), now)
      if (!created.ok) return created
      const id = created.campaign.id
      // Locked as an import locks them (by id, for no key update) before asking who waits
      // elsewhere, and then asked in the next statement: an import or a follow-up that added one
      // of them to another campaign has committed by then, and one that comes later waits for
      // this transaction and then sees its rows.
      await tx.execute(sql`
        select c.id from contacts c
        where c.id in (select r.contact_id from campaign_recipients r where ${nonClickers(original.id)})
        order by c.id
        for no key update`)
      const [copied] = rowsOf<NonClickerCount>(
        await tx.execute(sql`
          with candidates as (
            select r.id, r.contact_id, r.email, r.fields, r.line, ${waiting(original.id)} as waiting
            from campaign_recipients r where ${nonClickers(original.id)}
          ),
          picked as (
            select *, row_number() over (order by line, id) as n from candidates where not waiting
          ),
          copied as (
            insert into campaign_recipients (id, campaign_id, contact_id, email, fields, line, status, created_at)
            select ${sql.raw(sqlIdsFrom(now.getTime(), 'picked.n'))}, ${id}, contact_id, email,
              fields, line, 'pending', ${now}
            from picked
            returning 1
          )
          select (select count(*)::int from copied) as recipients,
            (select count(*)::int from candidates where waiting) as "inOtherCampaign"`),
      )
      const { recipients, inOtherCampaign } = copied ?? { recipients: 0, inOtherCampaign: 0 }
      if (recipients === 0) throw new NobodyQualifies(inOtherCampaign)
      const [campaign] = await tx
        .update(campaigns)
        .set({ followUpOf: original.id, followUpCount: recipients })
        .where(eq(campaigns.id, id))
        .returning()
      return { ok: true, campaign: campaign!, recipients, inOtherCampaign } as const
    })
  } catch (err) {
    if (!(err instanceof NobodyQualifies)) throw err
    const elsewhere = err.inOtherCampaign
    return {
      ok: false,
      status: 409,
      code: 'nobody_to_follow_up',
      message:
        elsewhere === 0
          ? 'Nobody to follow up: every recipient sent this campaign clicked, was suppressed or unsubscribed, or is in the pipeline now.'
          : `Nobody to follow up now: ${plural(elsewhere, 'recipient who did not click is', 'recipients who did not click are')} still waiting in another live campaign, which would write to them too; follow up once it is completed or stopped. Everyone else sent this campaign clicked, was suppressed or unsubscribed, or is in the pipeline now.`,
    }
  }
}

/** What a reply reads of the message it answers: kept when its body goes (prunedPayload). */
const threadOf = emailPayloadSchema.pick({ from: true, headers: true })

/**
 * What makes each follow-up message a real reply (RFC 5322 3.6.4), by contact: In-Reply-To the
 * Message-ID of the message the original campaign sent that person (the outbox row's, as the
 * dev mailbox and SMTP transports set it: messageIdFor with the sender's domain), References
 * that message's own References followed by it. A contact the original sent nothing is absent.
 * Through the outbox's extra headers, made header-safe like any other (safeCustomHeaders).
 */
export async function replyHeaders(
  db: Db,
  originalId: string,
  contactIds: string[],
): Promise<Map<string, Record<string, string>>> {
  const threads = new Map<string, Record<string, string>>()
  if (contactIds.length === 0) return threads
  const sent = await db
    .select({ contactId: campaignRecipients.contactId, id: outbox.id, payload: outbox.payload })
    .from(campaignRecipients)
    .innerJoin(outbox, eq(outbox.id, campaignRecipients.outboxId))
    .where(
      and(
        eq(campaignRecipients.campaignId, originalId),
        eq(campaignRecipients.status, 'sent'),
        inArray(campaignRecipients.contactId, contactIds),
      ),
    )
    .orderBy(asc(campaignRecipients.line), asc(campaignRecipients.id))
  for (const row of sent) {
    if (threads.has(row.contactId)) continue
    const payload = threadOf.safeParse(row.payload)
    const domain = payload.success ? payload.data.from?.address.split('@')[1] : undefined
    if (!payload.success || !domain) continue
    const messageId = messageIdFor(row.id, domain)
    const earlier = payload.data.headers.References
    threads.set(row.contactId, {
      'In-Reply-To': messageId,
      References: earlier ? `${earlier} ${messageId}` : messageId,
    })
  }
  return threads
}
