import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { campaignImports, campaignRecipients, campaigns, deals, outbox } from '../db/schema.ts'
import { parseEmailAddress } from '../email-address.ts'
import type { Env } from '../env.ts'
import { enqueueMarketingEmail, marketingProblems } from '../email/marketing.ts'
import { loadSenderSettings } from '../email/sender.ts'
import type { Logger } from '../logger.ts'
import { linkTracker, trackLinks } from '../tracking/links.ts'
import { announceCampaign } from './campaigns.ts'
import { planSends, type SchedulableCampaign } from './scheduler.ts'
import { checkSenderAddress, verifiedSendingDomains } from './sender.ts'
import {
  campaignMerge,
  outreachRecipient,
  recipientMergeProblem,
  renderCampaignMessage,
} from './preview.ts'
import { replyHeaders } from './follow-ups.ts'

// Sending: the scheduler (scheduler.ts) decides what is due; this enqueues it in the outbox just
// in time, in one transaction per run: the outbox row (deduplicated on outreach:<recipientId>, so
// a crash or a second process never sends a recipient twice), its tracked links and the
// recipient's outbox id and slot. One process plans at a time (an advisory lock), so the
// per-sender rate holds across processes. Outcomes come back from the outbox rows; a campaign
// completes once none is left to enqueue and none waits in the outbox.

/** Any constant: the transaction-scoped advisory lock the planners of every process share. */
const SCHEDULER_LOCK = 0x0f_d0_0c_a1

export interface SchedulerRun {
  enqueued: number
  completed: number
  /** Set when another process held the lock and this run did nothing. */
  skipped?: boolean
}

