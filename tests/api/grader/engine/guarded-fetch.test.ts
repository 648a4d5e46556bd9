import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createGuardedFetcher,
  type FetchOutcome,
  type GuardedFetcher,
  type GuardedFetcherOptions,
} from '../../../../api/grader/engine/guarded-fetch.ts'
import { PUBLIC_ADDRESS, startStage, USER_AGENT, type Stage } from './loopback.ts'

let stage: Stage
let fetcher: GuardedFetcher

beforeAll(async () => {
  stage = await startStage()
})
afterAll(() => stage.close())

beforeEach(() => {
  stage.canary.connections = 0
  stage.canary.requests = 0
  stage.requests.length = 0
  stage.lookups.length = 0
  stage.dns.clear()
  stage.dns.set('site.frontdoor-fixture.com', [PUBLIC_ADDRESS])
  stage.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<h1>public site</h1>')
  })
  fetcher = createGuardedFetcher(stage.fetcherOptions())
})
afterEach(() => fetcher.close())

const site = (path = '/') => stage.url('site.frontdoor-fixture.com', path)
const get = (url: string, extra: Partial<Parameters<GuardedFetcher['fetch']>[1]> = {}) =>
  fetcher.fetch(url, { maxBytes: 1024 * 1024, ...extra })

function expectBlocked(outcome: FetchOutcome) {
  expect(outcome.ok).toBe(false)
  if (outcome.ok) return
  expect(outcome.error.code).toBe('unreachable')
  expect(outcome.error.kind).toBe('blocked')
  // Nothing that must stay unreachable saw so much as a TCP connection.
  expect(stage.canary.connections).toBe(0)
  expect(stage.canary.requests).toBe(0)
}

function withReq(fn: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  stage.handle(fn)
}

describe('the guarded fetcher on an allowed site', () => {
  it('fetches the page with its identifying User-Agent and only its own headers', async () => {
    const outcome = await get(site('/'))
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect(outcome.response.body.toString()).toBe('<h1>public site</h1>')
    expect(stage.requests[0]?.userAgent).toBe(USER_AGENT)
    expect(Object.keys(stage.requests[0]?.headers ?? {}).sort()).toEqual(
      ['accept', 'accept-encoding', 'connection', 'host', 'user-agent'].sort(),
    )
  })

  it('keeps no cookies between requests and does not return Set-Cookie', async () => {
    withReq((req, res) => {
      res.writeHead(200, { 'set-cookie': 'session=abc; Path=/', 'content-type': 'text/html' })
      res.end(req.headers.cookie ?? 'no cookie')
    })
    await get(site('/'))
    const second = await get(site('/again'))
    expect(second.ok && second.response.body.toString()).toBe('no cookie')
    expect(second.ok && second.response.headers['set-cookie']).toBeUndefined()
  })

  it('ignores proxy settings in the environment', async () => {
    const saved = { ...process.env }
    const proxy = `http://127.0.0.1:${stage.port}`
    Object.assign(process.env, {
      HTTP_PROXY: proxy,
      HTTPS_PROXY: proxy,
      http_proxy: proxy,
      https_proxy: proxy,
    })
    try {
      const proxied = createGuardedFetcher(stage.fetcherOptions())
      const outcome = await proxied.fetch(site('/'), { maxBytes: 1024 })
      await proxied.close()
      expect(outcome.ok).toBe(true)
      expect(stage.requests).toHaveLength(1)
      expect(stage.canary.connections).toBe(0)
    } finally {
      for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) {
        if (saved[key] === undefined) delete process.env[key]
        else process.env[key] = saved[key]
      }
    }
  })

  it.each(['gzip', 'br', 'deflate'])('decodes a %s body', async (encoding) => {
    const html = '<p>compressed</p>'.repeat(100)
    const encoded =
      encoding === 'gzip'
        ? zlib.gzipSync(html)
        : encoding === 'br'
          ? zlib.brotliCompressSync(html)
          : zlib.deflateSync(html)
    withReq((_req, res) => {
      res.writeHead(200, { 'content-encoding': encoding, 'content-type': 'text/html' })
      res.end(encoded)
    })
    const outcome = await get(site('/'))
    expect(outcome.ok && outcome.response.body.toString()).toBe(html)
    expect(outcome.ok && outcome.response.transferBytes).toBe(encoded.length)
    expect(outcome.ok && outcome.response.decodedBytes).toBe(html.length)
  })

  it('undoes five codings but leaves a body of more undecoded, as an unknown coding', async () => {
    // Each coding listed is a decompressor: a header listing thousands (it fits in the header
    // cap) took the thread seconds of CPU. Five is undici fetch's own limit.
    const html = '<p>layered</p>'
    const layered = (n: number) => {
      let body = Buffer.from(html)
      for (let i = 0; i < n; i++) body = zlib.gzipSync(body)
      return body
    }
    withReq((req, res) => {
      const n = Number(req.url?.slice(1))
      res.writeHead(200, {
        'content-encoding': Array(n).fill('gzip').join(', '),
        'content-type': 'text/html',
      })
      res.end(layered(n))
    })
    const five = await get(site('/5'))
    expect(five.ok && five.response.body.toString()).toBe(html)
    const six = await get(site('/6'))
    expect(six.ok && six.response.body.length).toBe(0)
    expect(six.ok && six.response.decodedBytes).toBe(layered(6).length)
  })
})

