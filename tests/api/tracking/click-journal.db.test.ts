import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { eq, inArray } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createUser } from '../../../api/accounts/users.ts'
import { campaignRecipients, clickEvents, contacts } from '../../../api/db/schema.ts'
import { erasePerson, sweepErasedClicks } from '../../../api/pipeline/erasure.ts'
import { createLogger } from '../../../api/logger.ts'
import { restoreBackup, writeBackup } from '../../../api/db/backup.ts'
import { openDatabase } from '../../../api/db/client.ts'
import {
  journaledClicks,
  openClickJournal,
  type ClickJournalOptions,
} from '../../../api/tracking/click-journal.ts'
import { insertClicks, toRow, type Click } from '../../../api/tracking/click-writer.ts'
import { setupTestDb } from '../../db.ts'
import { addTrackedLinks, held } from './fixtures.ts'

// The embedded database's click writer (api/tracking/click-journal.ts): a click is answered once
// its line is in the journal; rows reach click_events afterwards and a crash's
// leftovers are replayed at the next start.

const ctx = await setupTestDb()
const db = ctx.deps.db
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function journalDir() {
  const dir = await mkdtemp(join(tmpdir(), 'fd-journal-'))
  dirs.push(dir)
  return join(dir, 'clicks')
}

let n = 0
function click(userAgent = `journal-test/${n++}`): Click {
  return {
    token: 'journal-token',
    recipientId: null,
    campaignId: null,
    method: 'GET',
    ip: '192.0.2.7',
    userAgent,
    headers: { accept: 'text/html' },
    at: new Date('2026-12-04T10:00:00Z'),
  }
}

async function open(dir: string, options: ClickJournalOptions = {}) {
  const lines: string[] = []
  const logger = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
  // Retries and pacing wait a turn of the event loop instead of their real delays.
  const pause = () => new Promise<void>((r) => setImmediate(r))
  const journal = await openClickJournal(db, logger, dir, { pause, ...options })
  return { journal, lines, logged: () => lines.map((l) => JSON.parse(l)) }
}

const stored = async (userAgent: string) =>
  (await db.select().from(clickEvents).where(eq(clickEvents.userAgent, userAgent))).length

const journalLines = async (dir: string) => {
  const out: string[] = []
  for (const name of (await readdir(dir)).sort())
    out.push(...(await readFile(join(dir, name), 'utf8')).split('\n').filter(Boolean))
  return out
}

