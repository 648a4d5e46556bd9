import { and, eq, inArray, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  contacts,
  deals,
  outbox,
  trackedLinks,
} from '../db/schema.ts'
import { recordWebhookEvents } from '../db/webhook-outbox.ts'
import type { Deps } from '../deps.ts'
import { qualifyContact } from '../pipeline/qualification.ts'
import {
  CAMPAIGN_BURST_MS,
  isHumanVerdict,
  judgeClick,
  RULES_VERSION,
  SETTLE_MS,
  SWEEP_MS,
  type ClickFacts,
  type Judgement,
} from './verdicts.ts'
import { rowsOf, sqlList } from '../db/raw-sql.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'

// The verdict job: judges recorded clicks in the background, never on the redirect path. Any
// process may run it: each batch claims its clicks with FOR UPDATE SKIP LOCKED inside one
// transaction (the row locks are the lease; a crashed process's locks go with its connection),
// writes their verdicts and qualifies the prospects of human clicks in the same commit.
//
// A click is judged once the burst window has passed (SETTLE_MS), so a sweep's later clicks are
// in its context; a beacon-confirmed click at once. A prospect is qualified by its first human
// click only: the contact's row is locked and a click already marked `qualified_at` means done,
// so the order of clicks, re-scores and retries never adds a second deal or evidence entry.
// Re-scoring: clicks judged under an older RULES_VERSION that still hold their network data
// are judged again; a re-score may qualify, never un-qualifies.

export interface VerdictJobsOptions {
  pollMs: number
  /** Clicks per transaction. */
  batch: number
  /**
   * Clicks this process's click writer has recorded so far (api/server.ts): when it grows during a
   * batch, clicks are pouring in and the job gives them more of the thread (see `round`).
   */
  clicksRecorded?: () => number
}

export const VERDICT_JOB_DEFAULTS: VerdictJobsOptions = { pollMs: 10_000, batch: 500 }

/**
 * Re-scoring finds work only after RULES_VERSION changes (a new release's first rounds) or while
 * an older process still judges clicks (a rolling deploy); its query reads every judged click (no
 * index can say "judged under another version": ~60–90 ms of the embedded database's one thread
 * at 300,000 clicks). So once a pass finds none, the next looks an hour later.
 */
export const RESCORE_RECHECK_MS = 3_600_000

type Row = typeof clickEvents.$inferSelect

const facts = (r: Row): ClickFacts => ({
  id: r.id,
  token: r.token,
  recipientId: r.recipientId,
  method: r.method,
  ip: r.ip,
  userAgent: r.userAgent,
  headers: (r.headers as Record<string, string> | null) ?? null,
  at: r.createdAt,
})

export interface JudgeRun {
  judged: number
  qualified: number
  /**
   * Where the next batch of the same run may start (keyset): processed clicks leave dead index
   * entries behind until VACUUM, so each batch starting from the oldest would rescan them all.
   */
  next: string | null
}

/**
 * Judges one batch of clicks waiting for a verdict: those confirmed by a beacon (when `after` is
 * not given: the first batch of a run), then those whose burst window has passed, oldest first,
 * from `after` (the `next` of the previous batch) on.
 */
export async function judgePendingClicks(
  db: Db,
  now: Date,
  limit = 500,
  after: string | null = null,
): Promise<JudgeRun> {
  const cutoff = new Date(now.getTime() - SETTLE_MS)
  return db.transaction(async (tx) => {
    const confirmed =
      after === null
        ? await tx
            .select()
            .from(clickEvents)
            .where(
              sql`${clickEvents.processedAt} is null and ${clickEvents.confirmedAt} is not null`,
            )
            .limit(limit)
            .for('update', { skipLocked: true })
        : []
    const settled = await tx
      .select()
      .from(clickEvents)
      .where(
        sql`${clickEvents.processedAt} is null and ${clickEvents.createdAt} <= ${cutoff}${
          after === null ? sql`` : sql` and ${clickEvents.createdAt} >= ${new Date(after)}`
        }`,
      )
      .orderBy(clickEvents.createdAt)
      .limit(limit)
      .for('update', { skipLocked: true })
    const seen = new Set(confirmed.map((r) => r.id))
    const rows = [...confirmed, ...settled.filter((r) => !seen.has(r.id))]
    const run = await judgeRows(tx as unknown as Db, rows, now)
    const last = settled.at(-1)
    return { ...run, next: last && settled.length === limit ? last.createdAt.toISOString() : null }
  })
}