describe('IP literals', () => {
  it.each([
    ['decimal', (p: number) => `http://2130706433:${p}/`],
    ['octal', (p: number) => `http://0177.0.0.1:${p}/`],
    ['hex', (p: number) => `http://0x7f.0x0.0x0.0x1:${p}/`],
    ['hex, one number', (p: number) => `http://0x7f000001:${p}/`],
    ['short (two parts)', (p: number) => `http://127.1:${p}/`],
    ['short (hex and decimal)', (p: number) => `http://0x7f.1:${p}/`],
    ['dotted', (p: number) => `http://127.0.0.1:${p}/`],
    ['IPv6 in brackets', (p: number) => `http://[::1]:${p}/`],
    ['IPv6, long form', (p: number) => `http://[0:0:0:0:0:0:0:1]:${p}/`],
    ['IPv4-mapped', (p: number) => `http://[::ffff:127.0.0.1]:${p}/`],
    ['IPv4-mapped, hex', (p: number) => `http://[::ffff:7f00:1]:${p}/`],
    ['IPv4-compatible', (p: number) => `http://[::127.0.0.1]:${p}/`],
    ['NAT64', (p: number) => `http://[64:ff9b::7f00:1]:${p}/`],
    ['6to4', (p: number) => `http://[2002:7f00:1::1]:${p}/`],
    ['unspecified', (p: number) => `http://0.0.0.0:${p}/`],
  ])('refuses loopback written in %s form, with no connection made', async (_form, url) => {
    expectBlocked(await get(url(stage.port)))
  })

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://10.0.0.1/',
    'http://100.100.100.200/',
    'http://[fe80::1]/',
  ])('refuses %s', async (url) => {
    expectBlocked(await get(url))
  })
})

describe('host names', () => {
  it.each(['localhost', 'printer.local', 'metadata.internal', 'intranet', 'router.home.arpa'])(
    'refuses %s without even resolving it',
    async (host) => {
      stage.dns.set(host, ['127.0.0.1'])
      expectBlocked(await get(stage.url(host)))
      expect(stage.lookups).toEqual([])
    },
  )

  it.each([
    ['127.0.0.1', ['127.0.0.1']],
    ['::1', ['::1']],
    ['IPv4-mapped loopback', ['::ffff:127.0.0.1']],
  ])('refuses a public-looking name that resolves to %s', async (_label, answers) => {
    stage.dns.set('inward.frontdoor-fixture.com', answers)
    expectBlocked(await get(stage.url('inward.frontdoor-fixture.com')))
    expect(stage.lookups).toContain('inward.frontdoor-fixture.com')
  })

  it('refuses a name whose answers mix a public and a private address', async () => {
    stage.dns.set('mixed.frontdoor-fixture.com', [PUBLIC_ADDRESS, '127.0.0.1'])
    expectBlocked(await get(stage.url('mixed.frontdoor-fixture.com')))
    expect(stage.requests).toHaveLength(0)
  })

  it('checks the address again on every connection (DNS rebinding)', async () => {
    stage.dns.set('rebind.frontdoor-fixture.com', [[PUBLIC_ADDRESS], ['127.0.0.1']])
    withReq((_req, res) => {
      res.writeHead(200, { connection: 'close', 'content-type': 'text/html' })
      res.end('first answer')
    })
    const first = await get(stage.url('rebind.frontdoor-fixture.com'))
    expect(first.ok && first.response.body.toString()).toBe('first answer')
    const second = await get(stage.url('rebind.frontdoor-fixture.com', '/again'))
    expectBlocked(second)
    expect(stage.lookups.filter((h) => h === 'rebind.frontdoor-fixture.com')).toHaveLength(2)
  })

  it('reports a name that does not resolve as unreachable', async () => {
    const outcome = await get(stage.url('nowhere.frontdoor-fixture.com'))
    expect(outcome.ok === false && outcome.error).toMatchObject({
      code: 'unreachable',
      kind: 'dns',
    })
  })
})