describe('click journal', () => {
  it('answers once the click is in the journal, moves it to click_events, and leaves no file on a clean stop', async () => {
    const dir = await journalDir()
    const move = held()
    const { journal } = await open(dir, { beforeMove: () => move.promise })
    await journal.record(click('journal/answered'))
    // Durable before the answer: the line is on disk while the move is held.
    expect((await journalLines(dir)).map((l) => JSON.parse(l).userAgent)).toEqual([
      'journal/answered',
    ])
    expect(await stored('journal/answered')).toBe(0)
    expect(journal.stats()).toMatchObject({ recorded: 1, unrecorded: 0, pending: 1 })
    move.release()
    await journal.settled()
    expect(await stored('journal/answered')).toBe(1)
    expect(journal.stats().pending).toBe(0)
    await journal.drain()
    expect(await readdir(dir)).toEqual([])
  })

  it('moves a click of a person erased while it waited in the journal as it came; the next housekeeping sweep takes its IP, user agent and headers', async () => {
    const created = await createUser(db, {
      email: 'journal-admin@example.com',
      name: 'Admin',
      role: 'admin',
      password: null,
    })
    if (!created.ok) throw new Error(created.message)
    const links = await addTrackedLinks(db, ['https://example.com/'])
    const [person] = await db
      .select({ id: contacts.id, email: contacts.email })
      .from(contacts)
      .innerJoin(campaignRecipients, eq(campaignRecipients.contactId, contacts.id))
      .where(eq(campaignRecipients.id, links.recipientId))
    const dir = await journalDir()
    const move = held()
    const { journal } = await open(dir, { beforeMove: () => move.promise })
    // Theirs and a stranger's, waiting in the journal together.
    await Promise.all([
      journal.record({
        ...click('journal/erased-waiting'),
        token: links.tokens[0]!,
        recipientId: links.recipientId,
        campaignId: links.campaignId,
      }),
      journal.record(click('journal/stranger')),
    ])

    const erased = await erasePerson(
      db,
      person!.id,
      { reason: 'request', actor: created.user, confirm: person!.email },
      new Date('2026-12-04T11:00:00Z'),
    )
    expect(erased.ok).toBe(true)
    move.release()
    await journal.drain()
    // The move inserts the rows as they were clicked: it looks nothing up per click.
    const theirs = () =>
      db
        .select({
          userAgent: clickEvents.userAgent,
          ip: clickEvents.ip,
          headers: clickEvents.headers,
        })
        .from(clickEvents)
        .where(eq(clickEvents.recipientId, links.recipientId))
    expect(await theirs()).toEqual([
      { userAgent: 'journal/erased-waiting', ip: '192.0.2.7', headers: { accept: 'text/html' } },
    ])

    expect(await sweepErasedClicks(db)).toBe(1)
    expect(await theirs()).toEqual([{ userAgent: null, ip: null, headers: null }])
    expect(await stored('journal/stranger')).toBe(1)
    expect(await sweepErasedClicks(db)).toBe(0)
  })

  it('joins concurrent clicks in one append', async () => {
    const dir = await journalDir()
    const append = held()
    const sizes: number[] = []
    const { journal } = await open(dir, {
      beforeAppend: async (size) => {
        sizes.push(size)
        if (sizes.length === 1) await append.promise
      },
    })
    const first = journal.record(click())
    await new Promise((r) => setImmediate(r))
    const rest = Array.from({ length: 5 }, () => journal.record(click()))
    append.release()
    await Promise.all([first, ...rest])
    expect(sizes).toEqual([1, 5])
    await journal.drain()
  })

  it('replays what a crash left: every whole line once, a torn last line skipped, rows already moved not doubled', async () => {
    const dir = await journalDir()
    const { journal } = await open(dir)
    await journal.drain() // makes the directory
    const rows = ['journal/crash-1', 'journal/crash-2', 'journal/crash-3'].map((ua) =>
      toRow(click(ua)),
    )
    // The first row reached the database before the crash.
    await db.insert(clickEvents).values({ ...rows[0]!, kind: 'click' })
    await writeFile(
      join(dir, 'clicks-00000007.ndjson'),
      rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"id":"torn-by-the-cr',
    )
    const move = held()
    const reopened = await open(dir, { beforeMove: () => move.promise })
    for (const r of rows) expect(await stored(r.userAgent!)).toBe(1)
    expect(await readdir(dir)).toEqual([])
    expect(reopened.logged()).toContainEqual(
      expect.objectContaining({ msg: 'clicks replayed from the journal', replayed: 3, torn: 1 }),
    )
    // New appends go to a later segment than any replayed one.
    await reopened.journal.record(click())
    expect(await readdir(dir)).toEqual(['clicks-00000008.ndjson'])
    move.release()
    await reopened.journal.drain()
  })

  it('writes to the database directly when an append fails, and appends to a new segment after it', async () => {
    const dir = await journalDir()
    let fail = false
    const move = held()
    const { journal, logged } = await open(dir, {
      beforeAppend: () => {
        if (fail) throw new Error('disk full (test)')
      },
      beforeMove: () => move.promise,
    })
    await journal.record(click('journal/before'))
    const before = await readdir(dir)
    fail = true
    await journal.record(click('journal/direct'))
    expect(await stored('journal/direct')).toBe(1)
    fail = false
    await journal.record(click('journal/after'))
    const after = await readdir(dir)
    expect(after).toHaveLength(2)
    expect(after).toContain(before[0])
    expect(journal.stats()).toMatchObject({ recorded: 3, unrecorded: 0 })
    expect(logged().map((l) => l.msg)).toContain(
      'click journal append failed; writing to the database directly',
    )
    move.release()
    await journal.drain()
    expect(await stored('journal/before')).toBe(1)
    expect(await stored('journal/after')).toBe(1)
    expect(await readdir(dir)).toEqual([])
  })

  it('counts a click as unrecorded only when the journal and the database both refuse it, and still answers', async () => {
    const dir = await journalDir()
    const lines: string[] = []
    const downDb = new Proxy({} as typeof db, {
      get() {
        throw new Error('connection refused')
      },
    })
    const journal = await openClickJournal(
      downDb,
      createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
      dir,
      {
        beforeAppend: () => {
          throw new Error('disk full (test)')
        },
      },
    )
    await journal.record(click('journal/refused'))
    expect(journal.stats()).toMatchObject({ recorded: 0, unrecorded: 1, pending: 0 })
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('clicks not recorded')
    await journal.drain()
  })

  it('retries a failed move, lets a waiting beacon go on meanwhile, and keeps the rows in the journal', async () => {
    const dir = await journalDir()
    let failures = 2
    const { journal, logged } = await open(dir, {
      beforeMove: () => {
        if (failures-- > 0) throw new Error('database busy (test)')
      },
    })
    await journal.record(click('journal/retried'))
    await journal.settled()
    await journal.drain()
    expect(await stored('journal/retried')).toBe(1)
    expect(
      logged().filter((l) => l.msg === 'clicks not moved from the journal yet; retrying'),
    ).toHaveLength(2)
  })

  it('moves rows exactly as the direct insert writes them: nulls, quotes, commas, line breaks, other scripts', async () => {
    const dir = await journalDir()
    const { journal } = await open(dir)
    const odd: Click = {
      token: 'journal-token',
      recipientId: null,
      campaignId: '',
      method: 'GET',
      ip: null,
      userAgent: 'journal/odd "quoted", a comma,\nand a line break \\N — Ünïcödé 中文',
      headers: { accept: 'text/html, */*; q="0.8"', 'sec-ch-ua': '"Chromium";v="131"' },
      beaconRef: null,
      at: new Date('2026-12-04T10:00:00.123Z'),
    }
    await journal.record(odd)
    await journal.settled()
    await journal.drain()
    const [row] = await db
      .select()
      .from(clickEvents)
      .where(eq(clickEvents.userAgent, odd.userAgent!))
    const { id: _, ...expected } = toRow(odd)
    expect(row).toMatchObject({ ...expected, kind: 'click', verdict: 'pending', processedAt: null })
  })

  it('moves a batch once when a move that failed had written it after all', async () => {
    const dir = await journalDir()
    let first = true
    const { journal } = await open(dir, {
      // The batch reaches click_events, then the move fails: its retry must skip the rows.
      beforeMove: async () => {
        if (!first) return
        first = false
        const rows = (await journalLines(dir)).map((l) => JSON.parse(l))
        await insertClicks(
          db,
          rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt) })),
        )
      },
    })
    await Promise.all([
      journal.record(click('journal/twice')),
      journal.record(click('journal/twice')),
    ])
    await journal.settled()
    await journal.drain()
    expect(await stored('journal/twice')).toBe(2)
    // Nothing left for the next start: the retry went through.
    expect(journal.stats()).toMatchObject({ recorded: 2, unrecorded: 0, pending: 0 })
    expect(await readdir(dir)).toEqual([])
  })

  it('keeps the rows on disk when the database refuses them at stop, and the next start moves them', async () => {
    const dir = await journalDir()
    const { journal, logged } = await open(dir, {
      beforeMove: () => {
        throw new Error('database down (test)')
      },
    })
    await journal.record(click('journal/kept'))
    await journal.drain()
    expect(await stored('journal/kept')).toBe(0)
    expect(logged()).toContainEqual(
      expect.objectContaining({ msg: 'clicks left in the journal for the next start', clicks: 1 }),
    )
    expect((await journalLines(dir)).map((l) => JSON.parse(l).userAgent)).toEqual(['journal/kept'])
    const next = await open(dir)
    expect(await stored('journal/kept')).toBe(1)
    await next.journal.drain()
    expect(await readdir(dir)).toEqual([])
  })

  it('deletes a segment once all its rows are in the database and a newer one takes the appends', async () => {
    const dir = await journalDir()
    const move = held()
    const { journal } = await open(dir, { segmentRows: 2, beforeMove: () => move.promise })
    for (let i = 0; i < 5; i++) await journal.record(click())
    expect(await readdir(dir)).toHaveLength(3)
    move.release()
    await journal.settled()
    expect(await readdir(dir)).toHaveLength(1)
    await journal.drain()
    expect(await readdir(dir)).toEqual([])
  })

  // 120 s: restoring builds and migrates a new embedded database.
  it('is in a backup (db:backup) while its clicks wait in the journal: each answered click once, restored with the defaults', async () => {
    const dir = await journalDir()
    let hold: Promise<void> | null = null
    const { journal } = await open(dir, { beforeMove: () => hold ?? undefined })
    // Moved, and still in the segment that takes the appends: in both places.
    await journal.record(click('journal/backup-moved'))
    await journal.settled()
    expect(await stored('journal/backup-moved')).toBe(1)
    // Answered, not moved yet.
    const move = held()
    hold = move.promise
    await journal.record(click('journal/backup-waiting'))
    expect(await stored('journal/backup-waiting')).toBe(0)

    const pending = await journaledClicks(dirname(dir))
    expect(pending.count).toBe(2)
    const file = join(dirname(dir), 'with-journal.backup')
    const summary = await writeBackup(db, file, {
      engine: ctx.database.engine,
      now: new Date(),
      pending: [pending],
    })
    // A restore beside a journal that still holds clicks is refused (the next start would
    // replay them into the restored database), before anything is written.
    const target = join(dirname(dir), 'restored', 'pglite')
    await expect(
      restoreBackup(file, { dataDir: target, journal: { dir, count: pending.count } }),
    ).rejects.toThrow(/holds 2 clicks/)
    expect(existsSync(target)).toBe(false)
    move.release()
    await journal.drain()

    const left = await journaledClicks(dirname(dir))
    expect(left.count).toBe(0)
    const restored = await restoreBackup(file, {
      dataDir: target,
      journal: { dir, count: left.count },
    })
    expect(restored.rows).toBe(summary.rows)
    const database = await openDatabase({ dataDir: target })
    try {
      const rows = await database.db
        .select()
        .from(clickEvents)
        .where(inArray(clickEvents.userAgent, ['journal/backup-moved', 'journal/backup-waiting']))
      expect(rows.map((r) => r.userAgent).sort()).toEqual([
        'journal/backup-moved',
        'journal/backup-waiting',
      ])
      const waiting = rows.find((r) => r.userAgent === 'journal/backup-waiting')!
      expect(waiting).toMatchObject({
        kind: 'click',
        verdict: 'pending',
        processedAt: null,
        token: 'journal-token',
        ip: '192.0.2.7',
        headers: { accept: 'text/html' },
        createdAt: new Date('2026-12-04T10:00:00Z'),
      })
    } finally {
      await database.close()
    }
  }, 120_000)
})
