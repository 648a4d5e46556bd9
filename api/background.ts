// What runs beside the requests, in one place for every entry point: the outbox worker, the
// grader's jobs, the new-lead notifier, hourly housekeeping (with VACUUM on the embedded
// database) and the campaign jobs. api/server.ts, src/fetch.ts (astro dev) and scripts/worker.ts all
// start it; each job is safe to run in several processes sharing one PostgreSQL (leases, SKIP
// LOCKED, idempotent deletes).
import { and, isNotNull, lt, or } from 'drizzle-orm'
import { pruneExpiredSessions } from './accounts/sessions.ts'
import { startFirstRunLease } from './accounts/first-run.ts'
import { RETENTION } from './content/site.ts'
import { clickEvents, consentEvents, idempotencyKeys, submissions } from './db/schema.ts'
import {
  ANALYZE_CHECK_EVERY_MS,
  analyzeGrown,
  HOUR,
  HOUSEKEEPING_EVERY_MS,
  IDEMPOTENCY_KEEP_MS,
  maintainEmbedded,
  RATE_LIMIT_KEEP_MS,
  VACUUM_EVERY_RUNS,
} from './db/maintenance.ts'
import type { Deps } from './deps.ts'
import { watchDatabaseOutage } from './db/unavailable.ts'
import { startOutboxWorker, type OutboxWorkerOptions } from './email/outbox-worker.ts'
import { pruneSentMail } from './email/outbox-retention.ts'
import { forgetImportLeftovers } from './campaigns/imports.ts'
import { startCampaignJobs, type CampaignJobsOptions } from './campaigns/jobs.ts'
import { startVerdictJobs, type VerdictJobsOptions } from './tracking/verdict-jobs.ts'
import { startGraderJobs, type GraderJobsOptions } from './grader/jobs.ts'
import {
  startWebhookDelivery,
  type WebhookDeliveryOptions,
} from './integrations/webhook-delivery.ts'
import { pruneWebhookHistory } from './integrations/webhooks.ts'
import { pruneGraderReports } from './grader/reports.ts'
import {
  eraseInactiveContacts,
  sweepErasedClicks,
  type ErasedClicksCursor,
} from './pipeline/erasure.ts'
import { startLeadNotifier } from './pipeline/notifications.ts'
import { pruneRateLimits } from './rate-limits.ts'
import { pruneFormFlashes } from './http/form-flash.ts'

export interface BackgroundOptions {
  /** Send email here; default OUTBOX_WORKER (a web process may leave sending to `npm run worker`). */
  outbox?: boolean | Partial<OutboxWorkerOptions>
  grader?: boolean | Partial<GraderJobsOptions>
  /** CSV imports, the send scheduler and send outcomes of campaigns. */
  campaigns?: boolean | Partial<CampaignJobsOptions>
  /** Click verdicts, and the targets human clicks make (api/tracking/verdict-jobs.ts). */
  verdicts?: boolean | Partial<VerdictJobsOptions>
  /**
   * Webhook deliveries (api/integrations/webhook-delivery.ts), the other outbox: by default where
   * the email outbox worker runs (OUTBOX_WORKER, or a process that forces `outbox`).
   */
  webhooks?: boolean | Partial<WebhookDeliveryOptions>
  notifier?: boolean
  housekeeping?: boolean
}

export interface Background {
  /** Stops every job and waits for work in flight, before the database closes. */
  stop(): Promise<void>
}

/** Starts the background jobs of this process. */
export function startBackground(deps: Deps, options: BackgroundOptions = {}): Background {
  const optionsOf = <T>(o: boolean | Partial<T> | undefined): Partial<T> =>
    typeof o === 'object' ? o : {}
  const jobs: { stop(): Promise<unknown> }[] = []
  if (options.outbox ?? deps.env.OUTBOX_WORKER)
    jobs.push(startOutboxWorker(deps, optionsOf(options.outbox)))
  if (options.grader ?? true) jobs.push(startGraderJobs(deps, optionsOf(options.grader)))
  if (options.campaigns ?? true) jobs.push(startCampaignJobs(deps, optionsOf(options.campaigns)))
  if (options.verdicts ?? true) jobs.push(startVerdictJobs(deps, optionsOf(options.verdicts)))
  if (options.webhooks ?? Boolean(options.outbox ?? deps.env.OUTBOX_WORKER))
    jobs.push(startWebhookDelivery(deps, optionsOf(options.webhooks)))
  if (options.notifier ?? true) jobs.push(startLeadNotifier(deps))
  if (options.housekeeping ?? true) jobs.push(startMaintenance(deps))
  // The first-admin setup link this process printed (if any) lives while it runs.
  jobs.push(startFirstRunLease(deps))
  return {
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()))
    },
  }
}

/**
 * Deletes expired sessions, finished rate-limit windows, old idempotency keys, the grader
 * reports the privacy policy says go and webhook history past its window, forgets the IP
 * address and user agent (a click's headers carry both) of form posts and clicks older than it
 * says, forgets what campaign imports leave of people (refused rows' values, failed imports'
 * files) after the days it says, erases a batch of the contacts inactive for longer than it says
 * (api/pipeline/contact-retention.ts), forgets the same of clicks that reached an erased
 * person's record after their erasure (sweepErasedClicks, from `erasedClicks`, where the last
 * run's sweep stopped), and takes the body out of mail older than OUTBOX_RETENTION_DAYS
 * (api/email/outbox-retention.ts).
 */
