import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { generateDemoPdfs } from '../../api/demo/pdfs.ts'
import {
  allStarted,
  axeViolations,
  hasChromium,
  launchBrowser,
  screenshot,
  startServer,
  type TestServer,
} from './harness.ts'

// A visitor from a campaign asks for a whitepaper, with JavaScript on and off; the email lands in
// the dev mailbox, its link serves the PDF, and a rep finds the new lead at 10% in the contacts.

const PAPER = '/whitepapers/mid-market-pipeline-benchmark-2026'
const TITLE = 'The 2026 Mid-Market Pipeline Benchmark'
const CAMPAIGN = '?utm_source=newsletter&utm_medium=email&utm_campaign=nov-launch'

describe.skipIf(!hasChromium)('the inbound front door (real Chromium, production server)', () => {
  let server: TestServer
  let browser: Browser
  let filesDir: string
  let admin: BrowserContext

  beforeAll(async () => {
    filesDir = await mkdtemp(join(tmpdir(), 'frontdoor-e2e-files-'))
    await generateDemoPdfs(filesDir)
    await allStarted([
      startServer({ CONTENT_FILES_DIR: filesDir }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await rm(filesDir, { recursive: true, force: true })
  })

  /** The form must stay open past the time trap (2 s), as it does for a person reading the page. */
  async function fillWhitepaperForm(page: Page, email: string) {
    const form = page.locator('form[data-lead-form]')
    await form.getByLabel('Work email').fill(email)
    await form.getByLabel('Full name').fill('Dana Lee')
    await form.getByLabel('Company', { exact: true }).fill('Acme Robotics')
    await form.getByLabel(/may email me/).check()
    await page.waitForTimeout(2_200)
  }

  async function expectThanksWithPdf(page: Page) {
    // The link comes from the post's cookie: the thank-you page's URL carries no token.
    await page.waitForURL(/\/thanks\?offer=whitepaper%3Amid-market-pipeline-benchmark-2026$/)
    expect(await page.textContent('h1')).toBe('Your whitepaper is ready')
    const href = await page.getByRole('link', { name: 'Download now' }).getAttribute('href')
    expect(href).toMatch(/^\/d\/[a-z2-7]+$/)
    const res = await page.request.get(`${server.url}${href}`)
    expect(res.status()).toBe(200)
    expect(res.headers()['content-type']).toBe('application/pdf')
    expect(res.headers()['content-disposition']).toContain(
      'attachment; filename="demo-mid-market-pipeline-benchmark-2026.pdf"',
    )
    expect((await res.body()).subarray(0, 5).toString()).toBe('%PDF-')
  }

  it('with JavaScript on: lands from a campaign, gets the first-touch cookie, submits without a reload, downloads the PDF', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}${PAPER}${CAMPAIGN}`)
    const cookie = (await context.cookies()).find((c) => c.name === 'fd_ft')
    expect(cookie).toBeTruthy()
    expect(cookie!.sameSite).toBe('Lax')
    expect(JSON.parse(decodeURIComponent(cookie!.value))).toMatchObject({
      utm: { utm_source: 'newsletter', utm_campaign: 'nov-launch' },
      landingPage: PAPER,
    })

    // Inline validation first: the enhanced form catches a bad address before posting.
    await page.getByLabel('Work email').fill('dana@')
    await page.getByRole('button', { name: 'Get the whitepaper' }).click()
    await expect
      .poll(() => page.getByLabel('Work email').getAttribute('aria-invalid'), { timeout: 25_000 })
      .toBe('true')
    expect(page.url()).toContain(PAPER)

    await fillWhitepaperForm(page, 'dana.js@acme-robotics.example')
    await page.getByRole('button', { name: 'Get the whitepaper' }).click()
    await expectThanksWithPdf(page)
    await screenshot(page, 'inbound-thanks-js')
    await context.close()
  })

  it('a click on the consent box lands there even when leaving a field shows its mistake', async () => {
    // A field left by pressing on the box: its message comes after the press, so the box does
    // not move down under the pointer (the click once landed beside it, leaving it unticked).
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
    const page = await context.newPage()
    await page.goto(`${server.url}${PAPER}`)
    const form = page.locator('form[data-lead-form]')
    await form.getByLabel('Full name').fill('   ')
    const consent = form.getByLabel(/may email me/)
    await consent.scrollIntoViewIfNeeded()
    const box = (await consent.boundingBox())!
    // One real press at the box's place (not check(), which would aim again after a move).
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    expect(await consent.isChecked()).toBe(true)
    await expect.poll(() => form.getByLabel('Full name').getAttribute('aria-invalid')).toBe('true')
    await context.close()
  })

  it('with JavaScript off: the server shows mistakes on a page that keeps what was typed, then the thank-you page', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false })
    const page = await context.newPage()
    await page.goto(`${server.url}${PAPER}${CAMPAIGN}`)
    // type=email lets "dana@localhost" through; the server does not.
    await fillWhitepaperForm(page, 'dana.nojs@localhost')
    await page.getByRole('button', { name: 'Get the whitepaper' }).click()
    await page.waitForURL(/\/api\/leads$/)
    expect(await page.textContent('h1')).toContain(TITLE)
    expect(await page.getByRole('alert').textContent()).toContain(
      'Enter an email address like name@company.com.',
    )
    expect(await page.getByLabel('Full name').inputValue()).toBe('Dana Lee')
    expect(await page.getByLabel(/may email me/).isChecked()).toBe(true)
    await screenshot(page, 'inbound-form-error-nojs')

    await page.getByLabel('Work email').fill('dana.nojs@acme-robotics.example')
    await page.getByRole('button', { name: 'Get the whitepaper' }).click()
    await expectThanksWithPdf(page)
    await context.close()
  })

  it('delivers the email to the dev mailbox; its link serves the PDF; a rep sees the lead at 10% with its campaign', async () => {
    // The first admin, from the setup link the server printed.
    admin = await browser.newContext({ bypassCSP: true })
    const page = await admin.newPage()
    await page.goto(server.setupLink!)
    await page.getByLabel('Your name').fill('Ada Admin')
    await page.getByLabel('Work email').fill('ada@frontdoor.example')
    await page.getByLabel(/Password/).fill('a strong passphrase')
    await page.getByRole('button', { name: /Create admin/ }).click()
    await page.waitForURL(/\/app$/)

    // The outbox worker sends within a few seconds.
    const mailbox = `${server.url}/app/admin/mailbox?q=dana.nojs%40acme-robotics.example`
    await expect
      .poll(
        async () => {
          await page.goto(mailbox)
          return page.getByRole('link', { name: `Your whitepaper: ${TITLE}` }).count()
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(1)
    await page.getByRole('link', { name: `Your whitepaper: ${TITLE}` }).click()
    const body = await page.content()
    const link = new RegExp(`${server.url.replace(/[.:/]/g, '\\$&')}/d/[a-z2-7]+`).exec(body)?.[0]
    expect(link).toBeTruthy()
    const pdf = await page.request.get(link!)
    expect(pdf.status()).toBe(200)
    expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-')

    // A rep, added by the admin, finds the lead.
    const added = await page.request.post(`${server.url}/api/users`, {
      headers: { origin: server.url },
      data: {
        email: 'rita@frontdoor.example',
        name: 'Rita Rep',
        role: 'rep',
        password: 'another passphrase',
      },
    })
    expect(added.status()).toBe(201)
    const rep = await browser.newContext({ bypassCSP: true })
    const repPage = await rep.newPage()
    await repPage.goto(`${server.url}/login`)
    await repPage.getByLabel('Email').fill('rita@frontdoor.example')
    await repPage.getByLabel('Password').fill('another passphrase')
    await repPage.getByRole('button', { name: 'Sign in' }).click()
    await repPage.waitForURL(/\/app$/)
    await repPage.goto(`${server.url}/app/contacts?q=acme-robotics`)
    const rows = repPage.locator('tbody tr')
    expect(await rows.count()).toBe(2)
    expect(await rows.first().textContent()).toContain('Target · 10%')
    expect(await axeViolations(repPage)).toEqual([])
    await screenshot(repPage, 'contacts')

    await repPage.getByRole('link', { name: 'Dana Lee' }).first().click()
    await repPage.waitForURL(/\/app\/contacts\/[0-9a-f-]{36}$/)
    const detail = (await repPage.textContent('main'))!
    expect(detail).toContain('Target identified (10%)')
    expect(detail).toContain(`Downloaded “${TITLE}”`)
    expect(detail).toContain('First touch: source=newsletter, medium=email, campaign=nov-launch')
    expect(detail).toContain('asset-delivery')
    expect(await axeViolations(repPage)).toEqual([])
    await screenshot(repPage, 'contact')
    expect((await repPage.request.get(`${server.url}/api/contacts/export.csv`)).status()).toBe(403)
    await rep.close()
  })

  it('an admin reviews quarantine; the pages the API renders pass an accessibility check', async () => {
    const page = await admin.newPage()
    await page.goto(`${server.url}/app/admin/quarantine`)
    expect(await page.textContent('h1')).toBe('Quarantined submissions')
    expect(await axeViolations(page)).toEqual([])

    const csv = await page.request.get(`${server.url}/api/contacts/export.csv`)
    expect(csv.status()).toBe(200)
    expect((await csv.text()).split('\r\n').filter(Boolean)).toHaveLength(3)

    await page.goto(`${server.url}/d/${'a'.repeat(32)}`)
    expect(await page.textContent('h1')).toBe('This download link does not work')
    expect(await axeViolations(page)).toEqual([])

    // The form-with-errors page (shown to browsers without JavaScript), checked as rendered.
    const js = await browser.newContext({ bypassCSP: true })
    const errorPage = await js.newPage()
    const res = await errorPage.request.post(`${server.url}/api/leads`, {
      headers: { origin: server.url },
      form: { offer: 'trial', email: 'x@localhost', name: '', company: 'X', companySize: '' },
    })
    expect(res.status()).toBe(422)
    await errorPage.setContent(await res.text())
    expect(await axeViolations(errorPage)).toEqual([])
    await js.close()
    await admin.close()
  })
})
