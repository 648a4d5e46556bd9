import type { Deps } from '../deps.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'
import { claimImport, IMPORT_CHUNK_ROWS, importWorkerId, runImport } from './imports.ts'
import { enqueueDueRecipients, recordOutcomes } from './sending.ts'

// The campaign jobs of one process: CSV imports (claimed with a lease, so any process may run
// one and a crashed one is taken over), the scheduler that enqueues due recipients just in
// time, and copying send outcomes back to the recipients. The state is in the database; this
// only decides when to look: every `pollMs`, and at once when a request rings
// deps.wakeups ('campaigns': an upload, a start, a resume).

export interface CampaignJobsOptions {
  /** How often to look for work (imports, due sends, outcomes). */
  pollMs: number
  /** Sends whose slot is at most this far ahead are enqueued now; also the pause latency. */
  horizonMs: number
  /** How long a claimed import stays ours without progress. */
  leaseMs: number
  chunkRows: number
}

export const CAMPAIGN_JOB_DEFAULTS: CampaignJobsOptions = {
  pollMs: 15_000,
  horizonMs: 30_000,
  leaseMs: 60_000,
  chunkRows: IMPORT_CHUNK_ROWS,
}

export function startCampaignJobs(
  deps: Deps,
  options: Partial<CampaignJobsOptions> = {},
): { stop(): Promise<void>; wake(): void } {
  const config = { ...CAMPAIGN_JOB_DEFAULTS, ...options }
  const log = deps.logger.child({ component: 'campaigns' })
  const worker = importWorkerId()
  const stopping = new AbortController()
  let running: Promise<void> | null = null
  let again = false
  const outage = watchDatabaseOutage(log, 'campaign jobs', deps.now)

  async function round(): Promise<void> {
    // Imports first: a campaign cannot start before its import is done anyway.
    for (;;) {
      if (stopping.signal.aborted) return
      const job = await claimImport(deps.db, { now: deps.now(), leaseMs: config.leaseMs, worker })
      if (!job) break
      const started = performance.now()
      const outcome = await runImport(deps.db, job, {
        now: deps.now,
        leaseMs: config.leaseMs,
        worker,
        chunkRows: config.chunkRows,
        signal: stopping.signal,
        log,
      })
      const seconds = (performance.now() - started) / 1000
      log.info('campaign import', {
        importId: job.id,
        outcome,
        rows: job.totalRows,
        seconds: Math.round(seconds * 10) / 10,
      })
    }
    if (stopping.signal.aborted) return
    const run = await enqueueDueRecipients(deps.db, deps.env, {
      now: deps.now(),
      horizonMs: config.horizonMs,
      log,
    })
    if (run.enqueued || run.completed) log.info('campaign sends enqueued', { ...run })
    await recordOutcomes(deps.db)
  }

  // One round at a time; a wake-up during a round makes it run once more afterwards.
  const pump = () => {
    if (stopping.signal.aborted) return
    if (running) {
      again = true
      return
    }
    again = false
    if (!outage.due()) return
    running = round()
      .then(outage.succeeded, (err: unknown) => {
        if (!outage.failed(err)) log.error('campaign jobs failed', { err })
      })
      .finally(() => {
        running = null
        if (again) pump()
      })
  }

  const timer = setInterval(pump, config.pollMs)
  timer.unref()
  const unlisten = deps.wakeups.on('campaigns', pump)
  pump()
  return {
    wake: pump,
    async stop() {
      clearInterval(timer)
      unlisten()
      stopping.abort()
      await running
    },
  }
}
