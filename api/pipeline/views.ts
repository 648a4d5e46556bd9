import { can } from '../accounts/permissions.ts'
import { zoneOf } from '../accounts/users.ts'
import { addDays, instantOf } from '../accounts/time-zones.ts'
import { nextStepsOf, noNextStepCounts } from './activities.ts'
import type { Db } from '../db/client.ts'
import {
  dealAccess,
  decisionMakerEngaged,
  findDeal,
  isCalendarDate,
  listStakeholders,
  type Actor,
} from './deals.ts'
import {
  DAY_MS,
  isStale,
  moneyOf,
  type Forecast,
  type Money,
  type Period,
  type StageStats,
} from './metrics.ts'
import {
  boardColumns,
  boardFilterSql,
  columnCards,
  dealList,
  dealOwners,
  forecast,
  leadQueue,
  newContacts,
  periodFlow,
  staleCounts,
  undatedDeals,
  type BoardColumn,
  type BoardFilters,
  type ListSort,
  type CardPage,
  type DealCard,
  type LeadSource,
  type Scope,
} from './queries.ts'
import { resolveScope } from './scope.ts'
import { loadPipelineSettings, type PipelineSettings } from './settings.ts'
import { BOARD_STAGES, stageOf, type StageKey } from './stages.ts'
import { dealContext, dealTimeline } from './timeline.ts'
import { isId } from '../ids.ts'

// What the pipeline pages show, one function per page (or per JSON resource), shared by the
// Astro page and the JSON route that serve the same data, so the two cannot drift. A view checks
// who is asking, reads, and returns either the data or why not (status, code, message); each
// edge parses its own input (pages are lenient with a bad query parameter, the API answers 422)
// and renders or serialises the result.

type Viewer = Actor | null | undefined

export type Refusal = {
  ok: false
  status: 403 | 404
  code: 'forbidden' | 'not_found'
  message: string
}

const refuse = (status: Refusal['status'], message: string): Refusal => ({
  ok: false,
  status,
  code: status === 404 ? 'not_found' : 'forbidden',
  message,
})

const NO_PIPELINE = 'Your role cannot see the pipeline.'

type Scoped = { ok: true; scope: Scope; owner: string }

/** `owner=me|team|<user id>` for this viewer (see resolveScope), or why not. */
function scopeFor(user: Viewer, owner: string | null | undefined): Scoped | Refusal {
  if (!user || !can(user, 'pipeline:read')) return refuse(403, NO_PIPELINE)
  const choice = resolveScope(user, owner)
  return choice.ok ? choice : refuse(403, choice.message)
}

/** The reps the "whose pipeline" switch offers: only to those who may look at others'. */
async function ownersFor(db: Db, user: Viewer) {
  return can(user, 'pipeline:read_team') ? dealOwners(db) : []
}

// ── Board (GET /api/deals/board, and the top of /app and /app/pipeline) ──────────────────────

/** Count, total, weighted amount and stale deals per board column, in the viewer's scope. */
export async function boardView(
  db: Db,
  user: Viewer,
  now: Date,
  filters: { owner?: string | null } & BoardFilters,
) {
  const scoped = scopeFor(user, filters.owner)
  if (!scoped.ok) return scoped
  const settings = await loadPipelineSettings(db)
  const where = boardFilterSql(filters, settings, now)
  const columns = await boardColumns(db, scoped.scope, settings, now, filters)
  // Open deals without a planned next step, per stage: flagged like stale ones.
  const noNextStep = await noNextStepCounts(db, scoped.scope, where)
  const open = {
    ...openTotals(columns),
    noNextStep: Object.values(noNextStep).reduce((a, b) => a + b, 0),
  }
  return { ...scoped, settings, columns, noNextStep, open, where }
}

export interface OpenTotals {
  count: number
  money: Money[]
  stale: number
}

/** The open columns added up: deals, money per currency (weighted per stage), stale deals. Pure. */
export function openTotals(columns: readonly BoardColumn[]): OpenTotals {
  const open = columns.filter((c) => !stageOf(c.stage).closed)
  return {
    count: open.reduce((n, c) => n + c.count, 0),
    money: moneyOf(
      open.flatMap((c) =>
        c.money.map((m) => ({
          stage: c.stage,
          currency: m.currency,
          count: 0,
          totalCents: m.totalCents,
        })),
      ),
    ),
    stale: open.reduce((n, c) => n + c.stale, 0),
  }
}

