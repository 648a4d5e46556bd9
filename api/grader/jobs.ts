import type { Deps } from '../deps.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'
import { gradeSite, teaserOf, DEFAULT_DEADLINE_MS, type GradeOptions } from './engine/grade.ts'
import {
  claimNextReport,
  completeReport,
  failReport,
  graderSettingsFrom,
  requeueReport,
  type ReportRow,
} from './reports.ts'

// The grading job runner: started by the server process (api/server.ts, src/fetch.ts in dev). It
// claims pending reports from the database (grader-reports.ts: a global concurrency limit, a
// lease so a crashed process's job is claimed again) and runs the engine on each. The queue is
// the table, so several processes sharing one database share the work; a route that creates a
// report wakes the runner of its own process, others find the job at their next poll.
//
// Imports the engine (its script matcher runs on a worker thread loaded by file URL), so this
// module runs from source in the server process and is never imported by a page.

export interface GraderJobsOptions {
  /** Gradings running at once across every process sharing the database. */
  concurrency: number
  /** How often an idle runner looks for work another process queued. */
  pollMs: number
  /** The whole grading, fetches included. */
  deadlineMs: number
  /** How long a claimed job stays ours: past it, the job is presumed lost and claimed again. */
  leaseMs: number
  /** A job not finished this long after it was requested is failed, not retried again. */
  maxAgeMs: number
  /** Engine options on top of the environment's (tests: resolver, CA, probe URL). */
  grade: Partial<GradeOptions>
}

export const GRADER_JOB_DEFAULTS: GraderJobsOptions = {
  concurrency: 2,
  pollMs: 2_000,
  deadlineMs: DEFAULT_DEADLINE_MS,
  leaseMs: DEFAULT_DEADLINE_MS + 30_000,
  maxAgeMs: 3 * 60_000,
  grade: {},
}

export interface GraderJobs {
  /** Look for work now (a report was just requested). */
  wake(): void
  /** Resolves once no claim is under way: what could be started has been (tests wait on this). */
  idle(): Promise<void>
  /** Stop claiming, cancel running gradings and put them back in the queue. */
  stop(): Promise<void>
}

export function startGraderJobs(deps: Deps, options: Partial<GraderJobsOptions> = {}): GraderJobs {
  const config = { ...GRADER_JOB_DEFAULTS, ...options }
  const settings = graderSettingsFrom(deps.env)
  const log = deps.logger.child({ component: 'grader' })
  const userAgent = `FrontdoorGrader/1.0 (+${deps.env.APP_ORIGIN}/grader)`
  if (settings.allowAddresses.length > 0) {
    log.warn(
      'GRADER_ALLOW_ADDRESSES is set: the grader treats these addresses as public websites',
      {
        addresses: settings.allowAddresses,
        extraPorts: settings.allowPorts,
      },
    )
  }

  const stopping = new AbortController()
  const running = new Set<Promise<void>>()
  let claiming: Promise<void> | null = null
  let again = false
  const outage = watchDatabaseOutage(log, 'grader claim', deps.now)

  // One claimer at a time; a wake-up during a claim makes it look once more afterwards.
  const pump = () => {
    if (stopping.signal.aborted) return
    if (claiming) {
      again = true
      return
    }
    if (!outage.due()) return
    claiming = (async () => {
      do {
        again = false
        while (!stopping.signal.aborted && running.size < config.concurrency) {
          const job = await claimNextReport(deps.db, {
            now: deps.now(),
            leaseMs: config.leaseMs,
            concurrency: config.concurrency,
            maxAgeMs: config.maxAgeMs,
          })
          if (!job) break
          const task = grade(job).finally(() => {
            running.delete(task)
            pump()
          })
          running.add(task)
        }
      } while (again && !stopping.signal.aborted)
    })()
      .then(outage.succeeded, (err: unknown) => {
        if (!outage.failed(err)) log.error('grader claim failed', { err })
      })
      .finally(() => {
        claiming = null
        if (again) pump()
      })
  }

  async function grade(job: ReportRow): Promise<void> {
    const started = performance.now()
    try {
      const outcome = await gradeSite(job.normalizedUrl, {
        userAgent,
        allowAddresses: settings.allowAddresses,
        allowPorts: settings.allowPorts,
        deadlineMs: config.deadlineMs,
        signal: stopping.signal,
        now: deps.now(),
        onFetchFailure: (f) =>
          log.info('grader fetch failed', {
            reportId: job.id,
            url: f.url,
            kind: f.kind,
            cause: f.cause,
          }),
        ...config.grade,
      })
      if (stopping.signal.aborted) {
        await requeueReport(deps.db, job.id)
        return
      }
      if (outcome.ok) {
        await completeReport(deps.db, job.id, outcome.result, teaserOf(outcome.result), deps.now())
        log.info('grader report done', {
          reportId: job.id,
          host: job.host,
          total: outcome.result.total,
          band: outcome.result.band,
          ms: Math.round(performance.now() - started),
        })
      } else {
        // The cause (blocked, refused, timed out, and why) is for this log only.
        await failReport(deps.db, job.id, outcome.error, deps.now())
        log.info('grader report failed', {
          reportId: job.id,
          host: job.host,
          code: outcome.error.code,
          cause: outcome.error.cause,
        })
      }
    } catch (err) {
      log.error('grader job crashed', { reportId: job.id, err })
      if (stopping.signal.aborted) await requeueReport(deps.db, job.id).catch(() => {})
      else await failReport(deps.db, job.id, { code: 'internal' }, deps.now()).catch(() => {})
    }
  }

  const timer = setInterval(pump, config.pollMs)
  timer.unref()
  // A route that queues a report rings this process's doorbell; other processes poll.
  const unlisten = deps.wakeups.on('grader', pump)
  pump()

  return {
    wake: pump,
    async idle() {
      while (claiming) await claiming
    },
    async stop() {
      clearInterval(timer)
      unlisten()
      stopping.abort()
      await claiming
      await Promise.allSettled([...running])
    },
  }
}