describe('redirects', () => {
  function redirectTo(location: (path: string) => string, status = 302) {
    withReq((req, res) => {
      if (req.url?.startsWith('/final')) {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('final page')
        return
      }
      res.writeHead(status, { location: location(req.url ?? '/') })
      res.end()
    })
  }

  it('follows a redirect on the public site and records each hop', async () => {
    redirectTo(() => '/final')
    const outcome = await get(site('/start'))
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    expect(outcome.response.url).toBe(site('/final'))
    expect(outcome.response.redirects).toEqual([
      expect.objectContaining({ url: site('/start'), status: 302, location: '/final' }),
    ])
  })

  it.each([
    ['a loopback literal', () => `http://127.0.0.1:${stage.port}/`],
    ['a decimal loopback literal', () => `http://2130706433:${stage.port}/`],
    ['IPv6 loopback', () => `http://[::1]:${stage.port}/`],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a name resolving to loopback', () => `http://inward.frontdoor-fixture.com:${stage.port}/`],
    ['localhost', () => `http://localhost:${stage.port}/`],
    ['a protocol-relative loopback', () => `//127.0.0.1:${stage.port}/`],
    ['a protocol-relative inward name', () => `//inward.frontdoor-fixture.com:${stage.port}/`],
  ])('refuses a redirect to %s', async (_label, location) => {
    stage.dns.set('inward.frontdoor-fixture.com', ['127.0.0.1'])
    redirectTo(location)
    const outcome = await get(site('/start'))
    expectBlocked(outcome)
    expect(outcome.ok === false && outcome.error.redirects).toHaveLength(1)
  })

  it.each([
    'file:///etc/passwd',
    'gopher://site.frontdoor-fixture.com/',
    'ftp://site.frontdoor-fixture.com/',
    'javascript:alert(1)',
    'data:text/html,hi',
  ])('refuses a redirect to the non-HTTP URL %s', async (location) => {
    redirectTo(() => location)
    const outcome = await get(site('/start'))
    expectBlocked(outcome)
    expect(outcome.ok === false && outcome.error.cause).toMatch(/scheme/)
  })

  it('follows a protocol-relative redirect to a public host', async () => {
    stage.dns.set('other.frontdoor-fixture.com', [PUBLIC_ADDRESS])
    redirectTo(() => `//other.frontdoor-fixture.com:${stage.port}/final`)
    const outcome = await get(site('/start'))
    expect(outcome.ok && outcome.response.url).toBe(
      stage.url('other.frontdoor-fixture.com', '/final'),
    )
  })

  it('detects a redirect loop', async () => {
    redirectTo((path) => (path === '/a' ? '/b' : '/a'))
    const outcome = await get(site('/a'))
    expect(outcome.ok === false && outcome.error).toMatchObject({
      code: 'too_many_redirects',
      kind: 'redirect',
    })
    expect(stage.requests.map((r) => r.path)).toEqual(['/a', '/b'])
  })

  it('follows five redirects but not six', async () => {
    redirectTo((path) => {
      const n = Number(path.slice(1))
      return n >= 5 ? '/final' : `/${n + 1}`
    }, 301)
    const five = await get(site('/1'))
    expect(five.ok && five.response.redirects).toHaveLength(5)
    const six = await get(site('/0'))
    expect(six.ok === false && six.error.code).toBe('too_many_redirects')
    expect(stage.requests.filter((r) => r.path.startsWith('/final'))).toHaveLength(1)
  })

  it('does not follow meta refresh', async () => {
    withReq((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<meta http-equiv="refresh" content="0; url=http://127.0.0.1:${stage.port}/">`)
    })
    const outcome = await get(site('/'))
    expect(outcome.ok).toBe(true)
    expect(stage.canary.connections).toBe(0)
  })
})

describe('caps', () => {
  it('cuts an oversized body at the decoded cap', async () => {
    withReq((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(Buffer.alloc(3 * 1024 * 1024, 'a'))
    })
    const outcome = await get(site('/'), { maxBytes: 1024 * 1024 })
    expect(outcome.ok && outcome.response.truncated).toBe(true)
    expect(outcome.ok && outcome.response.body.length).toBe(1024 * 1024)
  })

  it('stops reading an endless body', async () => {
    withReq((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      const chunk = Buffer.alloc(64 * 1024, 'x')
      const pump = () => {
        while (res.write(chunk)) {
          /* fill the socket buffer */
        }
        res.once('drain', pump)
      }
      res.on('close', () => res.removeAllListeners('drain'))
      pump()
    })
    // The body never ends: an answer at all (not a timeout) means reading stopped at the cap.
    const outcome = await get(site('/'), { maxBytes: 512 * 1024 })
    expect(outcome.ok && outcome.response.truncated).toBe(true)
    expect(outcome.ok && outcome.response.decodedBytes).toBe(512 * 1024)
  })

  // 200 MiB of zeros: gzip as 25 concatenated members (valid gzip, quick to build), brotli at a
  // low quality (fast, still a few hundred bytes).
  const bombs: Record<string, () => Buffer> = {
    gzip: () =>
      Buffer.concat(Array(25).fill(zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024), { level: 9 }))),
    br: () =>
      zlib.brotliCompressSync(Buffer.alloc(200 * 1024 * 1024), {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
      }),
  }

  it.each(['gzip', 'br'])(
    'stops a %s bomb at the decoded cap, not the wire size',
    async (encoding) => {
      const bomb = (bombs[encoding] as () => Buffer)()
      expect(bomb.length).toBeLessThan(1024 * 1024)
      withReq((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': encoding })
        res.end(bomb)
      })
      // This thread's buffers, not the process's RSS: unit files run in threads of one process,
      // and another file's allocations there made the RSS figure jump by 140 MB.
      const before = process.memoryUsage().arrayBuffers
      const outcome = await get(site('/'), { maxBytes: 2 * 1024 * 1024 })
      expect(outcome.ok && outcome.response.truncated).toBe(true)
      expect(outcome.ok && outcome.response.decodedBytes).toBe(2 * 1024 * 1024)
      expect(outcome.ok && outcome.response.body.length).toBe(2 * 1024 * 1024)
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(100 * 1024 * 1024)
    },
  )

  it('gives up on a slow drip at the request timeout', async () => {
    const slow = createGuardedFetcher(
      stage.fetcherOptions({ requestTimeoutMs: 400, bodyIdleTimeoutMs: 5_000 }),
    )
    withReq((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      const timer = setInterval(() => res.write('.'), 20)
      res.on('close', () => clearInterval(timer))
    })
    // The drip never stops and never idles: only the request timeout can end this fetch.
    const outcome = await slow.fetch(site('/'), { maxBytes: 1024 * 1024 })
    await slow.close()
    // Said to have answered (its status is known), so the grader can say "too slow".
    expect(outcome.ok === false && outcome.error).toMatchObject({
      code: 'unreachable',
      kind: 'timeout',
      responseStatus: 200,
    })
    expect(outcome.ok === false && outcome.error.elapsedMs).toBeGreaterThanOrEqual(400)
  })

  it('gives up on a request still waiting for a connection at its time limit, and never sends it', async () => {
    // Six held requests take every connection the fetcher opens to a site; a seventh with a
    // short time limit waits behind them.
    const answers: (() => void)[] = []
    const allBusy = Promise.withResolvers<void>()
    withReq((req, res) => {
      if (!req.url?.startsWith('/held/')) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('not held')
        return
      }
      answers.push(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('held'))
      if (answers.length === 6) allBusy.resolve()
    })
    const held = Array.from({ length: 6 }, (_, i) => get(site(`/held/${i}`)))
    await allBusy.promise
    const queued = await get(site('/late'), { timeoutMs: 200 })
    expect(queued.ok === false && queued.error.kind).toBe('timeout')
    for (const answer of answers) answer()
    expect((await Promise.all(held)).every((o) => o.ok)).toBe(true)
    // Requests to a site go out in order: one sent now comes after anything still queued.
    const after = await get(site('/after'))
    expect(after.ok).toBe(true)
    expect(stage.requests.map((r) => r.path)).not.toContain('/late')
    expect(stage.requests.at(-1)?.path).toBe('/after')
  })

  it("stops a request when the grading's own signal aborts, before or during it", async () => {
    const grading = new AbortController()
    const bounded = createGuardedFetcher(stage.fetcherOptions({ signal: grading.signal }))
    const inRequest = Promise.withResolvers<void>()
    withReq(() => inRequest.resolve()) // never answers
    const pending = bounded.fetch(site('/'), { maxBytes: 1024 })
    await inRequest.promise
    grading.abort(new Error('grading over'))
    const during = await pending
    const before = await bounded.fetch(site('/'), { maxBytes: 1024 })
    await bounded.close()
    for (const outcome of [during, before])
      expect(outcome.ok === false && outcome.error).toMatchObject({
        code: 'unreachable',
        kind: 'aborted',
      })
    expect(stage.requests.length).toBe(1)
  })

  it('gives up on a server that never sends headers', async () => {
    const slow = createGuardedFetcher(stage.fetcherOptions({ headersTimeoutMs: 300 }))
    withReq(() => {
      /* never answer */
    })
    const outcome = await slow.fetch(site('/'), { maxBytes: 1024 })
    await slow.close()
    expect(outcome.ok === false && outcome.error).toMatchObject({
      code: 'unreachable',
      kind: 'timeout',
      responseStatus: null,
    })
  })

  it('refuses a response with huge headers', async () => {
    withReq((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'x-padding': 'p'.repeat(64 * 1024) })
      res.end('ok')
    })
    const outcome = await get(site('/'))
    expect(outcome.ok === false && outcome.error.code).toBe('unreachable')
  })

  it('does not read the body of an unwanted content type', async () => {
    withReq((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' })
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 5)
      res.on('close', () => clearInterval(timer))
    })
    const outcome = await get(site('/'), {
      wantContentType: (type) => type === null || type === 'text/html',
    })
    expect(outcome.ok && outcome.response.skipped).toBe(true)
    expect(outcome.ok && outcome.response.body.length).toBe(0)
  })
})

describe('what the visitor learns', () => {
  async function closedPort(): Promise<number> {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, PUBLIC_ADDRESS, resolve))
    const port = (server.address() as AddressInfo).port
    await new Promise((resolve) => server.close(resolve))
    return port
  }

  it('is the same for a blocked target, a refused connection and a timeout', async () => {
    const refusedPort = await closedPort()
    const options: GuardedFetcherOptions = stage.fetcherOptions({
      allowPorts: [stage.port, refusedPort],
      headersTimeoutMs: 200,
    })
    const probe = createGuardedFetcher(options)
    withReq(() => {
      /* never answer: the timeout case */
    })
    const blocked = await probe.fetch(`http://127.0.0.1:${stage.port}/`, { maxBytes: 1024 })
    const refused = await probe.fetch(`http://site.frontdoor-fixture.com:${refusedPort}/`, {
      maxBytes: 1024,
    })
    const timedOut = await probe.fetch(site('/'), { maxBytes: 1024 })
    await probe.close()
    const visible = (o: FetchOutcome) => (o.ok ? null : o.error.code)
    expect([visible(blocked), visible(refused), visible(timedOut)]).toEqual([
      'unreachable',
      'unreachable',
      'unreachable',
    ])
    // The detail exists, for the server log.
    const kinds = [blocked, refused, timedOut].map((o) => (o.ok ? null : o.error.kind))
    expect(kinds).toEqual(['blocked', 'connect', 'timeout'])
  })
})