/**
 * Judges again one batch of clicks judged under older rules that still hold their network data
 * (the housekeeping forgets it after 90 days), in id order from `after` on.
 */
export async function rescoreClicks(
  db: Db,
  now: Date,
  limit = 500,
  after: string | null = null,
): Promise<JudgeRun> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(clickEvents)
      .where(
        sql`${clickEvents.processedAt} is not null and ${clickEvents.rulesVersion} is distinct from ${RULES_VERSION} and ${clickEvents.ip} is not null${
          after === null ? sql`` : sql` and ${clickEvents.id} > ${after}`
        }`,
      )
      .orderBy(clickEvents.id)
      .limit(limit)
      .for('update', { skipLocked: true })
    const run = await judgeRows(tx as unknown as Db, rows, now)
    return { ...run, next: rows.length === limit ? rows.at(-1)!.id : null }
  })
}

/**
 * How much context one batch reads. A link hammered by a bot (thousands of clicks a second on one
 * recipient) would otherwise make every batch read, and every click compare against, all of them:
 * judging turned quadratic and a server stopping waited on it for minutes (seen in the clicks
 * bench). The rules look a few seconds around a click (SWEEP_MS, CAMPAIGN_BURST_MS), and a few
 * neighbours settle them, so the clicks nearest the batch are enough.
 */
const MESSAGE_CONTEXT_ROWS = 200
const CAMPAIGN_CONTEXT_ROWS = 2_000

/**
 * Each recipient's clicks within SWEEP_MS of the batch: the MESSAGE_CONTEXT_ROWS nearest the
 * batch's middle, read as two short index scans (before and after it) per recipient.
 */
async function messageContext(tx: Db, recipientIds: string[], rows: Row[]): Promise<Row[]> {
  const times = rows.map((r) => r.createdAt.getTime())
  const from = new Date(Math.min(...times) - SWEEP_MS)
  const to = new Date(Math.max(...times) + SWEEP_MS)
  const middle = new Date((from.getTime() + to.getTime()) / 2)
  const half = MESSAGE_CONTEXT_ROWS / 2
  const ids = sqlList(recipientIds)
  const found = await tx.execute(sql`
    select x.id, x.token, x.recipient_id as "recipientId", x.method, x.ip,
           x.user_agent as "userAgent", x.headers, x.created_at as "createdAt"
    from unnest(array[${ids}]::text[]) as r(id)
    cross join lateral (
      (select * from ${clickEvents} c where c.recipient_id = r.id
         and c.created_at between ${from} and ${middle} order by c.created_at desc limit ${half})
      union all
      (select * from ${clickEvents} c where c.recipient_id = r.id
         and c.created_at > ${middle} and c.created_at <= ${to} order by c.created_at limit ${half})
    ) x`)
  return rowsOf<Row>(found).map((r) => ({ ...r, createdAt: new Date(r.createdAt) }))
}

