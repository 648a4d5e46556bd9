import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { and, asc, count, desc, eq, gt, gte, inArray, lt, ne, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { contacts, deals, graderReports, graderUnlocks } from '../db/schema.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import { EnvError, type Env } from '../env.ts'
import type { CheckResult } from './engine/checks/check.ts'
import { pageFailureMessage, type PageFailure } from './engine/failures.ts'
import type { GradeResult, Teaser } from './engine/grade.ts'
import type { CategoryScore } from './engine/scoring.ts'
import { checkTargetUrl, normalizeGraderUrl } from './engine/target-url.ts'
import { isId, newId } from '../ids.ts'
import { RETENTION } from '../content/site.ts'
import { hitRateLimit, limitAddress, type Limit } from '../rate-limits.ts'

// Grader reports in the database: a visitor's request becomes a `grader_reports` row (or reuses a
// fresh one for the same URL), a job runner in the server process grades it (grader-jobs.ts:
// pending → running → done | failed, with a lease so a crashed process's job is taken again),
// and the gate decides what a viewer may see: the teaser for everyone, the full report for a
// visitor who unlocked it (grader-unlocks.ts) and for signed-in users.
//
// This module never imports the grading engine's runtime (grade.ts starts a worker thread by
// file URL), so Astro pages can read reports through it.

export type ReportRow = typeof graderReports.$inferSelect
export type ReportStatus = ReportRow['status']

// ── Settings ────────────────────────────────────────────────────────────────────────────────

export interface GraderSettings {
  /** IPs that count as public (GRADER_ALLOW_ADDRESSES); never in production. */
  allowAddresses: string[]
  /** Ports besides 80 and 443 named in GRADER_ALLOW_ADDRESSES entries (`127.0.0.1:8080`). */
  allowPorts: number[]
  /** A report for the same normalized URL younger than this is reused. */
  cacheMs: number
  /** Grade requests per client IP (cache hits included). */
  ipLimit: Limit
  /** New gradings per target host (cache hits excluded: they do not touch the site). */
  hostLimit: Limit
}

const MINUTE = 60_000

export const GRADER_DEFAULTS = {
  cacheMs: 10 * MINUTE,
  ipLimit: { limit: 10, windowMs: 10 * MINUTE },
  hostLimit: { limit: 5, windowMs: 10 * MINUTE },
} as const

/**
 * GRADER_ALLOW_ADDRESSES: comma-separated IPs that the grader treats as public, for trying the
 * grader on one machine (a loopback server playing a public site). An entry may name a port
 * (`127.0.0.1:8080`, `[::1]:8080`): the grader then also connects to that port, which it otherwise
 * never does (80 and 443 only). The port is allowed for every host, but every other address is
 * still refused, so nothing else on loopback or a private range becomes reachable.
 */
export function parseAllowList(value: string | undefined): {
  addresses: string[]
  ports: number[]
} {
  const addresses = new Set<string>()
  const ports = new Set<number>()
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    let address = entry
    let port: string | null = null
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
    if (bracketed) {
      address = bracketed[1]!
      port = bracketed[2] ?? null
    } else if (isIP(entry) === 0) {
      const withPort = /^([^:]+):(\d+)$/.exec(entry)
      if (withPort) {
        address = withPort[1]!
        port = withPort[2]!
      }
    }
    const portNumber = port === null ? null : Number(port)
    if (isIP(address) === 0 || (portNumber !== null && !(portNumber >= 1 && portNumber <= 65535))) {
      throw new EnvError(
        `Invalid configuration:\n  GRADER_ALLOW_ADDRESSES: "${entry.slice(0, 60)}" is not an IP address (optionally with :port)`,
      )
    }
    addresses.add(address)
    if (portNumber !== null) ports.add(portNumber)
  }
  return { addresses: [...addresses], ports: [...ports] }
}

const settingsCache = new WeakMap<object, GraderSettings>()

/** The grader's settings from the environment; the allow-list is ignored in production. */
export function graderSettingsFrom(
  env: Pick<Env, 'GRADER_ALLOW_ADDRESSES' | 'NODE_ENV'>,
): GraderSettings {
  const cached = settingsCache.get(env)
  if (cached) return cached
  // api/env.ts refuses the variable in production already; this keeps it true for any caller.
  const allow =
    env.NODE_ENV === 'production'
      ? { addresses: [], ports: [] }
      : parseAllowList(env.GRADER_ALLOW_ADDRESSES)
  const settings: GraderSettings = {
    allowAddresses: allow.addresses,
    allowPorts: allow.ports,
    ...GRADER_DEFAULTS,
  }
  settingsCache.set(env, settings)
  return settings
}

