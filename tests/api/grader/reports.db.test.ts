import type { ServerResponse } from 'node:http'
import { eq, sql } from 'drizzle-orm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { contacts, graderReports, graderUnlocks } from '../../../api/db/schema.ts'
import type { GradeResult } from '../../../api/grader/engine/grade.ts'
import { GRADER_RUBRIC_VERSION } from '../../../api/grader/engine/rubric.ts'
import { startGraderJobs } from '../../../api/grader/jobs.ts'
import {
  CLAIM_LOCK,
  categoryReports,
  graderSettingsFrom,
  pruneGraderReports,
  requestGrade,
  resultOf,
  type ReportRow,
} from '../../../api/grader/reports.ts'
import type { Handler } from './engine/loopback.ts'
import {
  freshIp,
  settled,
  siteUrl,
  stageHooks,
  startGraderTestApp,
} from '../routes/grader-helpers.ts'
import { eventually } from '../../eventually.ts'

// The queue and the job runner: a global concurrency limit, a lease that lets a crashed
// process's job be graded again, an age limit, and a clean hand-back on shutdown. Page requests
// to hold.frontdoor-fixture.com wait until the test releases them, so "running" can be seen.
// Nothing here waits on the wall clock: a test waits for a held request to arrive, or for a runner
// to finish claiming, and the grading deadline is far beyond any test's run time.

const held: ServerResponse[] = []
// Pages being graded right now, by path (one path per job).
const inFlight = new Map<string, number>()
let maxInFlight = 0
const heldPaths: string[] = []
const hold: Handler = (req, res) => {
  const path = req.url ?? ''
  heldPaths.push(path)
  inFlight.set(path, (inFlight.get(path) ?? 0) + 1)
  maxInFlight = Math.max(maxInFlight, inFlight.size)
  res.on('close', () => {
    const left = (inFlight.get(path) ?? 1) - 1
    if (left > 0) inFlight.set(path, left)
    else inFlight.delete(path)
  })
  held.push(res)
  for (const check of [...arrivals]) check()
}
const arrivals = new Set<() => void>()
/** Resolves when the held page requests satisfy the condition (checked at every arrival). */
function whenHeld(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!condition()) return
      arrivals.delete(check)
      resolve()
    }
    arrivals.add(check)
    check()
  })
}
const paths = ['a', 'b', 'c', 'd', 'e']
const app = await startGraderTestApp({
  routes: Object.fromEntries(paths.map((p) => [`hold/${p}`, hold])),
  // The request and header timeouts too: a held page is held until the test releases it.
  jobs: {
    concurrency: 2,
    deadlineMs: 600_000,
    grade: { requestTimeoutMs: 600_000, headersTimeoutMs: 600_000 },
  },
})
const { ctx, stage } = app
const { db } = ctx.deps
stage.dns.set('hold.frontdoor-fixture.com', ['127.0.0.3'])
const settings = graderSettingsFrom(ctx.deps.env)

function releaseAll() {
  for (const res of held.splice(0)) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><html lang="en"><title>Held</title><h1>Held</h1></html>')
  }
}

/** Each job's status; a failed one with its error code ('failed: timeout'). */
const statuses = async (ids: string[]) => {
  const rows = await db
    .select({ id: graderReports.id, status: graderReports.status, error: graderReports.error })
    .from(graderReports)
  return ids.map((id) => {
    const row = rows.find((r) => r.id === id)!
    return row.status === 'failed' ? `failed: ${row.error}` : row.status
  })
}

/**
 * Resolves when the held page requests satisfy the condition, or as soon as one of the jobs has
 * ended first: a grading whose page fetch failed never reaches the stage, and the assertions
 * that follow then say which job ended and how, instead of the test waiting out its timeout.
 */
async function heldOrEnded(condition: () => boolean, ids: string[]): Promise<void> {
  let waiting = true
  const ended = eventually(async () => {
    if (!waiting) return true
    const now = await statuses(ids)
    return now.some((s) => s === 'done' || s.startsWith('failed'))
  }, 50)
  await Promise.race([whenHeld(condition), ended])
  waiting = false
  await ended
}

async function queue(urls: string[]): Promise<string[]> {
  const ids: string[] = []
  for (const url of urls) {
    // A millisecond apart, so the queue's order is the order of the requests.
    ctx.clock.advance(1)
    const outcome = await requestGrade(db, { url, ip: freshIp() }, settings, ctx.clock.now())
    if (outcome.kind !== 'started') throw new Error(`not started: ${outcome.kind}`)
    ids.push(outcome.report.id)
  }
  app.jobs.wake()
  return ids
}

beforeEach(async () => {
  // No claim may be under way across the jump: it would claim with the time before it (a job it
  // leased would look lost at once, and be graded twice).
  await app.jobs.idle()
  ctx.clock.advance(11 * 60_000)
  maxInFlight = inFlight.size
})
afterEach(releaseAll)

