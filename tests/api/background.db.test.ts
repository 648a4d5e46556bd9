import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  clickEvents,
  consentEvents,
  graderReports,
  formFlashes,
  idempotencyKeys,
  rateLimitHits,
  sessions,
  submissions,
  webhookSuccesses,
} from '../../api/db/schema.ts'
import { pruneExpired, startMaintenance } from '../../api/background.ts'
import { FORM_FLASH_KEEP_MS } from '../../api/http/form-flash.ts'
import {
  ANALYZE_MIN_GROWTH_PAGES,
  analyzeGrown,
  IDEMPOTENCY_KEEP_MS,
  maintainEmbedded,
} from '../../api/db/maintenance.ts'
import { newId } from '../../api/ids.ts'
import { createSubscription, WEBHOOK_HISTORY_DAYS } from '../../api/integrations/webhooks.ts'
import { createLogger } from '../../api/logger.ts'
import { RETENTION } from '../../api/content/site.ts'
import { createSession, validateSessionToken } from '../../api/accounts/sessions.ts'
import { addUser, setupTestApp } from '../helpers.ts'
import { makeDeal } from './pipeline/fixtures.ts'
import { eventually } from '../eventually.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db
const DAY = 86_400_000

/** Pages of stage_moves the visibility map says are all-visible, and the planner's row estimate. */
async function stageMovesState() {
  const [row] = (
    (await db.execute(
      sql`select relallvisible::int as visible, reltuples::float8 as tuples from pg_class where relname = 'stage_moves'`,
    )) as unknown as { rows: Array<{ visible: number; tuples: number }> }
  ).rows
  return row!
}

