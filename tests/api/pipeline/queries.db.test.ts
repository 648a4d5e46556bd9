import { readFile } from 'node:fs/promises'
import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { dealEvents, deals, stageMoves } from '../../../api/db/schema.ts'
import { assignDeal, claimDeal, moveDealStage } from '../../../api/pipeline/deals.ts'
import { newId } from '../../../api/ids.ts'
import {
  forecastBuckets,
  funnelFrom,
  stageStats,
  staysFrom,
  sumAmounts,
  type StageEvent,
} from '../../../api/pipeline/metrics.ts'
import {
  boardColumns,
  columnCards,
  forecast,
  funnelFor,
  leadQueue,
  stageStatsFor,
} from '../../../api/pipeline/queries.ts'
import { defaultPipelineSettings } from '../../../api/pipeline/settings.ts'
import type { StageKey } from '../../../api/pipeline/stages.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'
import { EXPECTED_FUNNEL, EXPECTED_STATS, HISTORY, NOVEMBER } from './history-fixture.ts'

describe('the SQL behind the pipeline pages gives the same numbers as the definitions', () => {
  it('computes conversion, median days and the funnel from a hand-built stage history', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const rep = await addUser(ctx, 'rep')
    const ids = new Map<string, string>()
    for (const e of HISTORY) {
      if (!ids.has(e.dealId)) {
        const last = HISTORY.filter((x) => x.dealId === e.dealId).at(-1)!
        const deal = await makeDeal(db, {
          stage: last.toStage,
          ownerId: rep.id,
          stageEnteredAt: last.at,
          createdAt: e.at,
        })
        await db.delete(dealEvents).where(eq(dealEvents.dealId, deal.id))
        ids.set(e.dealId, deal.id)
      }
      await db.insert(dealEvents).values({
        id: newId(),
        dealId: ids.get(e.dealId)!,
        type: e.type,
        fromStage: e.fromStage,
        toStage: e.toStage,
        createdAt: e.at,
      })
    }
    expect(await stageStatsFor(db, { team: true }, NOVEMBER)).toEqual(EXPECTED_STATS)
    expect(await funnelFor(db, { team: true }, NOVEMBER)).toEqual(EXPECTED_FUNNEL)
    expect(await stageStatsFor(db, { ownerId: rep.id }, NOVEMBER)).toEqual(EXPECTED_STATS)
    const other = await addUser(ctx, 'rep')
    expect(
      (await stageStatsFor(db, { ownerId: other.id }, NOVEMBER)).every((s) => s.exits === 0),
    ).toBe(true)
    expect((await funnelFor(db, { ownerId: other.id }, NOVEMBER))[0]).toEqual({
      stage: 'target',
      reached: 0,
    })
  })

  it('measures time in stage from the moves the app records, to the millisecond', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const rep = await addUser(ctx, 'rep')
    const start = new Date('2026-11-02T08:00:00Z')
    const deal = await makeDeal(db, { ownerId: rep.id, stageEnteredAt: start })
    const steps: Array<[StageKey, number]> = [
      ['demo', 1.5],
      ['decision_maker', 3.25],
      ['demo', 0.5],
      ['negotiation', 2],
    ]
    let t = start.getTime()
    for (const [stage, days] of steps) {
      t += days * 86_400_000
      const moved = await moveDealStage(db, deal.id, rep, { stage }, new Date(t))
      expect(moved.ok).toBe(true)
    }
    const events = (await db.select().from(dealEvents)).filter(
      (e) => e.dealId === deal.id && (e.type === 'created' || e.type === 'stage_changed'),
    )
    const history: StageEvent[] = events.map((e) => ({
      dealId: e.dealId,
      type: e.type as StageEvent['type'],
      fromStage: e.fromStage as StageKey | null,
      toStage: e.toStage as StageKey,
      at: e.createdAt,
    }))
    const expected = stageStats(staysFrom(history), NOVEMBER)
    expect(await stageStatsFor(db, { team: true }, NOVEMBER)).toEqual(expected)
    // target → demo → decision-maker → back to demo → negotiation (past decision-maker again).
    expect(await funnelFor(db, { team: true }, NOVEMBER)).toEqual(funnelFrom(history, NOVEMBER))
    expect((await funnelFor(db, { team: true }, NOVEMBER)).map((f) => f.reached)).toEqual([
      1, 1, 2, 1, 0, 0,
    ])
    const demo = expected.find((s) => s.stage === 'demo')!
    expect(demo).toMatchObject({ exits: 2, advanced: 2, medianDays: (3.25 + 2) / 2 })
    expect(expected.find((s) => s.stage === 'decision_maker')).toMatchObject({
      exits: 1,
      back: 1,
      conversion: 0,
      medianDays: 0.5,
    })
  })

  it('counts a lost deal moved straight to won as reaching won, and one reopened at demo as reaching demo', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const rep = await addUser(ctx, 'rep')
    const start = new Date('2026-10-20T08:00:00Z')
    const moves: Array<[string, StageKey, Record<string, string>]> = [
      ['2026-11-03', 'lost', { lostReason: 'Budget frozen' }],
      ['2026-11-10', 'won', { contractSignedOn: '2026-11-09', paymentReceivedOn: '2026-11-10' }],
    ]
    const winner = await makeDeal(db, { ownerId: rep.id, stage: 'signed', stageEnteredAt: start })
    const reopened = await makeDeal(db, { ownerId: rep.id, stage: 'demo', stageEnteredAt: start })
    for (const [day, stage, fields] of moves) {
      const moved = await moveDealStage(
        db,
        winner.id,
        rep,
        { stage, ...fields },
        new Date(`${day}T12:00:00Z`),
      )
      expect(moved.ok).toBe(true)
    }
    for (const [day, stage, fields] of [
      ['2026-11-04', 'lost', { lostReason: 'No champion' }],
      ['2026-11-12', 'demo', {}],
    ] as const) {
      const moved = await moveDealStage(
        db,
        reopened.id,
        rep,
        { stage, ...fields },
        new Date(`${day}T12:00:00Z`),
      )
      expect(moved.ok).toBe(true)
    }
    const funnel = await funnelFor(db, { team: true }, NOVEMBER)
    expect(funnel.map((f) => f.reached)).toEqual([0, 1, 0, 0, 0, 1])
    const events = (await db.select().from(dealEvents)).filter(
      (e) => e.type === 'created' || e.type === 'stage_changed',
    )
    const history: StageEvent[] = events.map((e) => ({
      dealId: e.dealId,
      type: e.type as StageEvent['type'],
      fromStage: e.fromStage as StageKey | null,
      toStage: e.toStage as StageKey,
      at: e.createdAt,
    }))
    expect(funnel).toEqual(funnelFrom(history, NOVEMBER))
  })

  it('sums board columns and the forecast in SQL exactly as the pure functions do', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const now = ctx.clock.now()
    const [a, b] = [await addUser(ctx, 'rep'), await addUser(ctx, 'rep')]
    const stages: StageKey[] = ['target', 'demo', 'decision_maker', 'negotiation', 'signed']
    const seeds = []
    for (let i = 0; i < 40; i++) {
      const stage = stages[i % stages.length]!
      const amountCents = i % 7 === 0 ? null : 100_001 * (i + 1)
      const month = (i % 9) - 2
      const close = new Date(Date.UTC(2026, 10 + month, 1 + (i % 27))).toISOString().slice(0, 10)
      seeds.push({
        stage,
        ownerId: i % 3 === 0 ? b.id : a.id,
        amountCents,
        currency: i % 5 === 0 ? 'USD' : 'EUR',
        expectedCloseDate: i % 6 === 0 ? null : close,
        stageEnteredAt: new Date(now.getTime() - (i + 1) * 86_400_000),
      })
    }
    seeds.push({
      stage: 'won' as StageKey,
      ownerId: a.id,
      amountCents: 5_000_000,
      currency: 'EUR',
      expectedCloseDate: '2026-11-10',
      stageEnteredAt: new Date(now.getTime() - 10 * 86_400_000),
    })
    seeds.push({
      stage: 'won' as StageKey,
      ownerId: a.id,
      amountCents: 7_000_000,
      currency: 'EUR',
      expectedCloseDate: '2026-01-10',
      stageEnteredAt: new Date('2026-01-10T00:00:00Z'),
    })
    seeds.push({
      stage: 'target' as StageKey,
      ownerId: null,
      amountCents: 999,
      currency: 'EUR',
      expectedCloseDate: null,
      stageEnteredAt: now,
    })
    for (const s of seeds) await makeDeal(db, s)

    const mine = seeds.filter((s) => s.ownerId === a.id)
    const columns = await boardColumns(db, { ownerId: a.id }, defaultPipelineSettings(), now)
    for (const col of columns) {
      const inCol = mine.filter(
        (s) =>
          s.stage === col.stage &&
          (col.stage !== 'won' || s.stageEnteredAt.getTime() > now.getTime() - 90 * 86_400_000),
      )
      expect(col.count, col.stage).toBe(inCol.length)
      expect(col.money, col.stage).toEqual(sumAmounts(inCol))
    }
    // target default threshold 7 days, demo 14, …: deals entered i+1 days ago.
    expect(columns.find((c) => c.stage === 'target')!.stale).toBe(
      mine.filter(
        (s) => s.stage === 'target' && s.stageEnteredAt.getTime() < now.getTime() - 7 * 86_400_000,
      ).length,
    )
    expect(await forecast(db, { ownerId: a.id }, now)).toEqual(forecastBuckets(mine, now))
    const owned = seeds.filter((s) => s.ownerId)
    expect(await forecast(db, { team: true }, now)).toEqual(forecastBuckets(owned, now))
  })

  it('pages through a column and the queue without repeating or skipping a deal', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const rep = await addUser(ctx, 'rep')
    const same = new Date('2026-11-20T00:00:00Z')
    for (let i = 0; i < 23; i++)
      await makeDeal(db, {
        stage: 'demo',
        ownerId: rep.id,
        stageEnteredAt: i < 5 ? same : new Date(same.getTime() + i * 1000),
      })
    for (let i = 0; i < 12; i++)
      await makeDeal(db, {
        stage: 'target',
        ownerId: null,
        stageEnteredAt: new Date(same.getTime() + (i % 4) * 1000),
        source: i % 2 ? 'grader' : 'inbound',
      })
    const seen: string[] = []
    let after: string | null = null
    do {
      const page = await columnCards(
        db,
        { ownerId: rep.id },
        'demo',
        { after, limit: 5 },
        ctx.clock.now(),
      )
      seen.push(...page.cards.map((c) => c.id))
      after = page.next
    } while (after)
    expect(seen).toHaveLength(23)
    expect(new Set(seen).size).toBe(23)

    const queued: string[] = []
    after = null
    do {
      const page = await leadQueue(db, { after, limit: 5 })
      expect(page.count).toBe(12)
      queued.push(...page.leads.map((l) => l.id))
      after = page.next
    } while (after)
    expect(new Set(queued).size).toBe(12)
    const times = (await db.select({ id: deals.id, at: deals.stageEnteredAt }).from(deals)).filter(
      (d) => queued.includes(d.id),
    )
    const order = queued.map((id) => times.find((t) => t.id === id)!.at.getTime())
    expect(order).toEqual([...order].sort((x, y) => y - x)) // newest first
    expect((await leadQueue(db, { source: 'grader' })).count).toBe(6)
  })
})

