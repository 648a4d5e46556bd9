import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkOf, collectFrom, fixtureHost, startFixtureStage } from './fixture-stage.ts'
import { PUBLIC_ADDRESS, type Stage } from './loopback.ts'
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium } from '../../../chromium.ts'

// The spec: on the same page, the grader and Lighthouse should agree. Lighthouse itself (the
// devDependency, in real Chromium) audits two fixture pages, one passing everything and one
// failing everything it can, and each mirrored check must reach Lighthouse's verdict.

if (!hasChromium) console.log(`lighthouse-agreement: skipped, no ${CHROMIUM}`)

// Our check id → Lighthouse 13 audit id.
const MIRRORED: Record<string, string> = {
  'is-crawlable': 'is-crawlable',
  'document-title': 'document-title',
  'meta-description': 'meta-description',
  'http-status-code': 'http-status-code',
  'link-text': 'link-text',
  'crawlable-anchors': 'crawlable-anchors',
  'image-alt': 'image-alt',
  canonical: 'canonical',
  hreflang: 'hreflang',
  'robots-txt': 'robots-txt',
  'is-on-https': 'is-on-https',
}

type Verdict = 'pass' | 'fail' | 'n/a'

function ours(score: number | null): Verdict {
  return score === null ? 'n/a' : score >= 0.9 ? 'pass' : 'fail'
}

function theirs(audit: { score: number | null; scoreDisplayMode: string } | undefined): Verdict {
  if (audit === undefined || audit.scoreDisplayMode === 'notApplicable' || audit.score === null)
    return 'n/a'
  return audit.score >= 0.9 ? 'pass' : 'fail'
}

describe.skipIf(!hasChromium)('the grader agrees with Lighthouse', () => {
  let stage: Stage
  let chrome: { port: number; kill(): void }
  let lighthouse: typeof import('lighthouse').default

  beforeAll(async () => {
    stage = await startFixtureStage()
    lighthouse = (await import('lighthouse')).default
    const launcher = await import('chrome-launcher')
    chrome = await launcher.launch({
      chromePath: CHROMIUM,
      chromeFlags: [
        '--headless=new',
        ...CHROMIUM_FLAGS,
        `--host-resolver-rules=MAP *.frontdoor-fixture.com ${PUBLIC_ADDRESS}`,
        // Our fixture certificate is signed by a test CA Chromium does not know.
        '--ignore-certificate-errors',
      ],
    })
  }, 60_000)
  afterAll(async () => {
    chrome?.kill()
    await stage?.close()
  })

  async function compare(url: string) {
    const result = await lighthouse(url, {
      port: chrome.port,
      logLevel: 'error',
      onlyAudits: Object.values(MIRRORED),
    })
    const audits = result?.lhr.audits ?? {}
    const site = await collectFrom(stage, url)
    const rows = Object.entries(MIRRORED).map(([check, audit]) => ({
      check,
      grader: ours(checkOf(site, check).score),
      lighthouse: theirs(audits[audit]),
    }))
    return rows
  }

  it('on a page that passes every audit', async () => {
    const rows = await compare(stage.tlsUrl(fixtureHost('pages'), '/seo-pass.html'))
    for (const row of rows) expect(row.grader, row.check).toBe(row.lighthouse)
    expect(rows.filter((r) => r.lighthouse === 'pass').length).toBeGreaterThanOrEqual(9)
  }, 60_000)

  it('on a page that fails every audit it can', async () => {
    const rows = await compare(stage.url(fixtureHost('badrobots'), '/lighthouse-fail.html'))
    for (const row of rows) expect(row.grader, row.check).toBe(row.lighthouse)
    expect(rows.filter((r) => r.lighthouse === 'fail').length).toBeGreaterThanOrEqual(9)
  }, 60_000)
})
