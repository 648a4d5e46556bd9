// Lead capture with webhooks (npm run bench -- lead-capture-webhooks): form posts over HTTP to two
// servers (`node server.ts`, embedded PGlite each, or two databases of BENCH_DATABASE_URL's
// server) side by side in one run: one with 3 webhook subscriptions to loopback receivers (each
// wanting lead.captured and deal.qualified: 6 deliveries a lead, made by the server's own delivery
// worker while it takes the posts), one with none. Rounds alternate between them, each starting
// once the previous round's deliveries have all arrived. Target: with ≥ 0.9 of the throughput
// without. Needs a build (dist/) for the pages the server also serves.

import { randomUUID } from 'node:crypto'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { createUser } from '../../api/accounts/users.ts'
import { createDeps } from '../../api/deps.ts'
import { parseEnv } from '../../api/env.ts'
import { createSubscription } from '../../api/integrations/webhooks.ts'
import { issueFormToken } from '../../api/leads/form-tokens.ts'
import { freePort, median, root, sleep, type Figure } from './harness.ts'

type Autocannon = (options: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number }
  non2xx: number
  '3xx'?: number
  errors: number
  timeouts: number
}>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const SECRET = 'bench-secret-bench-secret-bench-secret!'
const OFFER = 'whitepaper:mid-market-pipeline-benchmark-2026'
const PAGE = '/whitepapers/mid-market-pipeline-benchmark-2026'
const SUBSCRIPTIONS = 3
const EVENTS_PER_LEAD = 2 // lead.captured and deal.qualified
const CONNECTIONS = 16
const SECONDS = 5
const ROUNDS = 3

function formBody(email: string, renderedAt: Date): string {
  return new URLSearchParams({
    email,
    name: 'Bench Person',
    company: 'Bench Co',
    consent: 'yes',
    consentVersion: '2026-11-29',
    offer: OFFER,
    idempotencyKey: randomUUID(),
    formToken: issueFormToken(SECRET, renderedAt, PAGE),
    pageUrl: `http://127.0.0.1${PAGE}?utm_source=bench`,
    referrer: '',
    fax: '',
  }).toString()
}