describe('stage_moves, the narrow stage history the bottleneck numbers read', () => {
  it('follows the deal to whoever owns it now: claimed, reassigned, back to the queue', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const [a, b, admin] = [
      await addUser(ctx, 'rep'),
      await addUser(ctx, 'rep'),
      await addUser(ctx, 'admin'),
    ]
    const created = new Date('2026-11-03T09:00:00Z')
    const deal = await makeDeal(db, { createdAt: created, stageEnteredAt: created })
    const targets = async (ownerId: string) =>
      (await funnelFor(db, { ownerId }, NOVEMBER)).find((f) => f.stage === 'target')!.reached
    expect((await funnelFor(db, { team: true }, NOVEMBER))[0]!.reached).toBe(1)
    expect(await targets(a.id)).toBe(0)

    expect((await claimDeal(db, deal.id, a.id, new Date('2026-11-03T10:00:00Z'))).ok).toBe(true)
    const moved = await moveDealStage(
      db,
      deal.id,
      a,
      { stage: 'demo' },
      new Date('2026-11-05T10:00:00Z'),
    )
    expect(moved.ok).toBe(true)
    expect(await targets(a.id)).toBe(1)
    expect(
      (await stageStatsFor(db, { ownerId: a.id }, NOVEMBER)).find((s) => s.stage === 'target'),
    ).toMatchObject({ exits: 1, advanced: 1, medianDays: 2 + 1 / 24 })

    expect((await assignDeal(db, deal.id, admin, b.id, new Date('2026-11-06T00:00:00Z'))).ok).toBe(
      true,
    )
    expect(await targets(a.id)).toBe(0)
    expect(await targets(b.id)).toBe(1)
    expect(
      (await stageStatsFor(db, { ownerId: b.id }, NOVEMBER)).find((s) => s.stage === 'target'),
    ).toMatchObject({ exits: 1, medianDays: 2 + 1 / 24 })

    // Only a 10% lead goes back to the queue: b moves it back first.
    const back = new Date('2026-11-06T12:00:00Z')
    expect((await moveDealStage(db, deal.id, b, { stage: 'target' }, back)).ok).toBe(true)
    expect((await assignDeal(db, deal.id, admin, null, new Date('2026-11-07T00:00:00Z'))).ok).toBe(
      true,
    )
    expect(await targets(b.id)).toBe(0)
    expect((await funnelFor(db, { team: true }, NOVEMBER))[0]!.reached).toBe(1)

    // A deal that goes away takes its moves with it.
    await db.delete(deals).where(eq(deals.id, deal.id))
    expect(await db.select().from(stageMoves)).toEqual([])
  })

  it('gets one row per stage event of a many-row INSERT, and none for other events', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const rep = await addUser(ctx, 'rep')
    const t0 = new Date('2026-11-02T08:00:00Z')
    const [d1, d2] = [
      await makeDeal(db, { ownerId: rep.id, createdAt: t0 }),
      await makeDeal(db, { createdAt: t0 }),
    ]
    await db.delete(stageMoves)
    const day = (n: number) => new Date(t0.getTime() + n * 86_400_000)
    // One statement: a creation, a move measured from that creation (same statement), a move
    // that brings its own time in stage, and a note (no stage: no row).
    await db.insert(dealEvents).values([
      { id: 'e1', dealId: d1.id, type: 'created', toStage: 'target', createdAt: day(0) },
      {
        id: 'e2',
        dealId: d1.id,
        type: 'stage_changed',
        fromStage: 'target',
        toStage: 'demo',
        createdAt: day(3),
      },
      {
        id: 'e3',
        dealId: d2.id,
        type: 'stage_changed',
        fromStage: 'target',
        toStage: 'demo',
        createdAt: day(1),
        data: { secondsInStage: 60 },
      },
      { id: 'e4', dealId: d2.id, type: 'note', createdAt: day(2) },
    ])
    expect(await db.select().from(stageMoves).orderBy(stageMoves.eventId)).toMatchObject([
      { eventId: 'e1', dealId: d1.id, ownerId: rep.id, toStage: 'target', secondsInStage: null },
      {
        eventId: 'e2',
        dealId: d1.id,
        ownerId: rep.id,
        fromStage: 'target',
        toStage: 'demo',
        secondsInStage: 3 * 86_400,
      },
      { eventId: 'e3', dealId: d2.id, ownerId: null, toStage: 'demo', secondsInStage: 60 },
    ])
  })

  it('is filled from the history written before it existed, as the triggers would have', async () => {
    const ctx = await setupTestApp()
    const db = ctx.deps.db
    const rep = await addUser(ctx, 'rep')
    const start = new Date('2026-11-02T08:00:00Z')
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const deal = await makeDeal(db, { ownerId: rep.id, stageEnteredAt: start, createdAt: start })
      ids.push(deal.id)
      let t = start.getTime()
      for (const stage of ['demo', 'decision_maker', 'lost'] as StageKey[]) {
        t += (i + 1) * 86_400_000
        const moved = await moveDealStage(
          db,
          deal.id,
          rep,
          stage === 'lost' ? { stage, lostReason: 'No budget' } : { stage },
          new Date(t),
        )
        expect(moved.ok).toBe(true)
      }
    }
    // A move recorded without its time in stage (as an import might): measured from the move
    // before it, the first deal's loss on 5 November, 15 days earlier.
    await db.insert(dealEvents).values({
      id: newId(),
      dealId: ids[0]!,
      type: 'stage_changed',
      fromStage: 'lost',
      toStage: 'demo',
      createdAt: new Date('2026-11-20T08:00:00Z'),
    })
    const byTrigger = await db.select().from(stageMoves).orderBy(stageMoves.eventId)
    expect(byTrigger).toHaveLength(3 * 4 + 1)
    expect(byTrigger.filter((m) => m.fromStage === 'lost')).toMatchObject([
      { dealId: ids[0], toStage: 'demo', secondsInStage: 15 * 86_400 },
    ])

    const migration = await readFile(
      new URL('../../../api/db/migrations/0003_stage_moves_triggers.sql', import.meta.url),
      'utf8',
    )
    const backfill = migration.split('--> statement-breakpoint').at(-1)!
    expect(backfill).toContain('INSERT INTO stage_moves')
    await db.delete(stageMoves)
    await db.execute(sql.raw(backfill))
    expect(await db.select().from(stageMoves).orderBy(stageMoves.eventId)).toEqual(byTrigger)
  })
})
