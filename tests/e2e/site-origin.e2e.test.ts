import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from './harness.ts'

// One build, started under another public address than the one it was built with (as a release
// built once and run on staging and in production): what crawlers and link previews read names
// the running server's APP_ORIGIN.

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
