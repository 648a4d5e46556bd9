import { and, asc, desc, eq, gt, inArray, min, ne } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  companies,
  contacts,
  dealEvents,
  deals,
  downloadTokens,
  graderReports,
  graderUnlocks,
  outbox,
  submissions,
  trackedLinks,
  users,
} from '../db/schema.ts'
import { ROLE_NAMES, type Deal, type StakeholderRole } from './deals.ts'
import { isReopening, isStageKey, stageOf, stagesBack, stageWithProbability } from './stages.ts'
import { describeEvidence, type EvidenceView } from './evidence.ts'
import { formatDate, formatMoney } from './format.ts'
import { describeRecordChange, recordHistory } from './record-changes.ts'
import { describeActivityEvent } from './activities.ts'

// Everything known about a deal's contact, newest first: the deal's own history (creation,
// evidence, take-over, stage moves, edits, notes), the contact's form submissions, clicks on
// outreach with their verdicts, grader reports they unlocked and the emails sent to them.

export type TimelineKind =
  | 'created'
  | 'evidence'
  | 'claimed'
  | 'stage'
  | 'updated'
  | 'note'
  | 'activity'
  | 'record'
  | 'submission'
  | 'click'
  | 'grader'
  | 'email'

export interface TimelineEntry {
  at: Date
  kind: TimelineKind
  title: string
  detail: string | null
  actor: string | null
  /** ok / warn / danger, for a badge. */
  tone: 'ok' | 'warn' | 'danger' | null
  badge: string | null
  evidence?: EvidenceView
}

const LIMIT = 100

