import { and, asc, eq, inArray, isNull } from 'drizzle-orm'
import { render as renderNewLeads, type Lead } from '../../email-templates/new-qualified-leads.ts'
import type { Db } from '../db/client.ts'
import { dealEvents, settings, users } from '../db/schema.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'
import type { Deps } from '../deps.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { brandOf, loadSenderSettings } from '../email/sender.ts'
import type { Env } from '../env.ts'
import { sendDailyDigests } from './digest.ts'
import { describeEvidence } from './evidence.ts'
import { leadsSince } from './queries.ts'
import { loadPipelineSettings } from './settings.ts'

// Reps hear about new qualified leads by email, batched: at most one email per rep every N
// minutes (Settings), listing the unclaimed targets that arrived since the last one. Any number
// of processes may run the job: a settings row, locked FOR UPDATE, holds the batch cursor, and
// each email's dedupe key names its batch, so a batch is mailed once. The same job sends the
// morning digest of next steps to those who asked for it (digest.ts).

export const NOTIFIER_KEY = 'pipeline.lead_notifier'
const MAX_LEADS = 200

interface NotifierState {
  /** Leads that became targets after this moment have not been mailed yet. */
  cursor: string
  /** The last lead mailed at `cursor` itself (leads qualified at one instant may be many). */
  cursorId?: string | null
  lastSentAt: string | null
}

export type NotifyOutcome =
  | { status: 'sent'; leads: number; emails: number }
  | { status: 'nothing_new' }
  | { status: 'too_soon'; nextAt: Date }
  | { status: 'no_reps'; leads: number }

export async function notifyNewLeads(db: Db, env: Env, now: Date): Promise<NotifyOutcome> {
  // First run: start from now, so a fresh start does not mail about every old lead.
  await db
    .insert(settings)
    .values({
      key: NOTIFIER_KEY,
      value: { cursor: now.toISOString(), lastSentAt: null } satisfies NotifierState,
      updatedAt: now,
    })
    .onConflictDoNothing()
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ value: settings.value })
      .from(settings)
      .where(eq(settings.key, NOTIFIER_KEY))
      .for('update')
    const state = row!.value as NotifierState
    const { notifyEveryMinutes } = await loadPipelineSettings(tx)
    if (state.lastSentAt) {
      const nextAt = new Date(new Date(state.lastSentAt).getTime() + notifyEveryMinutes * 60_000)
      if (now < nextAt) return { status: 'too_soon', nextAt }
    }
    const leads = await leadsSince(tx, new Date(state.cursor), MAX_LEADS, state.cursorId)
    if (leads.length === 0) return { status: 'nothing_new' }
    const reps = await tx
      .select({ id: users.id, name: users.name, email: users.email })
      .from(users)
      .where(and(eq(users.role, 'rep'), isNull(users.disabledAt)))
    const lastLead = leads[leads.length - 1]!
    // Names the batch for its dedupe key: where it starts, the instant and (within it) the lead.
    const batch = state.cursorId ? `${state.cursor}:${state.cursorId}` : state.cursor
    const evidence = await evidenceFor(
      tx,
      leads.map((l) => l.id),
    )
    const brand = brandOf(await loadSenderSettings(tx, env))
    const listed: Lead[] = [...leads].reverse().map((l) => {
      const view = evidence.get(l.id)
      return {
        name: l.contactName === l.contactEmail ? null : l.contactName,
        email: l.contactEmail,
        title: l.jobTitle,
        company: l.companyName,
        source: view?.source ?? sourceName(l.source),
        evidence: view?.summary ?? 'Qualified as a target',
      }
    })
    let emails = 0
    for (const rep of reps) {
      const mail = renderNewLeads({
        brand,
        recipientName: rep.name.split(' ')[0],
        leads: listed,
        totalCount: leads.length,
        leadsUrl: `${env.APP_ORIGIN}/app/leads`,
      })
      const id = await enqueueEmail(tx, {
        category: 'transactional',
        to: { name: rep.name, address: rep.email },
        recipient: rep.email,
        ...mail,
        template: 'new-qualified-leads',
        dedupeKey: `new-leads:${rep.id}:${batch}`,
        now,
      })
      if (id) emails++
    }
    const next: NotifierState = {
      cursor: lastLead.stageEnteredAt.toISOString(),
      cursorId: lastLead.id,
      lastSentAt: now.toISOString(),
    }
    await tx
      .update(settings)
      .set({ value: next, updatedAt: now })
      .where(eq(settings.key, NOTIFIER_KEY))
    return reps.length
      ? { status: 'sent', leads: leads.length, emails }
      : { status: 'no_reps', leads: leads.length }
  })
}

async function evidenceFor(db: Db, dealIds: string[]) {
  const rows = await db
    .select({ dealId: dealEvents.dealId, data: dealEvents.data })
    .from(dealEvents)
    .where(and(inArray(dealEvents.dealId, dealIds), eq(dealEvents.type, 'evidence')))
    .orderBy(asc(dealEvents.createdAt))
  // The first evidence is why the lead qualified.
  const map = new Map<string, ReturnType<typeof describeEvidence>>()
  for (const r of rows) if (!map.has(r.dealId)) map.set(r.dealId, describeEvidence(r.data))
  return map
}

function sourceName(source: string): string {
  return (
    {
      inbound: 'Inbound form',
      outbound: 'Outreach click',
      grader: 'Website grader',
      manual: 'Added by hand',
    }[source] ?? source
  )
}

export interface LeadNotifier {
  stop(): Promise<void>
}

/** The periodic job the server starts: checks every `everyMs` (the interval setting decides when mail goes out). */
export function startLeadNotifier(deps: Deps, everyMs = 60_000): LeadNotifier {
  let running: Promise<unknown> | null = null
  const outage = watchDatabaseOutage(deps.logger, 'new-lead notifier', deps.now)
  const tick = () => {
    if (running || !outage.due()) return
    running = notifyNewLeads(deps.db, deps.env, deps.now())
      .then((outcome) => {
        if (outcome.status === 'sent')
          deps.logger.info('new-lead emails queued', {
            leads: outcome.leads,
            emails: outcome.emails,
          })
      })
      // The morning digest of next steps rides on the same tick (api/pipeline/digest.ts).
      .then(() => sendDailyDigests(deps.db, deps.env, deps.now()))
      .then((emails) => {
        if (emails) deps.logger.info('next-steps digests queued', { emails })
      })
      .then(outage.succeeded, (err: unknown) => {
        if (!outage.failed(err)) deps.logger.error('new-lead notifier failed', { err })
      })
      .finally(() => {
        running = null
      })
  }
  const timer = setInterval(tick, everyMs)
  timer.unref()
  // A first look soon after start-up, so a fresh process sets its cursor and mails what waits.
  const first = setTimeout(tick, Math.min(everyMs, 5_000))
  first.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      clearTimeout(first)
      await running
    },
  }
}
