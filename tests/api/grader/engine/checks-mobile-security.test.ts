import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ZOOM_DISABLED_PENALTY } from '../../../../api/grader/engine/checks/mobile.ts'
import {
  detectFromContent,
  detectFromUrl,
  isAtOrAbove,
  vulnerabilitiesOf,
} from '../../../../api/grader/engine/js-libraries.ts'
import { checkOf, collectFrom, fixtureHost, startFixtureStage } from './fixture-stage.ts'
import { PUBLIC_ADDRESS, type Stage } from './loopback.ts'

let stage: Stage
beforeAll(async () => {
  stage = await startFixtureStage({
    // An https site that also answers plain http without redirecting, with a short HSTS, an
    // image over http, and jQuery from a CDN we never reach (the name does not resolve).
    'lax/index.html': (_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html',
        'strict-transport-security': 'max-age=86400',
      })
      res.end(`<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width">
        <title>Lax</title><script src="https://code.jquery.com/jquery-1.11.0.min.js"></script></head>
        <body><h1>Lax</h1><img src="http://lax.frontdoor-fixture.com:${stage.port}/logo.png" alt="Logo"></body></html>`)
    },
    'lax/': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>plain http</title>')
    },
  })
  stage.dns.set(fixtureHost('lax'), [PUBLIC_ADDRESS])
})
afterAll(() => stage.close())

const page = (path: string) => stage.url(fixtureHost('pages'), `/${path}`)
const good = () => stage.tlsUrl(fixtureHost('good'))

describe('viewport', () => {
  it('passes width=device-width', async () => {
    expect(checkOf(await collectFrom(stage, page('seo-pass.html')), 'viewport').score).toBe(1)
  })
  it('reads whitespace between properties as browsers do (Chrome and Lighthouse pass it)', async () => {
    const site = await collectFrom(stage, page('viewport-space-separated.html'))
    expect(checkOf(site, 'viewport').score).toBe(1)
    expect(checkOf(site, 'font-size').score).toBe(1)
  })
  it.each(['viewport-missing.html', 'viewport-no-width.html'])('fails %s', async (path) => {
    expect(checkOf(await collectFrom(stage, page(path)), 'viewport').score).toBe(0)
  })
  it('takes points off when zoom is disabled', async () => {
    const result = checkOf(
      await collectFrom(stage, page('viewport-zoom-disabled.html')),
      'viewport',
    )
    expect(result.score).toBeCloseTo(1 - ZOOM_DISABLED_PENALTY)
    expect(result.score).toBeCloseTo(10 / 14)
    expect(result.evidence.summary).toMatch(/zoom is disabled/)
  })
})

describe('font-size', () => {
  it('passes legible CSS (print rules ignored) and style attributes', async () => {
    const result = checkOf(await collectFrom(stage, page('fonts-legible.html')), 'font-size')
    expect(result.score).toBe(1)
    expect(result.evidence.summary).toMatch(/100% of 4 font-size declarations/)
  })
  it('reads linked first-party stylesheets', async () => {
    const site = await collectFrom(stage, good())
    expect(site.firstPartyCss.join('')).toContain('font:16px/1.5 Inter')
    expect(checkOf(site, 'font-size').score).toBe(1)
  })
  it('fails an 11px base size', async () => {
    const result = checkOf(await collectFrom(stage, page('fonts-small-base.html')), 'font-size')
    expect(result).toMatchObject({ score: 0, evidence: { summary: 'Base font size is 11px' } })
  })
  it('fails when most declared sizes are under 12px', async () => {
    expect(
      checkOf(await collectFrom(stage, page('fonts-mostly-small.html')), 'font-size').score,
    ).toBe(0)
  })
  it('fails without a mobile viewport, as Lighthouse does', async () => {
    expect(
      checkOf(await collectFrom(stage, page('viewport-missing.html')), 'font-size').score,
    ).toBe(0)
  })
})

describe('tap-targets', () => {
  it('is not measured without a browser', async () => {
    const result = checkOf(await collectFrom(stage, page('seo-pass.html')), 'tap-targets')
    expect(result.score).toBeNull()
    expect(result.title).toMatch(/not measured/)
  })
})

describe('responsive-images', () => {
  it('passes large images with srcset or picture sources', async () => {
    expect(
      checkOf(await collectFrom(stage, page('responsive-ok.html')), 'responsive-images').score,
    ).toBe(1)
  })
  it('fails a large image without srcset, ignoring SVGs and icons', async () => {
    const result = checkOf(
      await collectFrom(stage, page('responsive-missing.html')),
      'responsive-images',
    )
    expect(result.score).toBe(0)
    expect(result.evidence.items).toEqual([{ src: page('img/large-1.jpg') }])
  })
  it('is not applicable when there are no large raster images', async () => {
    expect(
      checkOf(await collectFrom(stage, page('seo-pass.html')), 'responsive-images').score,
    ).toBeNull()
  })
})

describe('is-on-https', () => {
  it('passes https with a certificate that validates', async () => {
    const site = await collectFrom(stage, good())
    expect(site.tls).toEqual({ valid: true, error: null })
    expect(checkOf(site, 'is-on-https').score).toBe(1)
  })
  it('fails a certificate that does not validate, and still grades the page', async () => {
    const site = await collectFrom(stage, good(), { tlsCa: undefined })
    expect(site.tls?.valid).toBe(false)
    expect(site.tls?.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|self[- ]signed|CERT/i)
    expect(site.page.title).toMatch(/Acme Analytics/)
    expect(checkOf(site, 'is-on-https').score).toBe(0)
  })
  it('fails plain http', async () => {
    expect(checkOf(await collectFrom(stage, page('seo-pass.html')), 'is-on-https').score).toBe(0)
  })
})

