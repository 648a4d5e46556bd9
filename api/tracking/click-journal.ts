import { closeSync, openSync, writeSync } from 'node:fs'
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Db } from '../db/client.ts'
import type { Deps } from '../deps.ts'
import type { Logger } from '../logger.ts'
import type { PendingRows } from '../db/backup.ts'
import { copyRows, type CopyRows } from '../db/copy.ts'
import {
  CLICK_COLUMNS,
  clickRowsSelect,
  clickValues,
  createClickWriter,
  insertClicks,
  newClickStats,
  toRow,
  type ClickRow,
  type ClickWriter,
} from './click-writer.ts'

/**
 * The embedded database's click writer: a click is durable once its line is in the journal
 * (appended in groups before the 302), and reaches `click_events` shortly after, moved by this
 * writer in the background. Durable as the embedded database itself is: PGlite runs with
 * `fsync=off`, so its commits and these appends both survive the process being killed (the crash
 * test kills it with SIGKILL), not the machine losing power — PostgreSQL is for that.
 *
 * Why not the database directly, as on PostgreSQL (click-writer.ts): PGlite runs on the server's
 * own thread, so every insert costs the redirect the same CPU it needs to answer, and the one
 * connection is shared with every other query (a 50,000-row import starved clicks to 17 answers in
 * 12 s). Measured per click on this machine: ~60–100 µs of CPU through PGlite (~35 µs of it the
 * six index entries) against ~10–20 µs for a journal line; the move runs later, paced, in batches.
 *
 * Files: `<dir>/clicks-<seq>.ndjson`, one JSON row per line. Appends go to the newest segment; a
 * segment is deleted once every row in it is committed to the database and a newer one exists,
 * and the last one on a clean stop. On start every segment left behind (a crash) is replayed
 * first — `on conflict (id) do nothing`, so a row moved before the crash is not doubled — and a
 * torn last line (a write the crash cut off, never answered) is skipped and counted.
 *
 * Failure policy: an append that fails goes to the database directly (as on PostgreSQL) and the
 * next appends go to a new segment; if that fails too, the click is answered and counted as
 * unrecorded. A move that fails is retried with backoff; its rows stay in the journal meanwhile
 * and after a restart. Built by the composition root (api/server.ts), drained before the database closes.
 */

export interface ClickJournalOptions {
  /**
   * Rows per insert into click_events. 1,000: ~55 µs of CPU a row on PGlite against ~70 at 250
   * (measured, 20,000 rows); a move then holds the thread ~60 ms, the clicks arriving meanwhile
   * wait that long.
   */
  moveBatch?: number
  /** Rows per segment before the next append opens a new one. */
  segmentRows?: number
  /** Awaited before each append with its row count: lets a test hold or fail an append. */
  beforeAppend?: (size: number) => Promise<void> | void
  /** Awaited before each move with its row count: lets a test hold or fail a move. */
  beforeMove?: (size: number) => Promise<void> | void
  /** Waits between moves (pacing and retry backoff); tests pass one that resolves at once. */
  pause?: (ms: number) => Promise<void>
}

interface Segment {
  seq: number
  path: string
  /** Rows appended to it and not yet committed to the database. */
  unmoved: number
  rows: number
}

interface Pending {
  row: ClickRow
  done: () => void
}

const SEGMENT = /^clicks-(\d+)\.ndjson$/
const segmentPath = (dir: string, seq: number) =>
  join(dir, `clicks-${String(seq).padStart(8, '0')}.ndjson`)