export async function dealTimeline(
  db: Db,
  deal: Deal,
  contactEmail: string,
  /** The reader's, for the times evidence names in words (describeEvidence). */
  timeZone = 'UTC',
): Promise<TimelineEntry[]> {
  const [events, subs, clicks, reports, emails] = await Promise.all([
    db
      .select({ e: dealEvents, actor: users.name })
      .from(dealEvents)
      .leftJoin(users, eq(users.id, dealEvents.actorId))
      .where(eq(dealEvents.dealId, deal.id))
      .orderBy(desc(dealEvents.createdAt), desc(dealEvents.id))
      .limit(LIMIT * 2),
    db
      .select({
        at: submissions.createdAt,
        kind: submissions.kind,
        offer: submissions.offer,
        status: submissions.status,
        pageUrl: submissions.pageUrl,
      })
      .from(submissions)
      .where(eq(submissions.contactId, deal.contactId))
      .orderBy(desc(submissions.createdAt))
      .limit(LIMIT),
    db
      .select({
        at: clickEvents.createdAt,
        verdict: clickEvents.verdict,
        reasons: clickEvents.reasons,
        kind: clickEvents.kind,
        campaign: campaigns.name,
        url: trackedLinks.url,
      })
      .from(clickEvents)
      .innerJoin(campaignRecipients, eq(campaignRecipients.id, clickEvents.recipientId))
      .leftJoin(campaigns, eq(campaigns.id, campaignRecipients.campaignId))
      .leftJoin(trackedLinks, eq(trackedLinks.token, clickEvents.token))
      .where(eq(campaignRecipients.contactId, deal.contactId))
      .orderBy(desc(clickEvents.createdAt))
      .limit(LIMIT),
    // One entry a report: an unlock keeps a row for the visitor's browser and one for the key
    // the email carries, written together.
    db
      .select({
        at: min(graderUnlocks.createdAt),
        host: graderReports.host,
        total: graderReports.total,
        band: graderReports.band,
        status: graderReports.status,
        platform: graderReports.platform,
      })
      .from(graderUnlocks)
      .innerJoin(graderReports, eq(graderReports.id, graderUnlocks.reportId))
      .where(eq(graderUnlocks.contactId, deal.contactId))
      .groupBy(graderReports.id)
      .orderBy(desc(min(graderUnlocks.createdAt)))
      .limit(LIMIT),
    db
      .select({
        at: outbox.createdAt,
        sentAt: outbox.sentAt,
        status: outbox.status,
        payload: outbox.payload,
        category: outbox.category,
      })
      .from(outbox)
      .where(and(eq(outbox.recipient, contactEmail), eq(outbox.kind, 'email')))
      .orderBy(desc(outbox.createdAt))
      .limit(LIMIT),
  ])

  // Stakeholder rows name the person; evidence of a form says Downloaded only once the link was used.
  const stakeholderIds = [
    ...new Set(
      events
        .map(({ e }) => (e.data as { stakeholder?: { contactId?: unknown } } | null)?.stakeholder)
        .map((s) => (typeof s?.contactId === 'string' ? s.contactId : null))
        .filter((id): id is string => id !== null),
    ),
  ]
  const people = stakeholderIds.length
    ? await db
        .select({
          id: contacts.id,
          firstName: contacts.firstName,
          lastName: contacts.lastName,
          email: contacts.emailDisplay,
        })
        .from(contacts)
        .where(inArray(contacts.id, stakeholderIds))
    : []
  const names = new Map(
    people.map((p) => [p.id, [p.firstName, p.lastName].filter(Boolean).join(' ') || p.email]),
  )
  const downloaded = await downloadedOffers(db, [deal.id])
  const context: EventContext = {
    currency: deal.currency,
    personName: (id) => names.get(id) ?? null,
    downloaded: (offer) => downloaded.has(`${deal.id} ${offer}`),
    timeZone,
  }

  const entries: TimelineEntry[] = []
  for (const { e, actor } of events) entries.push(fromDealEvent(e, actor, context))
  for (const s of subs)
    entries.push({
      at: s.at,
      kind: 'submission',
      title: `Submitted the ${s.kind.replace('_', ' ')} form (${s.offer})`,
      detail: s.pageUrl,
      actor: null,
      tone: s.status === 'quarantined' ? 'warn' : null,
      badge: s.status === 'accepted' ? null : s.status,
    })
  for (const c of clicks)
    entries.push({
      at: c.at,
      kind: 'click',
      title: `${c.kind === 'beacon' ? 'Beacon' : 'Click'}${c.url ? ` on ${c.url}` : ''}${c.campaign ? ` in “${c.campaign}”` : ''}`,
      detail: c.reasons?.length
        ? c.reasons.map((r) => (typeof r === 'string' ? r : r.sentence)).join('; ')
        : null,
      actor: null,
      tone:
        c.verdict === 'human' || c.verdict === 'human_confirmed'
          ? 'ok'
          : c.verdict === 'bot'
            ? 'danger'
            : 'warn',
      badge: c.verdict.replace('_', ' '),
    })
  for (const r of reports)
    entries.push({
      at: r.at!, // min() of a group of at least one row
      kind: 'grader',
      title: `Unlocked the grader report for ${r.host}`,
      detail:
        r.total !== null
          ? `${r.total}/100${r.band ? ` (${r.band})` : ''}${r.platform ? ` · ${r.platform}` : ''}`
          : r.status,
      actor: null,
      tone: null,
      badge: null,
    })
  for (const m of emails) {
    const p = (m.payload ?? {}) as { subject?: string; template?: string }
    entries.push({
      at: m.sentAt ?? m.at,
      kind: 'email',
      title: `Email: ${p.subject ?? p.template ?? '(no subject)'}`,
      detail: p.template ?? null,
      actor: null,
      tone:
        m.status === 'sent'
          ? 'ok'
          : m.status === 'failed' || m.status === 'suppressed'
            ? 'danger'
            : 'warn',
      badge: m.status,
    })
  }
  // The contact's and company's own history: added or corrected by hand, by whom.
  const records = await recordHistory(
    db,
    [
      { type: 'contact', id: deal.contactId },
      { type: 'company', id: deal.companyId },
    ],
    LIMIT,
  )
  for (const r of records)
    entries.push({
      at: r.at,
      kind: 'record',
      ...describeRecordChange(r),
      actor: r.actorName,
      tone: null,
      badge: null,
    })
  return entries.sort((a, b) => b.at.getTime() - a.at.getTime())
}

/** `${dealId} ${offer}` for each gated asset the deals' contacts have downloaded at least once. */
export async function downloadedOffers(db: Db, dealIds: string[]): Promise<Set<string>> {
  if (dealIds.length === 0) return new Set()
  const rows = await db
    .selectDistinct({ dealId: deals.id, offer: downloadTokens.offer })
    .from(deals)
    .innerJoin(downloadTokens, eq(downloadTokens.contactId, deals.contactId))
    .where(and(inArray(deals.id, dealIds), gt(downloadTokens.downloads, 0)))
  return new Set(rows.map((r) => `${r.dealId} ${r.offer}`))
}

interface EventContext {
  currency: string
  personName: (contactId: string) => string | null
  downloaded: (offer: string) => boolean
  timeZone: string
}