export async function enqueueDueRecipients(
  db: Db,
  env: Env,
  options: { now: Date; horizonMs: number; log?: Logger },
): Promise<SchedulerRun> {
  const { now } = options
  return db.transaction(async (tx) => {
    const [lock] = rowsOf<{ ok: boolean }>(
      await tx.execute(sql`select pg_try_advisory_xact_lock(${SCHEDULER_LOCK}) as ok`),
    )
    if (!lock?.ok) return { enqueued: 0, completed: 0, skipped: true }

    // Shared-locked until this run commits: a pause or a stop meanwhile waits for it, then takes
    // back what it queued (campaigns.ts withdrawQueued); else the run's messages went out anyway.
    const sending = await tx
      .select()
      .from(campaigns)
      .where(eq(campaigns.status, 'sending'))
      .for('share')
    if (sending.length === 0) return { enqueued: 0, completed: 0 }
    const senders = [...new Set(sending.map((c) => c.senderEmail.toLowerCase()))]
    const related = await tx
      .select()
      .from(campaigns)
      .where(inArray(sql`lower(${campaigns.senderEmail})`, senders))
    const pendingRows = await tx
      .select({ campaignId: campaignRecipients.campaignId, n: sql<number>`count(*)::int` })
      .from(campaignRecipients)
      .where(
        and(
          inArray(
            campaignRecipients.campaignId,
            sending.map((c) => c.id),
          ),
          eq(campaignRecipients.status, 'pending'),
        ),
      )
      .groupBy(campaignRecipients.campaignId)
    const pending = new Map(pendingRows.map((r) => [r.campaignId, r.n]))

    // Everything sent: the campaign is complete once nobody waits for a slot and none of its
    // messages waits in the outbox (recordOutcomes copies the outcome of one that went). Until
    // then it can still be paused or stopped, which takes those messages back (withdrawQueued).
    // A failed message an admin sends again is not waited for: its recipient stays failed until
    // it goes, then reads sent, the campaign completed or not.
    let completed = 0
    for (const c of sending) {
      if ((pending.get(c.id) ?? 0) > 0) continue
      if (await waitingInOutbox(tx, c.id)) continue
      const [running] = await tx
        .select({ id: campaignImports.id })
        .from(campaignImports)
        .where(
          and(
            eq(campaignImports.campaignId, c.id),
            inArray(campaignImports.status, ['pending', 'running']),
          ),
        )
        .limit(1)
      if (running) continue
      const [done] = await tx
        .update(campaigns)
        .set({ status: 'completed', completedAt: now, updatedAt: now })
        .where(and(eq(campaigns.id, c.id), eq(campaigns.status, 'sending')))
        .returning()
      if (done)
        await announceCampaign(tx, 'campaign.completed', done, now, {
          actorId: null,
          reason: 'everything_enqueued',
        })
      completed++
    }

    const sender = await loadSenderSettings(tx, env)
    const problems = marketingProblems(sender)
    if (problems.length) {
      options.log?.warn('campaigns wait: outreach cannot be sent', { problem: problems[0] })
      return { enqueued: 0, completed }
    }

    // Checked when saved and at start, and again here: the verified domain can change while a
    // campaign runs (Settings, DKIM_DOMAIN), and a From off it would pause all mail (sender.ts).
    const domains = verifiedSendingDomains(sender, env)
    const unverified = related.filter((c) => !checkSenderAddress(c.senderEmail, domains).ok)
    if (unverified.some((c) => c.status === 'sending'))
      options.log?.warn('campaigns wait: sender not on the verified sending domain', {
        campaignIds: unverified.filter((c) => c.status === 'sending').map((c) => c.id),
      })

    const schedulable: SchedulableCampaign[] = related
      .filter((c) => !unverified.includes(c))
      .map((c) => ({
        id: c.id,
        status: c.status,
        sender: c.senderEmail.toLowerCase(),
        ratePerHour: c.ratePerHour,
        window: { startHour: c.windowStartHour, endHour: c.windowEndHour, timeZone: c.timezone },
        pending: pending.get(c.id) ?? 0,
        lastSlotAt: c.lastSlotAt,
        startAfter: c.startAfter,
      }))
    const plan = planSends(schedulable, now, { horizonMs: options.horizonMs })
    const slotsOf = new Map<string, Date[]>()
    for (const p of plan) slotsOf.set(p.campaignId, [...(slotsOf.get(p.campaignId) ?? []), p.at])

    let enqueued = 0
    for (const [campaignId, slots] of slotsOf) {
      const campaign = related.find((c) => c.id === campaignId)!
      const due = await tx
        .select()
        .from(campaignRecipients)
        .where(
          and(
            eq(campaignRecipients.campaignId, campaignId),
            eq(campaignRecipients.status, 'pending'),
          ),
        )
        .orderBy(asc(campaignRecipients.line), asc(campaignRecipients.id))
        .limit(slots.length)
        .for('update', { skipLocked: true })
      // In the pipeline since the import (a form, a click on another campaign's link, a rep):
      // a rep has them now, and cold outreach would cross their conversation.
      const taken = await contactsInPipeline(
        tx,
        due.map((r) => r.contactId),
      )
      // A follow-up's message is a reply to the one its original sent the same person.
      const threads = campaign.followUpOf
        ? await replyHeaders(
            tx,
            campaign.followUpOf,
            due.map((r) => r.contactId),
          )
        : new Map<string, Record<string, string>>()
      const merge = await campaignMerge(tx, campaign)
      let lastSlot: Date | null = null
      let next = 0
      for (const row of due) {
        if (taken.has(row.contactId)) {
          await tx
            .update(campaignRecipients)
            .set({ status: 'skipped' })
            .where(eq(campaignRecipients.id, row.id))
          continue
        }
        const at = slots[next++]!
        lastSlot = at
        const recipient = outreachRecipient(row)
        // Checked at start; a message that still cannot be merged is a failure, never "Hi ,".
        const problem = recipientMergeProblem(merge, recipient)
        if (problem) {
          // The recipients list shows only "Failed"; the reason is here (no address in it).
          options.log?.warn('campaign recipient failed: its message cannot be merged', {
            campaignId,
            recipientId: row.id,
            line: row.line,
            problem: problem.replace(recipient.email, '…'),
          })
          await tx
            .update(campaignRecipients)
            .set({ status: 'failed', scheduledAt: at })
            .where(eq(campaignRecipients.id, row.id))
          continue
        }
        const tracker = linkTracker(env.APP_ORIGIN)
        const thread = threads.get(row.contactId)
        const { outboxId } = await enqueueMarketingEmail(
          tx,
          env,
          {
            category: 'outreach',
            to: toAddress(
              // Where mail goes (the domain in ASCII); the file's spelling is for display.
              parseEmailAddress(recipient.email)?.mailbox ?? row.email,
              [recipient.firstName, recipient.lastName],
            ),
            recipient: row.email,
            campaignId,
            template: 'outreach',
            render: ({ brand, unsubscribeUrl }) =>
              renderCampaignMessage(merge, recipient, {
                brand,
                unsubscribeUrl,
                rewriteLink: tracker.rewrite,
              }),
            from: { name: campaign.senderName, address: campaign.senderEmail },
            ...(campaign.replyTo ? { replyTo: { address: campaign.replyTo } } : {}),
            ...(thread ? { headers: thread } : {}),
            dedupeKey: `outreach:${row.id}`,
            runAfter: at,
            now,
          },
          sender,
        )
        // Null: another run enqueued it already; its links were stored with it.
        if (outboxId) {
          await trackLinks(tx, { recipientId: row.id, campaignId, links: tracker.links, now })
          enqueued++
        }
        const [existing] = outboxId
          ? [{ id: outboxId }]
          : await tx
              .select({ id: outbox.id })
              .from(outbox)
              .where(eq(outbox.dedupeKey, `outreach:${row.id}`))
        await tx
          .update(campaignRecipients)
          .set({ status: 'queued', outboxId: existing?.id ?? null, scheduledAt: at })
          .where(eq(campaignRecipients.id, row.id))
      }
      if (lastSlot)
        await tx.update(campaigns).set({ lastSlotAt: lastSlot }).where(eq(campaigns.id, campaignId))
    }
    return { enqueued, completed }
  })
}