// ── One column's cards (GET /api/deals?stage=) ───────────────────────────────────────────────

export async function stageCardsView(
  db: Db,
  user: Viewer,
  now: Date,
  filters: { owner?: string | null; stage: StageKey; after?: string | null } & BoardFilters,
) {
  const scoped = scopeFor(user, filters.owner)
  if (!scoped.ok) return scoped
  const where = boardFilterSql(filters, await loadPipelineSettings(db), now)
  const page = await columnCards(
    db,
    scoped.scope,
    filters.stage,
    { after: filters.after, where },
    now,
  )
  return { ...scoped, page }
}

// ── The list view (GET /api/deals/list, /app/pipeline?view=list) ────────────────────────────

/** The board's deals, filtered like it, as one list sorted by the viewer's choice. */
export async function listView(
  db: Db,
  user: Viewer,
  now: Date,
  filters: {
    owner?: string | null
    sort: ListSort
    dir: 'asc' | 'desc'
    page: number
  } & BoardFilters,
) {
  const scoped = scopeFor(user, filters.owner)
  if (!scoped.ok) return scoped
  const settings = await loadPipelineSettings(db)
  const where = boardFilterSql(filters, settings, now)
  const list = await dealList(db, scoped.scope, { ...filters, where }, now)
  const nextSteps = await nextStepsOf(
    db,
    list.cards.map((c) => c.id),
  )
  return { ...scoped, settings, list, nextSteps, owners: await ownersFor(db, user) }
}

// ── /app/pipeline ────────────────────────────────────────────────────────────────────────────

export const CARDS_ON_BOARD = 8
export const CARDS_IN_LIST = 25

/**
 * The board page: the columns, the first cards of each (or one stage's list, paged with
 * `after`), and the reps to switch to.
 */
export async function pipelineView(
  db: Db,
  user: Viewer,
  now: Date,
  filters: {
    owner?: string | null
    stage?: StageKey | null
    after?: string | null
  } & BoardFilters,
) {
  const board = await boardView(db, user, now, filters)
  if (!board.ok) return board
  const listStage = filters.stage && BOARD_STAGES.includes(filters.stage) ? filters.stage : null
  const cards = new Map<StageKey, CardPage>()
  for (const stage of listStage ? [listStage] : BOARD_STAGES) {
    const options = listStage
      ? { after: filters.after ?? null, limit: CARDS_IN_LIST, where: board.where }
      : { after: null, limit: CARDS_ON_BOARD, where: board.where }
    cards.set(stage, await columnCards(db, board.scope, stage, options, now))
  }
  const shown = [...cards.values()].flatMap((page) => page.cards.map((c) => c.id))
  // Each card's soonest open next step (none: the card says so).
  const nextSteps = await nextStepsOf(db, shown)
  return { ...board, listStage, cards, nextSteps, owners: await ownersFor(db, user) }
}

// ── /app (the start page) ────────────────────────────────────────────────────────────────────

const ATTENTION_STAGES = ['target', 'demo', 'decision_maker', 'negotiation', 'signed'] as const

/**
 * Up to `limit` stale deals in scope, longest in stage first: the first cards of each open column
 * (which come longest-waiting first) that are past their stage's threshold.
 */
export async function staleDeals(
  db: Db,
  scope: Scope,
  settings: Pick<PipelineSettings, 'staleDays'>,
  now: Date,
  limit: number,
): Promise<DealCard[]> {
  const found: DealCard[] = []
  for (const stage of ATTENTION_STAGES) {
    const page = await columnCards(db, scope, stage, { limit: Math.min(limit, 3) }, now)
    found.push(...page.cards.filter((c) => isStale(c, settings.staleDays, now)))
  }
  found.sort((a, b) => a.stageEnteredAt.getTime() - b.stageEnteredAt.getTime())
  return found.slice(0, limit)
}

/**
 * What needs doing now: leads waiting, the open pipeline, this month's forecast and up to six
 * deals that have sat too long (from the first cards of each open column, longest first).
 */