function fromDealEvent(
  e: typeof dealEvents.$inferSelect,
  actor: string | null,
  context: EventContext,
): TimelineEntry {
  const data = (e.data ?? {}) as Record<string, unknown>
  const base = { at: e.createdAt, actor, tone: null, badge: null, detail: null } as const
  const name = (s: string | null) => (s && isStageKey(s) ? stageWithProbability(s) : (s ?? '?'))
  switch (e.type) {
    case 'created':
      return {
        ...base,
        kind: 'created',
        title: `Became a deal at ${name(e.toStage)}`,
        detail: typeof data.source === 'string' ? `Source: ${data.source}` : null,
      }
    case 'evidence': {
      const evidence = describeEvidence(data, {
        downloaded: typeof data.offer === 'string' && context.downloaded(data.offer),
        timeZone: context.timeZone,
      })
      return {
        ...base,
        kind: 'evidence',
        title: evidence.summary,
        badge: evidence.source,
        evidence,
      }
    }
    case 'claimed':
      return {
        ...base,
        kind: 'claimed',
        title: data.assigned
          ? data.ownerId
            ? 'Assigned to a rep'
            : 'Returned to the queue'
          : 'Taken over',
      }
    case 'stage_changed': {
      const move =
        isStageKey(e.fromStage) && isStageKey(e.toStage)
          ? { from: e.fromStage, to: e.toStage }
          : null
      // Out of lost is reopened, not moved back (lost's order is past won's): as the funnel counts it.
      const reopened = !!move && isReopening(move.from, move.to)
      const back = !!move && stagesBack(move.from, move.to) > 0
      const extra = [
        typeof data.lostReason === 'string' ? `Reason: ${data.lostReason}` : null,
        typeof data.contractSignedOn === 'string'
          ? `Contract signed ${formatDate(data.contractSignedOn)}`
          : null,
        typeof data.paymentReceivedOn === 'string'
          ? `Paid ${formatDate(data.paymentReceivedOn)}`
          : null,
      ].filter(Boolean)
      return {
        ...base,
        kind: 'stage',
        title: `${name(e.fromStage)} → ${name(e.toStage)}`,
        detail: extra.length ? extra.join(' · ') : null,
        tone: e.toStage === 'won' ? 'ok' : e.toStage === 'lost' ? 'danger' : back ? 'warn' : null,
        badge:
          e.toStage === 'won'
            ? 'won'
            : e.toStage === 'lost'
              ? 'lost'
              : reopened
                ? 'reopened'
                : back
                  ? 'moved back'
                  : null,
      }
    }
    case 'note':
      return {
        ...base,
        kind: 'note',
        title: 'Note',
        detail: typeof data.body === 'string' ? data.body : null,
      }
    case 'updated':
      return { ...base, kind: 'updated', ...describeUpdate(data, context) }
    case 'activity':
      return { ...base, kind: 'activity', ...describeActivityEvent(data) }
  }
}

const DATE_FIELDS = new Set(['expectedCloseDate', 'contractSignedOn', 'paymentReceivedOn'])
const FIELD_NAMES: Record<string, string> = {
  title: 'Title',
  amountCents: 'Amount',
  currency: 'Currency',
  expectedCloseDate: 'Expected close',
  contractSignedOn: 'Contract signed',
  paymentReceivedOn: 'Payment received',
  budgetNotes: 'Budget notes',
  decisionProcessNotes: 'Decision process',
}

function describeUpdate(
  data: Record<string, unknown>,
  context: EventContext,
): { title: string; detail: string | null } {
  const currency = context.currency
  if (data.stakeholder && typeof data.stakeholder === 'object') {
    const s = data.stakeholder as { contactId?: string; role?: string; stance?: string }
    const who = typeof s.contactId === 'string' ? context.personName(s.contactId) : null
    const role = s.role && s.role in ROLE_NAMES ? ROLE_NAMES[s.role as StakeholderRole] : s.role
    return {
      title: who ? `Stakeholder: ${who}` : 'Stakeholder added or updated',
      detail: [role, s.stance].filter(Boolean).join(', '),
    }
  }
  if (data.stakeholderRemoved) return { title: 'Stakeholder removed', detail: null }
  const changes = (data.changes ?? {}) as Record<string, [unknown, unknown]>
  // Amounts read in the currency they were changed to (or the deal's).
  const money = typeof changes.currency?.[1] === 'string' ? changes.currency[1] : currency
  const parts = Object.entries(changes).map(([field, [from, to]]) => {
    const show = (v: unknown) => {
      if (v === null || v === undefined || v === '') return '—'
      if (field === 'amountCents') return formatMoney(Number(v), money)
      if (DATE_FIELDS.has(field) && typeof v === 'string') return formatDate(v)
      return String(v).slice(0, 80)
    }
    return `${FIELD_NAMES[field] ?? field}: ${show(from)} → ${show(to)}`
  })
  return { title: 'Details changed', detail: parts.join(' · ') || null }
}

