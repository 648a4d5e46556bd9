import { and, count, desc, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { campaignImports, campaignRecipients, campaigns, clickEvents, users } from '../db/schema.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import type { Env } from '../env.ts'
import { parseEmailAddress } from '../email-address.ts'
import { loadSenderSettings } from '../email/sender.ts'
import { isId, newId } from '../ids.ts'
import {
  campaignDecision,
  mayCreateFor,
  type CampaignAction,
  type CampaignActor,
  type CampaignStatus,
} from './access.ts'
import { checkSenderAddress, verifiedSendingDomains } from './sender.ts'
import { startProblems } from './preview.ts'
import { scheduledStart } from './start-at.ts'
import { humanClicksByCampaign } from '../tracking/results.ts'

// Campaigns in the database: create and edit (sender on the verified domain, checked here, so
// no route can skip it), list with progress, and the status changes the access rule allows.

export type Campaign = typeof campaigns.$inferSelect

/** What a campaign form gives, validated by the route (zod) except for rules that need the database. */
export interface CampaignInput {
  name: string
  ownerId?: string | undefined
  senderName: string
  senderEmail: string
  replyTo?: string | null | undefined
  subjectTemplate: string
  bodyTemplate: string
  ratePerHour: number
  windowStartHour: number
  windowEndHour: number
  /** Canonical IANA name (window.ts canonicalTimeZone). */
  timezone: string
}

export type CampaignFailure = {
  ok: false
  status: 400 | 401 | 403 | 404 | 409 | 422
  code: string
  message: string
  /** The problem by field, when one field is at fault: its page shows it beside that field. */
  fields?: Record<string, string>
}
export type CampaignResult<T> = ({ ok: true } & T) | CampaignFailure

const fail = (
  status: CampaignFailure['status'],
  code: string,
  message: string,
  field?: string,
): CampaignFailure => ({
  ok: false,
  status,
  code,
  message,
  ...(field ? { fields: { [field]: message } } : {}),
})

/**
 * The reply-to as mail routes it (domain in ASCII, no trailing dot), as the sender is stored: the
 * form accepts "ann@acme.example." and the transport refused every message that carried it.
 */
function replyToOf(input: Pick<CampaignInput, 'replyTo'>): string | null {
  return input.replyTo ? (parseEmailAddress(input.replyTo)?.mailbox ?? null) : null
}

async function checkSender(db: Db, env: Env, address: string) {
  const domains = verifiedSendingDomains(await loadSenderSettings(db, env), env)
  return checkSenderAddress(address, domains)
}

export async function createCampaign(
  db: Db,
  env: Env,
  actor: CampaignActor,
  input: CampaignInput,
  now: Date,
): Promise<CampaignResult<{ campaign: Campaign }>> {
  const ownerId = input.ownerId ?? actor.id
  const [owner] = await db
    .select({ id: users.id, role: users.role, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.id, ownerId))
  if (!owner || owner.disabledAt)
    return fail(422, 'unknown_owner', 'There is no such SDR.', 'ownerId')
  if (!mayCreateFor(actor, owner))
    return actor.role === 'admin'
      ? fail(422, 'owner_not_sdr', 'A campaign is credited to an SDR (or to yourself).', 'ownerId')
      : fail(403, 'forbidden', 'SDRs create campaigns for themselves; admins for any SDR.')
  const sender = await checkSender(db, env, input.senderEmail)
  if (!sender.ok) return fail(422, 'sender_not_verified', sender.message, 'senderEmail')
  const [campaign] = await db
    .insert(campaigns)
    .values({
      id: newId(now.getTime()),
      name: input.name,
      ownerId,
      senderName: input.senderName,
      senderEmail: sender.address,
      replyTo: replyToOf(input),
      subjectTemplate: input.subjectTemplate,
      bodyTemplate: input.bodyTemplate,
      ratePerHour: input.ratePerHour,
      windowStartHour: input.windowStartHour,
      windowEndHour: input.windowEndHour,
      timezone: input.timezone,
      createdBy: actor.id,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
  return { ok: true, campaign: campaign! }
}

/**
 * A new campaign's form filled from an existing one ("Use as a template"): its message, rate and
 * window, no recipients. It is credited as the original is when an admin copies it, and to the
 * SDR copying it otherwise; sent from the original's sender only when that stays the same person
 * (an SDR reusing a colleague's message sends it as themselves: `own`).
 */
const COPY = ' (copy)'

export function copyValues(
  original: Campaign,
  actor: CampaignActor,
  own: { senderName: string; senderEmail: string },
) {
  const ownerId = actor.role === 'admin' ? original.ownerId : actor.id
  const sameSender = ownerId === original.ownerId
  return {
    name: `${original.name.slice(0, 200 - COPY.length)}${COPY}`,
    ...(actor.role === 'admin' && ownerId !== actor.id ? { ownerId } : {}),
    senderName: sameSender ? original.senderName : own.senderName,
    senderEmail: sameSender ? original.senderEmail : own.senderEmail,
    replyTo: sameSender ? original.replyTo : null,
    subjectTemplate: original.subjectTemplate,
    bodyTemplate: original.bodyTemplate,
    ratePerHour: original.ratePerHour,
    windowStartHour: original.windowStartHour,
    windowEndHour: original.windowEndHour,
    timezone: original.timezone,
  }
}

export async function updateCampaign(
  db: Db,
  env: Env,
  actor: CampaignActor,
  id: string,
  input: Omit<CampaignInput, 'ownerId'>,
  now: Date,
): Promise<CampaignResult<{ campaign: Campaign }>> {
  const current = await findCampaign(db, id)
  if (!current) return fail(404, 'not_found', 'There is no such campaign.')
  const decision = campaignDecision(actor, current, 'edit')
  if (!decision.ok) return decision
  const sender = await checkSender(db, env, input.senderEmail)
  if (!sender.ok) return fail(422, 'sender_not_verified', sender.message, 'senderEmail')
  const [campaign] = await db
    .update(campaigns)
    .set({
      name: input.name,
      senderName: input.senderName,
      senderEmail: sender.address,
      replyTo: replyToOf(input),
      subjectTemplate: input.subjectTemplate,
      bodyTemplate: input.bodyTemplate,
      ratePerHour: input.ratePerHour,
      windowStartHour: input.windowStartHour,
      windowEndHour: input.windowEndHour,
      timezone: input.timezone,
      status: decision.to ?? current.status,
      updatedAt: now,
    })
    // Only in the status the decision was made on: a concurrent start wins.
    .where(and(eq(campaigns.id, id), eq(campaigns.status, current.status)))
    .returning()
  if (!campaign)
    return fail(409, 'conflict', 'The campaign changed meanwhile; reload and try again.')
  return { ok: true, campaign }
}

/**
 * A campaign's start or end as a webhook event, in the transaction of the change: the campaign,
 * who did it (null: the scheduler, once the outbox sent or failed every message) and why.
 */
export async function announceCampaign(
  tx: Db,
  type: 'campaign.started' | 'campaign.completed',
  campaign: Campaign,
  now: Date,
  extra: { actorId: string | null; reason?: 'stopped' | 'everything_enqueued' },
) {
  await recordWebhookEvent(
    tx,
    type,
    {
      campaign: {
        id: campaign.id,
        name: campaign.name,
        status: campaign.status,
        ownerId: campaign.ownerId,
        senderEmail: campaign.senderEmail,
        startedAt: campaign.startedAt?.toISOString() ?? null,
        // Started for later ("Start at"): nothing goes out before this; null, at once.
        startAfter: campaign.startAfter?.toISOString() ?? null,
        completedAt: campaign.completedAt?.toISOString() ?? null,
      },
      ...extra,
    },
    now,
  )
}

/**
 * The status as people read it: `stopped` for a campaign a person stopped (stored as `completed`,
 * which the API keeps, with `stoppedAt`), else its status.
 */
export function shownStatus(
  campaign: Pick<Campaign, 'status' | 'stoppedAt'>,
): CampaignStatus | 'stopped' {
  return campaign.status === 'completed' && campaign.stoppedAt ? 'stopped' : campaign.status
}

export async function findCampaign(db: Db, id: string): Promise<Campaign | null> {
  if (!isId(id)) return null
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id))
  return row ?? null
}

/**
 * Takes back a paused or stopped campaign's messages still waiting in the outbox (up to the
 * scheduler's 30 s ahead), with their tracked links: nothing more goes out, and on resume the
 * scheduler queues those recipients again. Not a message being sent at that moment, nor one that
 * was tried already (a timed-out attempt may have been delivered: it keeps its links).
 */
async function withdrawQueued(tx: Db, campaignId: string): Promise<void> {
  await tx.execute(sql`
    with gone as (
      delete from outbox o using campaign_recipients r
      where r.campaign_id = ${campaignId} and r.status = 'queued' and o.id = r.outbox_id
        and o.status = 'pending' and o.attempts = 0
      returning r.id
    ),
    links as (
      delete from tracked_links l using gone where l.recipient_id = gone.id
    )
    update campaign_recipients r
    set status = 'pending', outbox_id = null, scheduled_at = null
    from gone where r.id = gone.id`)
}

/**
 * A status change by a person: pause, resume, stop, mark ready, start. Ready and start first
 * check that nothing would stop a message (merge fields, postal address, sender, recipients).
 * A start may name a day and time on the campaign's clock (`startAt`): it is sending from now
 * (so it can be paused or stopped) but the scheduler gives nobody a slot before then; a resume
 * keeps that time.
 */
export async function changeCampaignStatus(
  db: Db,
  env: Env,
  actor: CampaignActor,
  id: string,
  action: Extract<CampaignAction, 'ready' | 'start' | 'pause' | 'resume' | 'complete'>,
  now: Date,
  options: { startAt?: { day: string; time: string } | undefined } = {},
): Promise<CampaignResult<{ campaign: Campaign }>> {
  const current = await findCampaign(db, id)
  if (!current) return fail(404, 'not_found', 'There is no such campaign.')
  const decision = campaignDecision(actor, current, action)
  if (!decision.ok) return decision
  const to = decision.to as CampaignStatus
  const campaign = await db.transaction(async (tx) => {
    // Locked while it is checked and changed: an edit or an upload meanwhile (a draft stays a
    // draft, so the status alone would not tell) waits, then finds it no longer a draft. Checked
    // as locked, so what starts is what was checked.
    const [locked] = await tx
      .select()
      .from(campaigns)
      .where(and(eq(campaigns.id, id), eq(campaigns.status, current.status)))
      .for('update')
    if (!locked) return undefined
    if (action === 'ready' || action === 'start') {
      const problems = await startProblems(tx, env, locked)
      if (problems.length > 0)
        return fail(
          409,
          'campaign_has_problems',
          `The campaign cannot ${action === 'start' ? 'start' : 'be marked ready'}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: see the preview)` : ''}`,
        )
    }
    let startAfter: Date | null = null
    if (action === 'start' && options.startAt) {
      // On the clock of the zone it is locked with: an edit cannot change it meanwhile.
      const start = scheduledStart(options.startAt.day, options.startAt.time, locked.timezone, now)
      if (!start.ok) return fail(422, 'invalid_start', start.message, start.field)
      startAfter = start.at
    }
    const [changed] = await tx
      .update(campaigns)
      .set({
        status: to,
        updatedAt: now,
        ...(action === 'start' ? { startedAt: now, startAfter } : {}),
        ...(action === 'complete' ? { completedAt: now, stoppedAt: now, stoppedBy: actor.id } : {}),
      })
      .where(and(eq(campaigns.id, id), eq(campaigns.status, current.status)))
      .returning()
    if (changed && (action === 'pause' || action === 'complete'))
      await withdrawQueued(tx, changed.id)
    // Stopped: whoever still waited (or was just taken back) is never sent, and reads so.
    if (changed && action === 'complete')
      await tx
        .update(campaignRecipients)
        .set({ status: 'stopped' })
        .where(
          and(
            eq(campaignRecipients.campaignId, changed.id),
            eq(campaignRecipients.status, 'pending'),
          ),
        )
    if (changed && action === 'start')
      await announceCampaign(tx, 'campaign.started', changed, now, { actorId: actor.id })
    if (changed && action === 'complete')
      await announceCampaign(tx, 'campaign.completed', changed, now, {
        actorId: actor.id,
        reason: 'stopped',
      })
    return changed
  })
  if (!campaign)
    return fail(409, 'conflict', 'The campaign changed meanwhile; reload and try again.')
  if ('ok' in campaign) return campaign
  return { ok: true, campaign }
}

export interface CampaignProgress {
  recipients: number
  pending: number
  queued: number
  sent: number
  bounced: number
  suppressed: number
  failed: number
  /** In the pipeline by their turn: not emailed. */
  skipped: number
  /** Taken out by whoever runs the campaign before they were enqueued: never emailed. */
  removed: number
  /** Still waiting when a person stopped the campaign: never emailed. */
  stopped: number
  clicks: number
}

const emptyProgress = (): CampaignProgress => ({
  recipients: 0,
  pending: 0,
  queued: 0,
  sent: 0,
  bounced: 0,
  suppressed: 0,
  failed: 0,
  skipped: 0,
  removed: 0,
  stopped: 0,
  clicks: 0,
})

/**
 * Recipients by outcome (and raw clicks, unless `clicks` is false: counting them reads every
 * click of the campaign) per campaign.
 */
export async function campaignProgress(
  db: Db,
  ids: string[],
  options: { clicks?: boolean } = {},
): Promise<Map<string, CampaignProgress>> {
  const result = new Map(ids.map((id) => [id, emptyProgress()]))
  if (ids.length === 0) return result
  const [byStatus, clicks] = await Promise.all([
    db
      .select({
        campaignId: campaignRecipients.campaignId,
        status: campaignRecipients.status,
        n: sql<number>`count(*)::int`,
      })
      .from(campaignRecipients)
      .where(inArray(campaignRecipients.campaignId, ids))
      .groupBy(campaignRecipients.campaignId, campaignRecipients.status),
    options.clicks === false
      ? []
      : db
          .select({ campaignId: clickEvents.campaignId, n: sql<number>`count(*)::int` })
          .from(clickEvents)
          .where(inArray(clickEvents.campaignId, ids))
          .groupBy(clickEvents.campaignId),
  ])
  for (const row of byStatus) {
    const p = result.get(row.campaignId)!
    p[row.status] += row.n
    p.recipients += row.n
  }
  for (const row of clicks) if (row.campaignId) result.get(row.campaignId)!.clicks = row.n
  return result
}

export type CampaignListItem = Campaign & {
  ownerName: string
  progress: CampaignProgress
  /** Clicks judged a person's (as the campaign's results count them). */
  humanClicks: number
}

export const CAMPAIGNS_PAGE_SIZE = 50

/** A page of campaigns, newest first, with how many there are in all. */
export async function listCampaigns(
  db: Db,
  options: { ownerId?: string | undefined; page?: number; pageSize?: number } = {},
): Promise<{ campaigns: CampaignListItem[]; total: number; page: number; pageCount: number }> {
  const pageSize = options.pageSize ?? CAMPAIGNS_PAGE_SIZE
  const page = Math.max(1, options.page ?? 1)
  const where = options.ownerId ? eq(campaigns.ownerId, options.ownerId) : undefined
  const [rows, [total]] = await Promise.all([
    db
      .select({ campaign: campaigns, ownerName: users.name })
      .from(campaigns)
      .innerJoin(users, eq(users.id, campaigns.ownerId))
      .where(where)
      .orderBy(desc(campaigns.createdAt), desc(campaigns.id))
      .limit(pageSize)
      .offset((page - 1) * pageSize),
    db
      .select({ n: count() })
      .from(campaigns)
      .innerJoin(users, eq(users.id, campaigns.ownerId))
      .where(where),
  ])
  const ids = rows.map((r) => r.campaign.id)
  const [progress, human] = await Promise.all([
    campaignProgress(db, ids),
    humanClicksByCampaign(db, ids),
  ])
  const n = total?.n ?? 0
  return {
    campaigns: rows.map((r) => ({
      ...r.campaign,
      ownerName: r.ownerName,
      progress: progress.get(r.campaign.id)!,
      humanClicks: human.get(r.campaign.id) ?? 0,
    })),
    total: n,
    page,
    pageCount: Math.max(1, Math.ceil(n / pageSize)),
  }
}

/** The SDRs a campaign can be credited to (for an admin's form). */
export async function listSdrs(
  db: Db,
): Promise<Array<{ id: string; name: string; email: string }>> {
  return db
    .select({ id: users.id, name: users.name, email: users.email })
    .from(users)
    .where(and(eq(users.role, 'sdr'), sql`${users.disabledAt} is null`))
    .orderBy(users.name)
}

/** Whether an import of this campaign is waiting or running. */
export async function importInProgress(db: Db, campaignId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: campaignImports.id })
    .from(campaignImports)
    .where(
      and(
        eq(campaignImports.campaignId, campaignId),
        inArray(campaignImports.status, ['pending', 'running']),
      ),
    )
    .limit(1)
  return !!row
}
