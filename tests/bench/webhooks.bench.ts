// Webhook delivery benchmark (npm run bench -- webhooks, or stand-alone: node tests/bench/webhooks.bench.ts):
// events queued for SUBSCRIPTIONS loopback subscriptions, delivered by the background worker
// (claim with a lease, sign, POST through the SSRF-guarded client, record the outcome), against
// plain undici POSTs of the same payloads with the same number in flight (one sequential stream
// per subscription: delivery is in order per subscription). Target ratio ≥ 0.7. The worker runs
// with the product's options but for its number of lanes.
// The worker is the server's: one started before the rounds, as the server starts one, picking
// each round's events up by its own idle poll; each round is clocked from the receiver's first
// request to its last on both sides. Until 2026-12-06 a new worker was started for each round
// and clocked from its start, which added what the server pays once (its connections, its
// caches) to every round. It was printed beside this figure, without a target, until its rounds
// went to this figure's instead (2026-12-06, evening): one round's ratio moves ±0.15 on these
// shared machines, and the median of 5 rounds was 0.51–0.79 over ten runs of the same code.
// The database is embedded PGlite in memory, or BENCH_DATABASE_URL (an empty PostgreSQL database).

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { createUser } from '../../api/accounts/users.ts'
import { openDatabase } from '../../api/db/client.ts'
import { webhookSubscriptions } from '../../api/db/schema.ts'
import { recordWebhookEvent } from '../../api/db/webhook-outbox.ts'
import { parseEnv } from '../../api/env.ts'
import { createLogger } from '../../api/logger.ts'
import { startWebhookDelivery, webhookPayload } from '../../api/integrations/webhook-delivery.ts'
import { createSubscription } from '../../api/integrations/webhooks.ts'
import { interleavedRatios, median, spread, type Figure } from './harness.ts'

const SUBSCRIPTIONS = 4
// Rounds long enough to measure warmed-up code (at 250 events a round took ~0.1 s, mostly the JIT
// still warming up, and the ratio swung 0.54–0.74 between runs of the same code), interleaved.
const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 1_000)
const WARM_UP_EVENTS = 250
const ROUNDS = 11

async function startReceiver() {
  let received = 0
  // The round's first and last request, as the receiver saw them (performance.now()).
  let firstAt: number | null = null
  let lastAt = 0
  let waiter: { count: number; resolve: () => void } | null = null
  const server = createServer((req, res) => {
    req.on('data', () => {})
    req.on('end', () => {
      res.writeHead(204).end()
      received++
      lastAt = performance.now()
      firstAt ??= lastAt
      if (waiter && received >= waiter.count) waiter.resolve()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    /** Forgets the last round's first request. */
    newRound: () => {
      firstAt = null
    },
    /** Seconds from the round's first request to its last. */
    roundSeconds: () => (lastAt - (firstAt ?? lastAt)) / 1000,
    until: (count: number) =>
      received >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => (waiter = { count, resolve })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export async function bench(): Promise<Figure[]> {
  const receiver = await startReceiver()
  const env = parseEnv({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOW_ADDRESSES: `127.0.0.1:${receiver.port}`,
  })
  const database = await openDatabase(
    process.env.BENCH_DATABASE_URL
      ? { databaseUrl: process.env.BENCH_DATABASE_URL }
      : { dataDir: 'memory://' },
  )
  await database.migrate()
  const db = database.db
  await db.delete(webhookSubscriptions)
  const deps = {
    db,
    env,
    logger: createLogger({ level: 'silent', format: 'json' }),
    now: () => new Date(),
    version: 'bench',
  }
  const admin = await createUser(db, {
    email: `bench-${Date.now()}@frontdoor.example`,
    name: 'Bench',
    role: 'admin',
    password: 'bench-password-123',
  })
  if (!admin.ok) throw new Error('no admin')
  const urls = Array.from(
    { length: SUBSCRIPTIONS },
    (_, i) => `http://127.0.0.1:${receiver.port}/hook/${i}`,
  )
  for (const url of urls)
    await createSubscription(
      db,
      { url, events: ['deal.won'], createdBy: admin.user.id },
      new Date(),
    )
  const data = {
    deal: { id: '0190f0a0-0000-7000-8000-000000000000', title: 'Northwind', stage: 'won' },
  }
  const payload = webhookPayload({ type: 'deal.won', eventAt: new Date(), data })

  async function queue(events: number): Promise<number> {
    await db.transaction(async (tx) => {
      for (let i = 0; i < events; i++)
        await recordWebhookEvent(tx, 'deal.won', data as never, new Date())
    })
    return receiver.received() + events * SUBSCRIPTIONS
  }

  // The server's worker: started once, it picks a round's events up by its own idle poll (up to
  // idleMs later); the round is clocked from the receiver's first request to its last, as the
  // baseline is, so the figure is delivery throughput and not the poll's wait.
  let running = null as ReturnType<typeof startWebhookDelivery> | null
  async function workerRate(events: number): Promise<number> {
    running ??= startWebhookDelivery(deps, { concurrency: SUBSCRIPTIONS })
    receiver.newRound()
    await receiver.until(await queue(events))
    return (events * SUBSCRIPTIONS - 1) / receiver.roundSeconds()
  }

  const agent = new Agent({ connections: SUBSCRIPTIONS })
  async function baselineRate(events: number): Promise<number> {
    receiver.newRound()
    const target = receiver.received() + events * SUBSCRIPTIONS
    await Promise.all(
      urls.map(async (url) => {
        for (let i = 0; i < events; i++) {
          const res = await request(url, {
            method: 'POST',
            body: payload,
            headers: { 'content-type': 'application/json' },
            dispatcher: agent,
          })
          await res.body.dump()
        }
      }),
    )
    await receiver.until(target)
    return (events * SUBSCRIPTIONS - 1) / receiver.roundSeconds()
  }

  // Rounds of baseline / worker, one more baseline at the end: each round's ratio is against the
  // mean of the baselines either side of it, and the figure is their median (the HTTP bench's
  // method). This machine's speed swings between runs (baselines of 10,300 and 14,600 a minute
  // apart, measured): a ratio of the two medians moved 0.60–0.69 for the same code.
  async function rounds(rate: (events: number) => Promise<number>) {
    await baselineRate(WARM_UP_EVENTS)
    await rate(WARM_UP_EVENTS)
    const baselines: number[] = []
    const workers: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      baselines.push(await baselineRate(EVENTS))
      workers.push(await rate(EVENTS))
    }
    baselines.push(await baselineRate(EVENTS))
    return { workers, baselines, ratios: interleavedRatios(workers, baselines) }
  }

  try {
    const kept = await rounds(workerRate)
    const shape = `${SUBSCRIPTIONS} subscriptions, ${database.engine}, median of ${ROUNDS} rounds of ${EVENTS * SUBSCRIPTIONS}`
    return [
      {
        name: `webhook deliveries/s (the server's worker, first request to last; ${shape}; ratio per round ${spread(kept.ratios)})`,
        value: median(kept.workers),
        unit: 'deliveries/s',
        baseline: Math.round(median(kept.baselines)),
        ratio: median(kept.ratios),
        target: '≥ 0.7 of plain undici POSTs',
      },
    ]
  } finally {
    await running?.stop()
    await agent.close()
    await receiver.close()
    await database.close()
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('webhooks', await bench())
}
