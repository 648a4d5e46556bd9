import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// A webhook receiver on loopback for tests: records every request, answers as the test says
// (an answer may be a held promise, for a receiver slower than the timeout), and can go down
// and come back on the same port.

export interface Received {
  path: string
  headers: Record<string, string>
  body: string
}

/** `drip`: send the status, then a byte every 20 ms until the sender hangs up. */
type Reply = { status: number; body?: string; drip?: boolean }
export type Answer = Reply | Promise<Reply>

export interface Receiver {
  port: number
  url: (path?: string) => string
  received: Received[]
  answer: (req: Received) => Answer
  /** Dripping answers the sender hung up on. */
  hungUp: number
  down(): Promise<void>
  up(): Promise<void>
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  let server: Server | null = null
  const receiver: Receiver = {
    port: 0,
    url: (path = '/hooks') => `http://127.0.0.1:${receiver.port}${path}`,
    received: [],
    answer: () => ({ status: 204 }),
    hungUp: 0,
    async down() {
      const s = server
      server = null
      if (!s) return
      s.closeAllConnections()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    },
    async up() {
      server = createServer((req, res) => void handle(req, res))
      await new Promise<void>((resolve) => server!.listen(receiver.port, '127.0.0.1', resolve))
      receiver.port = (server.address() as AddressInfo).port
    },
    close: () => receiver.down(),
  }
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v
    const got = { path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') }
    receiver.received.push(got)
    try {
      const { status, body, drip } = await receiver.answer(got)
      if (drip) {
        res.writeHead(status, { 'content-type': 'text/plain' })
        const timer = setInterval(() => res.write('.'), 20)
        res.on('close', () => {
          clearInterval(timer)
          receiver.hungUp++
        })
        return
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body ?? '')
    } catch {
      res.destroy()
    }
  }
  await receiver.up()
  return receiver
}

/** A promise the test resolves when it chooses (a receiver that answers late). */
export function held<T>() {
  let release!: (value: T) => void
  const promise = new Promise<T>((resolve) => {
    release = resolve
  })
  return { promise, release }
}
