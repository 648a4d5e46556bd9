import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { emailPayloadSchema } from '../email/outbox.ts'
import { suppressedBy } from '../email/suppressions.ts'
import { messageIdFor } from '../email/transport.ts'
import { campaignRecipients, campaigns, outbox } from '../db/schema.ts'
import type { Env } from '../env.ts'
import { sqlIdsFrom } from '../ids.ts'
import { HUMAN } from '../tracking/results.ts'
import { campaignDecision, type CampaignActor } from './access.ts'
import { createCampaign, findCampaign, type Campaign, type CampaignResult } from './campaigns.ts'

// "Follow up with non-clickers": a campaign that has sent gets a new draft, credited to the same
// SDR (an admin's follow-up too, as "Use as a template" keeps it), from the same sender at the
// same rate and window, subject "Re: …", and as its recipients the original's who were sent it,
// made no click a person made, are not suppressed (unsubscribed, bounced) nor erased and are still an
// untaken prospect: an open deal at the 0% `opportunity` stage with no owner, none further on.
// A click still waiting for its verdict (its 30 s burst window) holds its recipient back: it may
// be a person's. The rows are copied with their merge fields and file lines in one statement.

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

/** How many of the original's recipients a follow-up would write to now (the page asks first). */
export async function countNonClickers(db: Db, originalId: string): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from campaign_recipients r where ${nonClickers(originalId)}`,
    ),
  )
  return row?.n ?? 0
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

class NobodyQualifies extends Error {}

/**
 * Creates the follow-up draft of `originalId` with its non-clickers as recipients, in one
 * transaction: the campaign, then its rows by one insert … select (50,000 as one statement). 409
 * when nobody qualifies, and then nothing is created.
 */
export async function createFollowUp(
  db: Db,
  env: Env,
  actor: CampaignActor,
  originalId: string,
  now: Date,
): Promise<CampaignResult<{ campaign: Campaign; recipients: number }>> {
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
      const [copied] = rowsOf<{ n: number }>(
        await tx.execute(sql`
          with picked as (
            select r.contact_id, r.email, r.fields, r.line,
              row_number() over (order by r.line, r.id) as n
            from campaign_recipients r where ${nonClickers(original.id)}
          ),
          copied as (
            insert into campaign_recipients (id, campaign_id, contact_id, email, fields, line, status, created_at)
            select ${sql.raw(sqlIdsFrom(now.getTime(), 'picked.n'))}, ${id}, contact_id, email,
              fields, line, 'pending', ${now}
            from picked
            returning 1
          )
          select count(*)::int as n from copied`),
      )
      const recipients = copied?.n ?? 0
      if (recipients === 0) throw new NobodyQualifies()
      const [campaign] = await tx
        .update(campaigns)
        .set({ followUpOf: original.id, followUpCount: recipients })
        .where(eq(campaigns.id, id))
        .returning()
      return { ok: true, campaign: campaign!, recipients } as const
    })
  } catch (err) {
    if (!(err instanceof NobodyQualifies)) throw err
    return {
      ok: false,
      status: 409,
      code: 'nobody_to_follow_up',
      message:
        'Nobody to follow up: every recipient sent this campaign clicked, was suppressed or unsubscribed, or is in the pipeline now.',
    }
  }
}

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
    const payload = emailPayloadSchema.safeParse(row.payload)
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
