import { startPending } from './start-at.ts'
import { desc, eq, inArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { rowsOf, sqlList } from '../db/raw-sql.ts'
import { campaignImports, campaigns } from '../db/schema.ts'
import type { StageKey } from '../pipeline/stages.ts'
import { HUMAN, humanClicksByCampaign } from '../tracking/results.ts'
import type { CampaignStatus } from './access.ts'
import { campaignProgress } from './campaigns.ts'

// An SDR's home ("My day" at /app for the role sdr): their outbound week, their campaigns still
// running or being prepared, and the targets their clicks made, with who took each over. The
// figures mean what the campaign page's do: sent is what the transport accepted (a recipient's
// status `sent`, at its `sent_at`), a human click is `isHumanVerdict`, a target is a click that
// made one (`made_target_at`: not one that only added evidence to a deal already at 10%). Six
// queries whatever the number of recipients or campaigns, each an index range of the SDR's own.

export const SDR_WEEK_DAYS = 7
const DAY_MS = 86_400_000
const CAMPAIGN_LIMIT = 10
const TARGET_LIMIT = 8

export interface SdrWeek {
  /** The window, both ends included: `now` minus SDR_WEEK_DAYS to `now`. */
  from: Date
  to: Date
  sent: number
  humanClicks: number
  targetsCreated: number
  /** Of those targets, how many a rep has taken over (the deal has an owner). */
  takenOver: number
}

export interface SdrCampaignLine {
  id: string
  name: string
  status: CampaignStatus
  createdAt: Date
  recipients: number
  sent: number
  /** Not sent yet: pending, or in the outbox. */
  waiting: number
  humanClicks: number
  /** Started for later and not begun yet ("Start at"), and the clock it was set on. */
  startsAt: Date | null
  timeZone: string
  /** The latest import, when it is still running, failed or refused rows. */
  import: {
    id: string
    status: 'pending' | 'running' | 'done' | 'failed'
    processedRows: number
    totalRows: number | null
    invalid: number
  } | null
}

export interface SdrTargetLine {
  dealId: string
  title: string
  companyName: string | null
  contactName: string
  /** When the click made the target. */
  at: Date
  stage: StageKey
  /** The rep who took it over; null while it waits in the queue. */
  ownerName: string | null
  campaignId: string
  campaignName: string
}

export interface SdrDay {
  week: SdrWeek
  /** All the SDR's campaigns, completed ones too (none: a new SDR). */
  campaignCount: number
  /** Not completed: draft, ready, sending or paused. */
  openCount: number
  /** The newest open ones, at most CAMPAIGN_LIMIT. */
  campaigns: SdrCampaignLine[]
  /** The newest targets the SDR's clicks made, at most TARGET_LIMIT. */
  targets: SdrTargetLine[]
}

/**
 * The deal a click made a target at `at`, for the recipient's contact `contactId`: the contact's
 * newest deal by then (the one open at that moment). A later deal (a form, a later campaign) is
 * another target's.
 */
function targetDeal(contactId: SQL, at: SQL): SQL {
  return sql`(select td.id, td.owner_id, td.stage, td.title, td.company_id, td.contact_id
    from deals td where td.contact_id = ${contactId} and td.created_at <= ${at}
    order by td.created_at desc limit 1)`
}

/**
 * The week's figures over the SDR's campaigns `ids`, each an index range: recipients by
 * (campaign, status), clicks by (campaign, created_at), targets by (campaign, made_target_at).
 */
async function weekOf(db: Db, ids: string[], from: Date, to: Date) {
  const [row] = rowsOf<Omit<SdrWeek, 'from' | 'to'>>(
    await db.execute(sql`
      with made as (
        select c.recipient_id, c.made_target_at from click_events c
        where c.campaign_id in (${sqlList(ids)})
          and c.made_target_at >= ${from} and c.made_target_at <= ${to}
      )
      select
        (select count(*)::int from campaign_recipients r
          where r.campaign_id in (${sqlList(ids)}) and r.status = 'sent'
            and r.sent_at >= ${from} and r.sent_at <= ${to}) as sent,
        (select count(*)::int from click_events c
          where c.campaign_id in (${sqlList(ids)})
            and c.created_at >= ${from} and c.created_at <= ${to} and c.${HUMAN}) as "humanClicks",
        (select count(*)::int from made) as "targetsCreated",
        (select count(*)::int from made m
          join campaign_recipients r on r.id = m.recipient_id
          cross join lateral ${targetDeal(sql`r.contact_id`, sql`m.made_target_at`)} d
          where d.owner_id is not null) as "takenOver"`),
  )
  return row!
}

async function newestTargets(db: Db, ids: string[]): Promise<SdrTargetLine[]> {
  const rows = rowsOf<
    Omit<SdrTargetLine, 'contactName' | 'at'> & {
      at: Date | string
      firstName: string | null
      lastName: string | null
      email: string
    }
  >(
    await db.execute(sql`
      with newest as (
        select c.id, c.recipient_id, c.campaign_id, c.made_target_at from click_events c
        where c.campaign_id in (${sqlList(ids)}) and c.made_target_at is not null
        order by c.made_target_at desc, c.id desc
        limit ${TARGET_LIMIT}
      )
      select d.id as "dealId", d.title, d.stage, n.made_target_at as at, u.name as "ownerName",
        coalesce(co.name, ct.company_name) as "companyName",
        ct.first_name as "firstName", ct.last_name as "lastName", ct.email_display as email,
        k.id as "campaignId", k.name as "campaignName"
      from newest n
      join campaigns k on k.id = n.campaign_id
      join campaign_recipients r on r.id = n.recipient_id
      cross join lateral ${targetDeal(sql`r.contact_id`, sql`n.made_target_at`)} d
      join contacts ct on ct.id = d.contact_id
      left join companies co on co.id = d.company_id
      left join users u on u.id = d.owner_id
      order by n.made_target_at desc, n.id desc`),
  )
  return rows.map(({ firstName, lastName, email, at, ...rest }) => ({
    ...rest,
    // A raw statement gives node-postgres' Date and PGlite's string alike.
    at: new Date(at),
    contactName: [firstName, lastName].filter(Boolean).join(' ') || email,
  }))
}

/** The latest import of each campaign (the campaign_imports (campaign_id, created_at) index). */
async function latestImports(db: Db, ids: string[]) {
  if (ids.length === 0) return new Map<string, NonNullable<SdrCampaignLine['import']>>()
  const rows = await db
    .selectDistinctOn([campaignImports.campaignId], {
      campaignId: campaignImports.campaignId,
      id: campaignImports.id,
      status: campaignImports.status,
      processedRows: campaignImports.processedRows,
      totalRows: campaignImports.totalRows,
      invalid: campaignImports.invalid,
    })
    .from(campaignImports)
    .where(inArray(campaignImports.campaignId, ids))
    .orderBy(campaignImports.campaignId, desc(campaignImports.createdAt), desc(campaignImports.id))
  return new Map(rows.map(({ campaignId, ...i }) => [campaignId, i]))
}

/** Whether an import is worth the SDR's attention on their home: not finished, or not clean. */
function needsAttention(i: NonNullable<SdrCampaignLine['import']>): boolean {
  return i.status !== 'done' || i.invalid > 0
}

const EMPTY_WEEK = { sent: 0, humanClicks: 0, targetsCreated: 0, takenOver: 0 }

/** The SDR's home at `now`: their week's figures, open campaigns and newest targets. */
export async function sdrDay(db: Db, sdrId: string, now: Date): Promise<SdrDay> {
  const from = new Date(now.getTime() - SDR_WEEK_DAYS * DAY_MS)
  // All of them (an SDR has tens, not thousands): the figures read their rows by these ids.
  const mine = await db
    .select({
      id: campaigns.id,
      name: campaigns.name,
      status: campaigns.status,
      createdAt: campaigns.createdAt,
      startAfter: campaigns.startAfter,
      timezone: campaigns.timezone,
    })
    .from(campaigns)
    .where(eq(campaigns.ownerId, sdrId))
    .orderBy(desc(campaigns.createdAt), desc(campaigns.id))
  const ids = mine.map((c) => c.id)
  const open = mine.filter((c) => c.status !== 'completed')
  const shown = open.slice(0, CAMPAIGN_LIMIT)
  const shownIds = shown.map((c) => c.id)
  const [week, targets, progress, human, imports] = await Promise.all([
    ids.length === 0 ? EMPTY_WEEK : weekOf(db, ids, from, now),
    ids.length === 0 ? [] : newestTargets(db, ids),
    // Its raw clicks are not shown here: counting them reads every click of the campaign.
    campaignProgress(db, shownIds, { clicks: false }),
    humanClicksByCampaign(db, shownIds),
    latestImports(db, shownIds),
  ])
  return {
    week: { from, to: now, ...week },
    campaignCount: mine.length,
    openCount: open.length,
    campaigns: shown.map(({ id, name, status, createdAt, startAfter, timezone }) => {
      const p = progress.get(id)!
      const latest = imports.get(id)
      return {
        id,
        name,
        status,
        createdAt,
        recipients: p.recipients,
        sent: p.sent,
        waiting: p.pending + p.queued,
        humanClicks: human.get(id) ?? 0,
        startsAt: startPending({ status, startAfter }, now),
        timeZone: timezone,
        import: latest && needsAttention(latest) ? latest : null,
      }
    }),
    targets,
  }
}
