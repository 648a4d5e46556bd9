import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CURVES } from '../../../../api/grader/engine/checks/performance.ts'
import { getLogNormalScore } from '../../../../api/grader/engine/scoring.ts'
import { checkOf, collectFrom, fixtureHost, startFixtureStage } from './fixture-stage.ts'
import type { Stage } from './loopback.ts'

let stage: Stage
beforeAll(async () => {
  stage = await startFixtureStage({
    // A server that thinks for 1.7 s before answering.
    'perf/slow.html': (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<!doctype html><title>Slow</title><h1>Slow</h1>')
      }, 1_700)
    },
    // 60 MB of HTML, written as the client reads it (the grader stops at its 10 MiB cap).
    'perf/huge.html': (_req, res) => {
      const size = 60 * 1000 * 1000
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(size) })
      res.write('<!doctype html><title>Huge</title><h1>Huge</h1>')
      const chunk = Buffer.alloc(64 * 1024, 'filler text ')
      let left = size - 48
      const pump = () => {
        while (left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left)
          left -= part.length
          if (!res.write(part)) return void res.once('drain', pump)
        }
        res.end()
      }
      res.on('close', () => res.removeAllListeners('drain'))
      pump()
    },
  })
})
afterAll(() => stage.close())

const perf = (path: string) => stage.url(fixtureHost('perf'), `/${path}`)

describe('page-weight', () => {
  it('passes a light page and counts every measured byte', async () => {
    const site = await collectFrom(stage, perf('light.html'))
    const result = checkOf(site, 'page-weight')
    expect(result.score).toBe(1)
    const bytes =
      site.html.transferBytes + site.resources.reduce((s, r) => s + (r.transferBytes ?? 0), 0)
    expect(bytes).toBeGreaterThan(60_000)
  })
  it('fails a page longer than the download cap, and says its size is a lower bound', async () => {
    const site = await collectFrom(stage, perf('huge.html'))
    expect(site.html).toMatchObject({ truncated: true, decodedBytes: 10 * 1024 * 1024 })
    const result = checkOf(site, 'page-weight')
    expect(result.score).toBe(0)
    expect(result.evidence.summary).toBe(
      'At least 10 MiB transferred (HTML at least 10 MiB: we stopped reading there)',
    )
  })
  it('fails a page with 6 MB of images', async () => {
    const result = checkOf(await collectFrom(stage, perf('heavy.html')), 'page-weight')
    expect(result.score).toBeLessThan(0.5)
    expect(result.evidence.items).toHaveLength(4)
  })
})

describe('request-count', () => {
  it('passes a page with a handful of requests', async () => {
    expect(
      checkOf(await collectFrom(stage, perf('light.html')), 'request-count').score,
    ).toBeGreaterThan(0.99)
  })
  it('fails a page with 120 images, counting those beyond the request limit too', async () => {
    const site = await collectFrom(stage, perf('many-requests.html'))
    expect(site.resources).toHaveLength(100)
    expect(site.inventory).toMatchObject({ discovered: 120, overLimit: 20 })
    const result = checkOf(site, 'request-count')
    expect(result.evidence.summary).toBe('121 requests')
    expect(result.score).toBeLessThan(0.5)
  })
})

describe('response-time', () => {
  it('passes a quick server', async () => {
    expect(
      checkOf(await collectFrom(stage, perf('light.html')), 'response-time').score,
    ).toBeGreaterThan(0.9)
  })
  it('fails a server that takes 1.7 s to answer', async () => {
    const site = await collectFrom(stage, perf('slow.html'))
    expect(site.timing.serverResponseMs).toBeGreaterThanOrEqual(1_650)
    expect(checkOf(site, 'response-time').score).toBeLessThan(0.5)
  })
})

describe('redirects', () => {
  it('passes a page reached directly', async () => {
    expect(checkOf(await collectFrom(stage, perf('light.html')), 'redirects').score).toBe(1)
  })
  it('scores two hops 0.5 and lists them', async () => {
    const site = await collectFrom(stage, stage.url(fixtureHost('pages'), '/redirect-1'))
    expect(site.redirects.map((h) => h.status)).toEqual([301, 301])
    expect(site.finalUrl).toBe(stage.url(fixtureHost('pages'), '/seo-pass.html'))
    const result = checkOf(site, 'redirects')
    expect(result.score).toBe(0.5)
    expect(result.evidence.items).toHaveLength(2)
  })
})

describe('cache-headers', () => {
  it('passes assets cached for a year', async () => {
    expect(checkOf(await collectFrom(stage, perf('light.html')), 'cache-headers').score).toBe(1)
  })
  it('gives no-store nothing and a one-day cache half', async () => {
    const result = checkOf(await collectFrom(stage, perf('cache-bad.html')), 'cache-headers')
    expect(result.score).toBe(0.25)
    expect(result.evidence.items.map((i) => i.lifetimeSeconds).sort()).toEqual([0, 86400])
  })
})

describe('minified-code', () => {
  it('passes minified code', async () => {
    expect(checkOf(await collectFrom(stage, perf('light.html')), 'minified-code').score).toBe(1)
  })
  it('fails a long-hand script, estimating the saving like Lighthouse', async () => {
    const result = checkOf(await collectFrom(stage, perf('unminified.html')), 'minified-code')
    expect(result.score).toBeLessThan(0.9)
    expect(result.evidence.items[0]).toMatchObject({
      url: perf('assets/uncompressed-unminified.js'),
    })
    expect(Number(result.evidence.items[0]?.wastedPercent)).toBeGreaterThan(30)
  })
})

describe('text-compression', () => {
  it('passes text served with gzip', async () => {
    const site = await collectFrom(stage, perf('compressed.html'))
    expect(site.resources[0]?.contentEncoding).toBe('gzip')
    expect(checkOf(site, 'text-compression').score).toBe(1)
  })
  it('fails a 50 KB stylesheet served uncompressed', async () => {
    const site = await collectFrom(stage, perf('uncompressed.html'))
    expect(site.resources[0]?.contentEncoding).toBeNull()
    const result = checkOf(site, 'text-compression')
    expect(result.score).toBeLessThan(0.9)
    expect(result.evidence.items[0]?.url).toBe(perf('assets/uncompressed-big.css'))
  })
})

describe('image-optimization', () => {
  it('passes a 60 KB WebP', async () => {
    expect(checkOf(await collectFrom(stage, perf('light.html')), 'image-optimization').score).toBe(
      1,
    )
  })
  it('fails a 1.5 MB PNG', async () => {
    const result = checkOf(
      await collectFrom(stage, perf('images-heavy.html')),
      'image-optimization',
    )
    expect(result.score).toBeLessThan(0.5)
    expect(result.evidence.items[0]).toMatchObject({ contentType: 'image/png', bytes: 1_500_000 })
  })
  it('is not applicable without images', async () => {
    expect(
      checkOf(await collectFrom(stage, perf('cache-bad.html')), 'image-optimization').score,
    ).toBeNull()
  })
})

describe('the log-normal curves', () => {
  it.each(Object.entries(CURVES))('%s scores 0.9 at p10 and 0.5 at the median', (_name, curve) => {
    expect(getLogNormalScore(curve, curve.p10)).toBeCloseTo(0.9, 10)
    expect(getLogNormalScore(curve, curve.median)).toBeCloseTo(0.5, 10)
    expect(getLogNormalScore(curve, 0)).toBe(1)
    const tail = getLogNormalScore(curve, curve.median * 4)
    expect(tail).toBeLessThan(0.5)
    expect(tail).toBeLessThan(getLogNormalScore(curve, curve.median * 2))
  })
})