export async function homeView(db: Db, user: Viewer, now: Date) {
  const board = await boardView(db, user, now, { owner: null })
  if (!board.ok) return board
  const queue = await leadQueue(db, { limit: 3 })
  const month = (await forecast(db, board.scope, now, 1, await zoneOf(db, user!.id))).months[0]!
  return {
    ...board,
    queue,
    month,
    attention: await staleDeals(db, board.scope, board.settings, now, 6),
    team: board.owner === 'team',
    won: board.columns.find((c) => c.stage === 'won') ?? null,
  }
}

// ── /app/leads and GET /api/deals/queue ──────────────────────────────────────────────────────

/** The unclaimed 10% queue, newest first; everyone who reads the pipeline reads it. */
export async function leadsQueueView(
  db: Db,
  user: Viewer,
  filters: { source?: LeadSource | null; after?: string | null },
) {
  if (!can(user, 'pipeline:read')) return refuse(403, NO_PIPELINE)
  const queue = await leadQueue(db, {
    source: filters.source ?? null,
    after: filters.after ?? null,
  })
  return { ok: true as const, queue, canClaim: can(user, 'deals:claim') }
}

// ── /app/deals/:id and GET /api/deals/:id ────────────────────────────────────────────────────

/**
 * One deal as this viewer may see it: the deal, what they may do with it, its contact, company,
 * owner and the company's other contacts, stakeholders, timeline, the stale thresholds and (for
 * those who may reassign it) the reps to assign it to. `timeZone`: the reader's, for the times its
 * evidence names in words (UTC for the API).
 */
export async function dealView(db: Db, user: Viewer, id: string, timeZone = 'UTC') {
  if (!can(user, 'pipeline:read')) return refuse(403, NO_PIPELINE)
  const deal = isId(id) ? await findDeal(db, id) : null
  if (!deal) return refuse(404, 'There is no such deal.')
  const access = dealAccess(user, deal)
  if (!access.read) return refuse(403, 'This deal belongs to another rep.')
  const context = await dealContext(db, deal)
  const stakeholders = await listStakeholders(db, deal.id)
  const timeline = await dealTimeline(db, deal, context.contact.email, timeZone)
  const settings = await loadPipelineSettings(db)
  const owners = can(user, 'deals:edit_any') ? await dealOwners(db) : []
  return {
    ok: true as const,
    deal,
    access,
    ...context,
    stakeholders,
    decisionMakerEngaged: decisionMakerEngaged(stakeholders),
    timeline,
    evidence: timeline.filter((e) => e.kind === 'evidence').map((e) => e.evidence!),
    settings,
    owners,
  }
}

// ── /app/forecast and GET /api/deals/forecast ────────────────────────────────────────────────

/**
 * Weighted open deals by expected-close month from this month on the viewer's clock, the undated
 * ones listed (paged with `after`).
 */
export async function forecastView(
  db: Db,
  user: Viewer,
  now: Date,
  filters: { owner?: string | null; after?: string | null },
) {
  // "For me and for the team": a rep sees the team's forecast too, as totals only. Which deals
  // make them up (the undated list) stays with those who may read the team's pipeline.
  const totalsOnly =
    filters.owner === 'team' && can(user, 'pipeline:read') && !can(user, 'pipeline:read_team')
  const scoped: Scoped | Refusal = totalsOnly
    ? { ok: true, scope: { team: true }, owner: 'team' }
    : scopeFor(user, filters.owner)
  if (!scoped.ok) return scoped
  const result = await forecast(db, scoped.scope, now, 6, await zoneOf(db, user!.id))
  const undated = totalsOnly
    ? null
    : await undatedDeals(db, scoped.scope, { after: filters.after ?? null })
  return {
    ...scoped,
    forecast: result,
    summary: forecastSummary(result),
    undated,
    owners: await ownersFor(db, user),
  }
}

export interface ForecastSummary {
  /** The chart's currency: the one with the most weighted value (others are in the table). */
  currency: string
  /** The six months shown, added up per currency. */
  months: Money[]
}

