import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { eq, sql } from 'drizzle-orm'
import pg from 'pg'
import { openDatabase, type Database } from '../../api/db/client.ts'
import { campaignImports, campaigns, clickEvents } from '../../api/db/schema.ts'
import { storeImport } from '../../api/campaigns/imports.ts'
import { addTrackedLinks } from '../api/tracking/fixtures.ts'
import { newDataDir, startServer } from '../e2e/harness.ts'
import {
  cpuSeconds,
  load,
  loadGenerator,
  pinDatabase,
  pinning,
  pinServer,
  root,
  sleep,
  startBareRedirectServer,
  interleavedRatios,
  median,
  spread,
  type Figure,
  type LoadResult,
} from './harness.ts'

/**
 * The durable tracked-link redirect (`GET /r/<token>` through the production entry: the click is
 * committed, in groups, before the 302 — on PGlite to the click journal, then moved
 * into click_events; on PostgreSQL into click_events) against a bare node:http server answering
 * 302, driven alternately by the same load generator in one run, as the HTTP bench does.
 * Afterwards every answered click must be in the database; the batch sizes are the server's own
 * count of its group commits (`/api/health`: on PGlite the journal's appends; the rows' xmin would
 * show the moves, and on PostgreSQL the verdict job's updates). On PGlite, and on PostgreSQL when
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server: a scratch database is made there.
 */
const ROUNDS = 6
const SECONDS = 2
// 32 as in the HTTP bench; 128 for a burst (a campaign's send window opening): group commit
// gains with concurrency, because one commit carries every click waiting for it.
const CONNECTIONS = [32, 128]

interface Target {
  label: string
  env: Record<string, string>
  dataDir: string
  /** The database, opened while no server owns it (PGlite has one owner at a time). */
  withDatabase<T>(fn: (database: Database) => Promise<T>): Promise<T>
  /**
   * CPU seconds the database server has used so far, where it is a server of its own: every
   * backend connected to the scratch database, and the WAL writer (PGlite runs in the server's
   * thread, counted with it).
   */
  databaseCpu?: () => Promise<number>
  /**
   * With BENCH_CLICKS_DATABASE_CPU=generator, the database server's processes on the load
   * generator's CPU (`pinDatabase`, which says why it is a choice), where it is a server of its
   * own: called before each durable run, as the app server may have opened more connections.
   */
  pinDatabase?: () => Promise<void>
  dispose(): Promise<void>
}

async function pgliteTarget(): Promise<Target> {
  const dataDir = await newDataDir()
  return {
    label: 'PGlite',
    env: {},
    dataDir,
    async withDatabase(fn) {
      const database = await openDatabase({ dataDir: join(dataDir, 'pglite') })
      try {
        return await fn(database)
      } finally {
        await database.close()
      }
    },
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  }
}

