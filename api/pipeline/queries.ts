import {
  and,
  asc,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  or,
  sql,
  type SQL,
} from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import {
  companies,
  contacts,
  dealEvents,
  deals,
  dealStakeholders,
  LEAD_SOURCES,
  stageMoves,
  users,
  type LeadSource,
} from '../db/schema.ts'
import {
  BOARD_STAGES,
  FUNNEL_PATH,
  OPEN_BOARD_STAGES,
  OPEN_STAGES,
  STAGES,
  stageOf,
  type StageKey,
} from './stages.ts'
import {
  DAY_MS,
  forecastOf,
  monthKeys,
  moneyOf,
  thresholdOf,
  type AmountGroup,
  type Forecast,
  type ForecastGroup,
  type FunnelStep,
  type Money,
  type Period,
  type StageStats,
} from './metrics.ts'
import type { PipelineSettings } from './settings.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { localDay } from '../accounts/time-zones.ts'
import { isCalendarMonth } from './deals.ts'
import type { Evidence } from './qualification.ts'

// What the pipeline pages read, as SQL aggregates over indexed columns and keyset-paginated
// lists: no page ever loads every deal. The numbers follow the definitions in metrics.ts.

/** Whose deals: one owner's, or every claimed deal (the team). */
export type Scope = { ownerId: string } | { team: true }

/** Won and lost columns show deals closed in this many recent days. */
export const CLOSED_WINDOW_DAYS = 90
export const PAGE_SIZE = 25

function scopeFilter(scope: Scope): SQL {
  return 'ownerId' in scope ? eq(deals.ownerId, scope.ownerId) : isNotNull(deals.ownerId)
}

// A stage's order in SQL: its position in the stage table (array_position is 1-based). One
// function call per row is measurably cheaper than a CASE over eight stages in the period scans.
const STAGE_ARRAY = sql.raw(`'{${STAGES.map((s) => s.key).join(',')}}'::text[]`)
const stageOrder = (column: SQL | typeof deals.stage | typeof dealEvents.toStage) =>
  sql`(array_position(${STAGE_ARRAY}, ${column}) - 1)`

// ── Board ────────────────────────────────────────────────────────────────────────────────────

export interface BoardColumn {
  stage: StageKey
  count: number
  money: Money[]
  stale: number
}

/**
 * Per board column: count, total and weighted amount per currency, and how many are stale.
 * Open stages count every deal in scope; won and lost count deals closed recently.
 */
export async function boardColumns(
  db: Db,
  scope: Scope,
  settings: Pick<PipelineSettings, 'staleDays'>,
  now: Date,
  filters: BoardFilters = {},
): Promise<BoardColumn[]> {
  const staleCase = staleCutoffCase(settings, now)
  const filtered = boardFilterSql(filters, settings, now)
  const rows = rowsOf<{
    stage: StageKey
    currency: string
    n: number
    total: number
    stale: number
  }>(
    await db.execute(sql`
      select ${deals.stage} as stage, ${deals.currency} as currency, count(*)::int as n,
             coalesce(sum(${deals.amountCents}), 0)::float8 as total,
             count(*) filter (where ${deals.stageEnteredAt} < ${staleCase})::int as stale
      from ${deals}
      where ${and(scopeFilter(scope), onBoard(now), ...filtered)}
      group by 1, 2`),
  )
  return BOARD_STAGES.map((stage) => {
    const list = rows.filter((r) => r.stage === stage)
    const groups: AmountGroup[] = list.map((r) => ({
      stage,
      currency: r.currency,
      count: r.n,
      totalCents: r.total,
    }))
    return {
      stage,
      count: list.reduce((n, r) => n + r.n, 0),
      money: moneyOf(groups),
      stale: list.reduce((n, r) => n + r.stale, 0),
    }
  })
}

/** A timestamp per stage before which a deal there is stale (never, for closed stages). */
function staleCutoffCase(settings: Pick<PipelineSettings, 'staleDays'>, now: Date): SQL {
  const whens = OPEN_STAGES.flatMap((stage) => {
    const days = thresholdOf(stage, settings.staleDays)
    return days === null
      ? []
      : [sql`when ${stage} then ${new Date(now.getTime() - days * DAY_MS)}::timestamptz`]
  })
  return sql.join([sql`(case ${deals.stage}`, ...whens, sql`else null end)`], sql` `)
}