// ── Requesting a grade ──────────────────────────────────────────────────────────────────────

export type GradeTarget =
  { ok: true; url: string; host: string; blocked: boolean } | { ok: false; message: string }

/**
 * What the visitor typed → the URL we grade (the cache key) and its host. A host that can never
 * be a public website (`localhost`, `printer.local`, a single label) is not an input error: it is
 * `blocked`, and ends exactly like an address the fetcher refuses or a site that does not answer,
 * so the form tells nobody which targets we refuse.
 */
export function gradeTarget(
  input: string,
  settings: Pick<GraderSettings, 'allowPorts'>,
): GradeTarget {
  const rules = { allowPorts: settings.allowPorts }
  const normalized = normalizeGraderUrl(input, rules)
  if (normalized.ok)
    return { ok: true, url: normalized.url, host: hostOf(normalized.url), blocked: false }
  const url = looseUrl(input)
  if (url) {
    const verdict = checkTargetUrl(url, rules)
    if (!verdict.ok && verdict.kind === 'url' && verdict.reason.startsWith('host ')) {
      return { ok: true, url: url.href, host: hostOf(url.href), blocked: true }
    }
  }
  return { ok: false, message: normalized.message }
}

/** The same reading normalizeGraderUrl applies (https:// when no scheme was typed). */
function looseUrl(input: string): URL | null {
  let text = input.trim()
  if (text === '' || text.length > 2048) return null
  if (text.startsWith('//')) text = `https:${text}`
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`
  try {
    const url = new URL(text)
    url.hash = ''
    if (url.hostname.endsWith('.')) url.hostname = url.hostname.replace(/\.+$/, '')
    return url
  } catch {
    return null
  }
}

function hostOf(url: string): string {
  const { hostname } = new URL(url)
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
}

export type GradeRequest =
  | { kind: 'started' | 'reused'; report: ReportRow }
  | { kind: 'invalid'; message: string }
  | { kind: 'rate_limited'; scope: 'ip' | 'host'; message: string; retryAfterSeconds: number }

/**
 * Starts a grading or reuses a fresh one: validate → per-IP limit → a report for the same URL
 * younger than `cacheMs` (not a failed one) → per-host limit → a new pending report. Concurrent
 * requests for one URL are serialized on an advisory lock, so they share one report.
 */
export async function requestGrade(
  db: Db,
  input: { url: string; ip: string | null },
  settings: GraderSettings,
  now: Date,
): Promise<GradeRequest> {
  const target = gradeTarget(input.url, settings)
  if (!target.ok) return { kind: 'invalid', message: target.message }

  const byIp = await hitRateLimit(
    db,
    `grader:ip:${limitAddress(input.ip ?? 'unknown')}`,
    settings.ipLimit,
    now,
  )
  if (!byIp.allowed) {
    return {
      kind: 'rate_limited',
      scope: 'ip',
      retryAfterSeconds: byIp.retryAfterSeconds,
      message: `You have graded ${settings.ipLimit.limit} sites in a short time. Please try again in ${waitText(byIp.retryAfterSeconds)}.`,
    }
  }

  return db.transaction(async (tx): Promise<GradeRequest> => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`grader:${target.url}`}))`)
    const [fresh] = await tx
      .select()
      .from(graderReports)
      .where(
        and(
          eq(graderReports.normalizedUrl, target.url),
          gt(graderReports.createdAt, new Date(now.getTime() - settings.cacheMs)),
          ne(graderReports.status, 'failed'),
        ),
      )
      .orderBy(desc(graderReports.createdAt))
      .limit(1)
    if (fresh) return { kind: 'reused', report: fresh }

    const byHost = await hitRateLimit(tx, `grader:host:${target.host}`, settings.hostLimit, now)
    if (!byHost.allowed) {
      return {
        kind: 'rate_limited',
        scope: 'host',
        retryAfterSeconds: byHost.retryAfterSeconds,
        message: `${target.host} has been graded several times in the last few minutes. Please try again in ${waitText(byHost.retryAfterSeconds)}.`,
      }
    }
    const [report] = await tx
      .insert(graderReports)
      .values({
        id: newId(now.getTime()),
        normalizedUrl: target.url,
        host: target.host,
        // A name that can never be public fails at once, like a refused address would.
        status: target.blocked ? 'failed' : 'pending',
        error: target.blocked ? 'unreachable' : null,
        completedAt: target.blocked ? now : null,
        requesterIp: input.ip,
        createdAt: now,
      })
      .returning()
    return { kind: 'started', report: report! }
  })
}