async function postgresTarget(serverUrl: string): Promise<Target> {
  const name = `fd_bench_clicks_${process.pid}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`drop database if exists "${name}" with (force)`)
  await admin.query(`create database "${name}"`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const database = await openDatabase({ databaseUrl: url.href, poolSize: 2 })
  await database.migrate()
  const dataDir = await newDataDir({ emptyDataDir: true })
  /** Every backend connected to the scratch database, and the WAL writer. */
  const databasePids = async () => {
    const { rows } = (await database.db.execute(sql`
      select pid from pg_stat_activity
      where datname = current_database() or backend_type = 'walwriter'`)) as unknown as {
      rows: { pid: number }[]
    }
    return rows.map((r) => r.pid)
  }
  return {
    label: 'PostgreSQL',
    env: { DATABASE_URL: url.href },
    dataDir,
    withDatabase: (fn) => fn(database),
    databaseCpu: async () => {
      let seconds = 0
      for (const pid of await databasePids()) {
        try {
          seconds += cpuSeconds(pid)
        } catch {
          // A backend that ended meanwhile: its CPU is gone from /proc.
        }
      }
      return seconds
    },
    ...(process.env.BENCH_CLICKS_DATABASE_CPU === 'generator'
      ? { pinDatabase: async () => pinDatabase(await databasePids()) }
      : {}),
    dispose: async () => {
      // The WAL writer serves the whole cluster (tests use it too): back on every CPU.
      if (process.env.BENCH_CLICKS_DATABASE_CPU === 'generator')
        await pinDatabase(await databasePids(), 'all')
      await database.close()
      const drop = new pg.Client({ connectionString: serverUrl })
      await drop.connect()
      await drop.query(`drop database if exists "${name}" with (force)`)
      await drop.end()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** BENCH_CLICKS_CPU_PROF=<dir>: the server writes a CPU profile there when it stops (node --cpu-prof). */
const profiling = (): Record<string, string> => {
  const dir = process.env.BENCH_CLICKS_CPU_PROF
  return dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } : {}
}

const answers = (runs: LoadResult[]) => runs.reduce((a, r) => a + r.requests, 0)
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

interface Setting {
  connections: number
  token: string
  appRuns: LoadResult[]
  bareRuns: LoadResult[]
  answered: number
  /** Seconds after each durable run until the journal's backlog was in click_events (PGlite). */
  settleSeconds: number[]
  /** CPU seconds each server used during its runs (the durable one's moves after a run not included). */
  appCpu: number[]
  bareCpu: number[]
  /** CPU seconds the database server used during each durable run (PostgreSQL only). */
  databaseCpu: number[]
  /** CPU seconds of this process (the load generator, when autocannon) during each run, and its requests. */
  generatorCpu: number[]
  generated: number
  /** The group commits of the measured runs, by size. */
  batches: { size: number; batches: number }[]
}

/**
 * On PGlite a click is durable in the journal when answered and moved into click_events in the
 * background: after a durable run, wait until /api/health shows no pending click, so the move
 * never runs during a bare run (it would slow the baseline down on this small machine).
 */
async function settle(appUrl: string): Promise<number> {
  const started = performance.now()
  for (;;) {
    if ((await clickHealth(appUrl)).pending === 0) return (performance.now() - started) / 1000
    await sleep(50)
  }
}

interface ClickHealth {
  pending: number
  /** Group commits since the server started, by the number of clicks each carried. */
  commitsBySize: Record<string, number>
}

async function clickHealth(appUrl: string): Promise<ClickHealth> {
  return ((await (await fetch(`${appUrl}/api/health`)).json()) as { clicks: ClickHealth }).clicks
}

/** The commits the server made between two health readings, by batch size. */
function commitsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Setting['batches'] {
  return Object.entries(after)
    .map(([size, n]) => ({ size: Number(size), batches: n - (before[size] ?? 0) }))
    .filter((b) => b.batches > 0)
    .sort((a, b) => a.size - b.size)
}

const newSetting = (connections: number, token: string): Setting => ({
  connections,
  token,
  appRuns: [],
  bareRuns: [],
  answered: 0,
  settleSeconds: [],
  appCpu: [],
  bareCpu: [],
  databaseCpu: [],
  batches: [],
  generatorCpu: [],
  generated: 0,
})

async function measure(target: Target): Promise<Figure[]> {
  const settings: Setting[] = []
  await target.withDatabase(async (database) => {
    for (const connections of CONNECTIONS) {
      const { tokens } = await addTrackedLinks(database.db, ['https://www.example.com/pricing'])
      settings.push(newSetting(connections, tokens[0]!))
    }
  })
  const app = await startServer({ ...target.env, ...profiling() }, { dataDir: target.dataDir })
  const bare = await startBareRedirectServer()
  try {
    for (const server of [app, bare]) await pinServer(server.pid)
    for (const setting of settings) {
      const run = (url: string) =>
        load(url, { seconds: SECONDS, connections: setting.connections, pinned: true })
      const timed = async (pid: number, url: string, cpu: number[]) => {
        const before = cpuSeconds(pid)
        const generatorBefore = cpuSeconds(process.pid)
        const result = await run(url)
        cpu.push(cpuSeconds(pid) - before)
        setting.generatorCpu.push(cpuSeconds(process.pid) - generatorBefore)
        setting.generated += result.requests
        return result
      }
      const click = async () => {
        await target.pinDatabase?.()
        const databaseBefore = await target.databaseCpu?.()
        const result = await timed(app.pid, `${app.url}/r/${setting.token}`, setting.appCpu)
        if (databaseBefore !== undefined)
          setting.databaseCpu.push((await target.databaseCpu!()) - databaseBefore)
        setting.answered += result.requests - result.non2xx3xx
        if (result.errors > 0 || result.non2xx3xx > 0)
          throw new Error(`the redirect answered errors under load: ${JSON.stringify(result)}`)
        setting.settleSeconds.push(await settle(app.url))
        return result
      }
      await click() // warm up both
      await run(bare.url)
      const commitsBefore = (await clickHealth(app.url)).commitsBySize
      // Rounds of bare / durable redirect, one more bare run at the end: each round's ratio is
      // against the mean of the bare runs either side; the figure is their median.
      for (let i = 0; i < ROUNDS; i++) {
        setting.bareRuns.push(await timed(bare.pid, bare.url, setting.bareCpu))
        setting.appRuns.push(await click())
      }
      setting.bareRuns.push(await timed(bare.pid, bare.url, setting.bareCpu))
      const commitsAfter = (await clickHealth(app.url)).commitsBySize
      setting.batches = commitsBetween(commitsBefore, commitsAfter)
    }
  } finally {
    await bare.stop()
    // SIGTERM: the server drains its click writer before the database closes.
    const code = await app.stop()
    if (code !== 0) throw new Error(`the server exited with ${code}:\n${app.output().slice(-2000)}`)
  }
  const figures: Figure[] = []
  for (const setting of settings) figures.push(...(await report(target, setting)))
  return figures
}

async function report(
  target: Target,
  {
    connections,
    token,
    appRuns,
    bareRuns,
    answered,
    settleSeconds,
    appCpu,
    bareCpu,
    databaseCpu,
    batches,
    generatorCpu,
    generated,
  }: Setting,
): Promise<Figure[]> {
  const committed = await target.withDatabase((database) =>
    database.db.$count(clickEvents, eq(clickEvents.token, token)),
  )
  if (committed < answered)
    throw new Error(
      `${answered - committed} of ${answered} answered clicks are not in the database`,
    )

  const ratios = interleavedRatios(
    appRuns.map((r) => r.rps),
    bareRuns.map((r) => r.rps),
  )
  const flushes = batches.reduce((a, b) => a + b.batches, 0)
  const grouped = batches.reduce((a, b) => a + b.size * b.batches, 0)
  // The batch a typical click travelled in: percentiles over clicks, not over commits.
  const clickPercentile = (p: number) => {
    let seen = 0
    for (const b of batches) {
      seen += b.size * b.batches
      if (seen >= p * grouped) return b.size
    }
    return batches.at(-1)?.size ?? 0
  }
  const label = `${target.label}, ${connections} connections`
  return [
    {
      name: `${label}: durable /r/<token> throughput (median of ${ROUNDS} rounds; per round ${spread(ratios)})`,
      value: Math.round(median(appRuns.map((r) => r.rps))),
      unit: 'clicks/s',
      baseline: Math.round(median(bareRuns.map((r) => r.rps))),
      ratio: median(ratios),
      target: '≥ 0.50',
    },
    {
      name: `${label}: latency p50 / p99 (bare p50 / p99)`,
      value: avg(appRuns.map((r) => r.p50)),
      unit: `ms / ${avg(appRuns.map((r) => r.p99)).toFixed(2)} ms (bare ${avg(bareRuns.map((r) => r.p50)).toFixed(2)} / ${avg(bareRuns.map((r) => r.p99)).toFixed(2)} ms)`,
    },
    ...(appCpu.length > 0
      ? [
          {
            name: `${label}: the server's CPU per answer during the runs, all its threads (bare node:http's)`,
            value: (1e6 * appCpu.slice(-ROUNDS).reduce((a, b) => a + b, 0)) / answers(appRuns),
            unit: `µs, ${Math.round((100 * median(appCpu)) / SECONDS)}% of a CPU (bare ${((1e6 * bareCpu.reduce((a, b) => a + b, 0)) / answers(bareRuns)).toFixed(1)} µs, ${Math.round((100 * median(bareCpu)) / SECONDS)}%)`,
          },
        ]
      : []),
    ...(databaseCpu.length > 0
      ? [
          {
            name: `${label}: the database server's CPU per answer during the runs (its backends for this database and the WAL writer)`,
            value: (1e6 * databaseCpu.slice(-ROUNDS).reduce((a, b) => a + b, 0)) / answers(appRuns),
            unit: `µs, ${Math.round((100 * median(databaseCpu)) / SECONDS)}% of a CPU`,
          },
        ]
      : []),
    ...(loadGenerator === 'autocannon'
      ? [
          {
            name: `${label}: the load generator's CPU per request (autocannon, in this process; bare and durable runs)`,
            value: (1e6 * generatorCpu.reduce((a, b) => a + b, 0)) / generated,
            unit: `µs, ${Math.round((100 * median(generatorCpu)) / SECONDS)}% of a CPU`,
          },
        ]
      : []),
    ...(settleSeconds.length > 0 && target.label.startsWith('PGlite')
      ? [
          {
            name: `${label}: after each ${SECONDS} s run, the journal's backlog in click_events (median)`,
            value: median(settleSeconds),
            unit: `s (max ${Math.max(...settleSeconds).toFixed(2)} s)`,
          },
        ]
      : []),
    {
      name: `${label}: every answered click committed (the surplus: committed, then cut off before the 302 by the run's end)`,
      value: committed,
      unit: `committed / ${answered} answered`,
    },
    {
      name: `${label}: commits; clicks per commit p50 / p90 / max by click in the measured runs (mean ${(grouped / flushes).toFixed(1)})`,
      value: flushes,
      unit: `commits; ${clickPercentile(0.5)} / ${clickPercentile(0.9)} / ${batches.at(-1)?.size ?? 0} clicks`,
    },
  ]
}

