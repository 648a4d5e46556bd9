// The outbox worker: claims due email rows with FOR UPDATE SKIP LOCKED and a lease, sends each
// through the transport, and records the outcome. Several workers (processes) may share one
// PostgreSQL: a row is claimed by exactly one of them, and a crashed worker's rows are claimed
// again once their lease runs out.
//
// Outcomes (classified by the transport):
//   sent           → status `sent`
//   suppressed     → status `suppressed` (read by the claiming statement, and again for a row
//                    that waited more than a second in its batch: never older than that at send).
//                    Account mail (a password link) for an account disabled since it was queued
//                    is not sent either, read the same way
//   permanent      → status `failed`; a hard bounce also suppresses the address
//   retryable      → back to `pending` with exponential backoff and jitter, until the row is older
//                    than OUTBOX_MAX_AGE_HOURS: then `failed`. A rate limit (retryAfterMs) is no
//                    attempt: the row and the worker wait as long as the provider said
//   configuration  → the transport is paused for every worker (transport_status), the row goes
//                    back untouched; a check (transport.verify) resumes it. A refused From that
//                    the row chose itself (a campaign's sender) fails only that row instead
// A failure that says the server itself is unreachable also ends the batch early and makes this
// worker wait before claiming again, so a dead SMTP server is not hammered row by row.
//
// Crashes: a message is recorded `sent` as soon as the transport accepts it (sends that finish
// together share one statement), and a lane moves on only after that, so a worker killed mid-batch
// repeats at most the messages in flight (≤ concurrency), with the same Message-ID / idempotency
// key. A record the database refuses (twice) stops the batch the same way: no lane sends again. The claim's lease is short and renewed while the worker lives (heartbeat), so the rows of
// a dead worker — most of them not even started — go out again within a minute, not five.

import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  and,
  asc,
  eq,
  getTableColumns,
  inArray,
  isNotNull,
  lt,
  lte,
  not,
  or,
  sql,
} from 'drizzle-orm'
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core'
import type { Db } from '../db/client.ts'
import { outbox, users } from '../db/schema.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'
import type { Env } from '../env.ts'
import { newToken } from '../ids.ts'
import type { Logger } from '../logger.ts'
import { ACCOUNT_LINK_TEMPLATES } from './account-emails.ts'
import { createTransport } from './mailer.ts'
import { emailPayloadSchema, isErasedPayload, isErasedRow } from './outbox.ts'
import type { OutboxRow } from './outbox.ts'
import { fromFor, loadSenderSettings } from './sender.ts'
import type { SenderSettings } from './sender.ts'
import { findSuppression, suppress, suppressedBy, suppressionBlocks } from './suppressions.ts'
import type { SuppressionReason } from './suppressions.ts'
import { failure } from './transport.ts'
import type { EmailCategory, SendFailure, SendOutcome, Transport } from './transport.ts'
import {
  markReachable,
  markUnreachable,
  pauseTransport,
  readTransportState,
  resumeTransport,
} from './transport-status.ts'

/** How long a recorded send may wait for others still in flight to share its write. */
const GROUP_WAIT_MS = 20

export type RetryPolicy = { baseMs: number; capMs: number }
export const defaultRetryPolicy: RetryPolicy = { baseMs: 15_000, capMs: 60 * 60_000 }

/**
 * How long to wait after the `attempts`-th failed attempt: doubling from `baseMs`, capped at
 * `capMs`, with "equal jitter" (half fixed, half random) so rows that failed together do not all
 * come back in the same second. Pure: `random` in [0, 1).
 */
export function retryDelayMs(
  attempts: number,
  random: number,
  policy = defaultRetryPolicy,
): number {
  const exponential = Math.min(
    policy.capMs,
    policy.baseMs * 2 ** Math.max(0, Math.min(attempts, 40) - 1),
  )
  return Math.round(exponential / 2 + (exponential / 2) * random)
}

