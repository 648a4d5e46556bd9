// Email delivery benchmarks (npm run bench -- email, or stand-alone: node tests/bench/email.bench.ts):
// 1. Outbox drain rate into a loopback SMTP sink, against nodemailer sending the same messages
//    directly over a pool of the same size with the same number in flight (the baseline: what
//    the outbox costs on top of SMTP itself). Target ratio ≥ 0.7.
// 2. Enqueue latency while the SMTP server is down (closed port), with a worker running against
//    it: requests must keep answering in single-digit milliseconds on PGlite.
// The database is embedded PGlite in memory, or BENCH_DATABASE_URL (an empty PostgreSQL database).

import nodemailer from 'nodemailer'
import { spawn } from 'node:child_process'
import { openDatabase } from '../../api/db/client.ts'
import type { Database } from '../../api/db/client.ts'
import { outbox } from '../../api/db/schema.ts'
import { parseEnv } from '../../api/env.ts'
import { createLogger } from '../../api/logger.ts'
import { formatAddress } from '../../api/email-headers.ts'
import { enqueueEmail } from '../../api/email/outbox.ts'
import { createOutboxWorker } from '../../api/email/outbox-worker.ts'
import { createSmtpTransport } from '../../api/email/smtp-transport.ts'
import { messageIdFor } from '../../api/email/transport.ts'
import * as assetDelivery from '../../email-templates/asset-delivery.ts'
import { freePort, root, type Figure } from './harness.ts'

const MESSAGES = 500
const ROUNDS = 3
const POOL = 4
const ENQUEUES = 2_000

const env = parseEnv({
  NODE_ENV: 'test',
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
  LOG_LEVEL: 'silent',
})
const logger = createLogger({ level: 'silent', format: 'json' })
const rendered = assetDelivery.render(assetDelivery.defaults)
const from = formatAddress('Frontdoor', 'hello@frontdoor.example')

/**
 * An SMTP sink in its own process (as a real server would be), keeping nothing: it prints one
 * line per message received, which the parent counts.
 */