async function judgeRows(tx: Db, rows: Row[], now: Date): Promise<Omit<JudgeRun, 'next'>> {
  if (rows.length === 0) return { judged: 0, qualified: 0 }
  const recipientIds = [...new Set(rows.flatMap((r) => (r.recipientId ? [r.recipientId] : [])))]
  const [messageRows, recipients] = recipientIds.length
    ? await Promise.all([
        messageContext(tx, recipientIds, rows),
        tx
          .select({
            id: campaignRecipients.id,
            sentAt: campaignRecipients.sentAt,
            contactId: campaignRecipients.contactId,
          })
          .from(campaignRecipients)
          .where(inArray(campaignRecipients.id, recipientIds)),
      ])
    : [[], []]
  const byRecipient = new Map<string, ClickFacts[]>()
  for (const r of messageRows) {
    const list = byRecipient.get(r.recipientId!) ?? []
    list.push(facts(r))
    byRecipient.set(r.recipientId!, list)
  }
  const sentAt = new Map(recipients.map((r) => [r.id, r.sentAt]))
  const contactOf = new Map(recipients.map((r) => [r.id, r.contactId]))

  // Each campaign's clicks around this batch, for the cross-recipient burst rule.
  const campaignClicks = new Map<string, ClickFacts[]>()
  for (const campaignId of new Set(rows.flatMap((r) => (r.campaignId ? [r.campaignId] : [])))) {
    const times = rows.filter((r) => r.campaignId === campaignId).map((r) => r.createdAt.getTime())
    const from = Math.min(...times)
    const to = Math.max(...times)
    const around = await tx
      .select()
      .from(clickEvents)
      .where(
        and(
          eq(clickEvents.campaignId, campaignId),
          sql`${clickEvents.createdAt} between ${new Date(from - CAMPAIGN_BURST_MS)} and ${new Date(to + CAMPAIGN_BURST_MS)}`,
        ),
      )
      .orderBy(
        sql`abs(extract(epoch from ${clickEvents.createdAt} - ${new Date((from + to) / 2)}))`,
      )
      .limit(CAMPAIGN_CONTEXT_ROWS)
    campaignClicks.set(campaignId, around.map(facts))
  }

  const judged: Array<{ row: Row; judgement: Judgement }> = []
  for (const row of rows) {
    const click = facts(row)
    const t = click.at.getTime()
    const judgement = judgeClick(
      click,
      {
        sentAt: row.recipientId ? (sentAt.get(row.recipientId) ?? null) : null,
        messageClicks: row.recipientId ? (byRecipient.get(row.recipientId) ?? []) : [],
        campaignClicks: (row.campaignId ? (campaignClicks.get(row.campaignId) ?? []) : []).filter(
          (o) =>
            o.recipientId !== row.recipientId && Math.abs(o.at.getTime() - t) <= CAMPAIGN_BURST_MS,
        ),
        confirmedAt: row.confirmedAt,
      },
      now,
    )
    judged.push({ row, judgement })
  }

  await tx.execute(sql`
    update ${clickEvents} c
    set verdict = x.verdict, reasons = x.reasons, rules_version = x.rules_version, processed_at = ${now}
    from jsonb_to_recordset(${JSON.stringify(
      judged.map(({ row, judgement }) => ({
        id: row.id,
        verdict: judgement.verdict,
        reasons: judgement.reasons,
        rules_version: judgement.rulesVersion,
      })),
    )}::jsonb) as x(id text, verdict text, reasons jsonb, rules_version text)
    where c.id = x.id`)

  // Clicks that became human (a re-score of one already human is not news) go out as webhook
  // events in this transaction, before the targets they make.
  const human = judged.filter(
    ({ row, judgement }) => isHumanVerdict(judgement.verdict) && !isHumanVerdict(row.verdict),
  )
  if (human.length > 0) {
    const links = await tx
      .select({ token: trackedLinks.token, url: trackedLinks.url })
      .from(trackedLinks)
      .where(inArray(trackedLinks.token, [...new Set(human.map(({ row }) => row.token))]))
    const urlOf = new Map(links.map((l) => [l.token, l.url]))
    await recordWebhookEvents(
      tx,
      'click.human',
      human.map(({ row, judgement }) => ({
        click: {
          id: row.id,
          at: row.createdAt.toISOString(),
          url: urlOf.get(row.token) ?? null,
          verdict: judgement.verdict,
          reasons: judgement.reasons,
          rulesVersion: judgement.rulesVersion,
        },
        campaignId: row.campaignId,
        recipientId: row.recipientId,
        contactId: row.recipientId ? (contactOf.get(row.recipientId) ?? null) : null,
      })),
      now,
    )
  }

  const qualifying = judged.filter(
    ({ row, judgement }) =>
      isHumanVerdict(judgement.verdict) && row.recipientId !== null && !row.qualifiedAt,
  )
  // Every contact this batch may qualify, locked in one order (the database's, by id) before
  // any is qualified: locked one by one in click order, two processes' batches meeting the same contacts in opposite
  // orders deadlocked (PostgreSQL then cancels one, after its deadlock_timeout).
  const contactIds = [
    ...new Set(qualifying.flatMap(({ row }) => contactOf.get(row.recipientId!) ?? [])),
  ]
  if (contactIds.length > 1)
    await tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(inArray(contacts.id, contactIds))
      .orderBy(contacts.id)
      .for('update')
  let qualified = 0
  for (const { row, judgement } of qualifying)
    if (await qualifyFromClick(tx, row, judgement, now)) qualified++
  return { judged: judged.length, qualified }
}