/**
 * A retryable failure about the server or API as a whole (unreachable, overloaded, rate limited),
 * as opposed to one about this message (a mailbox that is busy, SMTP 450–452 on RCPT).
 */
export function isTransportWide(f: SendFailure): boolean {
  return (
    f.kind === 'retryable' &&
    !/^smtp_45\d$/.test(f.code) &&
    f.code !== 'concurrent_idempotent_requests'
  )
}

/** The give-up rule: true when the next attempt would come after the row's maximum age. */
export function shouldGiveUp(ageBase: Date, nextAttemptAt: Date, maxAgeMs: number): boolean {
  return nextAttemptAt.getTime() - ageBase.getTime() > maxAgeMs
}

export type OutboxWorkerOptions = {
  /** Sender defaults and APP_ORIGIN. */
  env: Env
  logger: Logger
  now: () => Date
  workerId?: string
  /** Rows claimed at once. */
  batchSize?: number
  /** Rows of a batch in flight at once (match the SMTP pool size). */
  concurrency?: number
  /**
   * How long a claim holds a row without a sign of life; renewed every quarter of it while the
   * batch runs, so it bounds how long a dead worker's rows wait, not how long a batch may take.
   */
  leaseMs?: number
  /** How often a running batch renews its leases; a quarter of `leaseMs` by default. */
  heartbeatMs?: number
  /** Sleep when nothing is due. */
  idleMs?: number
  maxAgeMs?: number
  retry?: RetryPolicy
  /** While paused, how often to check whether the transport works again. */
  verifyIntervalMs?: number
  random?: () => number
}

export type DrainResult = {
  claimed: number
  sent: number
  retried: number
  failed: number
  suppressed: number
  /** Claimed but put back untouched (the transport was paused or down mid-batch). */
  released: number
  /** The transport is paused (credentials rejected, no sender): nothing was claimed. */
  paused: boolean
  /** This worker is waiting after the server was unreachable: nothing was claimed. */
  coolingDown: boolean
}

export interface OutboxWorker {
  readonly id: string
  readonly transport: Transport
  /** One round: claim a batch of due rows and send them. Tests call it directly. */
  drainOnce(): Promise<DrainResult>
  /** Loops drainOnce: again at once while rows were claimed, after `idleMs` otherwise. */
  start(): void
  /** Finishes the batch in flight and stops looping. */
  stop(): Promise<void>
}

export type ClaimedRow = OutboxRow & {
  /** The recipient's suppression, read in the claiming statement itself, just before the send. */
  suppressedReason: SuppressionReason | null
  /** Whether the recipient is a disabled user, read the same way (for account mail). */
  recipientDisabled: boolean
}

/** Whether `recipient` is a user whose account is disabled. */
const recipientDisabled = sql<boolean>`exists (select 1 from ${users} where ${users.email} = ${outbox.recipient} and ${users.disabledAt} is not null)`

async function isDisabledUser(db: Db, recipient: string): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.email, recipient), isNotNull(users.disabledAt)))
  return !!row
}

/** Claims up to `limit` due rows for `workerId` until `now + leaseMs`; each claim counts as an attempt. */
export async function claimDueEmails(
  db: Db,
  workerId: string,
  now: Date,
  options: { limit: number; leaseMs: number },
): Promise<ClaimedRow[]> {
  const due = db
    .select({ id: outbox.id })
    .from(outbox)
    .where(
      and(
        eq(outbox.kind, 'email'),
        or(
          and(eq(outbox.status, 'pending'), lte(outbox.runAfter, now)),
          and(eq(outbox.status, 'sending'), lt(outbox.leaseUntil, now)),
        ),
      ),
    )
    .orderBy(asc(outbox.runAfter))
    .limit(options.limit)
    .for('update', { skipLocked: true })
  const rows = await db
    .update(outbox)
    .set({
      status: 'sending',
      lockedBy: workerId,
      leaseUntil: new Date(now.getTime() + options.leaseMs),
      attempts: sql`${outbox.attempts} + 1`,
    })
    .where(inArray(outbox.id, due))
    .returning({
      ...getTableColumns(outbox),
      suppressedReason: suppressedBy(outbox.recipient),
      recipientDisabled,
    })
  return rows.sort(
    (a, b) => a.runAfter.getTime() - b.runAfter.getTime() || a.id.localeCompare(b.id),
  )
}

