import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { serveLocalSocket } from '../../../api/db/local-socket.ts'

// The owner's database on its Unix socket: a client's statement or transaction runs whole,
// never interleaved with the server's own queries, and leaves the shared session as it found it.
const dir = await mkdtemp(join(tmpdir(), 'frontdoor-socket-'))
const db = await PGlite.create()
await db.exec('create table t (id int)')
const socketDir = join(dir, 'socket')
const server = await serveLocalSocket(db, socketDir, { idleInTransactionMs: 300 })
afterAll(async () => {
  await server.close()
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ host: socketDir, database: 'postgres', user: 'postgres' })
  client.on('error', () => {})
  await client.connect()
  return client
}

describe('the local socket', () => {
  it("holds the server's own queries off while a client's transaction is open", async () => {
    const client = await connect()
    try {
      await client.query('begin')
      await client.query('insert into t values (1)')
      let ownQueryDone = false
      const own = db.query<{ n: number }>('select count(*)::int as n from t').then((r) => {
        ownQueryDone = true
        return r.rows[0]!.n
      })
      // The client keeps working inside its transaction while the server's query waits.
      await client.query('insert into t values (2)')
      expect((await client.query('select count(*)::int as n from t')).rows[0].n).toBe(2)
      expect(ownQueryDone).toBe(false)
      await client.query('rollback')
      // Had it run inside the client's transaction, it would have seen 1 or 2 rows.
      expect(await own).toBe(0)
    } finally {
      await client.end()
    }
  })

  it('sends a result larger than the socket takes at once intact', async () => {
    const client = await connect()
    try {
      const { rows } = await client.query(
        'select i, repeat(md5(i::text), 40) as body from generate_series(1, 20000) i',
      )
      expect(rows).toHaveLength(20000)
      expect(rows[19999]).toEqual({ i: 20000, body: (rows[19999] as { body: string }).body })
      const { createHash } = await import('node:crypto')
      for (const i of [1, 7777, 20000])
        expect((rows[i - 1] as { body: string }).body).toBe(
          createHash('md5').update(String(i)).digest('hex').repeat(40),
        )
    } finally {
      await client.end()
    }
  })

  it("keeps a client's settings to that client: the server's session is not changed by them", async () => {
    const client = await connect()
    try {
      await client.query("set timezone = 'America/New_York'")
      expect((await db.query<{ TimeZone: string }>('show timezone')).rows[0]!.TimeZone).toBe('UTC')
      expect((await client.query('show timezone')).rows[0].TimeZone).toBe('America/New_York')
    } finally {
      await client.end()
    }
  })

  it('rolls back and disconnects a client left idle inside a transaction, so the server goes on', async () => {
    const client = await connect()
    const disconnected = new Promise<Error>((resolve) => client.once('error', resolve))
    await client.query('begin')
    await client.query('insert into t values (3)')
    // The server's own query waits for the client, which does nothing more.
    expect((await db.query<{ n: number }>('select count(*)::int as n from t')).rows[0]!.n).toBe(0)
    expect((await disconnected).message).toMatch(/idle in a transaction/)
  })

  it('lets the socket be reached by its owner only', async () => {
    const { stat } = await import('node:fs/promises')
    expect((await stat(socketDir)).mode & 0o777).toBe(0o700)
    expect((await stat(server.path)).mode & 0o777).toBe(0o600)
  })
})
