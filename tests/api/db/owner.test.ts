import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { DataDirInUseError, openDatabase } from '../../../api/db/client.ts'
import {
  acquireOwnership,
  lockPathFor,
  processStartTime,
  type OwnerRecord,
} from '../../../api/db/owner.ts'

// One owner per embedded data directory (api/db/owner.ts), and the others go through its socket.
const dir = await mkdtemp(join(tmpdir(), 'frontdoor-owner-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

/** A PID that existed and is gone: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!
}

describe('the lock on an embedded data directory', () => {
  it('is held by one process: a second attempt is refused with the owner named', async () => {
    const dataDir = join(dir, 'one', 'pglite')
    const held = await acquireOwnership(dataDir)
    await held.update({ url: 'http://127.0.0.1:4999' })
    const refusal = await acquireOwnership(dataDir).catch((err: unknown) => err)
    expect(refusal).toBeInstanceOf(DataDirInUseError)
    expect((refusal as Error).message).toContain(`PID ${process.pid}`)
    expect((refusal as Error).message).toContain('port 4999')
    await held.release()
    expect(existsSync(lockPathFor(dataDir))).toBe(false)
    await (await acquireOwnership(dataDir)).release()
  })

  it('left behind by a process that died (kill -9, power loss) is taken over', async () => {
    const dataDir = join(dir, 'stale', 'pglite')
    await acquireOwnership(dataDir).then((o) => o.release())
    const stale: OwnerRecord = {
      pid: deadPid(),
      startTime: null,
      command: 'node server.ts',
      url: 'http://127.0.0.1:4321',
      socketDir: null,
    }
    await writeFile(lockPathFor(dataDir), JSON.stringify(stale))
    const taken = await acquireOwnership(dataDir)
    expect(JSON.parse(await readFile(lockPathFor(dataDir), 'utf8')).pid).toBe(process.pid)
    await taken.release()
  })

  it('naming a live PID that started at another time (reused after a reboot) is stale', async () => {
    if (processStartTime(process.pid) === null) return // no /proc: the PID alone decides
    const dataDir = join(dir, 'reused', 'pglite')
    await acquireOwnership(dataDir).then((o) => o.release())
    const reused: OwnerRecord = {
      pid: process.pid,
      startTime: processStartTime(process.pid)! - 1,
      command: 'node server.ts',
      url: null,
      socketDir: null,
    }
    await writeFile(lockPathFor(dataDir), JSON.stringify(reused))
    await (await acquireOwnership(dataDir)).release()
  })

  it('cut short while being written (a crash) is stale', async () => {
    const dataDir = join(dir, 'cut', 'pglite')
    await acquireOwnership(dataDir).then((o) => o.release())
    await writeFile(lockPathFor(dataDir), '{"pid":12')
    await (await acquireOwnership(dataDir)).release()
  })
})

describe('a second process on an owned data directory', () => {
  it('is refused and writes nothing; a command-line tool goes through the owner instead', async () => {
    const dataDir = join(dir, 'db', 'pglite')
    const owner = await openDatabase({ dataDir })
    try {
      const socketDir = join(dir, 'db', '.pglite.socket')
      expect((await stat(socketDir)).mode & 0o777).toBe(0o700)
      expect((await stat(join(socketDir, '.s.PGSQL.5432'))).mode & 0o777).toBe(0o600)
      const files = await readdir(dataDir, { recursive: true })
      const refusal = await openDatabase({ dataDir }).catch((err: unknown) => err)
      expect(refusal).toBeInstanceOf(DataDirInUseError)
      expect(await readdir(dataDir, { recursive: true })).toEqual(files)

      const through = await openDatabase({ dataDir, throughOwner: true })
      try {
        expect(through.via).toBe('owner')
        await through.db.execute(sql`create table notes (body text)`)
        await through.db.execute(sql`insert into notes values ('through the socket')`)
      } finally {
        await through.close()
      }
      const client = (
        owner.db as unknown as { $client: { query(q: string): Promise<{ rows: unknown[] }> } }
      ).$client
      expect((await client.query('select body from notes')).rows).toEqual([
        { body: 'through the socket' },
      ])
    } finally {
      await owner.close()
    }
    expect(existsSync(lockPathFor(dataDir))).toBe(false)
    // Closed and unlocked: the next process opens it and finds what the tool wrote.
    const again = await openDatabase({ dataDir })
    try {
      const client = (
        again.db as unknown as { $client: { query(q: string): Promise<{ rows: unknown[] }> } }
      ).$client
      expect((await client.query('select count(*)::int as n from notes')).rows).toEqual([{ n: 1 }])
    } finally {
      await again.close()
    }
  })
})
