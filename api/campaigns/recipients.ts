import { and, eq, sql, type SQL, type SQLWrapper } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { campaignRecipients, campaigns, companies, contacts, deals, outbox } from '../db/schema.ts'
import { explainFailure } from '../email/failure-reasons.ts'
import { suppressedBy, suppressedSince, type SuppressionReason } from '../email/suppressions.ts'
import { readableDeals, type Actor } from '../pipeline/deals.ts'
import { formatDate } from '../pipeline/format.ts'
import { stageOf, type StageKey } from '../pipeline/stages.ts'
import { HUMAN } from '../tracking/results.ts'
import { campaignDecision, type CampaignActor } from './access.ts'
import { findCampaign, type CampaignResult } from './campaigns.ts'
import { isId } from '../ids.ts'

// Who a campaign was sent to, a page at a time: each recipient's outcome (why, for one that
// failed, bounced or was suppressed), clicks and deal, for the campaign page. One statement for
// the page (its clicks on click_events_recipient_idx, its deal on deals_contact_idx, each a
// lateral join, its message's last error on the outbox's key, the do-not-mail entry that stopped
// it on the suppressions' key), and the count for the same filter. And taking one recipient out
// before their message goes; and who waits in another live campaign.

export const RECIPIENT_STATUSES = campaignRecipients.status.enumValues
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number]

/** What the campaign page calls each outcome. */
export const RECIPIENT_STATUS_LABELS: Record<RecipientStatus, string> = {
  pending: 'Waiting',
  queued: 'Queued',
  sent: 'Sent',
  bounced: 'Bounced',
  suppressed: 'Suppressed',
  failed: 'Failed',
  skipped: 'Skipped (in pipeline)',
  removed: 'Taken out',
  stopped: 'Not sent (stopped)',
}

export const RECIPIENTS_PAGE_SIZE = 50

/**
 * Whether the contact `contactId` still waits for its turn in a live campaign other than
 * `campaignId`: a recipient there `pending` or `queued`, the campaign not completed (a stopped one
 * is completed, its waiting recipients `stopped`). That campaign may still write to them, so
 * neither an import (imports.ts) nor a follow-up (follow-ups.ts) adds them to a second one; once
 * it is over they may be added again. A condition, on campaign_recipients_contact_idx.
 */
export function waitingInAnotherLiveCampaign(contactId: SQLWrapper, campaignId: string): SQL {
  return sql`exists (
    select 1 from ${campaignRecipients} w join ${campaigns} wc on wc.id = w.campaign_id
    where w.contact_id = ${contactId} and w.campaign_id <> ${campaignId}
      and w.status in ('pending', 'queued') and wc.status <> 'completed')`
}

export function isRecipientStatus(value: unknown): value is RecipientStatus {
  return RECIPIENT_STATUSES.includes(value as RecipientStatus)
}

export interface RecipientRow {
  id: string
  /** The row's line in its CSV file (null for rows not imported from a file). */
  line: number | null
  contactId: string
  /** As typed in the file, else as the contact has it. */
  email: string
  /** The contact's, else the file's. */
  name: string | null
  company: string | null
  status: RecipientStatus
  /** The send slot the scheduler gave it (queued and later). */
  scheduledAt: Date | null
  /** When the transport accepted it. */
  sentAt: Date | null
  /**
   * Why it failed, bounced or was suppressed, in words (api/email/failure-reasons.ts): what was
   * wrong with the address, that our side must be looked at, or which do-not-mail entry stopped
   * it (an unsubscribe, an earlier bounce…) and since when. Null for any other outcome.
   */
  reason: string | null
  /** Its clicks: all of them, and those judged a person's (as the campaign's results count). */
  clicks: { raw: number; human: number }
  /** The contact's open deal, else their most recent one, among those the viewer may read. */
  deal: { id: string; stage: StageKey; label: string; closed: boolean } | null
}

export interface RecipientPage {
  rows: RecipientRow[]
  /** Recipients matching the filter. */
  total: number
  page: number
  pageCount: number
}

