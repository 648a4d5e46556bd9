import { existsSync } from 'node:fs'
import { join } from 'node:path'
import {
  interleavedRatios,
  load,
  loadGenerator,
  LOAD_CPU,
  pinning,
  pinServer,
  root,
  SERVER_CPU,
  rssMb,
  sleep,
  startBareRedirectServer,
  startProductionServer,
  median,
  spread,
  type Figure,
  type LoadResult,
} from './harness.ts'

/**
 * A trivial Hono 302 (`GET /api` → /api/health) through the production entry, against a bare
 * node:http server answering 302, driven alternately by the same load generator in one run.
 * Also: the server's resident memory after start-up, idle, on the embedded database.
 */
const ROUNDS = 12
const SECONDS = 2

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const app = await startProductionServer()
  const bare = await startBareRedirectServer()
  const honoFloor = await startBareRedirectServer('hono')
  try {
    for (const server of [app, bare, honoFloor]) await pinServer(server.pid)
    await sleep(2_000)
    const idleRss = rssMb(app.pid)
    const run = (url: string) => load(url, { seconds: SECONDS, pinned: true })
    // warm both up, then alternate to spread machine noise evenly
    await run(`${app.url}/api`)
    await run(bare.url)
    const appRuns: LoadResult[] = []
    const bareRuns: LoadResult[] = []
    const floorRuns: LoadResult[] = []
    // Rounds of short back-to-back runs, bare / production / bare Hono, and one more bare run at
    // the end: each round's ratios are against the mean of the bare runs either side of it, and
    // the figure is their median. This machine's speed swings (bare runs of 21k and 44k req/s a
    // minute apart, measured), so a burst of load from a neighbour spoils one round, not the figure.
    for (let i = 0; i < ROUNDS; i++) {
      bareRuns.push(await run(bare.url))
      appRuns.push(await run(`${app.url}/api`))
      floorRuns.push(await run(`${honoFloor.url}/api`))
    }
    bareRuns.push(await run(bare.url))
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const rps = (runs: LoadResult[]) => runs.map((r) => r.rps)
    const ratios = (runs: LoadResult[]) => interleavedRatios(rps(runs), rps(bareRuns))
    const appRatios = ratios(appRuns)
    const floorRatios = ratios(floorRuns)
    const appRps = median(appRuns.map((r) => r.rps))
    const bareRps = median(bareRuns.map((r) => r.rps))
    const floorRps = median(floorRuns.map((r) => r.rps))
    if (appRuns.some((r) => r.errors > 0 || r.non2xx3xx > 0))
      throw new Error('the Hono 302 route answered errors under load')
    return [
      {
        name: `Hono 302 via production entry: throughput (median of ${ROUNDS} rounds; ratio per round ${spread(appRatios)})`,
        value: Math.round(appRps),
        unit: 'req/s',
        baseline: Math.round(bareRps),
        ratio: median(appRatios),
        target: '≥ 0.80',
      },
      {
        name: `Bare Hono app (no middleware), same route, for context (per round ${spread(floorRatios)})`,
        value: Math.round(floorRps),
        unit: 'req/s',
        baseline: Math.round(bareRps),
        ratio: median(floorRatios),
      },
      {
        name: 'Hono 302: latency p50 / p99 (bare p50 / p99)',
        value: avg(appRuns.map((r) => r.p50)),
        unit: `ms / ${avg(appRuns.map((r) => r.p99)).toFixed(2)} ms (bare ${avg(bareRuns.map((r) => r.p50)).toFixed(2)} / ${avg(bareRuns.map((r) => r.p99)).toFixed(2)} ms)`,
      },
      { name: 'Idle RSS after start-up (PGlite)', value: idleRss, unit: 'MB' },
      {
        name: `Load generator: ${loadGenerator}, 32 connections, ${pinning ? `servers on CPU ${SERVER_CPU}, generator on CPU ${LOAD_CPU}` : 'unpinned'}`,
        value: SECONDS,
        unit: `s per run, ${ROUNDS} rounds of bare / production / bare Hono`,
      },
    ]
  } finally {
    await app.stop()
    await bare.stop()
    await honoFloor.stop()
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('http', await bench())
}