/** The deal page: the deal with its people, company and a choice of company contacts. */
export async function dealContext(db: Db, deal: Deal) {
  const [contact] = await db.select().from(contacts).where(eq(contacts.id, deal.contactId))
  const [company] = deal.companyId
    ? await db.select().from(companies).where(eq(companies.id, deal.companyId))
    : []
  const [owner] = deal.ownerId
    ? await db
        .select({ id: users.id, name: users.name, email: users.email })
        .from(users)
        .where(eq(users.id, deal.ownerId))
    : []
  // The SDR credited with it (an outbound deal: the campaign's owner).
  const [sdr] = deal.sdrId
    ? await db
        .select({ id: users.id, name: users.name, email: users.email })
        .from(users)
        .where(eq(users.id, deal.sdrId))
    : []
  const colleagues = deal.companyId
    ? await db
        .select({
          id: contacts.id,
          firstName: contacts.firstName,
          lastName: contacts.lastName,
          email: contacts.emailDisplay,
          jobTitle: contacts.jobTitle,
        })
        .from(contacts)
        .where(and(eq(contacts.companyId, deal.companyId), ne(contacts.id, deal.contactId)))
        .orderBy(asc(contacts.lastName))
        .limit(50)
    : []
  return {
    contact: contact!,
    company: company ?? null,
    owner: owner ?? null,
    sdr: sdr ?? null,
    colleagues,
  }
}

/** Where a visit came from: campaign tags, the page it landed on, the site that sent it. */
export interface Touch {
  at: Date
  source: string | null
  medium: string | null
  campaign: string | null
  page: string | null
  referrer: string | null
}

interface TouchSubmission {
  at: Date
  utm: unknown
  firstTouch: unknown
  pageUrl: string | null
  referrer: string | null
}

const tagOf = (utm: unknown, name: string): string | null => {
  const v = utm && typeof utm === 'object' ? (utm as Record<string, unknown>)[name] : null
  return typeof v === 'string' && v ? v : null
}

function touchFrom(utm: unknown, at: Date, page: string | null, referrer: string | null): Touch {
  return {
    at,
    source: tagOf(utm, 'utm_source'),
    medium: tagOf(utm, 'utm_medium'),
    campaign: tagOf(utm, 'utm_campaign'),
    page,
    referrer,
  }
}

/**
 * First and latest touch of a contact from their submissions. First: the first-touch cookie of
 * the earliest post that carries one (the campaign of their very first visit), else the earliest
 * post's own tags. Latest: the newest post's own tags, page and referrer. Pure.
 */
export function touchesOf(posts: TouchSubmission[]): { first: Touch | null; latest: Touch | null } {
  if (posts.length === 0) return { first: null, latest: null }
  const sorted = [...posts].sort((a, b) => a.at.getTime() - b.at.getTime())
  const withCookie = sorted.find((p) => p.firstTouch && typeof p.firstTouch === 'object')
  const cookie = withCookie?.firstTouch as
    { utm?: unknown; landingPage?: unknown; referrer?: unknown; ts?: unknown } | undefined
  const earliest = sorted[0]!
  const first = cookie
    ? touchFrom(
        cookie.utm,
        typeof cookie.ts === 'string' && !Number.isNaN(Date.parse(cookie.ts))
          ? new Date(cookie.ts)
          : withCookie!.at,
        typeof cookie.landingPage === 'string' ? cookie.landingPage : null,
        typeof cookie.referrer === 'string' ? cookie.referrer : null,
      )
    : touchFrom(earliest.utm, earliest.at, earliest.pageUrl, earliest.referrer)
  const newest = sorted[sorted.length - 1]!
  return { first, latest: touchFrom(newest.utm, newest.at, newest.pageUrl, newest.referrer) }
}

/** First and latest touch of each deal's contact (inbound forms and grader unlocks alike). */
export async function dealTouches(
  db: Db,
  dealIds: string[],
): Promise<Map<string, { first: Touch | null; latest: Touch | null }>> {
  if (dealIds.length === 0) return new Map()
  const rows = await db
    .select({
      dealId: deals.id,
      at: submissions.createdAt,
      utm: submissions.utm,
      firstTouch: submissions.firstTouch,
      pageUrl: submissions.pageUrl,
      referrer: submissions.referrer,
    })
    .from(deals)
    .innerJoin(submissions, eq(submissions.contactId, deals.contactId))
    .where(inArray(deals.id, dealIds))
  const byDeal = new Map<string, TouchSubmission[]>()
  for (const r of rows) byDeal.set(r.dealId, [...(byDeal.get(r.dealId) ?? []), r])
  return new Map(dealIds.map((id) => [id, touchesOf(byDeal.get(id) ?? [])]))
}

/** "linkedin / social / q4-launch", or what is known of it; null when nothing is. */
export function touchLine(touch: Touch | null): string | null {
  if (!touch) return null
  const tags = [touch.source, touch.medium, touch.campaign].filter(Boolean).join(' / ')
  if (tags) return tags
  if (touch.referrer) {
    try {
      return `referred by ${new URL(touch.referrer).host}`
    } catch {
      return `referred by ${touch.referrer}`
    }
  }
  return 'direct (no campaign tags, no referrer)'
}