/** Replays what a previous process left, then opens the journal for appends. */
export async function openClickJournal(
  db: Db,
  logger: Logger,
  dir: string,
  options: ClickJournalOptions = {},
): Promise<ClickWriter> {
  const moveBatch = options.moveBatch ?? 1000
  const segmentRows = options.segmentRows ?? 20_000
  const pause = options.pause ?? sleep
  let copy: CopyRows | null | undefined
  await mkdir(dir, { recursive: true })
  const lastSeq = await replay(db, logger, dir, moveBatch)

  const stats = newClickStats()
  let nextSeq = lastSeq + 1
  let current: { segment: Segment; fd: number } | null = null
  const segments = new Map<number, Segment>()
  let queue: Pending[] = []
  let appending: Promise<void> | null = null
  // Journaled rows waiting for the database, oldest first, with the segment each is in; rows
  // before `head` are moved (the array is compacted as it goes).
  let unmoved: Array<{ row: ClickRow; seq: number }> = []
  let head = 0
  const backlog = () => unmoved.length - head
  // Rows journaled and rows moved since start, and who waits for the latter to reach a count.
  let journaled = 0
  let moved = 0
  let waiters: Array<{ upTo: number; resolve: () => void }> = []
  const wake = (all: boolean) => {
    const still = []
    for (const w of waiters)
      if (all || w.upTo <= moved) w.resolve()
      else still.push(w)
    waiters = still
  }
  let moving: Promise<void> | null = null
  let draining = false
  let lastAppendAt = 0

  const openSegment = () => {
    const segment: Segment = { seq: nextSeq++, path: '', unmoved: 0, rows: 0 }
    segment.path = segmentPath(dir, segment.seq)
    const fd = openSync(segment.path, 'a')
    segments.set(segment.seq, segment)
    current = { segment, fd }
    return current
  }

  const retire = async (segment: Segment) => {
    if (segment.unmoved > 0 || current?.segment === segment) return
    segments.delete(segment.seq)
    await unlink(segment.path).catch(() => {})
  }

  const rotate = async () => {
    const old = current
    current = null
    if (!old) return
    try {
      closeSync(old.fd)
    } catch {
      // closing only gives the descriptor back
    }
    await retire(old.segment)
  }

  const append = async (batch: Pending[]) => {
    const rows = batch.map((p) => p.row)
    try {
      if (options.beforeAppend) await options.beforeAppend(rows.length)
      let target = current
      if (!target || target.segment.rows >= segmentRows) {
        await rotate()
        target = openSegment()
      }
      writeAll(target.fd, rows.map(journalLine).join('\n') + '\n')
      target.segment.rows += rows.length
      target.segment.unmoved += rows.length
      for (const row of rows) unmoved.push({ row, seq: target.segment.seq })
      journaled += rows.length
      stats.recorded += rows.length
      stats.flushes++
      stats.batchSizes[rows.length] = (stats.batchSizes[rows.length] ?? 0) + 1
      lastAppendAt = Date.now()
      moving ??= move()
    } catch (err) {
      logger.error('click journal append failed; writing to the database directly', { err })
      // A failed append may have left a partial line: never append after it.
      await rotate().catch(() => {})
      try {
        await insertClicks(db, rows).catch(() => insertClicks(db, rows))
        stats.recorded += rows.length
      } catch (dbErr) {
        stats.unrecorded += rows.length
        logger.error('clicks not recorded', {
          clicks: rows.length,
          unrecordedSinceStart: stats.unrecorded,
          err: dbErr,
        })
      }
    }
    for (const p of batch) p.done()
  }

  const runAppends = async () => {
    // Requests already read in this turn of the event loop join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (queue.length > 0) {
      const batch = queue
      queue = []
      await append(batch)
    }
    appending = null
  }

  /**
   * Moves journaled rows into click_events. While clicks keep arriving a move is followed by a
   * pause four times its length (moves take at most a fifth of the thread, the redirect the
   * rest); with a backlog of more than 50,000 rows, or when nothing arrived since the last move,
   * or while draining, the next move follows at once.
   */
  async function move(): Promise<void> {
    let failures = 0
    try {
      while (backlog() > 0) {
        const batch = unmoved.slice(head, head + moveBatch)
        const started = Date.now()
        try {
          await options.beforeMove?.(batch.length)
          const rows = batch.map((b) => b.row)
          // COPY where the database takes one (~30% less of the thread a row than the insert); a
          // retry inserts, skipping rows a failed attempt may have committed after all.
          copy ??= copyRows(db)
          if (copy && failures === 0)
            await copy('click_events', CLICK_COLUMNS, rows.map(clickValues))
          else await insertClicks(db, rows)
        } catch (err) {
          failures++
          // Whoever waits for these rows (a beacon) goes on without them.
          wake(true)
          logger.error('clicks not moved from the journal yet; retrying', {
            clicks: backlog(),
            attempt: failures,
            err,
          })
          if (draining) return
          await pause(Math.min(10_000, 1_000 * 2 ** (failures - 1)))
          continue
        }
        failures = 0
        head += batch.length
        moved += batch.length
        if (head >= 4096 && head * 2 >= unmoved.length) {
          unmoved = unmoved.slice(head)
          head = 0
        }
        const touched = new Set<Segment>()
        for (const b of batch) {
          const segment = segments.get(b.seq)
          if (!segment) continue
          segment.unmoved--
          touched.add(segment)
        }
        for (const segment of touched) await retire(segment)
        wake(false)
        const took = Date.now() - started
        // An insert holds the thread, so no append completes during it: "busy" is an append
        // within the last pause-and-move span.
        const busy = Date.now() - lastAppendAt <= 5 * took + 20 && backlog() <= 50_000
        if (busy && !draining) await pause(4 * took)
      }
    } finally {
      moving = null
    }
  }

  return {
    record(click) {
      return new Promise<void>((done) => {
        queue.push({ row: toRow(click), done })
        appending ??= runAppends()
      })
    },
    async settled() {
      while (appending) await appending
      if (moved >= journaled) return
      const upTo = journaled
      await new Promise<void>((resolve) => {
        waiters.push({ upTo, resolve })
        moving ??= move()
      })
    },
    async drain() {
      draining = true
      while (appending) await appending
      moving ??= backlog() > 0 ? move() : null
      while (moving) await moving
      // The last segment goes too once all its rows are in; otherwise it waits for the next start.
      await rotate()
      if (backlog() > 0)
        logger.warn('clicks left in the journal for the next start', { clicks: backlog() })
    },
    stats: () => ({ ...stats, batchSizes: { ...stats.batchSizes }, pending: backlog() }),
  }
}