/** The deals a board shows: open ones, and those won or lost in the last CLOSED_WINDOW_DAYS. */
function onBoard(now: Date): SQL {
  const since = new Date(now.getTime() - CLOSED_WINDOW_DAYS * DAY_MS)
  return or(
    inArray(deals.stage, OPEN_BOARD_STAGES as StageKey[]),
    and(inArray(deals.stage, ['won', 'lost']), gte(deals.stageEnteredAt, since)),
  )!
}

/** What the board and the list may be narrowed to, besides whose deals (the scope). */
export interface BoardFilters {
  source?: LeadSource | null
  /** Only deals sitting in their stage past its threshold. */
  stale?: boolean
  /** Only open deals without a planned next step (deals.next_step_on is null). */
  noNextStep?: boolean
  /** Only deals expected to close in this month, YYYY-MM. */
  closeMonth?: string | null
}

/** The filters as conditions on `deals`. */
export function boardFilterSql(
  filters: BoardFilters,
  settings: Pick<PipelineSettings, 'staleDays'>,
  now: Date,
): SQL[] {
  const where: SQL[] = []
  if (filters.source) where.push(eq(deals.source, filters.source))
  // Closed stages have no threshold: the case is null there, so they drop out.
  if (filters.stale) where.push(sql`${deals.stageEnteredAt} < ${staleCutoffCase(settings, now)}`)
  if (filters.noNextStep)
    where.push(and(isNull(deals.nextStepOn), inArray(deals.stage, OPEN_STAGES as StageKey[]))!)
  // Only a month the edges accept (2000–2100): PostgreSQL has no year 0000 nor 10000.
  const month =
    filters.closeMonth && isCalendarMonth(filters.closeMonth)
      ? filters.closeMonth.match(/^(\d{4})-(\d{2})$/)
      : null
  if (month) {
    const first = `${month[1]}-${month[2]}-01`
    const next = new Date(Date.UTC(Number(month[1]), Number(month[2]), 1))
      .toISOString()
      .slice(0, 10)
    where.push(sql`${deals.expectedCloseDate} >= ${first}::date`)
    where.push(sql`${deals.expectedCloseDate} < ${next}::date`)
  }
  return where
}

export interface DealCard {
  id: string
  title: string
  stage: StageKey
  stageEnteredAt: Date
  amountCents: number | null
  currency: string
  expectedCloseDate: string | null
  ownerId: string | null
  ownerName: string | null
  companyName: string | null
  contactName: string
  contactEmail: string
  source: string
  decisionMakerEngaged: boolean
}

/** Position after the last card shown: `<ISO time>_<id>`. */
export type Cursor = string

const cardFields = {
  id: deals.id,
  title: deals.title,
  stage: deals.stage,
  stageEnteredAt: deals.stageEnteredAt,
  amountCents: deals.amountCents,
  currency: deals.currency,
  expectedCloseDate: deals.expectedCloseDate,
  ownerId: deals.ownerId,
  ownerName: users.name,
  companyName: sql<string | null>`coalesce(${companies.name}, ${contacts.companyName})`,
  firstName: contacts.firstName,
  lastName: contacts.lastName,
  contactEmail: contacts.emailDisplay,
  source: deals.source,
  decisionMakerEngaged: sql<boolean>`exists (select 1 from ${dealStakeholders} s where s.deal_id = ${deals.id} and s.role in ('decision_maker', 'economic_buyer') and s.stance <> 'opposed')`,
}

type CardRow = { [K in keyof typeof cardFields]: unknown } & Record<string, unknown>

function toCard(r: CardRow): DealCard {
  const name = [r.firstName, r.lastName].filter(Boolean).join(' ')
  return {
    id: r.id as string,
    title: r.title as string,
    stage: r.stage as StageKey,
    stageEnteredAt: r.stageEnteredAt as Date,
    amountCents: r.amountCents === null ? null : Number(r.amountCents),
    currency: r.currency as string,
    expectedCloseDate: r.expectedCloseDate as string | null,
    ownerId: r.ownerId as string | null,
    ownerName: r.ownerName as string | null,
    companyName: r.companyName as string | null,
    contactName: name || (r.contactEmail as string),
    contactEmail: r.contactEmail as string,
    source: r.source as string,
    decisionMakerEngaged: r.decisionMakerEngaged === true || r.decisionMakerEngaged === 't',
  }
}