interface Raw {
  id: string
  line: number | null
  contactId: string
  email: string
  name: string | null
  company: string | null
  status: RecipientStatus
  scheduledAt: Date | string | null
  sentAt: Date | string | null
  outboxId: string | null
  lastError: string | null
  lastErrorKind: string | null
  erased: boolean
  suppressedBy: SuppressionReason | null
  suppressedSince: Date | string | null
  raw: number
  human: number
  dealId: string | null
  dealStage: StageKey | null
}

const dateOf = (v: Date | string | null) => (v === null ? null : new Date(v))

/** A page of a campaign's recipients in file order (line, then id), with how many match. */
export async function listRecipients(
  db: Db,
  campaignId: string,
  options: {
    /** Who reads: the deals they may see, and their clock for a reason's day. */
    viewer: Actor & { timeZone: string }
    status?: RecipientStatus | undefined
    page?: number
    pageSize?: number
  },
): Promise<RecipientPage> {
  const pageSize = options.pageSize ?? RECIPIENTS_PAGE_SIZE
  const page = Math.max(1, options.page ?? 1)
  // campaign_recipients_status_idx (campaign_id, status, line) answers the filtered page and count.
  const where = options.status
    ? sql`r.campaign_id = ${campaignId} and r.status = ${options.status}`
    : sql`r.campaign_id = ${campaignId}`
  const scope = readableDeals(options.viewer)
  const [rows, counted] = await Promise.all([
    db.execute(sql`
      select r.id, r.line, r.contact_id as "contactId",
        coalesce(r.fields->>'emailDisplay', c.email_display, r.email) as email,
        coalesce(
          nullif(concat_ws(' ', c.first_name, c.last_name), ''),
          nullif(concat_ws(' ', r.fields->>'firstName', r.fields->>'lastName'), '')
        ) as name,
        coalesce(c.company_name, co.name, r.fields->>'company') as company,
        r.status, r.scheduled_at as "scheduledAt", r.sent_at as "sentAt",
        r.outbox_id as "outboxId", o.last_error as "lastError", o.last_error_kind as "lastErrorKind",
        c.erased_at is not null as erased,
        case when o.last_error_kind = 'suppressed' then ${suppressedBy(sql`o.recipient`)} end
          as "suppressedBy",
        case when o.last_error_kind = 'suppressed' then ${suppressedSince(sql`o.recipient`)} end
          as "suppressedSince",
        k.raw, k.human, d.id as "dealId", d.stage as "dealStage"
      from (
        -- The page first, on the index alone: the joins below then run for its rows only, not
        -- for every row an offset skips.
        select * from ${campaignRecipients} r where ${where}
        order by r.line, r.id
        limit ${pageSize} offset ${(page - 1) * pageSize}
      ) r
      join ${contacts} c on c.id = r.contact_id
      left join ${companies} co on co.id = c.company_id
      left join ${outbox} o on o.id = r.outbox_id and r.status in ('failed', 'bounced', 'suppressed')
      cross join lateral (
        select count(*)::int as raw, count(*) filter (where ${HUMAN})::int as human
        from click_events where recipient_id = r.id
      ) k
      left join lateral (
        select ${deals.id} as id, ${deals.stage} as stage from ${deals}
        where ${deals.contactId} = r.contact_id${scope ? sql` and ${scope}` : sql``}
        order by ${deals.stage} not in ('won', 'lost') desc, ${deals.createdAt} desc, ${deals.id} desc
        limit 1
      ) d on true
      order by r.line, r.id`),
    db.execute(sql`select count(*)::int as n from ${campaignRecipients} r where ${where}`),
  ])
  const total = rowsOf<{ n: number }>(counted)[0]!.n
  return {
    rows: rowsOf<Raw>(rows).map((r) => ({
      id: r.id,
      line: r.line,
      contactId: r.contactId,
      email: r.email,
      name: r.name,
      company: r.company,
      status: r.status,
      scheduledAt: dateOf(r.scheduledAt),
      sentAt: dateOf(r.sentAt),
      reason: reasonOf(r, options.viewer.timeZone),
      clicks: { raw: r.raw, human: r.human },
      deal:
        r.dealId && r.dealStage
          ? {
              id: r.dealId,
              stage: r.dealStage,
              label: stageOf(r.dealStage).short,
              closed: stageOf(r.dealStage).closed,
            }
          : null,
    })),
    total,
    page,
    pageCount: Math.max(1, Math.ceil(total / pageSize)),
  }
}