/**
 * Makes the click's prospect a target (through the one qualifyContact), unless one of the
 * contact's clicks already did: the contact's row is locked first, so concurrent batches in
 * other processes wait and then see the marker. True if it made a target (a prospect already
 * one only gets the click as evidence).
 */
async function qualifyFromClick(
  tx: Db,
  row: Row,
  judgement: Judgement,
  now: Date,
): Promise<boolean> {
  const [recipient] = await tx
    .select({
      contactId: campaignRecipients.contactId,
      campaignName: campaigns.name,
      ownerId: campaigns.ownerId,
      subjectTemplate: campaigns.subjectTemplate,
      subject: sql<string | null>`${outbox.payload}->>'subject'`,
      url: trackedLinks.url,
    })
    .from(campaignRecipients)
    .innerJoin(campaigns, eq(campaigns.id, campaignRecipients.campaignId))
    .leftJoin(outbox, eq(outbox.id, campaignRecipients.outboxId))
    .leftJoin(trackedLinks, eq(trackedLinks.token, row.token))
    .where(eq(campaignRecipients.id, row.recipientId!))
  if (!recipient) return false
  const [contact] = await tx
    .select({
      id: contacts.id,
      companyId: contacts.companyId,
      companyName: contacts.companyName,
      email: contacts.emailDisplay,
      erasedAt: contacts.erasedAt,
    })
    .from(contacts)
    .where(eq(contacts.id, recipient.contactId))
    .for('update')
  // An erased person (api/pipeline/erasure.ts) is nobody's target: their old links still lead
  // where they did, but a click on one makes no deal and no evidence.
  if (!contact || contact.erasedAt) return false
  // Two indexed look-ups (recipients by contact, clicks by recipient) rather than a join the
  // planner may turn into a scan of every click.
  const ofContact = await tx
    .select({ id: campaignRecipients.id })
    .from(campaignRecipients)
    .where(eq(campaignRecipients.contactId, contact.id))
  const [marker] = await tx
    .select({ at: sql`max(${clickEvents.qualifiedAt})`.mapWith(clickEvents.qualifiedAt) })
    .from(clickEvents)
    .where(
      inArray(
        clickEvents.recipientId,
        ofContact.map((r) => r.id),
      ),
    )
  const lastQualified = marker?.at ?? null
  if (!(await mayQualify(tx, contact.id, row.createdAt, lastQualified))) return false
  const qualification = await qualifyContact(tx, {
    contactId: contact.id,
    companyId: contact.companyId,
    source: 'outbound',
    title: contact.companyName ?? contact.email,
    sdrId: recipient.ownerId,
    evidence: {
      kind: 'click',
      url: recipient.url,
      campaign: recipient.campaignName,
      subject: recipient.subject ?? recipient.subjectTemplate,
      verdict: judgement.verdict,
      reasons: judgement.reasons,
      rulesVersion: judgement.rulesVersion,
      at: row.createdAt.toISOString(),
    },
    now,
  })
  // Marked either way (its evidence is in, re-scores must not add it again); a target made only
  // where the prospect was not one yet.
  const madeTarget = qualification.created || qualification.advanced
  await tx
    .update(clickEvents)
    .set({ qualifiedAt: now, madeTargetAt: madeTarget ? now : null })
    .where(eq(clickEvents.id, row.id))
  return madeTarget
}

/**
 * Whether a click may qualify its contact. One of its clicks qualified it before (`lastQualified`):
 * only once the deal that made has closed and the click came after (a later campaign's prospect,
 * or no deal left), never a click from that deal's time, so a re-score of old clicks adds nothing
 * to the next deal. A click from before the last qualification never does (no query needed).
 * Never qualified, the click must not belong to a deal that has closed since: with a deal open,
 * one from its time, or from before it while no deal closed after the click (a form filled seconds
 * after the click made the deal: the click is its evidence); a re-score of an old campaign's click
 * moves no later import's prospect. With none open, after the contact's last deal closed, so a
 * re-score of a click from a prospect's time makes no target of the lost prospect or the won
 * customer.
 */
