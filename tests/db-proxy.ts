import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { openDatabase, type Database } from '../api/db/client.ts'
import { serveLocalSocket } from '../api/db/local-socket.ts'

// The database going away, for real: a loopback TCP proxy in front of the test database and a
// database opened through it. `down()` closes the proxy and cuts every connection through it
// (new ones are refused, as when the server stops); `up()` listens again on the same port.
// `cut()` keeps listening but resets every connection, counted (`accepted()`), until `restore()`. On
// PostgreSQL it forwards to the test server; on PGlite to the test instance served on a Unix
// socket (api/db/local-socket.ts), as the server serves its embedded database to other processes.

export interface DbProxy {
  /** The test database, opened through the proxy. */
  database: Database
  /** Its URL through the proxy (another process, such as a production server, may use it). */
  url: string
  /** Connections the proxy accepted so far. */
  accepted(): number
  down(): Promise<void>
  up(): Promise<void>
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function proxiedDatabase(direct: Database & { url?: string }): Promise<DbProxy> {
  let target: { host: string; port: number } | { path: string }
  let name: string
  let user = 'postgres'
  let stopTarget = async () => {}
  if (direct.engine === 'postgres') {
    const url = new URL(direct.url!)
    target = { host: url.hostname, port: Number(url.port || 5432) }
    name = url.pathname.slice(1)
    user = decodeURIComponent(url.username) || user
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'fd-proxy-'))
    const client = (direct.db as unknown as { $client: PGlite }).$client
    const socket = await serveLocalSocket(client, dir)
    target = { path: socket.path }
    name = 'postgres'
    stopTarget = async () => {
      await socket.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  const sockets = new Set<Socket>()
  let accepted = 0
  let cutting = false
  const cutAll = () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }
  let server: Server | null = null
  let port = 0
  const listen = async () => {
    const s = createServer((client) => {
      accepted++
      if (cutting) {
        client.destroy()
        return
      }
      const upstream = connect(target as never)
      sockets.add(client).add(upstream)
      client.pipe(upstream).pipe(client)
      const end = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      for (const socket of [client, upstream]) socket.on('error', end).on('close', end)
    })
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve))
    port = (s.address() as { port: number }).port
    server = s
  }
  const down = async () => {
    const s = server
    server = null
    if (!s) return
    const closed = new Promise<void>((resolve) => s.close(() => resolve()))
    cutAll()
    await closed
  }
  await listen()
  const password = direct.engine === 'postgres' ? new URL(direct.url!).password : ''
  const auth = password ? `${encodeURIComponent(user)}:${password}` : encodeURIComponent(user)
  const url = `postgres://${auth}@127.0.0.1:${port}/${name}`
  const database = await openDatabase({ databaseUrl: url, poolSize: 2 })
  return {
    database,
    url,
    accepted: () => accepted,
    down,
    up: async () => {
      if (!server) await listen()
    },
    cut: () => {
      cutting = true
      cutAll()
    },
    restore: () => {
      cutting = false
    },
    close: async () => {
      await down()
      await database.close()
      await stopTarget()
    },
  }
}
