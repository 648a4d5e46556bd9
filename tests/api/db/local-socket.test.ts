import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { renameStatement, serveLocalSocket } from '../../../api/db/local-socket.ts'

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

  it("keeps a client's named statements to that client: two clients may use one name, and one leaving drops only its own", async () => {
    // Two `npm run worker` at once, each preparing the outbox's statement under the same name.
    const first = await connect()
    const second = await connect()
    try {
      const one = { name: 'record_sent', text: 'select $1::int + 1 as n', values: [1] }
      const ten = { name: 'record_sent', text: 'select $1::int + 10 as n', values: [1] }
      expect((await first.query(one)).rows[0].n).toBe(2)
      expect((await second.query(ten)).rows[0].n).toBe(11)
      expect((await first.query(one)).rows[0].n).toBe(2)
      await first.end()
      // The second client's statement survived the first one's disconnection.
      expect((await second.query(ten)).rows[0].n).toBe(11)
    } finally {
      await second.end()
    }
    // Every statement went with its client: the server's session has none left.
    const left = await db.query<{ n: number }>(
      'select count(*)::int as n from pg_prepared_statements',
    )
    expect(left.rows[0]!.n).toBe(0)
  })

  it('renames the statement in Parse, Bind, Describe and Close, and leaves the unnamed one and portals alone', () => {
    const message = (type: string, body: string) => {
      const bytes = Buffer.from(body, 'latin1')
      const out = Buffer.alloc(5 + bytes.length)
      out.write(type, 0, 'latin1')
      out.writeInt32BE(4 + bytes.length, 1)
      bytes.copy(out, 5)
      return out
    }
    const renamed = (m: Buffer) => {
      const out = renameStatement(m, 'c7_')
      expect(out.readInt32BE(1)).toBe(out.length - 1)
      return out.subarray(5).toString('latin1')
    }
    expect(renamed(message('P', 'st\0select 1\0\0\0'))).toBe('c7_st\0select 1\0\0\0')
    expect(renamed(message('B', 'portal\0st\0\0\0'))).toBe('portal\0c7_st\0\0\0')
    expect(renamed(message('D', 'Sst\0'))).toBe('Sc7_st\0')
    expect(renamed(message('C', 'Sst\0'))).toBe('Sc7_st\0')
    // A portal's name, the unnamed statement and other messages are not touched.
    expect(renamed(message('D', 'Pportal\0'))).toBe('Pportal\0')
    expect(renamed(message('P', '\0select 1\0\0\0'))).toBe('\0select 1\0\0\0')
    expect(renamed(message('B', '\0\0\0\0'))).toBe('\0\0\0\0')
    expect(renamed(message('E', '\0\0\0\0\0'))).toBe('\0\0\0\0\0')
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