async function mayQualify(
  tx: Db,
  contactId: string,
  clickedAt: Date,
  lastQualified: Date | null,
): Promise<boolean> {
  if (lastQualified && clickedAt <= lastQualified) return false
  const [open] = await tx
    .select({ createdAt: deals.createdAt })
    .from(deals)
    .where(and(eq(deals.contactId, contactId), notInArray(deals.stage, ['won', 'lost'])))
  if (open) {
    // A newer deal than the last qualification made or moved (a later campaign's import), and a
    // click from its time.
    if (lastQualified) return open.createdAt > lastQualified && clickedAt >= open.createdAt
    if (clickedAt >= open.createdAt) return true
    const closed = await lastClosed(tx, contactId)
    return closed === null || clickedAt > closed
  }
  const closed = await lastClosed(tx, contactId)
  if (closed === null) return !lastQualified
  return clickedAt > closed
}

/**
 * When the contact's last deal closed (null: none has). Closed deals have no index by contact, so
 * this is asked only where a click may belong to one.
 */
async function lastClosed(tx: Db, contactId: string): Promise<Date | null> {
  const [closed] = await tx
    .select({
      at: sql`max(coalesce(${deals.closedAt}, ${deals.stageEnteredAt}))`.mapWith(deals.closedAt),
    })
    .from(deals)
    .where(and(eq(deals.contactId, contactId), inArray(deals.stage, ['won', 'lost'])))
  return closed?.at ?? null
}

/** The verdict job of this process: every `pollMs`, and at once on deps.wakeups('verdicts'). */
export function startVerdictJobs(
  deps: Deps,
  options: Partial<VerdictJobsOptions> = {},
): { stop(): Promise<void>; wake(): void; idle(): Promise<void> } {
  const config = { ...VERDICT_JOB_DEFAULTS, ...options }
  const log = deps.logger.child({ component: 'verdicts' })
  let stopped = false
  let running: Promise<void> | null = null
  let again = false
  // No re-scoring before this (RESCORE_RECHECK_MS).
  let rescoreIdleUntil = 0
  const outage = watchDatabaseOutage(log, 'verdicts', deps.now)

  async function round(): Promise<void> {
    let recorded = config.clicksRecorded?.()
    for (const step of [judgePendingClicks, rescoreClicks]) {
      if (step === rescoreClicks && deps.now().getTime() < rescoreIdleUntil) continue
      let after: string | null = null
      do {
        if (stopped) return
        const started = performance.now()
        const first = after === null
        const run: JudgeRun = await step(deps.db, deps.now(), config.batch, after)
        if (step === rescoreClicks && first && run.judged === 0 && run.next === null)
          rescoreIdleUntil = deps.now().getTime() + RESCORE_RECHECK_MS
        if (run.qualified)
          log.info('clicks qualified prospects', { judged: run.judged, qualified: run.qualified })
        after = run.next
        // A backlog is judged at most half the time: a pause as long as the batch took (≤ 1 s),
        // so clicks and pages keep the embedded database's one connection meanwhile. While
        // clicks pour in (recorded since the last batch: on the embedded database a batch holds
        // the thread, ~0.2–0.5 s for 500 clicks), at most a fifth, as the click journal's moves:
        // a pause four times as long (≤ 4 s). Verdicts wait 30 s for a burst to end anyway;
        // judging the previous burst at half the thread halved the redirect's throughput
        // (clicks bench, 128 connections: ~55 µs of the server's CPU a click against ~26).
        const clicksNow = config.clicksRecorded?.()
        const share = clicksNow !== recorded ? 4 : 1
        recorded = clicksNow
        const took = performance.now() - started
        if (after !== null && !stopped)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000 * share, share * took)))
      } while (after !== null)
    }
  }

  const pump = () => {
    if (stopped) return
    if (running) {
      again = true
      return
    }
    again = false
    if (!outage.due()) return
    running = round()
      .then(outage.succeeded, (err: unknown) => {
        if (!outage.failed(err)) log.error('verdict job failed', { err })
      })
      .finally(() => {
        running = null
        if (again) pump()
      })
  }

  const timer = setInterval(pump, config.pollMs)
  timer.unref()
  const unlisten = deps.wakeups.on('verdicts', pump)
  pump()
  return {
    wake: pump,
    /** Resolves once no round is under way (tests wait on it). */
    async idle() {
      while (running) await running
    },
    async stop() {
      stopped = true
      clearInterval(timer)
      unlisten()
      await running
    },
  }
}