export interface CardPage {
  cards: DealCard[]
  /** Pass back as `after` for the next page; null on the last page. */
  next: Cursor | null
}

/**
 * One column's cards: open stages longest-waiting first (they need attention), won and lost most
 * recent first. Keyset pagination on (stage_entered_at, id) stays fast at any depth.
 */
export async function columnCards(
  db: Db,
  scope: Scope,
  stage: StageKey,
  options: { after?: Cursor | null; limit?: number; where?: SQL[] },
  now: Date,
): Promise<CardPage> {
  const closed = stageOf(stage).closed
  const where: SQL[] = [eq(deals.stage, stage), scopeFilter(scope), ...(options.where ?? [])]
  if (closed)
    where.push(
      sql`${deals.stageEnteredAt} >= ${new Date(now.getTime() - CLOSED_WINDOW_DAYS * DAY_MS)}`,
    )
  return cardPage(db, where, closed ? 'desc' : 'asc', options)
}

/**
 * A page of deal cards in (stage_entered_at, id) order after the cursor, oldest or newest first.
 * Keyset pagination stays fast at any depth; `next` is the cursor of the following page.
 */
async function cardPage(
  db: Db,
  where: SQL[],
  direction: 'asc' | 'desc',
  options: { after?: Cursor | null; limit?: number },
): Promise<CardPage> {
  const limit = options.limit ?? PAGE_SIZE
  const cursor = parseCursor(options.after)
  const [past, by] = direction === 'asc' ? [gt, asc] : [lt, desc]
  const conditions = cursor
    ? [
        ...where,
        or(
          past(deals.stageEnteredAt, cursor.at),
          and(eq(deals.stageEnteredAt, cursor.at), past(deals.id, cursor.id)),
        )!,
      ]
    : where
  const rows = await db
    .select(cardFields)
    .from(deals)
    .innerJoin(contacts, eq(contacts.id, deals.contactId))
    .leftJoin(companies, eq(companies.id, deals.companyId))
    .leftJoin(users, eq(users.id, deals.ownerId))
    .where(and(...conditions))
    .orderBy(by(deals.stageEnteredAt), by(deals.id))
    .limit(limit + 1)
  const cards = rows.map((r) => toCard(r as CardRow))
  const shown = cards.slice(0, limit)
  const last = shown.at(-1)
  return {
    cards: shown,
    next: cards.length > limit && last ? `${last.stageEnteredAt.toISOString()}_${last.id}` : null,
  }
}

// ── The list view ────────────────────────────────────────────────────────────────────────────

export const LIST_SORTS = [
  'stage',
  'amount',
  'close',
  'age',
  'company',
  'owner',
  'created',
] as const
export type ListSort = (typeof LIST_SORTS)[number]
export const LIST_PAGE_SIZE = 50

export interface ListPage {
  cards: DealCard[]
  total: number
  page: number
  pageCount: number
}

/**
 * The board's deals (open, and closed in the window) as one sorted list, a page at a time.
 * `age` is days in stage (ascending: the newest arrivals first); empty amounts and close dates
 * sort last either way; ties go by id, so pages never overlap.
 */
