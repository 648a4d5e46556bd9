import { constants, readFileSync } from 'node:fs'
import {
  copyFile,
  link,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

// The embedded database has one owner (design.md). The process that opens a PGlite data directory
// holds `<dataDir>.owner`, a small JSON file created with O_EXCL, naming its PID and (once it
// listens) its URL and local socket. Another process reads it: the owner alive → refused, or
// connected through the owner's socket; the owner dead (kill -9, power loss) → the file is stale
// and taken over. A PID alone can be reused after a reboot, so the owner's start time (Linux
// /proc) is recorded too and must match.

export interface OwnerRecord {
  pid: number
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); null off Linux. */
  startTime: number | null
  /** What the owner is: `node server.ts`, `scripts/user-add.ts` … */
  command: string
  /** Set by the server once it listens. */
  url: string | null
  /** The directory holding `.s.PGSQL.5432`, the owner's PostgreSQL-protocol socket, once it serves one. */
  socketDir: string | null
}

export class DataDirInUseError extends Error {
  readonly dataDir: string
  readonly owner: OwnerRecord

  constructor(dataDir: string, owner: OwnerRecord) {
    const who = owner.url
      ? `the server at ${owner.url} (PID ${owner.pid}, port ${new URL(owner.url).port || 80})`
      : `${owner.command} (PID ${owner.pid})`
    super(
      `The embedded database in ${dataDir} is in use by ${who}. PGlite allows one process per data ` +
        `directory: stop that process first${owner.socketDir ? '' : ', or wait for it to finish'}. ` +
        'Nothing was written.',
    )
    this.name = 'DataDirInUseError'
    this.dataDir = dataDir
    this.owner = owner
  }
}

export interface Ownership {
  readonly lockPath: string
  readonly socketDir: string
  /** Records more about the owner (the server's URL, the socket) for whoever finds the lock. */
  update(fields: Partial<Pick<OwnerRecord, 'url' | 'socketDir'>>): Promise<void>
  release(): Promise<void>
}

export function lockPathFor(dataDir: string): string {
  return `${dataDir}.owner`
}

/** Where the owner's socket lives: a 0700 directory next to the data directory. */
export function socketDirFor(dataDir: string): string {
  return join(dirname(resolve(dataDir)), `.${basename(dataDir)}.socket`)
}

/** The start time of a process, to tell a live owner from a reused PID; null where /proc is absent. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2 (the command) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const value = Number(fields[19])
    return Number.isFinite(value) ? value : null
  } catch {
    return null
  }
}

/** Whether the process a lock names still runs: signal 0 (EPERM: alive, another user's) and the start time. */
export function isAlive(owner: Pick<OwnerRecord, 'pid' | 'startTime'>): boolean {
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (owner.startTime === null) return true
  const now = processStartTime(owner.pid)
  return now === null || now === owner.startTime
}

export async function readOwner(dataDir: string): Promise<OwnerRecord | null> {
  let text: string
  try {
    text = await readFile(lockPathFor(dataDir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  return ownerIn(text)
}

/** The lock file as found: its record and which file it was (to tell it from a newer one). */
async function readLock(
  lockPath: string,
): Promise<{ owner: OwnerRecord; dev: number; ino: number } | null> {
  let handle
  try {
    handle = await open(lockPath, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const { dev, ino } = await handle.stat()
    return { owner: ownerIn(await handle.readFile('utf8')), dev, ino }
  } finally {
    await handle.close()
  }
}

function ownerIn(text: string): OwnerRecord {
  try {
    const record = JSON.parse(text) as OwnerRecord
    if (typeof record.pid === 'number') return record
  } catch {
    // A lock file cut short by a crash while it was being written: nobody can own it.
  }
  return { pid: 0, startTime: null, command: 'unknown', url: null, socketDir: null }
}

/** The live owner of a data directory, or null when there is none (no lock, or a stale one). */
export async function liveOwner(dataDir: string): Promise<OwnerRecord | null> {
  const owner = await readOwner(dataDir)
  return owner && owner.pid > 0 && isAlive(owner) ? owner : null
}

/** Lock records this process has written, each to a file of its own (acquireOwnership). */
let lockFilesMade = 0
/** What link(2) answers on a file system without hard links. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

/**
 * Takes the data directory, or throws DataDirInUseError naming the live owner. A stale lock
 * (its process gone) is moved aside and taken.
 */
export async function acquireOwnership(dataDir: string): Promise<Ownership> {
  const lockPath = lockPathFor(dataDir)
  const record: OwnerRecord = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    command: commandLine(),
    url: null,
    socketDir: null,
  }
  await mkdir(dirname(lockPath), { recursive: true })
  // The record is written in full to a file of this process's own, then linked into place
  // (atomic, EEXIST when taken): a lock is never seen empty or half-written by another process
  // starting at the same moment, which would take it for a crashed one and own the directory too.
  const made = `${lockPath}.new-${process.pid}-${++lockFilesMade}`
  const handle = await open(made, 'wx', 0o600)
  try {
    await handle.writeFile(JSON.stringify(record))
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(made, lockPath).catch((err: NodeJS.ErrnoException) => {
          // A file system without hard links: created exclusively, then filled (as before).
          if (!NO_LINKS.has(err.code ?? '')) throw err
          return copyFile(made, lockPath, constants.COPYFILE_EXCL)
        })
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err
      }
      const found = await readLock(lockPath)
      if (found === null) continue // released meanwhile: try again
      if (found.owner.pid > 0 && isAlive(found.owner))
        throw new DataDirInUseError(dataDir, found.owner)
      // Stale: moved aside (rename is atomic), then checked to be the file judged stale. Another
      // process may have taken the stale lock over between our read and our rename: what we moved
      // is then its new lock, which goes back, and the next turn finds it alive.
      const aside = `${lockPath}.stale-${process.pid}-${++lockFilesMade}`
      try {
        await rename(lockPath, aside)
      } catch {
        continue // gone meanwhile
      }
      const moved = await stat(aside)
      if (moved.dev !== found.dev || moved.ino !== found.ino)
        await link(aside, lockPath).catch(() =>
          copyFile(aside, lockPath, constants.COPYFILE_EXCL).catch(() => {}),
        )
      await rm(aside, { force: true })
    }
  } finally {
    await rm(made, { force: true })
  }
  let released = false
  return {
    lockPath,
    socketDir: socketDirFor(dataDir),
    update: async (fields) => {
      Object.assign(record, fields)
      // Write-then-rename: a reader never sees a half-written record.
      const partial = `${lockPath}.${process.pid}`
      await writeFile(partial, JSON.stringify(record), { mode: 0o600 })
      await rename(partial, lockPath)
    },
    release: async () => {
      if (released) return
      released = true
      const current = await readOwner(dataDir)
      if (current?.pid === process.pid) await rm(lockPath, { force: true })
    },
  }
}

function commandLine(): string {
  const script = process.argv[1]
  return script
    ? `${basename(process.argv0)} ${basename(dirname(script))}/${basename(script)}`
    : basename(process.argv0)
}