function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`
  return `${Math.ceil(seconds / 60)} minutes`
}

// ── The queue (used by grader-jobs.ts) ──────────────────────────────────────────────────────

export interface ClaimOptions {
  now: Date
  /** How long a claimed job is ours; after that another process may take it again. */
  leaseMs: number
  /** Gradings running at once across every process sharing the database. */
  concurrency: number
  /** A job older than this is failed instead of being tried (again). */
  maxAgeMs: number
}

// Any constant: all claims take it, so the "how many are running" count cannot race.
/** The advisory lock a claim takes first: one claim at a time across processes. */
export const CLAIM_LOCK = 7_243_606

/**
 * Claims the oldest pending job, or a running one whose lease has run out (its process died).
 * The global concurrency limit is counted under an advisory lock, so it holds across processes.
 * Jobs that waited longer than `maxAgeMs` are failed on the way, and never claimed: each statement
 * of the transaction sees the rows committed before it began (READ COMMITTED), so a job committed
 * after the first statement is judged by its age again when the claim picks it.
 */
export async function claimNextReport(db: Db, options: ClaimOptions): Promise<ReportRow | null> {
  const { now } = options
  const tooOld = new Date(now.getTime() - options.maxAgeMs)
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`)
    const claimable = or(
      eq(graderReports.status, 'pending'),
      and(eq(graderReports.status, 'running'), lt(graderReports.leaseUntil, now)),
    )
    await tx
      .update(graderReports)
      .set({ status: 'failed', error: 'unreachable', completedAt: now, leaseUntil: null })
      .where(and(claimable, lt(graderReports.createdAt, tooOld)))
    const [running] = await tx
      .select({ n: count() })
      .from(graderReports)
      .where(and(eq(graderReports.status, 'running'), gt(graderReports.leaseUntil, now)))
    if ((running?.n ?? 0) >= options.concurrency) return null
    const [next] = await tx
      .select({ id: graderReports.id })
      .from(graderReports)
      .where(and(claimable, gte(graderReports.createdAt, tooOld)))
      .orderBy(asc(graderReports.createdAt), asc(graderReports.id))
      .limit(1)
      .for('update', { skipLocked: true })
    if (!next) return null
    const [claimed] = await tx
      .update(graderReports)
      .set({ status: 'running', leaseUntil: new Date(now.getTime() + options.leaseMs) })
      .where(eq(graderReports.id, next.id))
      .returning()
    return claimed ?? null
  })
}

/**
 * `value` with every string well-formed. A report quotes the graded page (its title, headings,
 * link texts) cut to a length, and a cut through an emoji leaves half of it: neither database
 * engine stores a lone surrogate in jsonb, so the finished grading could not be saved. A half
 * left at the end of a cut is dropped; any other becomes U+FFFD.
 */
function mendedText<T>(value: T): T {
  if (typeof value === 'string') {
    if (value.isWellFormed()) return value
    return value.replace(/[\ud800-\udbff]$/, '').toWellFormed() as T
  }
  if (Array.isArray(value)) return value.map(mendedText) as T
  const proto = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : false
  if (proto === Object.prototype || proto === null) {
    // fromEntries defines each key as data, so even a "__proto__" key stays a key.
    const entries = Object.entries(value as object)
    return Object.fromEntries(entries.map(([k, v]) => [mendedText(k), mendedText(v)])) as T
  }
  return value
}

/** Stores a finished grading: the full result (gated) and the teaser (public). */
export async function completeReport(
  db: Db,
  id: string,
  graded: GradeResult,
  gradedTeaser: Teaser,
  now: Date,
): Promise<void> {
  const result = mendedText(graded)
  const teaser = mendedText(gradedTeaser)
  await db.transaction(async (tx) => {
    const done = await tx
      .update(graderReports)
      .set({
        status: 'done',
        finalUrl: result.finalUrl,
        total: result.total,
        band: result.band,
        platform: result.platform?.name ?? null,
        result,
        teaser,
        rubricVersion: result.rubricVersion,
        error: null,
        leaseUntil: null,
        completedAt: now,
      })
      .where(and(eq(graderReports.id, id), eq(graderReports.status, 'running')))
      .returning({ url: graderReports.normalizedUrl })
    if (done[0])
      await recordWebhookEvent(
        tx,
        'grader.report_completed',
        {
          reportId: id,
          url: done[0].url,
          finalUrl: result.finalUrl,
          total: result.total,
          band: result.band,
        },
        now,
      )
  })
}