/**
 * Whether a message of the campaign is still waiting in the outbox or being sent: a recipient
 * `queued` whose outbox row is neither sent, failed nor suppressed (recordOutcomes' outcomes).
 * Read on campaign_recipients_status_idx: the queued rows of one campaign, a horizon's worth.
 */
async function waitingInOutbox(tx: Db, campaignId: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: campaignRecipients.id })
    .from(campaignRecipients)
    .innerJoin(outbox, eq(outbox.id, campaignRecipients.outboxId))
    .where(
      and(
        eq(campaignRecipients.campaignId, campaignId),
        eq(campaignRecipients.status, 'queued'),
        inArray(outbox.status, ['pending', 'sending']),
      ),
    )
    .limit(1)
  return !!row
}

/**
 * The contacts with an open deal past `opportunity`: in the pipeline, as the import judges it
 * (imports.ts), so not emailed.
 */
async function contactsInPipeline(tx: Db, contactIds: string[]): Promise<Set<string>> {
  if (contactIds.length === 0) return new Set()
  const rows = await tx
    .selectDistinct({ contactId: deals.contactId })
    .from(deals)
    .where(
      and(
        inArray(deals.contactId, contactIds),
        notInArray(deals.stage, ['opportunity', 'won', 'lost']),
      ),
    )
  return new Set(rows.map((r) => r.contactId))
}

/**
 * Copies outcomes from the outbox to the recipients still queued: sent (with the time the
 * transport took it), suppressed, bounced (failed on a hard bounce, which suppresses the
 * address) or failed. A recipient already sent whose message failed afterwards (Resend reported
 * a hard bounce: api/email/delivery-events.ts) is judged again the same way. A recipient failed
 * whose message an admin sent again (the outbox page, outbox.ts retryFailed) is judged again the
 * same way once the worker is done with it: sent, suppressed or bounced, whatever the campaign's
 * status (a completed one stays completed, its counts follow). Never the other way by a retry:
 * only a failed message is sent again, never a sent one.
 */
export async function recordOutcomes(db: Db): Promise<number> {
  const outcome = sql`case
             when o.status = 'sent' then 'sent'
             when o.status = 'suppressed' then 'suppressed'
             when exists (select 1 from suppressions s where s.email = o.recipient and s.reason = 'hard_bounce') then 'bounced'
             else 'failed'
           end`
  // A failed recipient too, once an admin sent its message again (retriedAt) and it went, was
  // stopped by the do-not-mail list meanwhile, or bounced; one that failed again stays failed (its
  // reason is read from the row, so it is the new one). Both read on campaign_recipients_status_idx.
  const judged = await db.execute(sql`
    update campaign_recipients r
       set status = ${outcome},
           sent_at = o.sent_at
      from outbox o, campaigns c
     where c.status in ('sending', 'paused', 'completed')
       and r.campaign_id = c.id
       and r.status in ('queued', 'failed')
       and o.id = r.outbox_id
       and o.status in ('sent', 'failed', 'suppressed')
       and (r.status = 'queued' or (o.payload ? 'retriedAt' and ${outcome} <> 'failed'))
    returning r.id
  `)
  // Driven from the outbox's few failed rows (its status index), not from every sent recipient.
  const failedLater = await db.execute(sql`
    update campaign_recipients r
       set status = ${outcome}
      from outbox o
     where o.status = 'failed'
       and r.outbox_id = o.id
       and r.status = 'sent'
    returning r.id
  `)
  return rowsOf(judged).length + rowsOf(failedLater).length
}

/** The rows of db.execute, the same on PGlite and node-postgres. */
const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows

function toAddress(address: string, names: Array<string | null | undefined>) {
  const name = names.filter(Boolean).join(' ')
  return name ? { name, address } : { address }
}
