import { chmod, mkdir, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'

// The owner's embedded database on a Unix socket, in the PostgreSQL wire protocol, so that `pg`,
// psql and our command-line tools connect to the running server like to any PostgreSQL
// (`host=<socketDir>`). The socket sits in a 0700 directory and is itself 0600: no other local
// user and no other machine can reach it.
//
// PGlite is one backend with one session. @electric-sql/pglite-socket serialises per protocol
// message, so the server's own queries could run *inside* a socket client's open transaction
// (and be rolled back with it), or split a client's Parse/Bind/Execute/Sync. Here a client holds
// PGlite — the same transaction lock PGlite's own query() and transaction() take — from its first
// message until PGlite answers ReadyForQuery "idle", i.e. for one statement or one transaction.
// A client idle inside a transaction for longer than `idleInTransactionMs` stalls the whole
// server, so it is rolled back and disconnected (PostgreSQL's idle_in_transaction_session_timeout).
// Named prepared statements outlive a transaction, so each client's are renamed in the messages
// that carry a statement name (Parse, Bind, Describe, Close) under a prefix of its own: two
// clients preparing one name (two `npm run worker` at once) do not collide, and a client leaving
// deallocates its own statements only. (A statement made with SQL PREPARE is not renamed.)

export const SOCKET_FILE = '.s.PGSQL.5432'

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

export interface LocalSocketServer {
  path: string
  /** Stop accepting, disconnect clients (rolling back what they left open) and remove the socket. */
  close(): Promise<void>
}

export interface LocalSocketOptions {
  idleInTransactionMs?: number
  onError?: (err: unknown) => void
}

export async function serveLocalSocket(
  client: PGlite,
  socketDir: string,
  options: LocalSocketOptions = {},
): Promise<LocalSocketServer> {
  const idleMs = options.idleInTransactionMs ?? 10_000
  await mkdir(socketDir, { recursive: true, mode: 0o700 })
  await chmod(socketDir, 0o700)
  const path = join(socketDir, SOCKET_FILE)
  // Only a dead owner leaves a socket behind (the lock says we own the directory now).
  await rm(path, { force: true })
  const connections = new Set<Connection>()
  let connected = 0
  const server = createServer((socket) => {
    const prefix = `c${++connected}_`
    const connection = new Connection(client, socket, idleMs, prefix, options.onError)
    connections.add(connection)
    socket.once('close', () => connections.delete(connection))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  await chmod(path, 0o600)
  return {
    path,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      await Promise.all([...connections].map((c) => c.end()))
      await closed
      await rm(path, { force: true })
    },
  }
}

/** One client: its messages run one at a time, in order, under its hold on PGlite. */
class Connection {
  #buffer: Buffer = Buffer.alloc(0)
  #started = false
  #queue: Promise<void> = Promise.resolve()
  #release: (() => void) | null = null
  #idleTimer: NodeJS.Timeout | null = null
  /** The last bytes PGlite sent, to see a ReadyForQuery ('Z', length 5, status) at the end. */
  #tail: Buffer = Buffer.alloc(0)
  #ended = false
  #running = false
  /** What this client SET, kept while it does not hold PGlite (see #putAsideSettings). */
  #settings: [string, string][] = []

  readonly client: PGlite
  readonly socket: Socket
  readonly idleMs: number
  /** Put before each of this client's statement names (see the top of this file). */
  readonly statementPrefix: string
  readonly onError: ((err: unknown) => void) | undefined

  constructor(
    client: PGlite,
    socket: Socket,
    idleMs: number,
    statementPrefix: string,
    onError?: (err: unknown) => void,
  ) {
    this.client = client
    this.socket = socket
    this.idleMs = idleMs
    this.statementPrefix = statementPrefix
    this.onError = onError
    socket.on('data', (chunk) => this.#receive(chunk))
    socket.on('error', () => {})
    socket.once('close', () => void this.end())
  }

  /** Disconnects and gives PGlite back as it was: the transaction rolled back, the session reset. */
  end(): Promise<void> {
    if (!this.#ended) {
      this.#ended = true
      this.#clearIdle()
      this.socket.destroy()
      this.#enqueue(() => this.#cleanUp())
    }
    return this.#queue
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk
    for (;;) {
      // Before start-up a message is length + code; after it, type byte + length.
      const header = this.#started ? 5 : 4
      if (this.#buffer.length < header) return
      const length = this.#started ? 1 + this.#buffer.readInt32BE(1) : this.#buffer.readInt32BE(0)
      if (length < header - (this.#started ? 1 : 0) || length > 1 << 30) {
        void this.end()
        return
      }
      if (this.#buffer.length < length) return
      const message = this.#buffer.subarray(0, length)
      this.#buffer = this.#buffer.subarray(length)
      if (!this.#started) {
        const code = message.readInt32BE(4)
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N')
          continue
        }
        if (code === CANCEL_REQUEST) {
          void this.end()
          return
        }
        this.#started = true
      } else if (message[0] === 0x58 /* X: Terminate */) {
        void this.end()
        return
      }
      const own = renameStatement(message, this.statementPrefix)
      this.#enqueue(() => this.#run(new Uint8Array(own)))
    }
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((err) => {
      this.onError?.(err)
      void this.end()
    })
  }

  async #run(message: Uint8Array): Promise<void> {
    if (this.#ended) return
    this.#clearIdle()
    this.#running = true
    try {
      await this.#execute(message)
    } finally {
      this.#running = false
    }
  }

  async #execute(message: Uint8Array): Promise<void> {
    if (!this.#release) {
      this.#release = await hold(this.client)
      await this.#restoreSettings()
    }
    this.#tail = Buffer.alloc(0)
    await this.client._runExclusiveQuery(() =>
      this.client.execProtocolRawStream(message, {
        onRawData: (data) => {
          // A copy: `data` is a view into PGlite's WASM memory, reused for the next chunk, and
          // a socket keeps what it cannot send at once by reference.
          if (!this.#ended) this.socket.write(Buffer.from(data))
          this.#tail =
            data.length >= 6
              ? Buffer.from(data.subarray(-6))
              : Buffer.concat([this.#tail, data]).subarray(-6)
        },
      }),
    )
    const t = this.#tail
    const idle = t.length === 6 && t[0] === 0x5a && t.readInt32BE(1) === 5 && t[5] === 0x49
    if (idle) {
      await this.#putAsideSettings()
      this.#release()
      this.#release = null
    } else if (!this.#ended) {
      // Idle from when the client has had everything (a large result takes a while to drain).
      if (!this.socket.writableNeedDrain) this.#armIdle()
      else
        this.socket.once('drain', () => {
          if (!this.#running) this.#armIdle()
        })
    }
  }

  /**
   * The session is shared with the server: what this client SET (a time zone in the shell, say)
   * is kept aside while it does not hold PGlite, and the server's session reset to its defaults.
   */
  async #putAsideSettings(): Promise<void> {
    const result = await this.client._runExclusiveQuery(() =>
      this.client.execProtocol(
        query(`select name, setting from pg_settings where source = 'session'`),
        { throwOnError: false },
      ),
    )
    this.#settings = result.messages
      .filter((m): m is typeof m & { fields: (string | null)[] } => m.name === 'dataRow')
      .map((m) => [m.fields[0] ?? '', m.fields[1] ?? ''] as [string, string])
    if (this.#settings.length)
      await this.client._runExclusiveQuery(() => this.client.execProtocolRaw(query('RESET ALL')))
  }

  async #restoreSettings(): Promise<void> {
    if (!this.#settings.length) return
    const sets = this.#settings.map(
      ([name, value]) => `set_config(${literal(name)}, ${literal(value)}, false)`,
    )
    await this.client._runExclusiveQuery(() =>
      this.client.execProtocolRaw(query(`select ${sets.join(', ')}`)),
    )
  }

  async #cleanUp(): Promise<void> {
    const release = this.#release ?? (this.#started ? await hold(this.client) : null)
    this.#release = null
    if (!release) return
    try {
      await this.client._runExclusiveQuery(async () => {
        // Sync ends an unfinished extended-protocol batch (and any "ignore until Sync" state).
        await this.client.execProtocolRaw(new Uint8Array([0x53, 0, 0, 0, 4]))
        if (this.client.isInTransaction()) await this.client.execProtocolRaw(query('ROLLBACK'))
        // The session is shared with the server and other clients: this client's settings and
        // prepared statements go, nobody else's.
        await this.client.execProtocolRaw(query('RESET ALL'))
        const names = await this.client.execProtocol(
          query(
            `select name from pg_prepared_statements where starts_with(name, ${literal(this.statementPrefix)})`,
          ),
          { throwOnError: false },
        )
        const deallocate = names.messages
          .filter((m): m is typeof m & { fields: (string | null)[] } => m.name === 'dataRow')
          .map((m) => `DEALLOCATE ${identifier(m.fields[0] ?? '')};`)
        if (deallocate.length) await this.client.execProtocolRaw(query(deallocate.join(' ')))
      })
    } finally {
      release()
    }
  }

  #armIdle(): void {
    if (this.#ended || !this.#release) return
    this.#clearIdle()
    this.#idleTimer = setTimeout(() => {
      this.socket.write(
        errorResponse(
          'FATAL',
          '25P03',
          `terminating connection: idle in a transaction for more than ${this.idleMs / 1000} s while the server waits for the database`,
        ),
      )
      void this.end()
    }, this.idleMs)
    this.#idleTimer.unref()
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = null
  }
}

/** Resolves once this caller holds PGlite's transaction lock; call the returned function to let go. */
function hold(client: PGlite): Promise<() => void> {
  return new Promise((acquired) => {
    void client._runExclusiveTransaction(() => new Promise<void>((release) => acquired(release)))
  })
}

function query(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`)
  const message = Buffer.alloc(5 + body.length)
  message[0] = 0x51
  message.writeInt32BE(4 + body.length, 1)
  body.copy(message, 5)
  return new Uint8Array(message)
}

/**
 * The message with its statement name under `prefix`, for the messages that name a prepared
 * statement: Parse (name first), Bind (after the portal's name), Describe and Close of a
 * statement ('S', then the name). The unnamed statement, and every other message, unchanged.
 */
export function renameStatement(message: Buffer, prefix: string): Buffer {
  const type = message[0]
  let at: number
  if (type === 0x50 /* P */) at = 5
  else if (type === 0x42 /* B */) at = message.indexOf(0, 5) + 1
  // Describe or Close (D, C) of a statement (S).
  else if ((type === 0x44 || type === 0x43) && message[5] === 0x53) at = 6
  else return message
  if (at <= 0 || at >= message.length || message[at] === 0) return message
  const added = Buffer.from(prefix)
  const renamed = Buffer.concat([message.subarray(0, at), added, message.subarray(at)])
  renamed.writeInt32BE(renamed.length - 1, 1)
  return renamed
}

function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

function errorResponse(severity: string, code: string, text: string): Buffer {
  const fields = Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${text}\0\0`)
  const message = Buffer.alloc(5 + fields.length)
  message[0] = 0x45
  message.writeInt32BE(4 + fields.length, 1)
  fields.copy(message, 5)
  return message
}