/** Why a report failed, as stored: what the visitor is told, and nothing of the cause. */
export type ReportFailure = PageFailure | { code: 'invalid_url' } | { code: 'internal' }
export type FailureCode = ReportFailure['code']

/** The `error` column: the code, with its number for the two that carry one (`http_error:503`). */
function failureColumn(failure: ReportFailure): string {
  if (failure.code === 'http_error') return `http_error:${failure.httpStatus}`
  if (failure.code === 'too_slow') return `too_slow:${failure.seconds}`
  return failure.code
}

const PLAIN_FAILURES = new Set<string>([
  'unreachable',
  'too_many_redirects',
  'not_html',
  'invalid_url',
  'internal',
])

/** The `error` column read back; anything unknown is our own failure. */
export function storedFailure(error: string | null): ReportFailure {
  const http = /^http_error:(\d{3})$/.exec(error ?? '')
  if (http) return { code: 'http_error', httpStatus: Number(http[1]) }
  const slow = /^too_slow:(\d{1,4})$/.exec(error ?? '')
  if (slow) return { code: 'too_slow', seconds: Number(slow[1]) }
  if (error !== null && PLAIN_FAILURES.has(error)) return { code: error } as ReportFailure
  return { code: 'internal' }
}

export async function failReport(
  db: Db,
  id: string,
  failure: ReportFailure,
  now: Date,
): Promise<void> {
  await db
    .update(graderReports)
    .set({ status: 'failed', error: failureColumn(failure), leaseUntil: null, completedAt: now })
    .where(and(eq(graderReports.id, id), eq(graderReports.status, 'running')))
}

/** A job interrupted by a shutdown goes back to the queue for the next process. */
export async function requeueReport(db: Db, id: string): Promise<void> {
  await db
    .update(graderReports)
    .set({ status: 'pending', leaseUntil: null })
    .where(and(eq(graderReports.id, id), eq(graderReports.status, 'running')))
}

// ── Retention ───────────────────────────────────────────────────────────────────────────────

/**
 * What the privacy policy promises (it renders these): how long a report nobody unlocked is kept;
 * the address that asked for one is forgotten when every stored IP address is (RETENTION).
 */
export const GRADER_RETENTION = {
  anonymousReportDays: 30,
  requesterIpDays: RETENTION.networkDataDays,
} as const

const DAY = 24 * 60 * MINUTE

/**
 * Deletes reports nobody unlocked once they are older than the promise, and forgets who asked
 * for the others. Returns how many reports were deleted.
 */
export async function pruneGraderReports(db: Db, now: Date): Promise<number> {
  const anonymousBefore = new Date(now.getTime() - GRADER_RETENTION.anonymousReportDays * DAY)
  const ipBefore = new Date(now.getTime() - GRADER_RETENTION.requesterIpDays * DAY)
  const deleted = await db
    .delete(graderReports)
    .where(
      and(
        lt(graderReports.createdAt, anonymousBefore),
        sql`not exists (select 1 from ${graderUnlocks} where ${graderUnlocks.reportId} = ${graderReports.id})`,
      ),
    )
    .returning({ id: graderReports.id })
  await db
    .update(graderReports)
    .set({ requesterIp: null })
    .where(
      and(lt(graderReports.createdAt, ipBefore), sql`${graderReports.requesterIp} is not null`),
    )
  return deleted.length
}

// ── Reading ─────────────────────────────────────────────────────────────────────────────────

export async function findReport(db: Db, id: string): Promise<ReportRow | null> {
  if (!isId(id)) return null
  const [row] = await db.select().from(graderReports).where(eq(graderReports.id, id))
  return row ?? null
}

/**
 * What the visitor reads when a grading did not produce a report, from the `error` column.
 * Blocked, refused, timed out and "cannot be public" all read the same (no scanning oracle).
 */