export function createOutboxWorker(
  db: Db,
  transport: Transport,
  options: OutboxWorkerOptions,
): OutboxWorker {
  const id = options.workerId ?? `${hostname()}:${process.pid}:${newToken(5)}`
  const log = options.logger.child({ component: 'outbox', worker: id, transport: transport.name })
  const batchSize = options.batchSize ?? 20
  const concurrency = options.concurrency ?? 4
  const leaseMs = options.leaseMs ?? 60_000
  const heartbeatMs = options.heartbeatMs ?? leaseMs / 4
  const idleMs = options.idleMs ?? 1_000
  const maxAgeMs = options.maxAgeMs ?? options.env.OUTBOX_MAX_AGE_HOURS * 3_600_000
  const policy = options.retry ?? defaultRetryPolicy
  const verifyIntervalMs = options.verifyIntervalMs ?? 30_000
  const random = options.random ?? Math.random
  const now = options.now

  // Sender settings and the shared pause flag, read at most once a second while busy: a change
  // an admin or another worker makes is seen within that second.
  let cached: { at: number; sender: SenderSettings; paused: boolean; unreachable: boolean } | null =
    null
  async function context(): Promise<{ sender: SenderSettings; paused: boolean }> {
    if (cached && performance.now() - cached.at < 1_000) return cached
    const [sender, state] = await Promise.all([
      loadSenderSettings(db, options.env),
      readTransportState(db, transport.name),
    ])
    cached = {
      at: performance.now(),
      sender,
      paused: state.state === 'paused',
      unreachable: state.state === 'unreachable',
    }
    return cached
  }

  // Sent rows are recorded as soon as the transport answers, and a lane starts its next send only
  // once its row is recorded. Sends that finish close together share one statement (group
  // commit): a write goes out when no other send is still in flight to join it, or after
  // GROUP_WAIT_MS at most, one write at a time. Each statement costs the (single-threaded) embedded
  // database about a millisecond, so one per few rows keeps the drain near its old rate.
  type Pending = {
    id: string
    providerId: string
    done: () => void
    failed: (err: unknown) => void
  }
  let pendingSent: Pending[] = []
  let writing = false
  let sendsInFlight = 0
  let groupTimer: ReturnType<typeof setTimeout> | null = null

  function recordSent(row: { id: string; providerId: string }): Promise<void> {
    return new Promise((done, failed) => {
      pendingSent.push({ ...row, done, failed })
      maybeWrite()
    })
  }

  /** Starts the group write when it is due: nothing left in flight to join it, or waited enough. */
  function maybeWrite(force = false): void {
    if (writing || pendingSent.length === 0) return
    if (!force && sendsInFlight > 0) {
      groupTimer ??= setTimeout(() => {
        groupTimer = null
        maybeWrite(true)
      }, GROUP_WAIT_MS)
      return
    }
    if (groupTimer) clearTimeout(groupTimer)
    groupTimer = null
    writing = true
    const group = pendingSent
    pendingSent = []
    // A failed record is tried once more (a lock timeout, a dropped connection) before the lanes
    // waiting on it are told: a send that cannot be recorded stops the batch (drainOnce).
    writeSentGroup(group)
      .catch((err: unknown) => {
        log.warn('recording sends failed, trying once more', { sent: group.length, err })
        return writeSentGroup(group)
      })
      .then(
        () => group.forEach((p) => p.done()),
        (err: unknown) => group.forEach((p) => p.failed(err)),
      )
      .finally(() => {
        writing = false
        maybeWrite()
      })
  }

  // One statement for a group of any size, built once: the record is the hot path of a drain (a
  // statement per few messages), and building it anew each time cost about a fifth of its CPU.
  const recordSentStatement = db
    .update(outbox)
    .set({
      status: 'sent',
      sentAt: sql`${sql.placeholder('at')}::timestamptz`,
      providerId: sql`${sql.placeholder('providerIds')}::jsonb ->> ${outbox.id}`,
      leaseUntil: null,
      lockedBy: null,
      lastError: null,
      lastErrorKind: null,
    })
    .where(
      and(
        sql`${outbox.id} = any(${sql.placeholder('ids')}::text[])`,
        eq(outbox.lockedBy, id),
        eq(outbox.status, 'sending'),
      ),
    )
    .returning({ id: outbox.id })
    .prepare('outbox_record_sent')

  async function writeSentGroup(rows: Pending[]): Promise<void> {
    const updated = await recordSentStatement.execute({
      at: now().toISOString(),
      ids: rows.map((r) => r.id),
      providerIds: JSON.stringify(Object.fromEntries(rows.map((r) => [r.id, r.providerId]))),
    })
    if (updated.length < rows.length)
      log.warn('lease lost before sends were recorded', {
        sent: rows.length,
        recorded: updated.length,
      })
  }

  /**
   * Keeps the running batch's rows leased while the worker lives. Only that batch's: a row an
   * earlier batch left claimed (an error mid-row, a send that could not be recorded) must see its
   * lease run out, or a worker that stays busy would hold it for as long as it lives.
   */
  async function renewLeases(ids: string[]): Promise<void> {
    await db
      .update(outbox)
      .set({ leaseUntil: new Date(now().getTime() + leaseMs) })
      .where(and(inArray(outbox.id, ids), eq(outbox.lockedBy, id), eq(outbox.status, 'sending')))
  }

  let lastCheckAt: number | null = null
  // The last transport-wide failure of this round, for /api/health (transport_status).
  let downReason: string | null = null
  let markedUnreachable = false
  let cooldownUntil = 0
  let downStreak = 0
  // The longest Retry-After of this round's rate-limited sends.
  let throttleMs = 0

  // Every write after a claim is guarded: a worker whose lease ran out (and whose row another
  // worker claimed since) must not overwrite the newer outcome.
  const mine = (row: OutboxRow) =>
    and(eq(outbox.id, row.id), eq(outbox.lockedBy, id), eq(outbox.status, 'sending'))

  /**
   * Records a row's outcome; true if recorded as given. A row whose person was erased meanwhile
   * (api/pipeline/erasure.ts) gets the outcome's status only, never the error's text (it may quote
   * the address), and instead of going back to `pending` it is `suppressed`: its message is gone.
   */
  async function finish(
    row: OutboxRow,
    set: PgUpdateSetSource<typeof outbox>,
    on: Db = db,
  ): Promise<boolean> {
    const updated = await on
      .update(outbox)
      .set({ leaseUntil: null, lockedBy: null, ...set })
      .where(and(mine(row), not(isErasedRow)))
      .returning({ id: outbox.id })
    if (updated.length > 0) return true
    const back = set.status === 'pending'
    const erased = await on
      .update(outbox)
      .set({
        leaseUntil: null,
        lockedBy: null,
        status: back ? 'suppressed' : set.status,
        lastErrorKind: back ? 'suppressed' : set.lastErrorKind,
      })
      .where(and(mine(row), isErasedRow))
      .returning({ id: outbox.id })
    if (erased.length === 0)
      log.warn('lease lost before the outcome was recorded', {
        outboxId: row.id,
        status: set.status,
      })
    return false
  }

  const release = (row: OutboxRow, reason: SendFailure) =>
    finish(row, {
      status: 'pending',
      attempts: sql`greatest(${outbox.attempts} - 1, 0)`,
      lastError: reason.message,
      lastErrorKind: reason.kind,
    })

  async function releaseUntried(rows: OutboxRow[]): Promise<number> {
    if (rows.length === 0) return 0
    const released = await db
      .update(outbox)
      .set({
        status: 'pending',
        attempts: sql`greatest(${outbox.attempts} - 1, 0)`,
        leaseUntil: null,
        lockedBy: null,
      })
      .where(
        and(
          inArray(
            outbox.id,
            rows.map((r) => r.id),
          ),
          eq(outbox.lockedBy, id),
          eq(outbox.status, 'sending'),
        ),
      )
      .returning({ id: outbox.id })
    return released.length
  }

  async function processRow(
    row: ClaimedRow,
    claimedAt: number,
    sender: SenderSettings,
  ): Promise<{
    result: 'sent' | 'retried' | 'failed' | 'suppressed' | 'released'
    stop?: 'configuration' | 'down' | 'throttled'
  }> {
    // Erased while an earlier claim was sending it, and that worker died: nothing left to send.
    if (isErasedPayload(row.payload)) {
      await finish(row, { status: 'suppressed', lastErrorKind: 'suppressed' })
      return { result: 'suppressed' }
    }
    const parsed = emailPayloadSchema.safeParse(row.payload)
    if (!parsed.success) {
      await finish(row, {
        status: 'failed',
        lastError: `unreadable payload: ${parsed.error.issues[0]?.message}`,
        lastErrorKind: 'permanent',
      })
      return { result: 'failed' }
    }
    const payload = parsed.data
    const category: EmailCategory = row.category ?? 'transactional'
    const recipient = row.recipient ?? payload.to.address

    // The claim read the suppression list; a row that waited in its batch (a slow server) reads
    // it again, so no send acts on a check more than a second old.
    const stale = performance.now() - claimedAt > 1_000
    const suppressedBy = stale
      ? ((await findSuppression(db, recipient))?.reason ?? null)
      : row.suppressedReason
    if (suppressedBy && suppressionBlocks(suppressedBy, category)) {
      await finish(row, {
        status: 'suppressed',
        lastError: `suppressed (${suppressedBy})`,
        lastErrorKind: 'suppressed',
      })
      return { result: 'suppressed' }
    }
    // A password link mailed to an account disabled since it was queued: the link no longer
    // works, and the person is no longer one of ours to mail about their account.
    if (
      ACCOUNT_LINK_TEMPLATES.includes(payload.template) &&
      (stale ? await isDisabledUser(db, recipient) : row.recipientDisabled)
    ) {
      await finish(row, {
        status: 'suppressed',
        lastError: 'not sent: the account was disabled after this mail was queued',
        lastErrorKind: 'account_disabled',
      })
      return { result: 'suppressed' }
    }

    const from = payload.from ?? fromFor(sender, category, transport.name)
    const replyTo = payload.replyTo ?? sender.replyTo
    let outcome: SendOutcome
    if (!from) outcome = noSender()
    else {
      sendsInFlight++
      try {
        outcome = await transport.send({
          id: row.id,
          from,
          replyTo: replyTo ?? undefined,
          to: payload.to,
          subject: payload.subject,
          html: payload.html,
          text: payload.text,
          headers: payload.headers,
          category,
        })
      } finally {
        sendsInFlight--
        // This send may have been the last one a waiting group was held for; after this lane
        // has had its turn to join the group.
        setImmediate(() => maybeWrite())
      }
    }
    const at = now()
    // A sender the row chose itself (a campaign's) refused by the server is that sender's
    // problem: its messages fail, the configured sender's mail keeps going. Recorded as such, so
    // the campaign's list says so (failure-reasons.ts) rather than blaming the recipient's address.
    if (!outcome.ok && outcome.senderRefused && payload.from) {
      outcome = { ...outcome, kind: 'permanent', code: 'sender_refused' }
    }

    if (outcome.ok) {
      await recordSent({ id: row.id, providerId: outcome.providerId.slice(0, 500) }).catch(
        (err: unknown) => {
          throw new SendNotRecorded(row.id, err)
        },
      )
      return { result: 'sent' }
    }
    const error = `${outcome.code}: ${outcome.message}`.slice(0, 2000)
    if (outcome.kind === 'configuration') {
      const reason = `${transport.name}: ${error}`
      await pauseTransport(db, transport.name, reason, at)
      log.error('transport paused: configuration rejected', {
        outboxId: row.id,
        code: outcome.code,
        message: outcome.message,
      })
      await release(row, outcome)
      return { result: 'released', stop: 'configuration' }
    }
    if (outcome.retryAfterMs !== undefined) {
      // Rate limited: the row goes back uncounted, due when the provider said, and the worker
      // holds off as long; the service is up, so /api/health is not told otherwise.
      throttleMs = Math.max(throttleMs, outcome.retryAfterMs)
      await finish(row, {
        status: 'pending',
        attempts: sql`greatest(${outbox.attempts} - 1, 0)`,
        runAfter: new Date(at.getTime() + outcome.retryAfterMs),
        lastError: error,
        lastErrorKind: 'retryable',
      })
      return { result: 'released', stop: 'throttled' }
    }
    if (outcome.kind === 'permanent') {
      // The bounce's suppression commits with the outcome, and only if the person was not erased
      // meanwhile: the erasure took their address off the list (its fingerprint stays). The row's
      // lock orders the two: an erasure after this finds the suppression and replaces it.
      await db.transaction(async (tx) => {
        const recorded = await finish(
          row,
          { status: 'failed', lastError: error, lastErrorKind: 'permanent' },
          tx,
        )
        if (recorded && outcome.hardBounce)
          await suppress(
            tx,
            {
              email: recipient,
              reason: 'hard_bounce',
              source: `${transport.name} ${error}`.slice(0, 500),
            },
            at,
          )
      })
      log.warn('email failed permanently', {
        outboxId: row.id,
        code: outcome.code,
        hardBounce: !!outcome.hardBounce,
      })
      return { result: 'failed' }
    }
    const nextAt = new Date(at.getTime() + retryDelayMs(row.attempts, random(), policy))
    const ageBase = payload.retriedAt ? new Date(payload.retriedAt) : row.createdAt
    const down = isTransportWide(outcome)
    if (down) downReason = `${transport.name}: ${error}`
    if (shouldGiveUp(ageBase, nextAt, maxAgeMs)) {
      const hours = Math.round(((at.getTime() - ageBase.getTime()) / 3_600_000) * 10) / 10
      await finish(row, {
        status: 'failed',
        lastError: `gave up after ${row.attempts} attempts in ${hours} h: ${error}`.slice(0, 2000),
        lastErrorKind: 'retryable',
      })
      log.warn('email given up', { outboxId: row.id, attempts: row.attempts, code: outcome.code })
      return { result: 'failed', ...(down ? { stop: 'down' as const } : {}) }
    }
    await finish(row, {
      status: 'pending',
      runAfter: nextAt,
      lastError: error,
      lastErrorKind: 'retryable',
    })
    log.info('email will be retried', {
      outboxId: row.id,
      attempts: row.attempts,
      code: outcome.code,
      runAfter: nextAt.toISOString(),
    })
    return { result: 'retried', ...(down ? { stop: 'down' as const } : {}) }
  }

  async function drainOnce(): Promise<DrainResult> {
    const result: DrainResult = {
      claimed: 0,
      sent: 0,
      retried: 0,
      failed: 0,
      suppressed: 0,
      released: 0,
      paused: false,
      coolingDown: false,
    }
    const start = now().getTime()
    if (start < cooldownUntil) return { ...result, coolingDown: true }

    const { sender, paused } = await context()
    if (paused) {
      if (lastCheckAt !== null && start - lastCheckAt < verifyIntervalMs)
        return { ...result, paused: true }
      lastCheckAt = start
      cached = null
      const problem = await preflight(transport, sender)
      if (problem) {
        await pauseTransport(
          db,
          transport.name,
          `${transport.name}: ${problem.code}: ${problem.message}`,
          now(),
        )
        return { ...result, paused: true }
      }
      await resumeTransport(db, transport.name, now())
      log.info('transport resumed: the check passed')
    }

    // After the server was unreachable, one row probes it before whole batches go again.
    const limit = downStreak > 0 ? 1 : batchSize
    const rows = await claimDueEmails(db, id, new Date(start), { limit, leaseMs })
    const claimedAt = performance.now()
    result.claimed = rows.length
    let stop: 'configuration' | 'down' | 'throttled' | 'unrecorded' | null = null
    throttleMs = 0
    const unrecorded: SendNotRecorded[] = []
    let next = 0
    const lane = async () => {
      while (next < rows.length && !stop) {
        const row = rows[next++]!
        try {
          const { result: r, stop: s } = await processRow(row, claimedAt, sender)
          result[r]++
          if (s) stop ??= s
        } catch (err) {
          if (err instanceof SendNotRecorded) {
            // Sent, but the database refused the record: no lane sends again in this batch, so
            // what may go out twice stays the sends in flight now (≤ concurrency).
            unrecorded.push(err)
            stop ??= 'unrecorded'
          } else {
            // A database error mid-row: the row keeps its lease and is claimed again when it ends.
            log.error('outbox row failed', { outboxId: row.id, err })
          }
        }
      }
    }
    const batchIds = rows.map((r) => r.id)
    const heartbeat =
      rows.length > 0
        ? setInterval(() => {
            renewLeases(batchIds).catch((err: unknown) => log.warn('lease renewal failed', { err }))
          }, heartbeatMs)
        : null
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, lane))
    } finally {
      if (heartbeat) clearInterval(heartbeat)
    }
    // Rows never tried because the transport went down or was paused mid-batch go back as they were.
    result.released += await releaseUntried(rows.slice(next))
    if (unrecorded.length > 0) {
      const outboxIds = unrecorded.map((u) => u.outboxId)
      log.error('sent but not recorded: these go out again when their lease ends', {
        outboxIds,
        err: unrecorded[0]!.cause,
      })
      // A failed round: the loop waits before claiming again rather than sending more it may
      // not be able to record.
      throw new Error(`outbox: ${outboxIds.length} sent messages could not be recorded`, {
        cause: unrecorded[0]!.cause,
      })
    }

    if (stop === 'down') {
      await markUnreachable(
        db,
        transport.name,
        downReason ?? `${transport.name}: unreachable`,
        now(),
      )
      markedUnreachable = true
      downStreak++
      cooldownUntil = now().getTime() + retryDelayMs(downStreak, random(), policy)
    } else if (result.sent > 0) {
      downStreak = 0
      if (markedUnreachable || cached?.unreachable) {
        await markReachable(db, transport.name, now())
        markedUnreachable = false
        if (cached) cached.unreachable = false
      }
    }
    if (stop === 'throttled') cooldownUntil = now().getTime() + throttleMs
    if (stop === 'configuration') {
      lastCheckAt = now().getTime()
      cached = null
    }
    result.paused = stop === 'configuration'
    return result
  }

  let running = false
  let loop: Promise<void> | null = null
  let wake: AbortController | null = null
  const outage = watchDatabaseOutage(log, 'outbox round', now)

  return {
    id,
    transport,
    drainOnce,
    start() {
      if (running) return
      running = true
      loop = (async () => {
        while (running) {
          let claimed = 0
          let failed = false
          try {
            claimed = (await drainOnce()).claimed
            outage.succeeded()
          } catch (err) {
            failed = true
            if (!outage.failed(err)) log.error('outbox round failed', { err })
          }
          if (!running) break
          if (claimed > 0 && !failed) continue
          wake = new AbortController()
          // A failed round is not retried every second; an unreachable database, backing off.
          const waitMs = failed ? Math.max(idleMs, outage.waitMs() || 5_000) : idleMs
          await sleep(waitMs, undefined, { signal: wake.signal }).catch(() => {})
        }
      })()
    },
    async stop() {
      running = false
      wake?.abort()
      await loop
      loop = null
    },
  }
}

