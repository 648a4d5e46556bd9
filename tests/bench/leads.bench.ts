import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { createDeps } from '../../api/deps.ts'
import { parseEnv } from '../../api/env.ts'
import { issueFormToken } from '../../api/leads/form-tokens.ts'
import { captureLead } from '../../api/leads/capture.ts'
import { leadContext } from '../../api/leads/context.ts'
import { requestHash } from '../../api/idempotency.ts'
import { checkLeadPost, parseLeadPost } from '../../api/leads/lead-form.ts'
import { loadOffers } from '../../api/leads/offers.ts'
import { root, startProductionServer, type Figure } from './harness.ts'

/**
 * Lead capture: form posts over HTTP to the production server at 16 concurrent connections, each
 * with a new email address, against the baseline of the same lead-capture transaction
 * (captureLead: contact, company, submission, consent, deal + evidence, download link, outbox
 * email) called in-process in a loop on the same database, in the same run. The database is the
 * embedded PGlite by default; BENCH_DATABASE_URL=postgres://… runs both sides on PostgreSQL.
 */

type Autocannon = (options: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  '3xx'?: number
  errors: number
  timeouts: number
}>
// autocannon ships no types; required here rather than declared module-wide.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const SECRET = 'bench-secret-bench-secret-bench-secret!'
const OFFER = 'whitepaper:mid-market-pipeline-benchmark-2026'
const CONNECTIONS = 16
const SECONDS = 6

function formFields(email: string, renderedAt: Date): Record<string, string> {
  return {
    email,
    name: 'Bench Person',
    company: 'Bench Co',
    consent: 'yes',
    consentVersion: '2026-11-29',
    offer: OFFER,
    idempotencyKey: randomUUID(),
    formToken: issueFormToken(
      SECRET,
      renderedAt,
      '/whitepapers/mid-market-pipeline-benchmark-2026',
    ),
    pageUrl: 'http://127.0.0.1/whitepapers/mid-market-pipeline-benchmark-2026?utm_source=bench',
    referrer: '',
    utm_source: 'bench',
    utm_medium: '',
    utm_campaign: '',
    utm_term: '',
    utm_content: '',
    fax: '',
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const dataDir = await mkdtemp(join(tmpdir(), 'frontdoor-bench-leads-'))
  const databaseUrl = process.env.BENCH_DATABASE_URL
  const envVars: Record<string, string> = {
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    SECRET,
    LOG_LEVEL: 'warn',
    // Every post is a clean lead: the per-IP limit would quarantine a load test from one address.
    LEADS_PER_IP_PER_HOUR: '1000000',
    // Measure capture, not the worker sending the emails it queues.
    OUTBOX_WORKER: 'false',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  }
  try {
    // ── Baseline: the transaction itself, in-process, one after another ────────────────────
    // Run before and after the HTTP side (PGlite allows one process at a time) and averaged,
    // so a change in machine load during the run weighs on both sides.
    const offer = (await loadOffers()).find(OFFER)!
    const run = `${Date.now().toString(36)}`
    let n = 0
    let engine = ''
    const baseline = async () => {
      const deps = await createDeps(parseEnv({ ...envVars, APP_ORIGIN: 'http://127.0.0.1:1' }))
      engine = deps.database.engine
      const captureOnce = async () => {
        n++
        const raw = formFields(
          `base${n}-${run}@bench-${n}-${run}.example`,
          new Date(Date.now() - 10_000),
        )
        const shape = parseLeadPost(raw)
        if (!shape.ok) throw new Error(shape.message)
        const checked = checkLeadPost(shape.post, offer)
        if (!checked.ok) throw new Error(checked.message)
        const now = new Date()
        const result = await captureLead(
          deps.db,
          {
            offer,
            form: checked.data,
            firstTouch: null,
            ip: '127.0.0.1',
            userAgent: 'bench',
            spamReasons: [],
            requestHash: requestHash(raw),
          },
          await leadContext(deps, now),
        )
        if (result.kind !== 'created' || result.answer.status !== 'accepted')
          throw new Error('baseline lead was not accepted')
      }
      try {
        for (let i = 0; i < 100; i++) await captureOnce() // warm-up
        const latencies: number[] = []
        const started = performance.now()
        while (performance.now() - started < (SECONDS / 2) * 1000) {
          const t = performance.now()
          await captureOnce()
          latencies.push(performance.now() - t)
        }
        return { rate: latencies.length / ((performance.now() - started) / 1000), latencies }
      } finally {
        await deps.database.close()
      }
    }
    const before = await baseline()

    // ── HTTP: the production server on the same database ────────────────────────────────────
    const server = await startProductionServer(envVars)
    let accepted = 0
    let quarantined = 0
    let httpResult: Awaited<ReturnType<Autocannon>>
    try {
      let k = 0
      const renderedAt = new Date(Date.now() - 10_000)
      const shoot = (seconds: number) =>
        autocannon({
          url: `${server.url}/api/leads`,
          connections: CONNECTIONS,
          duration: seconds,
          requests: [
            {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
              setupRequest: (req: Record<string, unknown>) => ({
                ...req,
                body: new URLSearchParams(
                  formFields(`http${k++}-${run}@bench-${k}-${run}.example`, renderedAt),
                ).toString(),
              }),
            },
          ],
        })
      await shoot(2) // warm-up
      httpResult = await shoot(SECONDS)
    } finally {
      await server.stop()
    }
    const after = await baseline()
    const baselineRate = (before.rate + after.rate) / 2
    const latencies = [...before.latencies, ...after.latencies].sort((a, b) => a - b)
    if (httpResult.errors + httpResult.timeouts > 0)
      throw new Error(
        `HTTP errors under load: ${httpResult.errors} errors, ${httpResult.timeouts} timeouts`,
      )
    if (httpResult.non2xx !== (httpResult['3xx'] ?? 0))
      throw new Error('lead posts answered something other than 303')

    // Every post must have been a clean lead, not a quarantined one.
    const check = await createDeps(parseEnv({ ...envVars, APP_ORIGIN: 'http://127.0.0.1:1' }))
    const counts = await check.db.execute(
      sql`select status, count(*)::int as n from submissions where email like ${`http%-${run}@%`} group by status`,
    )
    for (const row of (counts as unknown as { rows: Array<{ status: string; n: number }> }).rows) {
      if (row.status === 'accepted') accepted = row.n
      if (row.status === 'quarantined') quarantined = row.n
    }
    await check.database.close()
    if (quarantined > 0 || accepted === 0)
      throw new Error(
        `expected only accepted leads, got ${accepted} accepted and ${quarantined} quarantined`,
      )

    const httpRate = httpResult.requests.average
    return [
      {
        name: `Lead capture over HTTP, ${CONNECTIONS} connections (${engine})`,
        value: Math.round(httpRate),
        unit: 'leads/s',
        baseline: Math.round(baselineRate),
        ratio: httpRate / baselineRate,
        target: '≥ 0.5',
      },
      {
        name: 'Lead capture over HTTP: latency p50 / p99',
        value: httpResult.latency.p50,
        unit: `ms / ${httpResult.latency.p99} ms`,
      },
      {
        name: 'Baseline captureLead in-process loop: latency p50 / p99',
        value: percentile(latencies, 50),
        unit: `ms / ${percentile(latencies, 99).toFixed(2)} ms`,
      },
      {
        name: `Database engine: ${engine}; leads written over HTTP (all accepted)`,
        value: accepted,
        unit: 'leads',
      },
    ]
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('leads', await bench())
}