/** Pure: the chart currency and the months' totals. */
export function forecastSummary(result: Forecast): ForecastSummary {
  const buckets = [...result.months, result.overdue, result.later, result.undated]
  const weightBy = new Map<string, number>()
  for (const b of buckets)
    for (const m of b.money)
      weightBy.set(m.currency, (weightBy.get(m.currency) ?? 0) + m.weightedCents)
  const currency = [...weightBy.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'EUR'
  const totals = new Map<string, Money>()
  for (const m of result.months.flatMap((b) => b.money)) {
    const t = totals.get(m.currency) ?? { currency: m.currency, totalCents: 0, weightedCents: 0 }
    t.totalCents += m.totalCents
    t.weightedCents += m.weightedCents
    totals.set(m.currency, t)
  }
  return { currency, months: [...totals.values()] }
}

// ── /app/funnel ──────────────────────────────────────────────────────────────────────────────

export const FUNNEL_PERIODS = [30, 90, 180, 365] as const
const DEFAULT_DAYS = 90

export interface FunnelPeriod {
  period: Period
  /** The preset chosen (days), or 0 for a custom from–to range. */
  days: number
  from: string
  to: string
  error: string | null
}

/**
 * The period from the page's query: `from`/`to` (YYYY-MM-DD, both days included, from midnight
 * to midnight on the reader's clock, `timeZone`) or a preset `period` of days up to now; anything
 * else falls back to the last 90 days (with a message for a bad range). Pure.
 */
export function funnelPeriod(
  query: { period?: string | null; from?: string | null; to?: string | null },
  now: Date,
  timeZone = 'UTC',
): FunnelPeriod {
  const from = query.from ?? ''
  const to = query.to ?? ''
  const last = (days: number): Period => ({
    from: new Date(now.getTime() - days * DAY_MS),
    to: now,
  })
  if (from || to) {
    if (isCalendarDate(from) && isCalendarDate(to) && from <= to) {
      const period = {
        from: instantOf(from, null, timeZone),
        to: instantOf(addDays(to, 1), null, timeZone),
      }
      return { period, days: 0, from, to, error: null }
    }
    return {
      period: last(DEFAULT_DAYS),
      days: DEFAULT_DAYS,
      from,
      to,
      error: 'Choose a start and an end date (YYYY-MM-DD), the start not after the end.',
    }
  }
  const asked = Number(query.period ?? DEFAULT_DAYS)
  const days = (FUNNEL_PERIODS as readonly number[]).includes(asked) ? asked : DEFAULT_DAYS
  return { period: last(days), days, from, to, error: null }
}

export interface Bottlenecks {
  /** The stages to show: every open stage, the prospect stage only when deals left it. */
  stats: StageStats[]
  /** Lowest conversion and longest median among stages with at least three exits. */
  worst: StageStats | null
  slowest: StageStats | null
}

/** Pure: which stages to show and which to call out. */
export function bottlenecks(all: readonly StageStats[]): Bottlenecks {
  const stats = all.filter((s) => s.stage !== 'opportunity' || s.exits > 0)
  // The prospect stage waits on the prospect, not on a rep: not a bottleneck to call out.
  const measured = stats.filter(
    (s) => s.stage !== 'opportunity' && s.exits >= 3 && s.conversion !== null,
  )
  const worst = measured.length
    ? measured.reduce((a, b) => (b.conversion! < a.conversion! ? b : a))
    : null
  const slowest = measured.length
    ? measured.reduce((a, b) => ((b.medianDays ?? 0) > (a.medianDays ?? 0) ? b : a))
    : null
  return { stats, worst, slowest }
}

/**
 * Bottlenecks of a period: conversion and median days per stage (from the stage history), the
 * funnel, deals stale now, and for the team view the new contacts at the top of the funnel.
 */
export async function funnelView(
  db: Db,
  user: Viewer,
  now: Date,
  filters: { owner?: string | null; period: Period },
) {
  const scoped = scopeFor(user, filters.owner)
  if (!scoped.ok) return scoped
  const settings = await loadPipelineSettings(db)
  const flow = await periodFlow(db, scoped.scope, filters.period)
  // New contacts belong to no rep: only the team view shows them.
  const contacts = scoped.owner === 'team' ? await newContacts(db, filters.period) : null
  const stale = await staleCounts(db, scoped.scope, settings, now)
  const owners = await ownersFor(db, user)
  return {
    ...scoped,
    settings,
    ...flow,
    ...bottlenecks(flow.stats),
    contacts,
    contactTotal: contacts ? Object.values(contacts).reduce((a, b) => a + b, 0) : 0,
    targets: flow.funnel[0]?.reached ?? 0,
    stale,
    owners,
  }
}