export async function dealList(
  db: Db,
  scope: Scope,
  options: { where?: SQL[]; sort: ListSort; dir: 'asc' | 'desc'; page: number; limit?: number },
  now: Date,
): Promise<ListPage> {
  const limit = options.limit ?? LIST_PAGE_SIZE
  const where = and(scopeFilter(scope), onBoard(now), ...(options.where ?? []))
  const by = options.dir === 'asc' ? asc : desc
  const nullsLast = (column: SQL | typeof deals.amountCents | typeof deals.expectedCloseDate) =>
    sql`${column} ${sql.raw(options.dir)} nulls last`
  const order: SQL[] = {
    stage: [by(stageOrder(deals.stage))],
    amount: [nullsLast(deals.amountCents)],
    close: [nullsLast(deals.expectedCloseDate)],
    age: [(options.dir === 'asc' ? desc : asc)(deals.stageEnteredAt)],
    company: [by(sql`lower(coalesce(${companies.name}, ${contacts.companyName}, ${deals.title}))`)],
    owner: [nullsLast(sql`lower(${users.name})`)],
    created: [by(deals.createdAt)],
  }[options.sort]
  const [rows, [counted]] = await Promise.all([
    db
      .select(cardFields)
      .from(deals)
      .innerJoin(contacts, eq(contacts.id, deals.contactId))
      .leftJoin(companies, eq(companies.id, deals.companyId))
      .leftJoin(users, eq(users.id, deals.ownerId))
      .where(where)
      .orderBy(...order, by(deals.id))
      .limit(limit)
      .offset((options.page - 1) * limit),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(deals)
      .where(where),
  ])
  const total = counted?.n ?? 0
  return {
    cards: rows.map((r) => toCard(r as CardRow)),
    total,
    page: options.page,
    pageCount: Math.max(1, Math.ceil(total / limit)),
  }
}

export function parseCursor(value: string | null | undefined): { at: Date; id: string } | null {
  const m = value?.match(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-zA-Z-]{1,64})$/)
  if (!m) return null
  const at = new Date(m[1]!)
  // Only an instant as the cursors write it (toISOString) and the database holds it: no 30
  // February rolled into March, no year 0000 (PostgreSQL has no year 0, and refused the query).
  if (Number.isNaN(at.getTime()) || at.toISOString() !== m[1] || at.getUTCFullYear() < 1)
    return null
  return { at, id: m[2]! }
}

// ── Qualified-leads queue ────────────────────────────────────────────────────────────────────

export type { LeadSource }

export interface QueueLead extends DealCard {
  /** The deal's evidence entries as qualification wrote them, newest first. */
  evidence: Array<{ data: Evidence; at: Date }>
}

export interface QueuePage {
  leads: QueueLead[]
  next: Cursor | null
  /** How many are waiting (capped: `countCapped` says when there are more). */
  count: number
  countCapped: boolean
}

const COUNT_CAP = 1000

