import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type {
  GuardedFetcherOptions,
  Resolver,
} from '../../../../api/grader/engine/guarded-fetch.ts'

// A loopback stage for grader tests. One loopback address (127.0.0.3) plays "the public
// internet": the guarded fetcher is told it counts as public (allowAddresses, exactly what
// GRADER_ALLOW_ADDRESSES does). Canary servers listen on 127.0.0.1 and ::1 at the same port and
// stand for everything that must stay unreachable: each blocked case asserts they saw no
// connection at all. DNS answers come from a table the test controls.

export const PUBLIC_ADDRESS = '127.0.0.3'
export const USER_AGENT = 'FrontdoorGrader/1.0 (+https://frontdoor.test/grader)'

const tlsDir = fileURLToPath(new URL('../../../fixtures/grader/tls/', import.meta.url))
export const TEST_CA = readFileSync(`${tlsDir}ca.pem`, 'utf8')
const TEST_CERT = readFileSync(`${tlsDir}site.pem`, 'utf8')
const TEST_KEY = readFileSync(`${tlsDir}site.key`, 'utf8')

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void

export type RequestLog = {
  method: string
  host: string
  path: string
  userAgent: string
  headers: http.IncomingHttpHeaders
}

export type Stage = {
  /** Port of the public site's http server, and of the canaries. */
  port: number
  /** Port of the public site's https server (certificate for *.frontdoor-fixture.com). */
  tlsPort: number
  /** Requests the public site received (http and https). */
  requests: RequestLog[]
  /** Connections to everything that must stay unreachable. */
  canary: { connections: number; requests: number }
  /** Answers for each name; a list of lists is served one per lookup (DNS rebinding). */
  dns: Map<string, string[] | string[][]>
  lookups: string[]
  resolver: Resolver
  /** What the public site answers. */
  handle(handler: Handler): void
  url(host: string, path?: string): string
  tlsUrl(host: string, path?: string): string
  fetcherOptions(extra?: Partial<GuardedFetcherOptions>): GuardedFetcherOptions
  close(): Promise<void>
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

async function startCanaries(port: number, canary: Stage['canary']): Promise<http.Server[] | null> {
  const servers: http.Server[] = []
  for (const host of ['127.0.0.1', '::1']) {
    const server = http.createServer((_req, res) => {
      canary.requests++
      res.end('canary')
    })
    server.on('connection', () => canary.connections++)
    try {
      await listen(server, port, host)
      servers.push(server)
    } catch {
      await Promise.all(servers.map(close))
      return null
    }
  }
  return servers
}

export async function startStage(): Promise<Stage> {
  const requests: RequestLog[] = []
  let handler: Handler = (_req, res) => {
    res.writeHead(404)
    res.end()
  }
  const onRequest: Handler = (req, res) => {
    requests.push({
      method: req.method ?? '',
      host: (req.headers.host ?? '').replace(/:\d+$/, ''),
      path: req.url ?? '',
      userAgent: req.headers['user-agent'] ?? '',
      headers: req.headers,
    })
    handler(req, res)
  }
  const canary = { connections: 0, requests: 0 }
  // The canaries need the site's port on their own addresses; retry in the rare case it is taken.
  for (let attempt = 0; attempt < 10; attempt++) {
    const site = http.createServer(onRequest)
    const port = await listen(site, 0, PUBLIC_ADDRESS)
    const canaries = await startCanaries(port, canary)
    if (canaries === null) {
      await close(site)
      continue
    }
    const secure = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, onRequest)
    const tlsPort = await listen(secure, 0, PUBLIC_ADDRESS)
    const dns = new Map<string, string[] | string[][]>()
    const lookups: string[] = []
    const resolver: Resolver = async (hostname) => {
      lookups.push(hostname)
      const entry = dns.get(hostname)
      if (entry === undefined) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`)
        err.code = 'ENOTFOUND'
        throw err
      }
      let answers: string[]
      if (Array.isArray(entry[0])) {
        const sequence = entry as string[][]
        answers = (sequence.length > 1 ? sequence.shift() : sequence[0]) ?? []
      } else {
        answers = entry as string[]
      }
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
    }
    return {
      port,
      tlsPort,
      requests,
      canary,
      dns,
      lookups,
      resolver,
      handle(next) {
        handler = next
      },
      url: (host, path = '/') => `http://${host}:${port}${path}`,
      tlsUrl: (host, path = '/') => `https://${host}:${tlsPort}${path}`,
      fetcherOptions: (extra = {}) => ({
        userAgent: USER_AGENT,
        allowAddresses: [PUBLIC_ADDRESS],
        allowPorts: [port, tlsPort],
        resolve: resolver,
        tlsCa: TEST_CA,
        ...extra,
      }),
      async close() {
        await Promise.all([close(site), close(secure), ...canaries.map(close)])
      },
    }
  }
  throw new Error('could not find a free port for the canaries')
}
