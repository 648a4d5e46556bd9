import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { openDatabase } from '../../api/db/client.ts'
import type { Db } from '../../api/db/client.ts'
import { contacts, dealEvents, deals, users } from '../../api/db/schema.ts'
import { newId } from '../../api/ids.ts'
import { createSession, SESSION_COOKIE } from '../../api/accounts/sessions.ts'
import type { StageKey } from '../../api/pipeline/stages.ts'
import { freePort, root, type Figure } from './harness.ts'

/**
 * The pipeline board and the funnel page rendered by the real production server (Hono entry →
 * Astro page → domain queries → embedded PGlite), with 1,000 and with 100,000 deals seeded in
 * bulk. Sequential GETs with a session cookie; p50 of 40 after 5 warm-ups; ratio 100k / 1k.
 *
 * The data is shaped like a real install, because the shape decides what grows:
 *   1k deals   — a young team: 4 reps, deals created over the last 6 months;
 *   100k deals — a mature one: 20 reps, deals created over 4 years.
 * Deals flow through the stages with realistic odds and weeks per stage, so most are closed
 * (won or lost) and the open pipeline is what arrives in a few weeks: ~12× larger at 100k for
 * the team, ~2.5× per rep. The funnel's 90-day period holds ~12× more moves at 100k.
 */

const DAY = 86_400_000
const HOUR = 3_600_000
const PATH: StageKey[] = ['target', 'demo', 'decision_maker', 'negotiation', 'signed', 'won']
const FLOW: Record<string, { advance: number; days: [number, number] }> = {
  target: { advance: 0.55, days: [1, 5] },
  demo: { advance: 0.6, days: [5, 20] },
  decision_maker: { advance: 0.6, days: [7, 25] },
  negotiation: { advance: 0.7, days: [7, 30] },
  signed: { advance: 0.97, days: [3, 15] },
}