const IMPORT_ROWS = 50_000

function prospectsCsv(rows: number): Uint8Array {
  const lines = ['email,first_name,last_name,company,title']
  for (let i = 0; i < rows; i++)
    lines.push(
      `p${i}@prospect-${i % 5_000}.example,Pat ${i},Lee,Prospect ${i % 5_000},Head of Growth`,
    )
  return new TextEncoder().encode(lines.join('\n') + '\n')
}

/**
 * The same durable redirect (32 connections) while the server imports a 50,000-row CSV (the
 * campaign job starts it when the server starts): only the rounds that ended before the import
 * did count. Also the import's own speed; with `clicks: false` that alone, nothing else running.
 */
async function measureDuringImport(target: Target, clicks = true): Promise<Figure[]> {
  const setting = newSetting(32, '')
  await target.withDatabase(async (database) => {
    const { tokens, campaignId } = await addTrackedLinks(database.db, [
      'https://www.example.com/pricing',
    ])
    setting.token = tokens[0]!
    const [campaign] = await database.db
      .select()
      .from(campaigns)
      .where(eq(campaigns.id, campaignId))
    const stored = await storeImport(
      database.db,
      { id: campaign!.ownerId, role: 'sdr' },
      { campaignId, filename: 'bench.csv', bytes: prospectsCsv(IMPORT_ROWS) },
      new Date(),
    )
    if (!stored.ok) throw new Error(stored.message)
  })
  const app = await startServer(target.env, { dataDir: target.dataDir })
  const bare = await startBareRedirectServer()
  const importLine = () =>
    app
      .output()
      .split('\n')
      .find((line) => line.includes('"msg":"campaign import"'))
  let overlapping = 0
  let line: string | undefined
  try {
    for (const server of [app, bare]) await pinServer(server.pid)
    const run = (url: string) =>
      load(url, { seconds: SECONDS, connections: setting.connections, pinned: true })
    const commitsBefore = (await clickHealth(app.url)).commitsBySize
    while (clicks && !importLine() && overlapping < 2 * ROUNDS) {
      const bareRun = await run(bare.url)
      await target.pinDatabase?.()
      const result = await run(`${app.url}/r/${setting.token}`)
      setting.answered += result.requests - result.non2xx3xx
      if (result.errors > 0 || result.non2xx3xx > 0)
        throw new Error(`the redirect answered errors under load: ${JSON.stringify(result)}`)
      if (importLine()) break
      setting.bareRuns.push(bareRun)
      setting.appRuns.push(result)
      overlapping++
    }
    // The commits of every run during the import, the one cut short by its end included.
    setting.batches = commitsBetween(commitsBefore, (await clickHealth(app.url)).commitsBySize)
    setting.bareRuns.push(await run(bare.url))
    for (let waited = 0; !(line = importLine()) && waited < 600; waited++) await sleep(500)
  } finally {
    await bare.stop()
    const code = await app.stop()
    if (code !== 0) throw new Error(`the server exited with ${code}:\n${app.output().slice(-2000)}`)
  }
  if (!line) throw new Error('the import did not finish in 5 minutes')
  const logged = JSON.parse(line) as { outcome: unknown; seconds: number }
  const imported = await target.withDatabase(async (database) => {
    const [row] = await database.db.select().from(campaignImports)
    return row!
  })
  const figures: Figure[] = [
    {
      name: `${target.label}: import of a ${IMPORT_ROWS.toLocaleString('en')}-row CSV (status ${imported.status}: ${imported.imported} imported, ${imported.processedRows} rows read)`,
      value: Math.round(imported.processedRows / logged.seconds),
      unit: `rows/s, ${logged.seconds} s in all, ${clicks ? 'with clicks pouring in' : 'alone'}`,
      target: '≤ 60 s on PGlite',
    },
  ]
  if (!clicks) return figures
  if (overlapping === 0)
    return [
      ...figures,
      {
        name: `${target.label}: the import ended before a round of clicks did`,
        value: 0,
        unit: '',
      },
    ]
  const during = await report({ ...target, label: `${target.label}, during the import` }, setting)
  return [...figures, ...during]
}

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const figures: Figure[] = []
  const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  // BENCH_CLICKS_ENGINES=postgres / BENCH_CLICKS_PARTS=import,import-alone: some of them only;
  // BENCH_CLICKS_DATABASE_CPU=generator: PostgreSQL beside the load generator (see pinDatabase).
  const engines = process.env.BENCH_CLICKS_ENGINES?.split(',') ?? ['pglite', 'postgres']
  const parts = process.env.BENCH_CLICKS_PARTS?.split(',') ?? ['redirect', 'import', 'import-alone']
  const targets = [
    ...(engines.includes('pglite') ? [pgliteTarget] : []),
    ...(postgresUrl && engines.includes('postgres') ? [() => postgresTarget(postgresUrl)] : []),
  ]
  for (const make of targets) {
    // A fresh database for each part: the import's part must not start with the first part's
    // hundreds of thousands of clicks waiting for their verdicts.
    if (parts.includes('redirect')) {
      const target = await make()
      try {
        figures.push(...(await measure(target)))
      } finally {
        await target.dispose()
      }
      await sleep(1_000)
    }
    for (const clicks of [true, false]) {
      if (!parts.includes(clicks ? 'import' : 'import-alone')) continue
      const fresh = await make()
      try {
        // A failed run during the import (e.g. the import outlasting its limit) is a figure too;
        // it does not throw away the ones measured before it.
        figures.push(
          ...(await measureDuringImport(fresh, clicks).catch((err: Error) => [
            {
              name: `${fresh.label}, ${clicks ? 'during the import' : 'the import alone'}: FAILED — ${err.message}`,
              value: 0,
              unit: '',
            },
          ])),
        )
      } finally {
        await fresh.dispose()
      }
      await sleep(1_000)
    }
  }
  if (!postgresUrl && engines.includes('postgres'))
    figures.push({
      name: 'PostgreSQL: skipped (set BENCH_DATABASE_URL=postgres://…/postgres to measure it)',
      value: 0,
      unit: '',
    })
  figures.push({
    name: `Load generator: ${loadGenerator}, ${pinning ? 'servers and generator on separate CPUs' : 'unpinned (in this process)'}`,
    value: SECONDS,
    unit: `s per run, ${ROUNDS} rounds of bare / durable redirect`,
  })
  return figures
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('clicks', await bench())
}