export function failureMessage(error: string | null): string {
  const failure = storedFailure(error)
  if (failure.code === 'invalid_url') return 'That address cannot be graded.'
  if (failure.code === 'internal')
    return 'Something went wrong on our side while grading. Please try again.'
  return pageFailureMessage(failure)
}

/** The stored full result; null for rows graded before results were kept (demo data). */
export function resultOf(row: ReportRow): GradeResult | null {
  const result = row.result as GradeResult | null
  return result && Array.isArray(result.checks) ? result : null
}

export function teaserOfRow(row: ReportRow): Teaser | null {
  const teaser = row.teaser as Teaser | null
  return teaser && Array.isArray(teaser.categories) ? teaser : null
}

/** A check with what it is worth: the points it can earn in its category and the points it lost. */
export type ScoredCheck = CheckResult & { maxPoints: number; lostPoints: number }

export type CategoryReport = CategoryScore & { checks: ScoredCheck[]; failing: number }

/**
 * The full report grouped by category, each check with the points it is worth and lost (the
 * category's points shared by the weights of its measured checks), worst first. Pure.
 */
export function categoryReports(result: GradeResult): CategoryReport[] {
  return result.categories.map((category) => {
    const checks = result.checks.filter((c) => c.category === category.id)
    const measuredWeight = checks
      .filter((c) => c.score !== null)
      .reduce((sum, c) => sum + c.weight, 0)
    const scored: ScoredCheck[] = checks.map((check) => {
      const maxPoints =
        check.score === null || measuredWeight === 0
          ? 0
          : (category.points * check.weight) / measuredWeight
      return { ...check, maxPoints, lostPoints: maxPoints * (1 - (check.score ?? 1)) }
    })
    scored.sort((a, b) => b.lostPoints - a.lostPoints || rank(a) - rank(b))
    return { ...category, checks: scored, failing: scored.filter(isProblem).length }
  })
}

/** A failing, scored check: what the teaser counts as a problem. */
export function isProblem(check: CheckResult): boolean {
  return check.score !== null && check.score < 0.9 && check.weight > 0
}

function rank(check: CheckResult): number {
  if (check.score === null) return 3
  if (check.weight === 0) return 2
  return check.score < 0.9 ? 0 : 1
}

// ── The gate ────────────────────────────────────────────────────────────────────────────────

export interface ReportJson {
  id: string
  status: ReportStatus
  url: string
  host: string
  createdAt: string
  /** `httpStatus` with `http_error`, `seconds` with `too_slow`. */
  error?: { code: FailureCode; message: string; httpStatus?: number; seconds?: number }
  finalUrl?: string | null
  gradedAt?: string | null
  rubricVersion?: string | null
  unlocked?: boolean
  teaser?: Teaser
  full?: {
    platform: GradeResult['platform']
    categories: Array<Omit<CategoryReport, 'checks'> & { checks: ScoredCheck[] }>
  }
}

/**
 * What a viewer may see of a report. Before unlock: scores, the grade band, the titles of the
 * top problems and how many more there are; never a check's evidence or fix.
 */
export function reportJson(row: ReportRow, access: { full: boolean }): ReportJson {
  const base: ReportJson = {
    id: row.id,
    status: row.status,
    url: row.normalizedUrl,
    host: row.host,
    createdAt: row.createdAt.toISOString(),
  }
  if (row.status === 'failed') {
    return { ...base, error: { ...storedFailure(row.error), message: failureMessage(row.error) } }
  }
  if (row.status !== 'done') return base
  const result = resultOf(row)
  const teaser = teaserOfRow(row)
  const done: ReportJson = {
    ...base,
    finalUrl: row.finalUrl,
    gradedAt: row.completedAt?.toISOString() ?? null,
    rubricVersion: row.rubricVersion,
    unlocked: access.full,
    ...(teaser ? { teaser } : {}),
  }
  if (!access.full || !result) return done
  return { ...done, full: { platform: result.platform, categories: categoryReports(result) } }
}

// ── Unlock tokens ───────────────────────────────────────────────────────────────────────────
// A visitor's browser holds one random token (cookie) for every report it unlocks; the emailed
// link holds its own token for one report. Only hashes are stored, bound to the report.

export const GRADER_COOKIE = 'fd_grader'
export const GRADER_COOKIE_MAX_AGE = 365 * 24 * 60 * 60