/** The transport accepted the message, but recording it as sent failed (twice). */
class SendNotRecorded extends Error {
  readonly outboxId: string
  constructor(outboxId: string, cause: unknown) {
    super(`outbox row ${outboxId} was sent but could not be recorded`, { cause })
    this.name = 'SendNotRecorded'
    this.outboxId = outboxId
  }
}

/** Whether a transport can send: a sender is configured, and the provider accepts us. */
async function preflight(
  transport: Transport,
  sender: SenderSettings,
): Promise<SendFailure | null> {
  if (!fromFor(sender, 'transactional', transport.name)) return noSender()
  const outcome: SendOutcome = (await transport.verify?.()) ?? {
    ok: true,
    providerId: 'unverified',
  }
  return outcome.ok ? null : outcome
}

function noSender(): SendFailure {
  return failure(
    'configuration',
    'no_sender',
    'No sender address: set MAIL_FROM, or the sender in /app/admin/settings.',
  )
}

/**
 * The worker a process runs: the transport chosen by the environment (mailer.ts), started at
 * once. `stop()` finishes the batch in flight, then closes the transport's connections.
 */
export function startOutboxWorker(
  deps: { db: Db; env: Env; logger: Logger; now: () => Date },
  options: Partial<OutboxWorkerOptions> = {},
): OutboxWorker {
  const transport = createTransport(deps.env, deps.db, { now: deps.now })
  const worker = createOutboxWorker(deps.db, transport, {
    env: deps.env,
    logger: deps.logger,
    now: deps.now,
    ...options,
  })
  if (deps.env.SMTP_URL && deps.env.RESEND_API_KEY) {
    deps.logger.warn(
      'both SMTP_URL and RESEND_API_KEY are set: sending through SMTP, RESEND_API_KEY is ignored',
    )
  }
  if (deps.env.NODE_ENV === 'production' && !deps.env.APP_ORIGIN.startsWith('https://')) {
    deps.logger.warn(
      'APP_ORIGIN is not https: mail providers ignore one-click unsubscribe links that are not https',
    )
  }
  deps.logger.info('outbox worker started', { worker: worker.id, transport: transport.name })
  worker.start()
  return {
    id: worker.id,
    transport,
    drainOnce: worker.drainOnce,
    start: worker.start,
    async stop() {
      await worker.stop()
      await transport.close()
    },
  }
}

/**
 * The "Check again" of the outbox page: builds the configured transport, checks the sender and
 * the credentials, and resumes or (re)pauses it for every worker. The result says which.
 */
export async function checkTransport(deps: {
  db: Db
  env: Env
  now: () => Date
}): Promise<{ transport: Transport['name']; ok: boolean; reason: string | null }> {
  const transport = createTransport(deps.env, deps.db, { now: deps.now, maxConnections: 1 })
  try {
    const sender = await loadSenderSettings(deps.db, deps.env)
    const problem = await preflight(transport, sender)
    if (problem) {
      const reason = `${transport.name}: ${problem.code}: ${problem.message}`
      // A refusal pauses sending; a server not reached is said (health, the outbox page) until a
      // send or a check gets through. Either way /api/health tells what the check found.
      if (problem.kind === 'configuration')
        await pauseTransport(deps.db, transport.name, reason, deps.now())
      else await markUnreachable(deps.db, transport.name, reason, deps.now())
      return { transport: transport.name, ok: false, reason }
    }
    await resumeTransport(deps.db, transport.name, deps.now())
    return { transport: transport.name, ok: true, reason: null }
  } finally {
    await transport.close()
  }
}