describe('vulnerable-libraries', () => {
  it('passes a current jQuery, recognised by its banner', async () => {
    const result = checkOf(await collectFrom(stage, good()), 'vulnerable-libraries')
    expect(result).toMatchObject({
      score: 1,
      evidence: { summary: 'Recognised jquery 3.7.1: no known vulnerabilities' },
    })
  })
  it('fails jQuery 1.11.0 named by its CDN URL, without fetching it', async () => {
    const site = await collectFrom(stage, stage.tlsUrl(fixtureHost('lax'), '/index.html'))
    expect(site.resources.find((r) => r.url.includes('code.jquery.com'))?.error).toBe('unreachable')
    const result = checkOf(site, 'vulnerable-libraries')
    expect(result.score).toBe(0)
    expect(result.evidence.items[0]).toMatchObject({ library: 'jquery', version: '1.11.0' })
  })
  it('matches retire.js on versions and ranges', () => {
    expect(
      detectFromUrl('https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.4/lodash.min.js'),
    ).toEqual([expect.objectContaining({ component: 'lodash', version: '4.17.4' })])
    expect(detectFromContent('/*! jQuery v3.4.1 | (c) JS Foundation */', null)[0]).toMatchObject({
      component: 'jquery',
      version: '3.4.1',
    })
    expect(vulnerabilitiesOf('jquery', '3.4.1').length).toBeGreaterThan(0)
    expect(vulnerabilitiesOf('jquery', '3.7.1')).toEqual([])
    expect(vulnerabilitiesOf('lodash', '4.17.23')).toEqual([])
    expect(vulnerabilitiesOf('angularjs', '1.8.3').length).toBeGreaterThan(0)
    expect(isAtOrAbove('1.10.0', '1.9.0')).toBe(true)
    expect(isAtOrAbove('1.9.0-rc1', '1.9.0')).toBe(false)
  })
})

describe('redirects-http', () => {
  it('passes when plain http redirects to https', async () => {
    const site = await collectFrom(stage, good())
    expect(site.httpProbe).toMatchObject({ reachable: true, finalUrl: good() })
    expect(checkOf(site, 'redirects-http').score).toBe(1)
  })
  it('fails when plain http serves the site without redirecting', async () => {
    const result = checkOf(
      await collectFrom(stage, stage.tlsUrl(fixtureHost('lax'), '/index.html')),
      'redirects-http',
    )
    expect(result.score).toBe(0)
  })
  it('is not applicable when nothing answers on plain http', async () => {
    const site = await collectFrom(
      stage,
      good(),
      {},
      { httpProbeUrl: () => `http://${fixtureHost('nowhere')}/` },
    )
    expect(checkOf(site, 'redirects-http').score).toBeNull()
  })
})

describe('hsts', () => {
  it('passes two years', async () => {
    expect(checkOf(await collectFrom(stage, good()), 'hsts').score).toBe(1)
  })
  it('fails a one-day max-age', async () => {
    expect(
      checkOf(await collectFrom(stage, stage.tlsUrl(fixtureHost('lax'), '/index.html')), 'hsts')
        .score,
    ).toBe(0)
  })
})

describe('mixed-content', () => {
  it('passes an https page with only https subresources', async () => {
    expect(checkOf(await collectFrom(stage, good()), 'mixed-content').score).toBe(1)
  })
  it('fails an https page with an image over http', async () => {
    const result = checkOf(
      await collectFrom(stage, stage.tlsUrl(fixtureHost('lax'), '/index.html')),
      'mixed-content',
    )
    expect(result.score).toBe(0)
    expect(result.evidence.items).toEqual([
      { url: `http://lax.frontdoor-fixture.com:${stage.port}/logo.png`, element: 'img' },
    ])
  })
  it('is not applicable to an http page', async () => {
    expect(
      checkOf(await collectFrom(stage, page('seo-pass.html')), 'mixed-content').score,
    ).toBeNull()
  })
  // Browsers fetch the http: references over https then, so Lighthouse sees no mixed content.
  it.each(['mixed-upgrade-header.html', 'mixed-upgrade-meta.html'])(
    'passes an https page whose Content-Security-Policy has upgrade-insecure-requests (%s)',
    async (path) => {
      const result = checkOf(
        await collectFrom(stage, stage.tlsUrl(fixtureHost('pages'), `/${path}`)),
        'mixed-content',
      )
      expect(result.score).toBe(1)
      expect(result.evidence.summary).toMatch(/upgrade-insecure-requests/)
      expect(result.evidence.items).toEqual([
        { url: `http://pages.frontdoor-fixture.com:${stage.port}/img/chart.svg`, element: 'img' },
      ])
    },
  )
  it('does not take upgrade-insecure-requests from a report-uri, a Report-Only policy or a <meta> outside <head>', async () => {
    const result = checkOf(
      await collectFrom(stage, stage.tlsUrl(fixtureHost('pages'), '/mixed-upgrade-decoy.html')),
      'mixed-content',
    )
    expect(result.score).toBe(0)
    expect(result.evidence.summary).toBe('1 insecure URL(s)')
  })
})

describe('security-headers', () => {
  it('reports the headers without scoring them', async () => {
    const good = checkOf(
      await collectFrom(stage, stage.tlsUrl(fixtureHost('good'))),
      'security-headers',
    )
    expect(good).toMatchObject({ weight: 0, score: 1 })
    const lax = checkOf(
      await collectFrom(stage, stage.tlsUrl(fixtureHost('lax'), '/index.html')),
      'security-headers',
    )
    expect(lax).toMatchObject({ weight: 0, score: 0 })
  })
})
