import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'

// Two processes taking one data directory at the same moment: whatever the interleaving, exactly
// one becomes its owner. Here one of them is held just before it writes its owner record (a
// gate on node:fs/promises' writes), while the other tries.
let gate: Promise<void> | null = null
let gated: (() => void) | null = null
async function beforeWrite(data: unknown): Promise<void> {
  if (gate && typeof data === 'string' && data.includes('"pid"')) {
    const held = gate
    gate = null
    gated?.()
    await held
  }
}

// And one is held just before it moves a stale lock aside (a gate on renames to `.stale-…`).
let renameGate: Promise<void> | null = null
let renameGated: (() => void) | null = null
async function beforeRename(to: unknown): Promise<void> {
  if (renameGate && String(to).includes('.stale-')) {
    const held = renameGate
    renameGate = null
    renameGated?.()
    await held
  }
}

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>()
  return {
    ...fs,
    rename: async (...args: Parameters<typeof fs.rename>) => {
      await beforeRename(args[1])
      return fs.rename(...args)
    },
    writeFile: async (...args: Parameters<typeof fs.writeFile>) => {
      await beforeWrite(args[1])
      return fs.writeFile(...args)
    },
    open: async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args)
      const writeFile = handle.writeFile.bind(handle)
      handle.writeFile = async (data, options) => {
        await beforeWrite(data)
        return writeFile(data, options)
      }
      return handle
    },
  }
})

// The unit project shares modules between files (isolate: false): a file run earlier in this
// worker may have loaded owner.ts with the real node:fs/promises, and that copy would be used.
vi.resetModules()
const { acquireOwnership, DataDirInUseError, lockPathFor } =
  await import('../../../api/db/owner.ts')

/** Takes the directory: its ownership, or why not. */
const take = (dataDir: string) =>
  acquireOwnership(dataDir).then(
    (o) => ({ ok: true as const, o }),
    (err: unknown) => ({ ok: false as const, err }),
  )

const dir = await mkdtemp(join(tmpdir(), 'frontdoor-owner-race-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the lock on an embedded data directory', () => {
  it('has one owner when two take it at once: the lock is never seen half-made', async () => {
    const dataDir = join(dir, 'race', 'pglite')
    let release!: () => void
    gate = new Promise<void>((resolve) => (release = resolve))
    const reachedWrite = new Promise<void>((resolve) => (gated = resolve))
    const first = take(dataDir)
    await reachedWrite
    const second = await take(dataDir)
    release()
    const results = [await first, second]
    const owners = results.filter((r) => r.ok)
    expect(owners).toHaveLength(1)
    const refused = results.find((r) => !r.ok)
    expect(refused && !refused.ok && refused.err).toBeInstanceOf(DataDirInUseError)
    for (const r of owners) await r.o.release()
  })

  it('has one owner when two take over a stale lock at once', async () => {
    const dataDir = join(dir, 'stale', 'pglite')
    await mkdir(join(dir, 'stale'), { recursive: true })
    // Left by a process that died (kill -9): its PID is not running.
    const stale = {
      pid: 2 ** 22 + 1,
      startTime: 1,
      command: 'node server.ts',
      url: null,
      socketDir: null,
    }
    await writeFile(lockPathFor(dataDir), JSON.stringify(stale))
    let release!: () => void
    renameGate = new Promise<void>((resolve) => (release = resolve))
    const reachedRename = new Promise<void>((resolve) => (renameGated = resolve))
    // The first judges the lock stale and is held before it moves it aside…
    const first = take(dataDir)
    await reachedRename
    // …while the second takes the stale lock over and owns the directory.
    const second = await take(dataDir)
    expect(second.ok).toBe(true)
    release()
    const results = [await first, second]
    const owners = results.filter((r) => r.ok)
    expect(owners).toHaveLength(1)
    const refused = results.find((r) => !r.ok)
    expect(refused && !refused.ok && refused.err).toBeInstanceOf(DataDirInUseError)
    // The owner's lock is in place, and nothing was left beside it.
    expect(await readdir(join(dir, 'stale'))).toEqual(['pglite.owner'])
    for (const r of owners) await r.o.release()
  })
})