function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Seeds `count` deals with their stage history; returns the ids of the admin and of one rep. */
export async function seed(db: Db, count: number, reps: number, historyDays: number, now: Date) {
  const random = rng(count)
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
  const admin = newId(now.getTime() - 2000 * DAY)
  const repIds = Array.from({ length: reps }, (_, i) => newId(now.getTime() - 2000 * DAY + i + 1))
  await db.insert(users).values([
    { id: admin, email: 'admin@bench.example', name: 'Bench Admin', role: 'admin' },
    ...repIds.map((id, i) => ({
      id,
      email: `rep${i}@bench.example`,
      name: `Rep ${String(i).padStart(2, '0')}`,
      role: 'rep' as const,
    })),
  ])
  // One company and one contact per deal, in SQL (fast): ids derived from the row number.
  await db.execute(sql`insert into companies (id, domain, name)
    select 'co-' || g, 'company' || g || '.example', 'Company ' || g from generate_series(1, ${count}) g`)

  const contactRows: Array<typeof contacts.$inferInsert> = []
  const dealRows: Array<typeof deals.$inferInsert> = []
  const eventRows: Array<typeof dealEvents.$inferInsert> = []
  // Deals arrive in time order, as they would (and so sit in the tables in that order).
  const arrivals = Array.from(
    { length: count },
    () => now.getTime() - random() * historyDays * DAY,
  ).sort((a, b) => a - b)
  for (let g = 1; g <= count; g++) {
    const created = new Date(arrivals[g - 1]!)
    contactRows.push({
      id: `ct-${g}`,
      email: `p${g}@company${g}.example`,
      emailDisplay: `p${g}@company${g}.example`,
      firstName: 'Pat',
      lastName: `Person ${g}`,
      companyId: `co-${g}`,
      source: 'inbound',
      createdAt: created,
      updatedAt: created,
    })
    const id = newId(created.getTime())
    const deal: typeof deals.$inferInsert = {
      id,
      contactId: `ct-${g}`,
      companyId: `co-${g}`,
      title: `Company ${g}`,
      stage: 'target',
      stageEnteredAt: created,
      source: 'inbound',
      createdAt: created,
      updatedAt: created,
    }
    eventRows.push({
      id: newId(created.getTime()),
      dealId: id,
      type: 'created',
      toStage: 'target',
      data: { source: 'inbound' },
      createdAt: created,
    })
    eventRows.push({
      id: newId(created.getTime()),
      dealId: id,
      type: 'evidence',
      data: { kind: 'form', form: 'whitepaper', title: 'The Benchmark' },
      createdAt: created,
    })
    const claimedAt = new Date(created.getTime() + int(1, 20) * HOUR)
    if (claimedAt < now) {
      const owner = repIds[g % reps]!
      deal.ownerId = owner
      deal.claimedAt = claimedAt
      eventRows.push({
        id: newId(claimedAt.getTime()),
        dealId: id,
        type: 'claimed',
        actorId: owner,
        createdAt: claimedAt,
      })
      let stage: StageKey = 'target'
      let entered = created
      for (;;) {
        const flow: { advance: number; days: [number, number] } | undefined = FLOW[stage]
        if (!flow) break
        const at = new Date(
          Math.max(
            claimedAt.getTime() + HOUR,
            entered.getTime() + int(flow.days[0], flow.days[1]) * DAY,
          ),
        )
        if (at >= now) break
        const to: StageKey = random() < flow.advance ? PATH[PATH.indexOf(stage) + 1]! : 'lost'
        eventRows.push({
          id: newId(at.getTime()),
          dealId: id,
          type: 'stage_changed',
          fromStage: stage,
          toStage: to,
          actorId: owner,
          data: {
            enteredAt: entered.toISOString(),
            secondsInStage: (at.getTime() - entered.getTime()) / 1000,
          },
          createdAt: at,
        })
        if (to === 'demo') {
          deal.amountCents = int(5, 150) * 100_000
          deal.expectedCloseDate = new Date(at.getTime() + int(20, 200) * DAY)
            .toISOString()
            .slice(0, 10)
        }
        stage = to
        entered = at
        if (to === 'won' || to === 'lost') {
          deal.closedAt = at
          if (to === 'lost') deal.lostReason = 'No budget'
          if (to === 'won')
            deal.contractSignedOn = deal.paymentReceivedOn = at.toISOString().slice(0, 10)
          break
        }
      }
      deal.stage = stage
      deal.stageEnteredAt = entered
    }
    dealRows.push(deal)
  }
  // Events are appended when they happen: insert them in time order.
  eventRows.sort((a, b) => a.createdAt!.getTime() - b.createdAt!.getTime())
  for (let i = 0; i < count; i += 1000)
    await db.insert(contacts).values(contactRows.slice(i, i + 1000))
  for (let i = 0; i < count; i += 1000) await db.insert(deals).values(dealRows.slice(i, i + 1000))
  for (let i = 0; i < eventRows.length; i += 1000)
    await db.insert(dealEvents).values(eventRows.slice(i, i + 1000))
  // What autovacuum does on a server: planner statistics for the grown tables.
  if (!process.env.BENCH_NO_ANALYZE) await db.execute(sql`analyze`)
  // The rep whose pipeline is shown: one with a typical number of open deals.
  return { admin, rep: repIds[0]! }
}

async function waitForHealth(url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`server did not start:\n${output()}`)
}

interface Scenario {
  deals: number
  open: number
  repOpen: number
  stageMoves90d: number
  url: string
  cookies: { admin: string; rep: string }
  stop(): Promise<void>
}

/**
 * Seeds a fresh embedded database (and `more` on top, e.g. next steps for the My day bench),
 * then serves it with the production server.
 */