export function unlockTokenHash(reportId: string, token: string): string {
  return createHash('sha256').update(`${reportId}:${token}`).digest('hex')
}

/** A token from a cookie or a link, shaped like one we issue (base32, bounded length). */
export function plausibleToken(token: string | null | undefined): token is string {
  return typeof token === 'string' && /^[a-z2-7]{16,64}$/.test(token)
}

/** Whether any of the tokens (the visitor's cookie, a link's key) unlocks this report. */
export async function isUnlockedBy(
  db: Db,
  reportId: string,
  tokens: Array<string | null | undefined>,
): Promise<boolean> {
  const hashes = tokens.filter(plausibleToken).map((t) => unlockTokenHash(reportId, t))
  if (hashes.length === 0) return false
  const [row] = await db
    .select({ id: graderUnlocks.id })
    .from(graderUnlocks)
    .where(and(eq(graderUnlocks.reportId, reportId), inArray(graderUnlocks.tokenHash, hashes)))
    .limit(1)
  return row !== undefined
}

// ── The reps' views ─────────────────────────────────────────────────────────────────────────

export interface ReportUnlocker {
  contactId: string
  name: string | null
  email: string
  company: string | null
  dealId: string | null
  at: Date
}

export interface ReportListItem {
  id: string
  host: string
  url: string
  status: ReportStatus
  total: number | null
  band: string | null
  platform: string | null
  createdAt: Date
  unlockedBy: ReportUnlocker[]
}

export const REPORT_PAGE_SIZE = 50

/** Recent gradings, newest first, each with the people who unlocked it. `before` pages on. */
export async function listRecentReports(
  db: Db,
  options: { before?: Date | null; limit?: number; unlockedOnly?: boolean } = {},
): Promise<{ items: ReportListItem[]; next: Date | null }> {
  const limit = options.limit ?? REPORT_PAGE_SIZE
  const conditions = [
    options.before ? lt(graderReports.createdAt, options.before) : undefined,
    options.unlockedOnly
      ? sql`exists (select 1 from ${graderUnlocks} where ${graderUnlocks.reportId} = ${graderReports.id})`
      : undefined,
  ].filter((c) => c !== undefined)
  const rows = await db
    .select({
      id: graderReports.id,
      host: graderReports.host,
      url: graderReports.normalizedUrl,
      status: graderReports.status,
      total: graderReports.total,
      band: graderReports.band,
      platform: graderReports.platform,
      createdAt: graderReports.createdAt,
    })
    .from(graderReports)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(graderReports.createdAt), desc(graderReports.id))
    .limit(limit + 1)
  const page = rows.slice(0, limit)
  const unlockers = await unlockersOf(
    db,
    page.map((r) => r.id),
  )
  return {
    items: page.map((r) => ({ ...r, unlockedBy: unlockers.get(r.id) ?? [] })),
    next: rows.length > limit ? (page[page.length - 1]?.createdAt ?? null) : null,
  }
}

/** Who unlocked these reports (one entry per person, first unlock), with their open deal. */
export async function unlockersOf(
  db: Db,
  reportIds: string[],
): Promise<Map<string, ReportUnlocker[]>> {
  const out = new Map<string, ReportUnlocker[]>()
  if (reportIds.length === 0) return out
  const rows = await db
    .select({
      reportId: graderUnlocks.reportId,
      contactId: contacts.id,
      firstName: contacts.firstName,
      lastName: contacts.lastName,
      email: contacts.emailDisplay,
      company: contacts.companyName,
      at: graderUnlocks.createdAt,
      dealId: sql<
        string | null
      >`(select ${deals.id} from ${deals} where ${deals.contactId} = ${contacts.id} order by ${deals.stage} in ('won', 'lost'), ${deals.createdAt} desc limit 1)`,
    })
    .from(graderUnlocks)
    .innerJoin(contacts, eq(contacts.id, graderUnlocks.contactId))
    .where(inArray(graderUnlocks.reportId, reportIds))
    .orderBy(asc(graderUnlocks.createdAt))
  for (const row of rows) {
    const list = out.get(row.reportId) ?? []
    if (list.some((u) => u.contactId === row.contactId)) continue
    const name = [row.firstName, row.lastName].filter(Boolean).join(' ') || null
    list.push({
      contactId: row.contactId,
      name,
      email: row.email,
      company: row.company,
      dealId: row.dealId,
      at: row.at,
    })
    out.set(row.reportId, list)
  }
  return out
}