export async function pruneExpired(
  deps: Pick<Deps, 'db' | 'env' | 'sessionPolicy'>,
  now: Date,
  erasedClicks: ErasedClicksCursor = { after: null },
) {
  await pruneRateLimits(deps.db, new Date(now.getTime() - RATE_LIMIT_KEEP_MS))
  const sessions = await pruneExpiredSessions(deps.db, now, deps.sessionPolicy)
  const keys = await deps.db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEEP_MS)))
    .returning({ key: idempotencyKeys.key })
  const networkBefore = new Date(now.getTime() - RETENTION.networkDataDays * 24 * HOUR)
  // Form posts and consent entries keep what was sent and agreed to, and when; the IP address and
  // user agent they came from are forgotten after the privacy policy's days, as clicks' are.
  const forgetNetworkData = async (table: typeof submissions | typeof consentEvents) =>
    (
      await deps.db
        .update(table)
        .set({ ip: null, userAgent: null })
        .where(
          and(
            lt(table.createdAt, networkBefore),
            or(isNotNull(table.ip), isNotNull(table.userAgent)),
          ),
        )
        .returning({ id: table.id })
    ).length
  const forms = await forgetNetworkData(submissions)
  const consents = await forgetNetworkData(consentEvents)
  const clicks = await deps.db
    .update(clickEvents)
    .set({ ip: null, userAgent: null, headers: null })
    .where(
      and(
        lt(clickEvents.createdAt, networkBefore),
        or(
          isNotNull(clickEvents.ip),
          isNotNull(clickEvents.userAgent),
          isNotNull(clickEvents.headers),
        ),
      ),
    )
    .returning({ id: clickEvents.id })
  const graderReports = await pruneGraderReports(deps.db, now)
  const webhooks = await pruneWebhookHistory(deps.db, now)
  const formFlashes = await pruneFormFlashes(deps.db, now)
  const importLeftovers = await forgetImportLeftovers(deps.db, now)
  const contactsErased = await eraseInactiveContacts(deps.db, now)
  const erasedClicksForgotten = await sweepErasedClicks(deps.db, erasedClicks)
  const mail = await pruneSentMail(deps.db, now, deps.env.OUTBOX_RETENTION_DAYS)
  return {
    sessions,
    idempotencyKeys: keys.length,
    graderReports,
    webhookEvents: webhooks.events,
    webhookSuccesses: webhooks.successes,
    formFlashes,
    networkDataForgotten: forms + clicks.length + consents,
    refusedRowsDeleted: importLeftovers.refusedRows,
    failedImportFilesForgotten: importLeftovers.failedFiles,
    contactsErased,
    erasedClicksForgotten,
    ...mail,
  }
}

/**
 * The server's periodic housekeeping: pruning every hour, VACUUM (PGlite) every sixth run, and
 * in between an ANALYZE of the PGlite tables that have grown (never two of these at once).
 */
export function startMaintenance(
  deps: Pick<Deps, 'db' | 'database' | 'env' | 'logger' | 'now' | 'sessionPolicy'>,
  everyMs = HOUSEKEEPING_EVERY_MS,
  analyzeEveryMs = ANALYZE_CHECK_EVERY_MS,
) {
  let runs = 0
  let running: Promise<unknown> | null = null
  // Where the sweep of erased people's clicks stopped, for the next run.
  const erasedClicks: ErasedClicksCursor = { after: null }
  const outage = watchDatabaseOutage(deps.logger, 'housekeeping', deps.now)
  const tick = () => {
    if (running || !outage.due()) return
    runs += 1
    const started = performance.now()
    running = (async () => {
      const pruned = await pruneExpired(deps, deps.now(), erasedClicks)
      const vacuumed = runs % VACUUM_EVERY_RUNS === 0 && (await maintainEmbedded(deps.database))
      deps.logger.info('housekeeping', {
        ...pruned,
        vacuumed,
        ms: Math.round(performance.now() - started),
      })
    })()
      .then(outage.succeeded, (err: unknown) => {
        if (!outage.failed(err)) deps.logger.error('housekeeping failed', { err })
      })
      .finally(() => {
        running = null
      })
  }
  const analyze = () => {
    if (running || deps.database.engine !== 'pglite') return
    const started = performance.now()
    running = analyzeGrown(deps.database)
      .then((tables) => {
        if (tables.length > 0)
          deps.logger.info('analyzed grown tables', {
            tables,
            ms: Math.round(performance.now() - started),
          })
      })
      .catch((err) => deps.logger.error('analyze of grown tables failed', { err }))
      .finally(() => {
        running = null
      })
  }
  const timer = setInterval(tick, everyMs)
  timer.unref()
  const analyzer = setInterval(analyze, analyzeEveryMs)
  analyzer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      clearInterval(analyzer)
      await running
    },
  }
}
