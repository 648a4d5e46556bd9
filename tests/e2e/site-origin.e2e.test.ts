import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './harness.ts'

// One build, started under another public address than the one it was built with (as a release
// built once and run on staging and in production): what crawlers and link previews read names
// the running server's APP_ORIGIN. And, on the same server, requests the page renderer cannot
// take, answered with a 4xx before it instead of a 500.

const ORIGIN = 'https://www.frontdoor-origin.example'
const PAPER = '/whitepapers/mid-market-pipeline-benchmark-2026'
const ON_ORIGIN = /^https:\/\/www\.frontdoor-origin\.example\//

/** A `<meta>` tag's content, by its property or name. */
const meta = (html: string, key: string) =>
  html.match(new RegExp(`<meta (?:property|name)="${key}" content="([^"]*)"`))?.[1]

describe('canonical addresses follow the running APP_ORIGIN (built server)', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer({ APP_ORIGIN: ORIGIN })
  })
  afterAll(async () => {
    await server?.stop()
  })

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`)
    expect(res.status).toBe(200)
    return res.text()
  }

  it('starts without a warning about APP_ORIGIN, which is set', () => {
    expect(server.output()).not.toContain('APP_ORIGIN is not set')
  })

  it('lists every sitemap address on it', async () => {
    const locs = [...(await get('/sitemap.xml')).matchAll(/<loc>([^<]*)<\/loc>/g)].map((m) => m[1])
    expect(locs).toContain(`${ORIGIN}/`)
    expect(locs).toContain(`${ORIGIN}${PAPER}`)
    expect(locs.filter((loc) => !ON_ORIGIN.test(loc!))).toEqual([])
  })

  it('points robots.txt at the sitemap on it', async () => {
    expect(await get('/robots.txt')).toContain(`\nSitemap: ${ORIGIN}/sitemap.xml\n`)
  })

  it("gives a whitepaper's canonical link, og:url and og:image on it", async () => {
    const html = await get(PAPER)
    expect(html.match(/<link rel="canonical" href="([^"]*)"/)?.[1]).toBe(`${ORIGIN}${PAPER}`)
    expect(meta(html, 'og:url')).toBe(`${ORIGIN}${PAPER}`)
    expect(meta(html, 'og:image')).toMatch(ON_ORIGIN)
    expect(meta(html, 'twitter:image')).toMatch(ON_ORIGIN)
  })
})

describe('requests the page renderer cannot take (built server)', () => {
  let server: TestServer

  beforeAll(async () => {
    // Without APP_ORIGIN (its default is this server's own address, as the harness's would be).
    server = await startServer({ APP_ORIGIN: '' })
  })
  afterAll(async () => {
    await server?.stop()
  })

  const errorLines = () =>
    server
      .output()
      .split('\n')
      .filter((l) => /"level":"error"|\[ERROR\]/.test(l))

  it('warns in production that APP_ORIGIN is not set, naming the address links use instead', () => {
    const warning = server
      .output()
      .split('\n')
      .find((l) => l.includes('APP_ORIGIN is not set'))
    expect(warning).toContain('"level":"warn"')
    expect(warning).toContain(`"origin":"${server.url}"`)
  })

  it('answers TRACE on a page with 405, and a path that is not UTF-8 with 400, logging no error', async () => {
    for (const path of ['/', '/login', '/app', '/robots.txt']) {
      const res = await fetch(`${server.url}${path}`, { method: 'TRACE' }).catch(() => null)
      // fetch() itself refuses TRACE: sent as a raw request instead.
      expect(res).toBeNull()
      expect(await rawStatus(server.url, `TRACE ${path}`)).toBe(405)
    }
    for (const path of ['/whitepapers/%FF', '/app/%E0%A4%A', '/%C0%AF']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.status, path).toBe(400)
    }
    // A percent-escape that is UTF-8 is still an ordinary page address: the branded 404, with
    // its own status text (Astro's is "OK" whatever the status).
    const missing = await fetch(`${server.url}/caf%C3%A9`)
    expect([missing.status, missing.statusText]).toEqual([404, 'Not Found'])
    expect(errorLines()).toEqual([])
  })

  it('sends a signed-out visitor with a huge deep link to sign in, back to the page alone', async () => {
    // Past 1,024 characters (MAX_LOGIN_NEXT), which sign-in would have followed (up to 2,048).
    for (const q of ['acme+'.repeat(450), 'a'.repeat(1_100)]) {
      const res = await fetch(`${server.url}/app/search?q=${q}`, { redirect: 'manual' })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/login?next=%2Fapp%2Fsearch')
    }
    const short = await fetch(`${server.url}/app/search?q=acme`, { redirect: 'manual' })
    expect(short.headers.get('location')).toBe('/login?next=%2Fapp%2Fsearch%3Fq%3Dacme')
  })
})

/** The status line's code for a request fetch() will not send (TRACE), over a raw socket. */
async function rawStatus(base: string, requestLine: string): Promise<number> {
  const { hostname, port } = new URL(base)
  const { connect } = await import('node:net')
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(`${requestLine} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`),
    )
    let head = ''
    socket.on('data', (d) => (head += d))
    socket.on('end', () => resolve(Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0)))
    socket.on('error', reject)
  })
}