describe('housekeeping', () => {
  it('vacuums and analyzes PGlite, and leaves a PostgreSQL server to its autovacuum', async () => {
    for (let i = 0; i < 50; i++) await makeDeal(db)
    if (ctx.database.engine !== 'pglite') {
      expect(await maintainEmbedded(ctx.database)).toBe(false)
      return
    }
    const before = await stageMovesState()
    expect(before.visible).toBe(0)
    expect(await maintainEmbedded(ctx.database)).toBe(true)
    const after = await stageMovesState()
    expect(after.visible).toBeGreaterThan(0)
    expect(after.tuples).toBe(50)
  })

  it('analyzes a PGlite table once it has doubled since its statistics, and only then', async () => {
    /** The planner's row estimate for rate_limit_hits and its size in pages. */
    const state = async () =>
      (
        (await db.execute(
          sql`select reltuples::float8 as tuples, relpages::int as pages,
            (pg_relation_size(oid) / current_setting('block_size')::int)::int as now
            from pg_class where relname = 'rate_limit_hits'`,
        )) as unknown as { rows: Array<{ tuples: number; pages: number; now: number }> }
      ).rows[0]!
    const fill = (from: number, to: number) =>
      db.execute(sql`insert into rate_limit_hits (key, window_start, count)
        select 'growth:' || i, now(), 1 from generate_series(${from}::int, ${to}::int) i`)
    if (ctx.database.engine !== 'pglite') {
      await fill(1, 100)
      expect(await analyzeGrown(ctx.database)).toEqual([])
      await db.execute(sql`delete from rate_limit_hits where key like 'growth:%'`)
      return
    }
    // As at a new install's start: statistics taken while the table was (nearly) empty.
    await maintainEmbedded(ctx.database)
    expect(await analyzeGrown(ctx.database)).toEqual([])
    await fill(1, 20_000)
    const grown = await state()
    expect(grown.now).toBeGreaterThan(2 * grown.pages + ANALYZE_MIN_GROWTH_PAGES)
    expect(grown.tuples).toBeLessThan(1_000)
    expect(await analyzeGrown(ctx.database)).toContain('rate_limit_hits')
    const analyzed = await state()
    expect(analyzed.tuples).toBeGreaterThan(19_000)
    expect(analyzed.pages).toBe(grown.now)
    // Not doubled since: left alone.
    await fill(20_001, 25_000)
    expect(await analyzeGrown(ctx.database)).not.toContain('rate_limit_hits')
    await db.execute(sql`delete from rate_limit_hits where key like 'growth:%'`)
  })

  it('deletes expired sessions, finished rate-limit windows and old idempotency keys, and only those', async () => {
    const now = ctx.clock.now()
    const policy = ctx.deps.sessionPolicy
    const user = await addUser(ctx, 'rep')
    const idle = await createSession(
      db,
      user.id,
      new Date(now.getTime() - policy.inactivityMs - 1000),
    )
    const live = await createSession(db, user.id, new Date(now.getTime() - DAY))
    await db.insert(rateLimitHits).values([
      { key: 'ip:old', windowStart: new Date(now.getTime() - 3 * DAY), count: 9 },
      { key: 'ip:today', windowStart: new Date(now.getTime() - 3_600_000), count: 2 },
    ])
    const key = (k: string, age: number) => ({
      key: k,
      scope: 'lead',
      requestHash: 'h',
      createdAt: new Date(now.getTime() - age),
    })
    await db
      .insert(idempotencyKeys)
      .values([key('old', IDEMPOTENCY_KEEP_MS + 1000), key('recent', DAY)])

    const flash = (id: string, age: number) => ({
      id,
      userId: user.id,
      flash: { values: { note: 'long' }, fields: {} },
      createdAt: new Date(now.getTime() - age),
    })
    await db
      .insert(formFlashes)
      .values([flash('flash-old', FORM_FLASH_KEEP_MS + 1000), flash('flash-recent', 1000)])

    expect(await pruneExpired(ctx.deps, now)).toMatchObject({
      sessions: 1,
      idempotencyKeys: 1,
      formFlashes: 1,
    })
    expect((await db.select().from(formFlashes)).map((r) => r.id)).toEqual(['flash-recent'])
    expect((await db.select({ id: sessions.id }).from(sessions)).map((s) => s.id)).toEqual([
      live.id,
    ])
    expect(await validateSessionToken(db, live.token, now, policy)).not.toBeNull()
    expect(await validateSessionToken(db, idle.token, now, policy)).toBeNull()
    expect((await db.select().from(rateLimitHits)).map((r) => r.key)).toEqual(['ip:today'])
    expect((await db.select().from(idempotencyKeys)).map((r) => r.key)).toEqual(['recent'])
  })

  it('forgets the IP address and user agent of form posts, consent entries and clicks after the days the privacy policy promises', async () => {
    const now = ctx.clock.now()
    const ago = (days: number) => new Date(now.getTime() - days * DAY)
    const network = { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (Test)' }
    const submission = (days: number) => ({
      id: newId(),
      kind: 'whitepaper' as const,
      offer: 'the-benchmark',
      email: `p${days}@example.com`,
      fields: { name: 'Pat' },
      status: 'accepted' as const,
      ...network,
      createdAt: ago(days),
    })
    const click = (days: number) => ({
      id: newId(),
      token: `t${days}`,
      method: 'GET',
      ...network,
      headers: { 'user-agent': network.userAgent, 'x-forwarded-for': network.ip },
      createdAt: ago(days),
    })
    await db
      .insert(submissions)
      .values([
        submission(RETENTION.networkDataDays + 1),
        submission(RETENTION.networkDataDays - 1),
      ])
    await db
      .insert(clickEvents)
      .values([click(RETENTION.networkDataDays + 1), click(RETENTION.networkDataDays - 1)])

    const person = await makeDeal(db, { stage: 'target', ownerId: null })
    const consent = (days: number) => ({
      id: newId(),
      contactId: person.contactId,
      purpose: 'marketing',
      granted: true,
      textVersion: 'v1',
      method: 'checkbox',
      ...network,
      createdAt: ago(days),
    })
    await db
      .insert(consentEvents)
      .values([consent(RETENTION.networkDataDays + 1), consent(RETENTION.networkDataDays - 1)])

    expect((await pruneExpired(ctx.deps, now)).networkDataForgotten).toBe(3)
    const forms = await db.select().from(submissions).orderBy(submissions.createdAt)
    expect(forms.map((f) => [f.ip, f.userAgent])).toEqual([
      [null, null],
      [network.ip, network.userAgent],
    ])
    expect(forms[0]!.email).toBe(`p${RETENTION.networkDataDays + 1}@example.com`) // the rest is kept
    const clicks = await db.select().from(clickEvents).orderBy(clickEvents.createdAt)
    expect(clicks.map((c) => [c.ip, c.userAgent, c.headers === null])).toEqual([
      [null, null, true],
      [network.ip, network.userAgent, false],
    ])
    // What was agreed to, and when, stays: the consent's proof.
    const consents = await db
      .select()
      .from(consentEvents)
      .where(eq(consentEvents.contactId, person.contactId))
      .orderBy(consentEvents.createdAt)
    expect(consents.map((c) => [c.ip, c.userAgent, c.granted, c.textVersion])).toEqual([
      [null, null, true, 'v1'],
      [network.ip, network.userAgent, true, 'v1'],
    ])
    expect((await pruneExpired(ctx.deps, now)).networkDataForgotten).toBe(0)
  })

  it('deletes the grader reports nobody unlocked, on the grader’s retention', async () => {
    const now = ctx.clock.now()
    const report = (id: string, days: number) => ({
      id,
      normalizedUrl: `https://${id}.example.com/`,
      host: `${id}.example.com`,
      status: 'done' as const,
      createdAt: new Date(now.getTime() - days * DAY),
    })
    await db.insert(graderReports).values([report('old', 31), report('recent', 29)])
    expect((await pruneExpired(ctx.deps, now)).graderReports).toBe(1)
    expect(
      (await db.select({ id: graderReports.id }).from(graderReports)).map((r) => r.id),
    ).toEqual(['recent'])
  })

  it('deletes the worker’s webhook successes last delivered before the history window', async () => {
    const now = ctx.clock.now()
    const admin = await addUser(ctx, 'admin')
    const sub = await createSubscription(
      db,
      { url: 'https://crm.example.com/hooks', events: ['deal.won'], createdBy: admin.id },
      now,
    )
    const ago = (days: number) => new Date(now.getTime() - days * DAY)
    const row = (id: string, first: Date, last: Date) => ({
      id,
      subscriptionId: sub.id,
      firstDeliveredAt: first,
      lastDeliveredAt: last,
      firstEventId: newId(first.getTime()),
      lastEventId: newId(last.getTime()),
      count: 2,
      deliveries: [],
    })
    const window = WEBHOOK_HISTORY_DAYS
    await db
      .insert(webhookSuccesses)
      .values([
        row('gone', ago(window + 2), ago(window + 1)),
        row('straddling', ago(window + 1), ago(window - 1)),
        row('recent', ago(1), ago(0)),
      ])
    expect(await pruneExpired(ctx.deps, now)).toMatchObject({ webhookSuccesses: 1 })
    expect(
      (await db.select({ id: webhookSuccesses.id }).from(webhookSuccesses)).map((r) => r.id).sort(),
    ).toEqual(['recent', 'straddling'])
  })

  it('runs on its interval, vacuuming the embedded database every sixth run, until stopped', async () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
    const job = startMaintenance({ ...ctx.deps, logger }, 20)
    await eventually(() => lines.length >= 6)
    await job.stop()
    const runs = lines.map((l) => JSON.parse(l) as { msg: string; vacuumed: boolean })
    expect(runs.every((r) => r.msg === 'housekeeping')).toBe(true)
    expect(runs.slice(0, 6).map((r) => r.vacuumed)).toEqual([
      false,
      false,
      false,
      false,
      false,
      ctx.database.engine === 'pglite',
    ])
    const count = lines.length
    await new Promise((r) => setTimeout(r, 100))
    expect(lines.length).toBe(count)
  })
})
