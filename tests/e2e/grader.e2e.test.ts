import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { serveFixtures } from '../api/grader/engine/fixture-server.ts'
import { PUBLIC_ADDRESS } from '../api/grader/engine/loopback.ts'
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

// A visitor grades a website end to end in real Chromium against the built server: the URL form,
// the progress page, the teaser (with nothing of the gated detail in the page), the unlock form,
// the full report; then the emailed link and the reps' view. The graded "website" is the engine's
// badly built fixture site on a loopback address that GRADER_ALLOW_ADDRESSES lets the grader
// treat as public, exactly as an operator would try it on one machine.

type Check = { id: string; title: string; fix: string; evidence: { summary: string } }
type FullReport = {
  report: { teaser: { topProblems: string[] }; full: { categories: Array<{ checks: Check[] }> } }
}

describe.skipIf(!hasChromium)('the website grader (real Chromium, built server)', () => {
  let site: http.Server
  let siteUrl: string
  let server: TestServer
  let browser: Browser
  let visitor: BrowserContext
  let reportPath = ''
  let teaserHtml = ''
  let teaserText = ''

  beforeAll(async () => {
    // The fixture site answers for any host name, as a site on its own address would.
    const port = await new Promise<number>((resolve) => {
      let serve: http.RequestListener = () => {}
      site = http.createServer((req, res) => serve(req, res))
      site.listen(0, PUBLIC_ADDRESS, () => {
        const { port } = site.address() as AddressInfo
        const fixture = serveFixtures({ httpPort: port, tlsPort: port })
        serve = (req, res) => {
          if (req.url === '/down') {
            // The site's error page while it is down.
            res.writeHead(503, { 'content-type': 'text/html' })
            res.end('<!doctype html><title>Down</title><h1>Service unavailable</h1>')
            return
          }
          req.headers.host = `bad.frontdoor-fixture.com:${port}`
          fixture(req, res)
        }
        resolve(port)
      })
    })
    siteUrl = `http://${PUBLIC_ADDRESS}:${port}/`
    // Production refuses the allow-list (api/env.ts): this is the development setting.
    await allStarted([
      startServer({
        NODE_ENV: 'development',
        GRADER_ALLOW_ADDRESSES: `${PUBLIC_ADDRESS}:${port}`,
      }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
    visitor = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await new Promise((resolve) => site?.close(resolve))
  })

  async function expectAccessible(page: Page) {
    expect(await axeViolations(page)).toEqual([])
  }

  async function narrow(page: Page, name: string) {
    await page.setViewportSize({ width: 375, height: 800 })
    await screenshot(page, `${name}-375`)
    await expectAccessible(page)
    // Nothing wider than the smallest phone: no sideways scrolling (a long URL in an evidence
    // note, a Lighthouse audit id in the rubric).
    await page.setViewportSize({ width: 320, height: 800 })
    expect(await horizontalOverflow(page), `${name} at 320 px`).toEqual({
      width: 320,
      culprits: [],
    })
    await page.setViewportSize({ width: 1280, height: 900 })
  }

  it('announces the development allow-list at start-up', () => {
    expect(server.output()).toContain('GRADER_ALLOW_ADDRESSES is set')
  })

  it('grades a site from the URL form and shows the teaser, with nothing gated in the page', async () => {
    const page = await visitor.newPage()
    await page.goto(`${server.url}/grader`)
    expect(await page.textContent('h1')).toContain('How well does your website')
    await expect
      .poll(() => page.getByRole('heading', { name: 'Exactly how we score your site' }).count())
      .toBe(1)
    await screenshot(page, 'grader-index-1280')
    await expectAccessible(page)
    await narrow(page, 'grader-index')

    await page.getByLabel('Your website address').fill(siteUrl)
    await page.getByRole('button', { name: 'Grade my website' }).first().click()
    await page.waitForURL(/\/grader\/[0-9a-f-]{36}$/)
    reportPath = new URL(page.url()).pathname
    // The progress page reloads itself into the report (JavaScript polling here).
    await page.getByRole('heading', { name: 'Top problems' }).waitFor({ timeout: 30_000 })
    expect(await page.textContent('h1')).toBe(`${PUBLIC_ADDRESS}`)
    await expect
      .poll(() => page.locator('.gr-total__label').textContent(), { timeout: 25_000 })
      .toContain('grade F')
    const problems = await page.locator('.gr-problem').allTextContents()
    expect(problems.map((p) => p.trim())).toEqual([
      'Does not have a <meta name="viewport"> tag with width or initial-scale',
      'Page is blocked from indexing',
      'Document doesn’t use legible font sizes',
    ])
    expect(await page.locator('.gr-locked__count').textContent()).toMatch(
      /\d+ more issues in the full report/,
    )
    expect(await page.locator('.gr-cat').count()).toBe(4)
    teaserHtml = await page.content()
    teaserText = (await page.evaluate(() => document.documentElement.textContent)) ?? ''
    await screenshot(page, 'grader-teaser-1280')
    await expectAccessible(page)
    await narrow(page, 'grader-teaser')
    await page.close()
  }, 60_000)

  it('keeps the grade word on one line beside its badge, clear of the category cards, at 1024 and 1440 px', async () => {
    const page = await visitor.newPage()
    // The example card in the hero's narrow column, and the real report's full-width one.
    for (const path of ['/grader', reportPath]) {
      await page.goto(`${server.url}${path}`)
      for (const width of [1024, 1440]) {
        await page.setViewportSize({ width, height: 900 })
        const headline = await page.evaluate(() => {
          const label = document.querySelector('.gr-total__label')!
          const word = label.lastChild!.textContent!.trim()
          const lines =
            label.getBoundingClientRect().height / parseFloat(getComputedStyle(label).lineHeight)
          const band = document.querySelector('.gr-band')!.getBoundingClientRect()
          const cats = document.querySelector('.gr-cats')!.getBoundingClientRect()
          const overlaps =
            band.left < cats.right &&
            cats.left < band.right &&
            band.top < cats.bottom &&
            cats.top < band.bottom
          return { word, lines: Math.round(lines * 100) / 100, overlaps }
        })
        expect(headline, `${path} at ${width} px`).toEqual({
          word: path === '/grader' ? 'Fair' : 'Poor',
          lines: 1,
          overlaps: false,
        })
      }
      await screenshot(page, `grader-headline${path === '/grader' ? '-example' : ''}-1440`)
    }
    await page.close()
  })

  it('unlocks the full report with the email form and shows every check with its evidence and fix', async () => {
    const page = await visitor.newPage()
    await page.goto(`${server.url}${reportPath}`)
    const form = page.locator('form[data-lead-form]')
    await form.getByLabel('Work email').fill('sam.rivera@northwind-tools.example')
    await form.getByLabel(/Your name/).fill('Sam Rivera')
    await form.getByLabel(/Company/).fill('Northwind Tools')
    await form.getByLabel(/may email me/).check()
    // Past the time trap, as a person reading the page would be.
    await page.waitForTimeout(2_200)
    await form.getByRole('button', { name: 'Unlock the full report' }).click()
    await page.waitForURL(/\?unlocked=1#report$/)
    await page.getByRole('heading', { name: 'Biggest wins' }).waitFor()
    expect(await page.getByRole('status').filter({ hasText: 'Unlocked' }).count()).toBe(1)
    for (const category of ['Performance', 'SEO', 'Mobile', 'Security'])
      expect(
        await page.getByRole('heading', { name: category, exact: true, level: 3 }).count(),
      ).toBe(1)
    expect(await page.locator('.gr-fix').count()).toBeGreaterThan(10)
    expect(await page.getByText('jquery', { exact: true }).count()).toBe(1)
    const cookie = (await visitor.cookies()).find((c) => c.name === 'fd_grader')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' })
    await screenshot(page, 'grader-full-1280')
    await expectAccessible(page)
    // Folded passed checks open without JavaScript tricks (details/summary).
    await page.locator('.gr-more > summary').first().click()
    await narrow(page, 'grader-full')

    // Now the whole report can be compared with what the teaser page held: none of it.
    const full = (await (
      await page.request.get(`${server.url}/api${reportPath}`)
    ).json()) as FullReport
    const checks = full.report.full.categories.flatMap((c) => c.checks)
    expect(checks.length).toBe(30)
    const top = new Set(full.report.teaser.topProblems)
    for (const check of checks) {
      if (check.fix) {
        expect(teaserText, check.id).not.toContain(check.fix)
        expect(await page.getByText(check.fix, { exact: true }).count(), check.id).toBeGreaterThan(
          0,
        )
      }
      if (check.evidence.summary.length > 12)
        expect(teaserText, check.id).not.toContain(check.evidence.summary)
      if (!top.has(check.title)) expect(teaserText, check.id).not.toContain(check.title)
    }
    expect(teaserHtml).not.toContain('jquery')
    await page.close()
  }, 60_000)

  it('works without JavaScript: a refreshing progress page, then the teaser, then the unlock', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await page.goto(`${server.url}/grader`)
    await page.getByLabel('Your website address').fill(`${siteUrl}?no-js`)
    await page.getByRole('button', { name: 'Grade my website' }).first().click()
    await page.waitForURL(/\/grader\/[0-9a-f-]{36}$/)
    // The <noscript> refresh brings the report in.
    await page.getByRole('heading', { name: 'Top problems' }).waitFor({ timeout: 30_000 })
    expect(await context.cookies()).not.toContainEqual(
      expect.objectContaining({ name: 'fd_grader' }),
    )

    const form = page.locator('form[data-lead-form]')
    await form.getByLabel('Work email').fill('no.script@northwind-tools.example')
    await page.waitForTimeout(2_200)
    await form.getByRole('button', { name: 'Unlock the full report' }).click()
    await page.getByRole('heading', { name: 'Biggest wins' }).waitFor()
    expect(page.url()).toMatch(/\?unlocked=1#report$/)
    await context.close()
  }, 60_000)

  it('tells the visitor plainly when an address cannot be graded', async () => {
    const page = await visitor.newPage()
    await page.goto(`${server.url}/grader`)
    await page.getByLabel('Your website address').fill('ftp://files.example.com/')
    await page.getByRole('button', { name: 'Grade my website' }).first().click()
    await page.waitForURL(/\/grader\?error=/)
    expect(await page.getByRole('alert').first().textContent()).toContain(
      'Only http:// and https:// addresses can be graded.',
    )
    expect(await page.getByLabel('Your website address').inputValue()).toBe(
      'ftp://files.example.com/',
    )

    // A private address is not refused on the form (that would map our network): it fails like a
    // site that does not answer.
    await page.getByLabel('Your website address').fill('http://10.0.0.1/')
    await page.getByRole('button', { name: 'Grade my website' }).first().click()
    await page
      .getByRole('heading', { name: /We could not grade 10\.0\.0\.1/ })
      .waitFor({ timeout: 30_000 })
    expect(await page.getByRole('alert').first().textContent()).toBe(
      'We could not reach that website. Check the address and try again.',
    )
    await screenshot(page, 'grader-failed-1280')
    await expectAccessible(page)

    // A site that answers with an error page gets no grade: the visitor is told its status.
    await page.goto(`${server.url}/grader`)
    await page.getByLabel('Your website address').fill(`${siteUrl}down`)
    await page.getByRole('button', { name: 'Grade my website' }).first().click()
    await page
      .getByRole('heading', { name: /We could not grade 127\.0\.0\.3/ })
      .waitFor({ timeout: 30_000 })
    expect(await page.getByRole('alert').first().textContent()).toBe(
      'That page answered 503 Service Unavailable: we can only grade a page that loads. Check the address, or try again once the site is back.',
    )
    expect(await page.getByText(/\/100/).count()).toBe(0)
    await page.close()
  })

  it('emails the report link, which opens the full report anywhere; reps see the grading and the lead', async () => {
    const admin = await browser.newContext({
      bypassCSP: true,
      viewport: { width: 1280, height: 900 },
    })
    const page = await admin.newPage()
    await page.goto(server.setupLink!)
    await page.getByLabel('Your name').fill('Ada Admin')
    await page.getByLabel('Work email').fill('ada@frontdoor.example')
    await page.getByLabel(/Password/).fill('a strong passphrase')
    await page.getByRole('button', { name: /Create admin/ }).click()
    await page.waitForURL(/\/app$/)

    const subject = `Your website grade for ${PUBLIC_ADDRESS}`
    await expect
      .poll(
        async () => {
          await page.goto(`${server.url}/app/admin/mailbox?q=sam.rivera%40northwind-tools.example`)
          return page.getByRole('link', { name: new RegExp(subject.replace(/\./g, '\\.')) }).count()
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(1)
    await page.getByRole('link', { name: new RegExp(subject.replace(/\./g, '\\.')) }).click()
    const link = new RegExp(
      `${server.url.replace(/[.:/]/g, '\\$&')}${reportPath}\\?key=[a-z2-7]+`,
    ).exec(await page.content())?.[0]
    expect(link).toBeTruthy()

    // Another browser, no cookie: the link alone opens the full report.
    const elsewhere = await browser.newContext()
    const other = await elsewhere.newPage()
    await other.goto(link!)
    await other.getByRole('heading', { name: 'Biggest wins' }).waitFor()
    await other.goto(`${server.url}${reportPath}`)
    await other.getByRole('heading', { name: 'Top problems' }).waitFor()
    await elsewhere.close()

    // The reps' list shows the grading, who unlocked it and their deal.
    await page.goto(`${server.url}/app/grader`)
    const row = page.getByRole('row').filter({ hasText: 'Sam Rivera' })
    expect(await row.count()).toBe(1)
    expect(await row.textContent()).toContain('/100')
    await screenshot(page, 'grader-app-list-1280')
    await expectAccessible(page)
    await row.getByRole('link', { name: 'deal' }).click()
    await page.waitForURL(/\/app\/deals\/[0-9a-f-]{36}$/)
    expect(await page.textContent('body')).toContain(`Graded ${PUBLIC_ADDRESS}`)

    await page.goto(`${server.url}/app/grader/${reportPath.split('/').pop()}`)
    await page.getByRole('heading', { name: 'Biggest wins' }).waitFor()
    expect(await page.getByText('sam.rivera@northwind-tools.example').count()).toBe(1)
    await screenshot(page, 'grader-app-report-1280')
    await expectAccessible(page)
    await admin.close()
  }, 90_000)
})