export async function prepare(
  count: number,
  reps: number,
  historyDays: number,
  more?: (db: Db, ids: { admin: string; rep: string }, now: Date) => Promise<void>,
): Promise<Scenario> {
  const dataDir = await mkdtemp(join(tmpdir(), 'frontdoor-bench-pipeline-'))
  const now = new Date()
  const database = await openDatabase({ dataDir: join(dataDir, 'pglite') })
  let cookies: { admin: string; rep: string }
  let shape: Pick<Scenario, 'deals' | 'open' | 'repOpen' | 'stageMoves90d'>
  try {
    await database.migrate()
    const ids = await seed(database.db, count, reps, historyDays, now)
    if (more) {
      await more(database.db, ids, now)
      if (!process.env.BENCH_NO_ANALYZE) await database.db.execute(sql`analyze`)
    }
    const session = async (id: string) =>
      `${SESSION_COOKIE}=${(await createSession(database.db, id, now)).token}`
    cookies = { admin: await session(ids.admin), rep: await session(ids.rep) }
    const one = async (q: ReturnType<typeof sql>) =>
      Number(
        ((await database.db.execute(q)) as unknown as { rows: Array<{ n: number }> }).rows[0]!.n,
      )
    shape = {
      deals: await one(sql`select count(*)::int as n from deals`),
      open: await one(
        sql`select count(*)::int as n from deals where stage not in ('won', 'lost') and owner_id is not null`,
      ),
      repOpen: await one(
        sql`select count(*)::int as n from deals where stage not in ('won', 'lost') and owner_id = ${ids.rep}`,
      ),
      stageMoves90d: await one(
        sql`select count(*)::int as n from deal_events where type = 'stage_changed' and created_at > ${new Date(now.getTime() - 90 * DAY).toISOString()}::timestamptz`,
      ),
    }
  } finally {
    await database.close()
  }
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [join(root, 'server.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_ORIGIN: url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      DEMO_SEED: 'no',
      OUTBOX_WORKER: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const stop = async () => {
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    await waitForHealth(url, () => out)
  } catch (err) {
    await stop()
    throw err
  }
  return { ...shape, url, cookies, stop }
}

export async function timeGet(url: string, cookie: string): Promise<number> {
  const started = performance.now()
  const res = await fetch(url, { headers: { cookie } })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body.slice(0, 300)}`)
  return performance.now() - started
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const PAGES: Array<[string, string, 'admin' | 'rep']> = [
  ['pipeline, a rep’s own', '/app/pipeline', 'rep'],
  ['pipeline, team (admin)', '/app/pipeline?owner=team', 'admin'],
  ['funnel, team, last 90 days', '/app/funnel?owner=team&period=90', 'admin'],
  ['funnel, a rep’s own, last 90 days', '/app/funnel?period=90', 'rep'],
]
const SAMPLES = 40

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const small = await prepare(1_000, 4, 180)
  try {
    const large = await prepare(100_000, 20, 4 * 365)
    try {
      const figures: Figure[] = [
        {
          name: 'Data shape 1k → 100k: claimed open deals (team) / one rep’s / stage moves in 90 days',
          value: large.open,
          unit: `(1k: ${small.open}) / ${large.repOpen} (1k: ${small.repOpen}) / ${large.stageMoves90d} (1k: ${small.stageMoves90d})`,
        },
      ]
      for (const [name, path, who] of PAGES) {
        // Warm both servers, then alternate requests so machine noise falls on both alike.
        for (let i = 0; i < 5; i++) {
          await timeGet(`${small.url}${path}`, small.cookies[who])
          await timeGet(`${large.url}${path}`, large.cookies[who])
        }
        const a: number[] = []
        const b: number[] = []
        for (let i = 0; i < SAMPLES; i++) {
          a.push(await timeGet(`${small.url}${path}`, small.cookies[who]))
          b.push(await timeGet(`${large.url}${path}`, large.cookies[who]))
        }
        figures.push({ name: `${name}: p50 with 1,000 deals`, value: median(a), unit: 'ms' })
        figures.push({
          name: `${name}: p50 with 100,000 deals`,
          value: median(b),
          unit: 'ms',
          baseline: Math.round(median(a) * 100) / 100,
          ratio: median(b) / median(a),
          target: '≤ 2',
        })
      }
      return figures
    } finally {
      await large.stop()
    }
  } finally {
    await small.stop()
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('pipeline', await bench())
}