/**
 * The whole of `text` appended to the segment, synchronously: a write(2) into the page cache
 * takes ~4 µs of CPU for a batch, where fs/promises' threadpool round trip took ~40–60 µs
 * (measured on this machine) — per batch, on the thread that answers the clicks. Either way the
 * line is in the kernel's hands when the 302 goes, which is what survives the process dying.
 */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text)
  let written = 0
  while (written < bytes.length) written += writeSync(fd, bytes, written)
}

/**
 * A row as its journal line, the time in epoch milliseconds: a Date's toJSON takes
 * JSON.stringify off its fast path (~1.6 µs a row against ~0.6, measured). Lines written with an
 * ISO time (before this) read back the same: both go through `new Date()`.
 */
const journalLine = (row: ClickRow) =>
  JSON.stringify({ ...row, createdAt: row.createdAt.getTime() })

/** The journal's segments in `dir`, oldest first. */
async function segmentsIn(dir: string): Promise<Array<{ seq: number; path: string }>> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  return names
    .map((name) => ({ name, m: SEGMENT.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map(({ name, m }) => ({ seq: Number(m[1]), path: join(dir, name) }))
    .sort((a, b) => a.seq - b.seq)
}

/** A segment's rows, and how many lines were torn (a write a crash cut off, never answered). */
function parseSegment(text: string): { rows: ClickRow[]; torn: number } {
  const rows: ClickRow[] = []
  let torn = 0
  for (const line of text.split('\n')) {
    if (line === '') continue
    try {
      const row = JSON.parse(line) as Omit<ClickRow, 'createdAt'> & { createdAt: number | string }
      rows.push({ ...row, createdAt: new Date(row.createdAt) })
    } catch {
      torn++
    }
  }
  return { rows, torn }
}

/** Every row of the segments left in `dir` into click_events; returns the highest sequence seen. */
async function replay(db: Db, logger: Logger, dir: string, batchSize: number): Promise<number> {
  const files = await segmentsIn(dir)
  let replayed = 0
  let torn = 0
  for (const { path } of files) {
    const segment = parseSegment(await readFile(path, 'utf8'))
    torn += segment.torn
    for (let i = 0; i < segment.rows.length; i += batchSize)
      await insertClicks(db, segment.rows.slice(i, i + batchSize))
    replayed += segment.rows.length
    await unlink(path)
  }
  if (files.length > 0)
    logger.info('clicks replayed from the journal', { segments: files.length, replayed, torn })
  return files.at(-1)?.seq ?? 0
}

export const clickJournalDir = (dataDir: string) => join(dataDir, 'clicks')

/**
 * The clicks in the journal of the embedded database in `dataDir`, for a backup (db:backup):
 * answered, so durable, but maybe not in click_events yet. Read while a server appends and
 * moves: a line being written is skipped (it was not answered yet), and a segment deleted
 * meanwhile held only rows already in the database. Read it before the backup's snapshot.
 */
export async function journaledClicks(dataDir: string): Promise<PendingRows & { count: number }> {
  const rows: ClickRow[] = []
  for (const { path } of await segmentsIn(clickJournalDir(dataDir))) {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return ''
      throw err
    })
    rows.push(...parseSegment(text).rows)
  }
  return {
    table: 'click_events',
    columns: CLICK_COLUMNS,
    select: clickRowsSelect(rows),
    count: rows.length,
  }
}

/**
 * The click writer for this process: the journal when it serves the embedded database itself,
 * the direct group commit otherwise (PostgreSQL, whose inserts run in its own processes).
 */
export async function openClickWriter(deps: Deps): Promise<ClickWriter> {
  if (deps.database.engine === 'pglite' && deps.database.via === 'own')
    return openClickJournal(deps.db, deps.logger, clickJournalDir(deps.env.DATA_DIR))
  return createClickWriter(
    deps.db,
    deps.logger,
    deps.database.engine === 'postgres' ? { statementName: 'insert_clicks' } : {},
  )
}