/** Unclaimed deals at `target`, newest target first, each with its evidence entries. */
export async function leadQueue(
  db: Db,
  options: { source?: LeadSource | null; after?: Cursor | null; limit?: number },
): Promise<QueuePage> {
  const base: SQL[] = [eq(deals.stage, 'target'), isNull(deals.ownerId)]
  if (options.source) base.push(eq(deals.source, options.source))
  const page = await cardPage(db, base, 'desc', options)
  const ids = page.cards.map((c) => c.id)
  const evidence = ids.length
    ? await db
        .select({ dealId: dealEvents.dealId, data: dealEvents.data, at: dealEvents.createdAt })
        .from(dealEvents)
        .where(and(inArray(dealEvents.dealId, ids), eq(dealEvents.type, 'evidence')))
        .orderBy(desc(dealEvents.createdAt))
    : []
  const [counted] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from (select 1 from ${deals} where ${and(...base)} limit ${COUNT_CAP + 1}) q`,
    ),
  )
  const n = counted?.n ?? 0
  return {
    leads: page.cards.map((c) => ({
      ...c,
      evidence: evidence
        .filter((e) => e.dealId === c.id)
        .map((e) => ({ data: e.data as Evidence, at: e.at })),
    })),
    next: page.next,
    count: Math.min(n, COUNT_CAP),
    countCapped: n > COUNT_CAP,
  }
}

/**
 * Unclaimed leads that became targets after `since` (for the reps' email), oldest first; with
 * `afterId`, also those at `since` itself with a later id, so a batch cut at `limit` among leads
 * of one instant goes on where it stopped.
 */
export async function leadsSince(db: Db, since: Date, limit: number, afterId?: string | null) {
  const after = afterId
    ? or(
        gt(deals.stageEnteredAt, since),
        and(eq(deals.stageEnteredAt, since), gt(deals.id, afterId)),
      )
    : gt(deals.stageEnteredAt, since)
  const rows = await db
    .select({ ...cardFields, jobTitle: contacts.jobTitle })
    .from(deals)
    .innerJoin(contacts, eq(contacts.id, deals.contactId))
    .leftJoin(companies, eq(companies.id, deals.companyId))
    .leftJoin(users, eq(users.id, deals.ownerId))
    .where(and(eq(deals.stage, 'target'), isNull(deals.ownerId), after))
    .orderBy(asc(deals.stageEnteredAt), asc(deals.id))
    .limit(limit)
  return rows.map((r) => ({ ...toCard(r as CardRow), jobTitle: r.jobTitle }))
}

// ── Forecast ─────────────────────────────────────────────────────────────────────────────────

/**
 * Weighted amount of open deals in scope by expected-close month (see forecastBuckets), the
 * months counted from this one on the reader's clock: close dates are calendar days, and a deal
 * won at 18:00 on 30 November in Los Angeles closed in November (deals.ts), so the evening is
 * still November there, not UTC's December with that day overdue.
 */
export async function forecast(
  db: Db,
  scope: Scope,
  now: Date,
  months = 6,
  timeZone = 'UTC',
): Promise<Forecast> {
  const today = new Date(`${localDay(now, timeZone)}T00:00:00Z`)
  const keys = monthKeys(today, months)
  const first = `${keys[0]}-01`
  const [y, m] = keys[keys.length - 1]!.split('-').map(Number) as [number, number]
  const afterLast = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10)
  const rows = rowsOf<{
    bucket: string
    stage: StageKey
    currency: string
    n: number
    total: number
  }>(
    await db.execute(sql`
      select case when ${deals.expectedCloseDate} is null then 'undated'
                  when ${deals.expectedCloseDate} < ${first}::date then 'overdue'
                  when ${deals.expectedCloseDate} >= ${afterLast}::date then 'later'
                  else to_char(${deals.expectedCloseDate}, 'YYYY-MM') end as bucket,
             ${deals.stage} as stage, ${deals.currency} as currency, count(*)::int as n,
             coalesce(sum(${deals.amountCents}), 0)::float8 as total
      from ${deals}
      where ${scopeFilter(scope)} and ${inArray(deals.stage, OPEN_STAGES as StageKey[])}
      group by 1, 2, 3`),
  )
  const groups: ForecastGroup[] = rows.map((r) => ({
    bucket: r.bucket,
    stage: r.stage,
    currency: r.currency,
    count: r.n,
    totalCents: r.total,
  }))
  return forecastOf(groups, today, months)
}

/** Open deals in scope without an expected close date, longest in stage first. */
export async function undatedDeals(
  db: Db,
  scope: Scope,
  options: { after?: Cursor | null; limit?: number },
): Promise<CardPage> {
  return cardPage(
    db,
    [
      scopeFilter(scope),
      inArray(deals.stage, OPEN_STAGES as StageKey[]),
      isNull(deals.expectedCloseDate),
    ],
    'asc',
    options,
  )
}

// ── Bottlenecks ──────────────────────────────────────────────────────────────────────────────

export interface PeriodFlow {
  stats: StageStats[]
  funnel: FunnelStep[]
}

/**
 * The bottleneck numbers of a period from one range scan over its stage moves: per (from, to)
 * pair how many moves, and per stage the median time in it (see stageStats and funnelFrom for
 * the definitions). stage_moves is the stage history as narrow rows kept by the database (see
 * the schema), so the scan reads a covering index rather than the event rows.
 */
export async function periodFlow(db: Db, scope: Scope, period: Period): Promise<PeriodFlow> {
  const owner = 'ownerId' in scope ? sql` and ${stageMoves.ownerId} = ${scope.ownerId}` : sql``
  const rows = rowsOf<{
    from_stage: StageKey | null
    to_stage: StageKey | null
    n: number
    median_s: number | null
    per_stage: number
  }>(
    await db.execute(sql`
      select ${stageMoves.fromStage} as from_stage, ${stageMoves.toStage} as to_stage, count(*)::int as n,
             percentile_cont(0.5) within group (order by ${stageMoves.secondsInStage}) as median_s,
             grouping(${stageMoves.toStage}) as per_stage
      from ${stageMoves}
      where ${stageMoves.movedAt} >= ${period.from} and ${stageMoves.movedAt} < ${period.to}${owner}
      group by grouping sets ((${stageMoves.fromStage}, ${stageMoves.toStage}), (${stageMoves.fromStage}))`),
  )
  const pairs = rows.filter((r) => Number(r.per_stage) === 0 && r.to_stage !== null)
  const order = (key: StageKey | null) => (key === null ? -1 : stageOf(key).order)
  const stats = OPEN_STAGES.map((stage): StageStats => {
    const out = pairs.filter((r) => r.from_stage === stage)
    const sum = (keep: (to: StageKey) => boolean) =>
      out.filter((r) => keep(r.to_stage!)).reduce((n, r) => n + r.n, 0)
    const exits = sum(() => true)
    const advanced = sum((to) => to !== 'lost' && order(to) > order(stage))
    const median =
      rows.find((r) => Number(r.per_stage) === 1 && r.from_stage === stage)?.median_s ?? null
    return {
      stage,
      exits,
      advanced,
      lost: sum((to) => to === 'lost'),
      back: sum((to) => to !== 'lost' && order(to) <= order(stage)),
      conversion: exits ? advanced / exits : null,
      medianDays: exits && median !== null ? Number(median) / 86_400 : null,
    }
  })
  // As funnelFrom: a move from lost (off the path) reaches the stage it reopens at, only.
  const funnel = FUNNEL_PATH.slice(FUNNEL_PATH.indexOf('target')).map((stage) => ({
    stage,
    reached: pairs
      .filter((r) =>
        r.from_stage === 'lost'
          ? r.to_stage === stage
          : r.to_stage !== 'lost' &&
            order(r.from_stage) < order(stage) &&
            order(r.to_stage) >= order(stage),
      )
      .reduce((n, r) => n + r.n, 0),
  }))
  return { stats, funnel }
}

/** Conversion and median days per open stage over the stays that ended in the period. */
export async function stageStatsFor(db: Db, scope: Scope, period: Period): Promise<StageStats[]> {
  return (await periodFlow(db, scope, period)).stats
}

/** How many times deals reached each stage from target to won during the period. */
export async function funnelFor(db: Db, scope: Scope, period: Period): Promise<FunnelStep[]> {
  return (await periodFlow(db, scope, period)).funnel
}

/** Open deals in scope that are stale now, per stage: one index range per stage. */
export async function staleCounts(
  db: Db,
  scope: Scope,
  settings: Pick<PipelineSettings, 'staleDays'>,
  now: Date,
): Promise<Partial<Record<StageKey, number>>> {
  const ranges = OPEN_STAGES.flatMap((stage) => {
    const days = thresholdOf(stage, settings.staleDays)
    return days === null
      ? []
      : [
          sql`(${deals.stage} = ${stage} and ${deals.stageEnteredAt} < ${new Date(now.getTime() - days * DAY_MS)})`,
        ]
  })
  if (ranges.length === 0) return {}
  const rows = rowsOf<{ stage: StageKey; n: number }>(
    await db.execute(sql`select ${deals.stage} as stage, count(*)::int as n from ${deals}
      where (${sql.join(ranges, sql` or `)}) and ${scopeFilter(scope)} group by 1`),
  )
  return Object.fromEntries(
    OPEN_STAGES.map((stage) => [stage, rows.find((r) => r.stage === stage)?.n ?? 0]),
  )
}

/** Contacts created in the period by where they came from: the top of the funnel. */
export async function newContacts(db: Db, period: Period): Promise<Record<LeadSource, number>> {
  const rows = await db
    .select({ source: contacts.source, n: sql<number>`count(*)::int` })
    .from(contacts)
    .where(and(sql`${contacts.createdAt} >= ${period.from}`, lt(contacts.createdAt, period.to)))
    .groupBy(contacts.source)
  const out = Object.fromEntries(LEAD_SOURCES.map((s) => [s, 0])) as Record<LeadSource, number>
  for (const r of rows) out[r.source] = Number(r.n)
  return out
}

/** Active people who can own deals, for the admin's "whose pipeline" switch. */
export async function dealOwners(db: Db) {
  return db
    .select({ id: users.id, name: users.name, role: users.role })
    .from(users)
    .where(and(isNull(users.disabledAt), inArray(users.role, ['rep', 'admin'])))
    .orderBy(asc(users.name))
}
