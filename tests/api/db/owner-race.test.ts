import { mkdtemp, rm } from 'node:fs/promises'
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

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>()
  return {
    ...fs,
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
const { acquireOwnership, DataDirInUseError } = await import('../../../api/db/owner.ts')

const dir = await mkdtemp(join(tmpdir(), 'frontdoor-owner-race-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the lock on an embedded data directory', () => {
  it('has one owner when two take it at once: the lock is never seen half-made', async () => {
    const dataDir = join(dir, 'race', 'pglite')
    let release!: () => void
    gate = new Promise<void>((resolve) => (release = resolve))
    const reachedWrite = new Promise<void>((resolve) => (gated = resolve))
    const first = acquireOwnership(dataDir).then(
      (o) => ({ ok: true as const, o }),
      (err: unknown) => ({ ok: false as const, err }),
    )
    await reachedWrite
    const second = await acquireOwnership(dataDir).then(
      (o) => ({ ok: true as const, o }),
      (err: unknown) => ({ ok: false as const, err }),
    )
    release()
    const results = [await first, second]
    const owners = results.filter((r) => r.ok)
    expect(owners).toHaveLength(1)
    const refused = results.find((r) => !r.ok)
    expect(refused && !refused.ok && refused.err).toBeInstanceOf(DataDirInUseError)
    for (const r of owners) await r.o.release()
  })
})