describe('the grading queue', () => {
  it('runs at most two gradings at once and queues the rest in order', async () => {
    const ids = await queue(paths.slice(0, 3).map((p) => siteUrl(app, 'hold', `/${p}`)))
    await heldOrEnded(() => new Set(heldPaths).size === 2, ids)
    // Give the runner every chance to start a third one: a claim round with two running.
    app.jobs.wake()
    await app.jobs.idle()
    expect(await statuses(ids)).toEqual(['running', 'running', 'pending'])
    expect(new Set(heldPaths)).toEqual(new Set(['/a', '/b']))

    releaseAll()
    await whenHeld(() => heldPaths.includes('/c'))
    expect((await statuses(ids))[2]).toBe('running')
    releaseAll()
    for (const id of ids) expect((await settled(ctx, id)).status).toBe('done')
    expect(maxInFlight).toBe(2)
  })

  it('keeps the limit across processes sharing the database', async () => {
    // A second process: its own runner on the same database.
    const other = startGraderJobs(
      { ...ctx.deps },
      { concurrency: 2, pollMs: 20, grade: stageHooks(stage) },
    )
    try {
      const ids = await queue(paths.slice(0, 5).map((p) => siteUrl(app, 'hold', `/${p}`)))
      await heldOrEnded(() => held.length === 2, ids)
      // Both runners try to claim more while two run: neither may.
      app.jobs.wake()
      other.wake()
      await Promise.all([app.jobs.idle(), other.idle()])
      expect((await statuses(ids)).filter((s) => s === 'running')).toHaveLength(2)
      expect(held.length).toBe(2)
      const pump = setInterval(releaseAll, 30)
      try {
        for (const id of ids) expect((await settled(ctx, id)).status).toBe('done')
      } finally {
        clearInterval(pump)
      }
      expect(maxInFlight).toBe(2)
    } finally {
      await other.stop()
    }
  })

  it('grades again a job whose process died (its lease ran out), and leaves a live lease alone', async () => {
    const now = ctx.clock.now()
    const [orphan, live] = await db
      .insert(graderReports)
      .values([
        {
          id: '0190f5d2-3333-7000-8000-000000000001',
          normalizedUrl: siteUrl(app, 'wordpress', '/?orphan'),
          host: 'wordpress.frontdoor-fixture.com',
          status: 'running',
          leaseUntil: new Date(now.getTime() - 1_000),
          createdAt: new Date(now.getTime() - 60_000),
        },
        {
          id: '0190f5d2-3333-7000-8000-000000000002',
          normalizedUrl: siteUrl(app, 'wordpress', '/?live'),
          host: 'wordpress.frontdoor-fixture.com',
          status: 'running',
          leaseUntil: new Date(now.getTime() + 60_000),
          createdAt: new Date(now.getTime() - 10_000),
        },
      ])
      .returning()
    const before = stage.requests.length
    app.jobs.wake()
    const done = await settled(ctx, orphan!.id)
    expect(done.status).toBe('done')
    expect(stage.requests.slice(before).some((r) => r.path === '/?orphan')).toBe(true)
    expect(stage.requests.slice(before).some((r) => r.path === '/?live')).toBe(false)
    expect((await statuses([live!.id]))[0]).toBe('running')
    await db.delete(graderReports).where(eq(graderReports.id, live!.id))
  })

  it('fails a job that waited too long instead of trying it again', async () => {
    const now = ctx.clock.now()
    const [stale] = await db
      .insert(graderReports)
      .values({
        id: '0190f5d2-4444-7000-8000-000000000001',
        normalizedUrl: siteUrl(app, 'wordpress', '/stale'),
        host: 'wordpress.frontdoor-fixture.com',
        status: 'running',
        leaseUntil: new Date(now.getTime() - 1_000),
        createdAt: new Date(now.getTime() - 4 * 60_000),
      })
      .returning()
    const before = stage.requests.length
    app.jobs.wake()
    const row = await settled(ctx, stale!.id)
    expect(row).toMatchObject({ status: 'failed', error: 'unreachable' })
    expect(stage.requests.slice(before).some((r) => r.path === '/stale')).toBe(false)
  })

  // Several connections: one claim's statements can interleave with another transaction's.
  it.skipIf(ctx.database.engine !== 'postgres')(
    'never claims a job too old, even one committed after the claim failed the too-old ones',
    async () => {
      const now = ctx.clock.now()
      const stale = (n: number, status: 'pending' | 'running') => ({
        id: `0190f5d2-6666-7000-8000-00000000000${n}`,
        normalizedUrl: siteUrl(app, 'wordpress', `/stale-${n}`),
        host: 'wordpress.frontdoor-fixture.com',
        status,
        leaseUntil: status === 'running' ? new Date(now.getTime() - 1_000) : null,
        createdAt: new Date(now.getTime() - 4 * 60_000),
      })
      // No claim runs between the insert and the lock below: the runner also claims on its own
      // every 50 ms, and one in between failed the stale job before it was held, so no claim
      // ever waited for it (the test then timed out, on a loaded machine). Claims wait here.
      const gated = Promise.withResolvers<void>()
      const openGate = Promise.withResolvers<void>()
      const gate = db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`)
        gated.resolve()
        await openGate.promise
      })
      await gated.promise
      await db.insert(graderReports).values(stale(1, 'pending'))
      // Another transaction holds the first stale job's row: the claim's "fail the too-old ones"
      // waits for it, with the snapshot it began with.
      const locked = Promise.withResolvers<void>()
      const release = Promise.withResolvers<void>()
      const holder = db.transaction(async (tx) => {
        await tx.execute(
          sql`select 1 from grader_reports where id = ${stale(1, 'pending').id} for update`,
        )
        locked.resolve()
        await release.promise
      })
      await locked.promise
      openGate.resolve()
      await gate
      const before = stage.requests.length
      app.jobs.wake()
      await eventually(async () => {
        const waiting = await db.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
        )
        return (waiting as unknown as { rows: { n: number }[] }).rows[0]!.n > 0
      })
      // Committed while the claim waits: too old as well, its lease run out.
      await db.insert(graderReports).values(stale(2, 'running'))
      release.resolve()
      await holder
      for (const n of [1, 2]) {
        const row = await settled(ctx, stale(n, 'pending').id)
        expect(row).toMatchObject({ status: 'failed', error: 'unreachable' })
      }
      expect(stage.requests.slice(before).some((r) => r.path.startsWith('/stale-'))).toBe(false)
    },
  )

  it('stores the full result and the teaser, and scores add up per category', async () => {
    const [id] = await queue([siteUrl(app, 'bad', '/')])
    const row: ReportRow = await settled(ctx, id!)
    expect(row).toMatchObject({
      status: 'done',
      band: 'F',
      rubricVersion: GRADER_RUBRIC_VERSION,
      leaseUntil: null,
    })
    const result = resultOf(row) as GradeResult
    expect(row.teaser).toEqual({
      total: result.total,
      band: result.band,
      categories: result.categories.map(({ id, title, points, score }) => ({
        id,
        title,
        points,
        score,
      })),
      topProblems: result.topProblems,
      otherIssueCount: result.otherIssueCount,
    })
    for (const category of categoryReports(result)) {
      const earned = category.checks.reduce((sum, c) => sum + c.maxPoints - c.lostPoints, 0)
      if (!category.capped && category.score !== null) expect(earned).toBeCloseTo(category.score, 0)
      const worth = category.checks.reduce((sum, c) => sum + c.maxPoints, 0)
      expect(worth).toBeCloseTo(category.points, 6)
      // Worst first.
      const lost = category.checks.map((c) => c.lostPoints)
      expect(lost).toEqual([...lost].sort((a, b) => b - a))
    }
  })

  it('deletes reports nobody unlocked after 30 days and forgets requesters’ IPs after 90, as the privacy policy says', async () => {
    const now = ctx.clock.now()
    const daysAgo = (days: number) => new Date(now.getTime() - days * 24 * 3_600_000)
    const report = (id: string, days: number) => ({
      id,
      normalizedUrl: `https://old-${id.slice(-1)}.example.com/`,
      host: `old-${id.slice(-1)}.example.com`,
      status: 'done' as const,
      requesterIp: '203.0.113.7',
      createdAt: daysAgo(days),
    })
    await db.insert(graderReports).values([
      report('0190f5d2-5555-7000-8000-000000000001', 31), // anonymous, too old
      report('0190f5d2-5555-7000-8000-000000000002', 29), // anonymous, still kept
      report('0190f5d2-5555-7000-8000-000000000003', 91), // unlocked: kept, IP forgotten
    ])
    await db.insert(contacts).values({
      id: '0190f5d2-5555-7000-8000-0000000000c1',
      email: 'kept@example.com',
      emailDisplay: 'kept@example.com',
      source: 'grader',
    })
    await db.insert(graderUnlocks).values({
      id: '0190f5d2-5555-7000-8000-0000000000u1',
      reportId: '0190f5d2-5555-7000-8000-000000000003',
      contactId: '0190f5d2-5555-7000-8000-0000000000c1',
      tokenHash: 'x'.repeat(64),
    })
    expect(await pruneGraderReports(db, now)).toBe(1)
    const left = await db
      .select({ id: graderReports.id, ip: graderReports.requesterIp })
      .from(graderReports)
    const byId = new Map(left.map((r) => [r.id, r.ip]))
    expect(byId.has('0190f5d2-5555-7000-8000-000000000001')).toBe(false)
    expect(byId.get('0190f5d2-5555-7000-8000-000000000002')).toBe('203.0.113.7')
    expect(byId.get('0190f5d2-5555-7000-8000-000000000003')).toBeNull()
  })

  // Last: it stops this file's runner.
  it('hands a running grading back to the queue when the server stops', async () => {
    const [id] = await queue([siteUrl(app, 'hold', '/a')])
    await whenHeld(() => held.length === 1)
    expect((await statuses([id!]))[0]).toBe('running')
    await app.jobs.stop()
    const [row] = await db.select().from(graderReports).where(eq(graderReports.id, id!))
    expect(row).toMatchObject({ status: 'pending', leaseUntil: null })
  })
})
