import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { RETENTION } from '../../api/content/site.ts'
import {
  allStarted,
  axeViolations,
  hasChromium,
  horizontalOverflow,
  launchBrowser,
  screenshot,
  startServer,
  type TestServer,
} from './harness.ts'

// The privacy policy states the periods the running server applies, from its settings: a server
// started with OUTBOX_RETENTION_DAYS=30 says 30 days for the text of the emails it sends (one
// build, started under any settings). In Chromium with JavaScript off, at a phone's width and a
// desktop's.

const SETTINGS = {
  OUTBOX_RETENTION_DAYS: '30',
  DOWNLOAD_LINK_DAYS: '3',
  SESSION_INACTIVITY_DAYS: '5',
  SESSION_ABSOLUTE_DAYS: '12',
}

describe.skipIf(!hasChromium)('the privacy policy (built server, real Chromium)', () => {
  let server: TestServer
  let browser: Browser

  beforeAll(async () => {
    await allStarted([
      startServer(SETTINGS).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  const open = async (width: number, javaScriptEnabled = false) => {
    const context = await browser.newContext({
      javaScriptEnabled,
      // axe is added as a script, which the page's Content-Security-Policy would refuse.
      bypassCSP: javaScriptEnabled,
      viewport: { width, height: 900 },
    })
    const page = await context.newPage()
    const res = await page.goto(`${server.url}/privacy`)
    expect(res?.status()).toBe(200)
    return page
  }

  /**
   * The text of the first element `selector` finds, its white space as a reader sees it; empty
   * when there is none (the page is whole once loaded: nothing to wait for).
   */
  const text = async (page: Page, selector: string) =>
    ((await page.locator(selector).allTextContents())[0] ?? '').replace(/\s+/g, ' ').trim()

  /** What an entry of "What we store" says under "How long". */
  const howLong = (page: Page, entry: string) => text(page, `#${entry} dt:text-is("How long") + dd`)

  it('says how long each kind of data is kept, with the periods this server is set to', async () => {
    const page = await open(390)
    expect(await howLong(page, 'keep-email')).toContain(
      'The message itself: 30 days after we wrote it',
    )
    expect(await text(page, '#emails + p')).toContain(
      'The text of each email we send you is deleted 30 days after we wrote it',
    )
    expect(await howLong(page, 'keep-downloads')).toContain('Links stop working after 3 days')
    expect(await text(page, '#cookies + p + ul + p')).toContain(
      'A sign-in ends after 5 days without use, and after 12 days at most',
    )
    // The periods no setting changes: the clean-up jobs' own.
    const months = `${RETENTION.inactiveContactMonths} months`
    expect(await howLong(page, 'keep-contact')).toContain(`${months} after your last activity`)
    expect(await text(page, '#rights + p + p + p')).toContain(
      `without being asked, ${months} after your last activity`,
    )
    expect(await howLong(page, 'keep-network')).toBe(
      `${RETENTION.networkDataDays} days, then deleted`,
    )
    // Kept on purpose with no limit, and said so.
    expect(await howLong(page, 'keep-do-not-email')).toContain('With no time limit, on purpose')
    expect(await text(page, '#unsubscribe + p')).toContain(
      'by mistake (see our do-not-email list).',
    )
    await page.context().close()
  })

  it('fits a 390 px phone and a 1280 px desktop without sideways scrolling, and passes axe', async () => {
    for (const width of [390, 1280]) {
      const page = await open(width)
      expect(await horizontalOverflow(page)).toEqual({ width, culprits: [] })
      await screenshot(page, `privacy-${width}`)
      await page.context().close()
    }
    const page = await open(1280, true)
    expect(await axeViolations(page)).toEqual([])
    await page.context().close()
  })
})
