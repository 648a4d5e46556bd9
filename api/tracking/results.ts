import { sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { rowsOf, sqlList } from '../db/raw-sql.ts'
import { csvLine } from '../pipeline/contacts.ts'
import { HUMAN_VERDICTS } from './verdicts.ts'

/**
 * A campaign's results: what was sent and what the transport did with it, and its clicks split
 * by verdict (raw, human, bot, still waiting for the verdict job), unique human clickers and the
 * targets its clicks made (not the clicks that only added evidence to a prospect who already was
 * one), in total and per link. "Sent" means the transport took the message, as on the rest of
 * the campaign page (its progress, each recipient's outcome). "Delivered" is known only where the
 * provider reports it (Resend's webhook: api/email/delivery-events.ts); SMTP and the dev mailbox
 * report nothing after the send, so until a campaign's first event arrives it is null, not 0. A
 * message Resend took and later reported as a hard bounce counts as bounced, as an SMTP refusal
 * does. Messages still in the outbox are counted as queued.
 */

export interface ClickCounts {
  raw: number
  human: number
  bot: number
  pending: number
  uniqueHumans: number
}

export interface LinkResult extends ClickCounts {
  url: string
  /** The link's place in the message (0: first). */
  position: number
}

export interface CampaignResults {
  recipients: number
  /** In the outbox, not sent yet. */
  queued: number
  /** Accepted by the transport (the recipients' status `sent`, as in the campaign's progress). */
  sent: number
  /** The same as `sent` (kept for existing readers). */
  accepted: number
  /**
   * Sent and reported delivered to the recipient's mail server; null while no delivery event of
   * this campaign's messages has arrived (SMTP and the dev mailbox send none).
   */
  delivered: number | null
  bounced: number
  failed: number
  /** Taken out before they were sent anything (counted in `recipients`). */
  removed: number
  /** Still waiting when a person stopped the campaign: never sent (counted in `recipients`). */
  stopped: number
  unsubscribed: number
  clicks: ClickCounts
  targets: number
  links: LinkResult[]
}

const verdictIn = (verdicts: readonly string[]) =>
  sql.raw(`verdict in (${verdicts.map((v) => `'${v}'`).join(', ')})`)
/**
 * A click a person made, as a condition on click_events' unqualified `verdict` (verdicts.ts
 * isHumanVerdict): what the results, each recipient's line on the campaign page and an SDR's
 * day count as human.
 */
export const HUMAN = verdictIn(HUMAN_VERDICTS)
const BOT = verdictIn(['bot', 'likely_bot'])

type Rows<T> = { rows: T[] }

export async function campaignResults(db: Db, campaignId: string): Promise<CampaignResults> {
  const [sending, delivered, clicks, links, unsubscribed] = await Promise.all([
    db.execute(sql`
      select count(*)::int as recipients,
        count(*) filter (where status = 'queued')::int as queued,
        count(*) filter (where status = 'sent')::int as sent,
        count(*) filter (where status = 'sent')::int as accepted,
        count(*) filter (where status = 'bounced')::int as bounced,
        count(*) filter (where status = 'failed')::int as failed,
        count(*) filter (where status = 'removed')::int as removed,
        count(*) filter (where status = 'stopped')::int as stopped
      from campaign_recipients where campaign_id = ${campaignId}`),
    deliveredCount(db, campaignId),
    db.execute(sql`
      select count(*)::int as raw,
        count(*) filter (where ${HUMAN})::int as human,
        count(*) filter (where ${BOT})::int as bot,
        count(*) filter (where verdict = 'pending')::int as pending,
        count(distinct recipient_id) filter (where ${HUMAN})::int as "uniqueHumans",
        count(*) filter (where made_target_at is not null)::int as targets
      from click_events where campaign_id = ${campaignId}`),
    db.execute(sql`
      select tl.url, min(tl.position)::int as position, count(ce.id)::int as raw,
        count(ce.id) filter (where ce.${HUMAN})::int as human,
        count(ce.id) filter (where ce.${BOT})::int as bot,
        count(ce.id) filter (where ce.verdict = 'pending')::int as pending,
        count(distinct ce.recipient_id) filter (where ce.${HUMAN})::int as "uniqueHumans"
      from tracked_links tl
      left join click_events ce on ce.token = tl.token
      where tl.campaign_id = ${campaignId}
      group by tl.url
      order by min(tl.position), tl.url
      limit 200`),
    db.execute(sql`
      select count(distinct contact_id)::int as n from consent_events
      where method = 'unsubscribe' and source->>'campaignId' = ${campaignId}`),
  ])
  const s = (
    sending as unknown as Rows<
      Omit<CampaignResults, 'clicks' | 'targets' | 'links' | 'unsubscribed' | 'delivered'>
    >
  ).rows[0]!
  const c = (clicks as unknown as Rows<ClickCounts & { targets: number }>).rows[0]!
  const { targets, ...clickCounts } = c
  return {
    ...s,
    delivered,
    unsubscribed: (unsubscribed as unknown as Rows<{ n: number }>).rows[0]!.n,
    clicks: clickCounts,
    targets,
    links: (links as unknown as Rows<LinkResult>).rows,
  }
}

/**
 * The campaign's sent messages reported delivered, or null while none of its messages has a
 * report. Where no report has ever arrived (SMTP, the dev mailbox) one probe answers, instead of
 * a look-up per recipient.
 */
async function deliveredCount(db: Db, campaignId: string): Promise<number | null> {
  const [any] = rowsOf<{ any: boolean }>(
    await db.execute(sql`select exists (select 1 from email_events) as any`),
  )
  if (!any?.any) return null
  const [row] = rowsOf<{ delivered: number | null }>(
    await db.execute(sql`
      select case when bool_or(e.reported) then
          (count(*) filter (where r.status = 'sent' and e.delivered))::int end as delivered
      from campaign_recipients r
      join lateral (
        select bool_or(type = 'delivered') as delivered, count(*) > 0 as reported
        from email_events where outbox_id = r.outbox_id
      ) e on true
      where r.campaign_id = ${campaignId} and r.outbox_id is not null`),
  )
  return row?.delivered ?? null
}

/** Human clicks per campaign (as `clicks.human` above), one query for them all. */
export async function humanClicksByCampaign(
  db: Db,
  campaignIds: readonly string[],
): Promise<Map<string, number>> {
  const result = new Map(campaignIds.map((id) => [id, 0]))
  if (campaignIds.length === 0) return result
  const rows = rowsOf<{ campaignId: string; n: number }>(
    await db.execute(sql`
      select campaign_id as "campaignId", count(*)::int as n from click_events
      where campaign_id in (${sqlList(campaignIds)}) and ${HUMAN}
      group by campaign_id`),
  )
  for (const row of rows) result.set(row.campaignId, row.n)
  return result
}

/** The results as CSV: the campaign's figures, then one row per link. */
export function campaignResultsCsv(results: CampaignResults): string {
  const figures: Array<[string, number | '']> = [
    ['recipients', results.recipients],
    ['queued', results.queued],
    ['sent', results.sent],
    ['accepted by the transport', results.accepted],
    ['delivered (reported by the provider)', results.delivered ?? ''],
    ['bounced', results.bounced],
    ['failed', results.failed],
    ['taken out (never sent)', results.removed],
    ['not sent (stopped)', results.stopped],
    ['unsubscribed', results.unsubscribed],
    ['clicks (raw)', results.clicks.raw],
    ['human clicks', results.clicks.human],
    ['bot clicks', results.clicks.bot],
    ['clicks awaiting a verdict', results.clicks.pending],
    ['unique human clickers', results.clicks.uniqueHumans],
    ['targets created', results.targets],
  ]
  return (
    '\uFEFF' +
    csvLine(['figure', 'value']) +
    figures.map(([name, n]) => csvLine([name, String(n)])).join('') +
    '\r\n' +
    csvLine([
      'link',
      'url',
      'raw clicks',
      'human clicks',
      'bot clicks',
      'awaiting a verdict',
      'unique human clickers',
    ]) +
    results.links
      .map((l) =>
        csvLine([
          String(l.position),
          l.url,
          String(l.raw),
          String(l.human),
          String(l.bot),
          String(l.pending),
          String(l.uniqueHumans),
        ]),
      )
      .join('')
  )
}