/**
 * Why a recipient failed, bounced or was suppressed: its message's last error, with the
 * do-not-mail entry that stopped it and its day on the reader's clock; failed with no message,
 * that its message could not be merged (sending.ts logs which field; nothing of it is stored);
 * suppressed with none, that the person was erased before their turn (erasure.ts).
 */
function reasonOf(r: Raw, timeZone: string): string | null {
  if (r.status !== 'failed' && r.status !== 'bounced' && r.status !== 'suppressed') return null
  if (!r.outboxId && r.status === 'failed')
    return 'Not sent: its message could not be filled in (a merge field has no value for this recipient)'
  const since = dateOf(r.suppressedSince)
  return explainFailure({
    lastError: r.lastError,
    lastErrorKind: r.lastErrorKind,
    erased: r.erased,
    suppression:
      r.suppressedBy && since ? { reason: r.suppressedBy, day: formatDate(since, timeZone) } : null,
  })
}

/**
 * Takes one recipient out of a campaign (the prospect answered by phone, or is the wrong person):
 * a row still `pending` becomes `removed`, which the scheduler never enqueues. Only while the
 * campaign may still send (access.ts) and only before the outbox has the message: a queued one
 * is on its way, a sent one gone.
 */
export async function removeRecipient(
  db: Db,
  actor: CampaignActor,
  campaignId: string,
  recipientId: string,
): Promise<CampaignResult<{ recipient: { id: string; email: string; status: 'removed' } }>> {
  const campaign = await findCampaign(db, campaignId)
  if (!campaign)
    return { ok: false, status: 404, code: 'not_found', message: 'There is no such campaign.' }
  const decision = campaignDecision(actor, campaign, 'remove_recipient')
  if (!decision.ok) return decision
  if (!isId(recipientId))
    return {
      ok: false,
      status: 404,
      code: 'unknown_recipient',
      message: 'There is no such recipient in this campaign.',
    }
  return db.transaction(async (tx) => {
    // Share-locked as the scheduler locks it, in the status the decision was made on: a stop
    // meanwhile wins. The row itself is taken only while pending: the scheduler's run that
    // holds it (skip locked) has made it queued by the time this update sees it.
    const [locked] = await tx
      .select({ id: campaigns.id })
      .from(campaigns)
      .where(and(eq(campaigns.id, campaign.id), eq(campaigns.status, campaign.status)))
      .for('share')
    if (!locked)
      return {
        ok: false,
        status: 409,
        code: 'conflict',
        message: 'The campaign changed meanwhile; reload and try again.',
      } as const
    const [removed] = await tx
      .update(campaignRecipients)
      .set({ status: 'removed' })
      .where(
        and(
          eq(campaignRecipients.id, recipientId),
          eq(campaignRecipients.campaignId, campaign.id),
          eq(campaignRecipients.status, 'pending'),
        ),
      )
      .returning({ id: campaignRecipients.id, email: campaignRecipients.email })
    if (removed) return { ok: true, recipient: { ...removed, status: 'removed' } } as const
    const [row] = await tx
      .select({ status: campaignRecipients.status, email: campaignRecipients.email })
      .from(campaignRecipients)
      .where(
        and(eq(campaignRecipients.id, recipientId), eq(campaignRecipients.campaignId, campaign.id)),
      )
    if (!row)
      return {
        ok: false,
        status: 404,
        code: 'unknown_recipient',
        message: 'There is no such recipient in this campaign.',
      } as const
    return {
      ok: false,
      status: 409,
      code: row.status === 'removed' ? 'already_removed' : 'not_pending',
      // No address: a plain form's refusal travels in its page's URL.
      message:
        row.status === 'removed'
          ? 'That recipient was already taken out of this campaign.'
          : `That recipient cannot be taken out: their message is ${RECIPIENT_STATUS_LABELS[row.status].toLowerCase()} already (handed to the outbox).`,
    } as const
  })
}
