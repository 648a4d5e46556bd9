import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { load, loadGenerator, root, rssMb, sleep, startBareRedirectServer, startProductionServer, type Figure } from './harness.ts'

/**
 * A trivial Hono 302 (`GET /api` → /api/health) through the production entry, against a bare
 * node:http server answering 302, driven alternately by the same load generator in one run.
 * Also: the server's resident memory after start-up, idle, on the embedded database.
 */
export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const app = await startProductionServer()
  const bare = await startBareRedirectServer()
  const honoFloor = await startBareRedirectServer('hono')
  try {
    await sleep(2_000)
    const idleRss = rssMb(app.pid)
    // warm both up, then alternate to spread machine noise evenly
    await load(`${app.url}/api`, { seconds: 2 })
    await load(bare.url, { seconds: 2 })
    const appRuns = []
    const bareRuns = []
    const floorRuns = []
    // (load generator: see harness.loadGenerator)
    for (let i = 0; i < 2; i++) {
      bareRuns.push(await load(bare.url, { seconds: 4 }))
      appRuns.push(await load(`${app.url}/api`, { seconds: 4 }))
      floorRuns.push(await load(`${honoFloor.url}/api`, { seconds: 4 }))
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const appRps = avg(appRuns.map((r) => r.rps))
    const bareRps = avg(bareRuns.map((r) => r.rps))
    const floorRps = avg(floorRuns.map((r) => r.rps))
    if (appRuns.some((r) => r.errors > 0 || r.non2xx3xx > 0)) throw new Error('the Hono 302 route answered errors under load')
    return [
      { name: 'Hono 302 via production entry: throughput', value: Math.round(appRps), unit: 'req/s', baseline: Math.round(bareRps), ratio: appRps / bareRps, target: '≥ 0.80' },
      { name: 'Bare Hono app (no middleware), same route, for context', value: Math.round(floorRps), unit: 'req/s', baseline: Math.round(bareRps), ratio: floorRps / bareRps },
      { name: 'Hono 302: latency p50 / p99 (bare p50 / p99)', value: avg(appRuns.map((r) => r.p50)), unit: `ms / ${avg(appRuns.map((r) => r.p99)).toFixed(2)} ms (bare ${avg(bareRuns.map((r) => r.p50)).toFixed(2)} / ${avg(bareRuns.map((r) => r.p99)).toFixed(2)} ms)` },
      { name: 'Idle RSS after start-up (PGlite)', value: idleRss, unit: 'MB' },
      { name: `Load generator: ${loadGenerator}, 32 connections`, value: 4, unit: 's per run, 2 alternating runs per side' },
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