/** A receiver answering 204 at once, counting what it got. */
async function startReceiver() {
  let received = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      received++
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

interface Side {
  name: 'with' | 'without'
  url: string
  stop(): Promise<void>
}

/** A server on its own database: migrated, an admin, and `urls` subscribed, before it starts. */
async function startSide(
  name: Side['name'],
  urls: string[],
  allow: string,
  database: string | undefined,
): Promise<Side> {
  const dataDir = await mkdtemp(join(tmpdir(), `frontdoor-bench-lcw-${name}-`))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const vars: Record<string, string> = {
    // Not production: only there is the loopback allow-list refused.
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    APP_ORIGIN: url,
    DATA_DIR: dataDir,
    SECRET,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    DEMO_SEED: 'no',
    LEADS_PER_IP_PER_HOUR: '1000000',
    WEBHOOK_ALLOW_ADDRESSES: allow,
    // The delivery worker runs where the email outbox worker does (both sides alike).
    OUTBOX_WORKER: 'true',
    ...(database ? { DATABASE_URL: database } : {}),
  }
  const deps = await createDeps(parseEnv(vars))
  try {
    const admin = await createUser(deps.db, {
      email: `bench-${name}@frontdoor.example`,
      name: 'Bench',
      role: 'admin',
      password: 'bench-password-123',
    })
    if (!admin.ok) throw new Error('no admin')
    for (const hook of urls)
      await createSubscription(
        deps.db,
        { url: hook, events: ['lead.captured', 'deal.qualified'], createdBy: admin.user.id },
        new Date(),
      )
  } finally {
    await deps.database.close()
  }
  const child = spawn(process.execPath, [join(root, 'server.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} server exited:\n${out}`)
    if (i > 600) throw new Error(`${name} server did not start:\n${out}`)
    try {
      if ((await fetch(`${url}/api/health`)).ok) break
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  return {
    name,
    url,
    async stop() {
      child.kill('SIGTERM')
      await exited
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const base = process.env.BENCH_DATABASE_URL
  // Two databases on the same PostgreSQL server: the given one and a fresh one beside it.
  let second: string | undefined
  if (base) {
    const admin = new pg.Client({ connectionString: base })
    await admin.connect()
    const name = `bench_lcw_${process.pid}`
    await admin.query(`drop database if exists ${name}`)
    await admin.query(`create database ${name}`)
    await admin.end()
    const u = new URL(base)
    u.pathname = `/${name}`
    second = u.href
  }
  const receivers = await Promise.all(Array.from({ length: SUBSCRIPTIONS }, () => startReceiver()))
  const allow = receivers.map((r) => `127.0.0.1:${r.port}`).join(',')
  const hooks = receivers.map((r, i) => `http://127.0.0.1:${r.port}/crm/${i}`)
  const delivered = () => Math.min(...receivers.map((r) => r.received()))
  const sides: Side[] = []
  try {
    sides.push(await startSide('without', [], allow, base))
    sides.push(await startSide('with', hooks, allow, second))
    const [without, withHooks] = sides as [Side, Side]
    const run = Date.now().toString(36)
    let k = 0
    let capturedWith = 0
    let maxLagMs = 0

    async function shoot(side: Side, seconds: number): Promise<number> {
      const renderedAt = new Date(Date.now() - 10_000)
      const result = await autocannon({
        url: `${side.url}/api/leads`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin: side.url },
            setupRequest: (req: Record<string, unknown>) => ({
              ...req,
              body: formBody(`p${k++}-${run}@bench-${k % 997}-${run}.example`, renderedAt),
            }),
          },
        ],
      })
      if (result.errors + result.timeouts > 0)
        throw new Error(`${side.name}: ${result.errors} errors, ${result.timeouts} timeouts`)
      const redirects = result['3xx'] ?? 0
      if (result.non2xx !== redirects) throw new Error(`${side.name}: answers other than 303`)
      if (side === withHooks) {
        // Every accepted lead makes EVENTS_PER_LEAD deliveries to each receiver: wait for them.
        capturedWith += redirects
        const ended = performance.now()
        while (delivered() < capturedWith * EVENTS_PER_LEAD) {
          if (performance.now() - ended > 120_000)
            throw new Error(
              `deliveries fell behind: ${delivered()} of ${capturedWith * EVENTS_PER_LEAD}`,
            )
          await sleep(20)
        }
        maxLagMs = Math.max(maxLagMs, performance.now() - ended)
      }
      return result.requests.average
    }

    await shoot(without, 2) // warm-up
    await shoot(withHooks, 2)
    const rates = { with: [] as number[], without: [] as number[] }
    for (let round = 0; round < ROUNDS; round++) {
      rates.without.push(await shoot(without, SECONDS))
      rates.with.push(await shoot(withHooks, SECONDS))
    }
    const baseline = median(rates.without)
    const value = median(rates.with)
    return [
      {
        name: `Lead capture over HTTP with ${SUBSCRIPTIONS} webhook subscriptions, ${CONNECTIONS} connections (${base ? 'postgres' : 'pglite'})`,
        value: Math.round(value),
        unit: 'leads/s',
        baseline: Math.round(baseline),
        ratio: value / baseline,
        target: '≥ 0.9 of the same server without subscriptions',
      },
      {
        name: `Deliveries received (${SUBSCRIPTIONS} receivers × ${EVENTS_PER_LEAD} events a lead); longest wait after a round for the last`,
        value: delivered() * SUBSCRIPTIONS,
        unit: `deliveries / ${Math.round(maxLagMs)} ms`,
      },
    ]
  } finally {
    for (const side of sides) await side.stop()
    for (const r of receivers) await r.close()
    if (second) {
      const admin = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL! })
      await admin.connect()
      await admin.query(`drop database if exists ${new URL(second).pathname.slice(1)} with (force)`)
      await admin.end()
    }
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('lead-capture-webhooks', await bench())
}