async function startSink() {
  const script = `
    import { SMTPServer } from 'smtp-server'
    const server = new SMTPServer({
      logger: false, authOptional: true, disabledCommands: ['STARTTLS'], closeTimeout: 200,
      onData(stream, _session, callback) {
        stream.on('data', () => {})
        stream.on('end', () => { process.stdout.write('.'); callback(null) })
      },
    })
    server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.server.address().port + '\\n'))
    process.on('SIGTERM', () => server.close(() => process.exit(0)))
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let received = 0
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      received += text.split('.').length - 1
      buffer += text
      const match = /port (\d+)/.exec(buffer)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`SMTP sink exited with ${code}`)))
  })
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

async function openBenchDatabase(): Promise<Database> {
  const database = await openDatabase(
    process.env.BENCH_DATABASE_URL
      ? { databaseUrl: process.env.BENCH_DATABASE_URL }
      : { dataDir: 'memory://' },
  )
  await database.migrate()
  await database.db.delete(outbox)
  return database
}

function recipient(i: number) {
  return `lead${i}@northwind.example`
}

async function baselineRate(sinkUrl: string, count: number, offset: number): Promise<number> {
  const mailer = nodemailer.createTransport({
    url: sinkUrl,
    pool: true,
    maxConnections: POOL,
    maxMessages: 100,
    logger: false,
  })
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: POOL }, async () => {
      while (next < count) {
        const i = offset + next++
        await mailer.sendMail({
          messageId: messageIdFor(`baseline-${i}`, 'frontdoor.example'),
          from,
          to: formatAddress('Dana Whitfield', recipient(i)),
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
        })
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  mailer.close()
  return count / seconds
}

async function outboxRate(
  database: Database,
  sinkUrl: string,
  count: number,
  offset: number,
): Promise<number> {
  const now = new Date()
  for (let i = 0; i < count; i++) {
    await enqueueEmail(database.db, {
      category: 'transactional',
      to: formatAddress('Dana Whitfield', recipient(offset + i)),
      recipient: recipient(offset + i),
      ...rendered,
      template: 'asset-delivery',
      now,
    })
  }
  const transport = createSmtpTransport({ url: sinkUrl, maxConnections: POOL })
  const worker = createOutboxWorker(database.db, transport, {
    env,
    logger,
    now: () => new Date(),
    concurrency: POOL,
    batchSize: 5 * POOL,
  })
  let sent = 0
  const started = performance.now()
  for (;;) {
    const round = await worker.drainOnce()
    sent += round.sent
    if (round.claimed === 0) break
  }
  const seconds = (performance.now() - started) / 1000
  await transport.close()
  if (sent !== count) throw new Error(`the outbox sent ${sent} of ${count}`)
  return count / seconds
}

/** Enqueues as a request does (the change and its email in one transaction), timing each. */
async function enqueueLatencies(database: Database, offset: number): Promise<number[]> {
  const latencies: number[] = []
  for (let i = 0; i < ENQUEUES; i++) {
    const to = recipient(offset + i)
    const started = performance.now()
    await database.db.transaction((tx) =>
      enqueueEmail(tx, {
        category: 'transactional',
        to: formatAddress(null, to),
        recipient: to,
        ...rendered,
        template: 'asset-delivery',
      }),
    )
    latencies.push(performance.now() - started)
  }
  return latencies
}

function median(values: number[]): number {
  return percentile(values, 50)
}

async function waitUntil(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

export async function bench(): Promise<Figure[]> {
  const sink = await startSink()
  const database = await openBenchDatabase()
  const engine = database.engine
  try {
    // Warm both paths (JIT, pools, the database's caches), then alternate them so a burst of
    // load on a shared machine does not land on one side only; the median round counts.
    await baselineRate(sink.url, 100, 0)
    await outboxRate(database, sink.url, 100, 0)
    const baselines: number[] = []
    const drains: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      baselines.push(await baselineRate(sink.url, MESSAGES, 1_000 + round * MESSAGES))
      drains.push(await outboxRate(database, sink.url, MESSAGES, 10_000 + round * MESSAGES))
    }
    const baseline = median(baselines)
    const drained = median(drains)
    const expected = 2 * 100 + 2 * ROUNDS * MESSAGES
    await waitUntil(() => sink.received() >= expected)
    if (sink.received() !== expected)
      throw new Error(`the sink received ${sink.received()} messages, expected ${expected}`)

    // Reference: the same enqueues with no worker running at all.
    const quiet = await enqueueLatencies(database, 100_000)

    // SMTP down: a worker retries against a closed port while requests keep enqueueing.
    const deadPort = await freePort()
    const deadTransport = createSmtpTransport({
      url: `smtp://127.0.0.1:${deadPort}`,
      maxConnections: POOL,
      connectionTimeout: 5_000,
    })
    const worker = createOutboxWorker(database.db, deadTransport, {
      env,
      logger,
      now: () => new Date(),
      concurrency: POOL,
    })
    worker.start()
    let latencies: number[]
    try {
      latencies = await enqueueLatencies(database, 50_000)
    } finally {
      await worker.stop()
      await deadTransport.close()
    }
    const p99 = percentile(latencies, 99)
    return [
      {
        name: `Outbox drain into a loopback SMTP sink (own process), pool of ${POOL}, median of ${ROUNDS} rounds (${engine})`,
        value: Math.round(drained),
        unit: 'emails/s',
        baseline: Math.round(baseline),
        ratio: drained / baseline,
        target: '≥ 0.7',
      },
      {
        name: `Baseline: nodemailer direct, same pool and ${POOL} in flight`,
        value: Math.round(baseline),
        unit: 'emails/s',
      },
      {
        name: `Enqueue latency p99 while SMTP is down (${engine}, worker retrying)`,
        value: Math.round(p99 * 100) / 100,
        unit: `ms (p50 ${percentile(latencies, 50).toFixed(2)} ms)`,
        baseline: Math.round(percentile(quiet, 99) * 100) / 100,
        ratio: percentile(quiet, 99) / p99,
        target: '< 10 ms',
      },
      {
        name: `Baseline: enqueue latency p99 with no worker running (${engine})`,
        value: Math.round(percentile(quiet, 99) * 100) / 100,
        unit: `ms (p50 ${percentile(quiet, 50).toFixed(2)} ms)`,
      },
    ]
  } finally {
    await database.close()
    await sink.close()
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('email', await bench())
}
