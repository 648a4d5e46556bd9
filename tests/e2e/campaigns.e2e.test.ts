import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContextOptions, Page } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  allStarted,
  axeViolations,
  hasChromium,
  launchBrowser,
  screenshot,
  signInWithForm,
  signedInContext,
  startServer,
  type TestServer,
} from './harness.ts'

// Outbound in real Chromium against the production server with the demo team: an SDR creates a
// campaign, imports a CSV with bad rows, previews it, starts it; the outreach arrives in the dev
// mailbox, and a click on its tracked link lands on the destination (a loopback site).

const SDR = 'taylor@frontdoor.example'
const ADMIN = 'morgan@frontdoor.example'
const REP = 'riley@frontdoor.example'

describe.skipIf(!hasChromium)('SDR campaigns (real Chromium, production server)', () => {
  let server: TestServer
  let browser: Browser
  let site: Server
  let siteUrl: string

  beforeAll(async () => {
    site = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><title>Landing</title><h1>Landing page ${req.url}</h1>`)
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`
    await allStarted([
      startServer({
        DEMO_SEED: 'yes',
        MAIL_FROM_MARKETING: 'Frontdoor <hello@frontdoor.example>',
        POSTAL_ADDRESS: '1 Example Street, Springfield',
      }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await new Promise((resolve) => site?.close(resolve))
  })

  const signIn = async (email: string, options: BrowserContextOptions = {}): Promise<Page> =>
    (await signedInContext(browser, server.url, email, DEMO_PASSWORD, options)).newPage()

  it('sends an anonymous visitor to sign in, lets a rep read but not create', async () => {
    const anonymous = await fetch(`${server.url}/app/campaigns`, { redirect: 'manual' })
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('location')).toMatch(/^\/login\?next=/)
    const rep = await signIn(REP)
    const list = await rep.goto(`${server.url}/app/campaigns`)
    expect(list!.status()).toBe(200)
    await expect(rep.getByRole('link', { name: 'New campaign' }).count()).resolves.toBe(0)
    const create = await rep.goto(`${server.url}/app/campaigns/new`)
    expect(create!.status()).toBe(403)
  })

  it('lists who the demo campaign went to, with clicks and deals, and filters them without JavaScript', async () => {
    const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage()
    await signInWithForm(page, server.url, SDR, DEMO_PASSWORD)
    await page.goto(`${server.url}/app/campaigns`)
    await page.getByRole('link', { name: 'Logistics leaders: stalled pipeline' }).click()
    // Counted once the page has all arrived (a click waits only for it to start).
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}$/)
    const recipients = page.getByRole('region', { name: 'Recipient list' })
    await expect(page.getByText('44 recipients.').count()).resolves.toBe(1)
    await expect(recipients.locator('tbody tr').count()).resolves.toBe(44)
    // Before, the section said "No imports yet." as if nobody had been sent anything.
    const imports = page.getByRole('heading', { name: 'Imports' })
    await expect(imports.count()).resolves.toBe(1)
    const first = recipients.locator('tbody tr').first()
    await expect(first.getByText('Sent', { exact: true }).count()).resolves.toBe(1)
    // Human / raw per recipient: the 32 people who clicked, and the scanners' sweeps beside them
    // (rows come in id order, random within the demo: no row in particular is asserted).
    const clicks = (await recipients.locator('tbody tr td:nth-child(3)').allTextContents()).map(
      (t) => t.split(' / ').map(Number) as [number, number],
    )
    expect(clicks.reduce((sum, [human]) => sum + human, 0)).toBe(32)
    expect(clicks.some(([human, raw]) => raw > human)).toBe(true)
    const deal = first.getByRole('link', { name: /'s deal$/ })
    expect(await deal.getAttribute('href')).toMatch(/^\/app\/deals\/[0-9a-f-]{36}$/)

    // A GET form: the filter and its count land back on the section, the page number reset.
    await page.getByLabel('Status').selectOption('bounced')
    await page.getByRole('button', { name: 'Show' }).click()
    await page.waitForURL(/\?status=bounced#recipients$/)
    await expect(page.getByText('0 bounced of 44.').count()).resolves.toBe(1)
    await expect(page.getByRole('region', { name: 'Recipient list' }).count()).resolves.toBe(0)
    await page.getByLabel('Status').selectOption('sent')
    await page.getByRole('button', { name: 'Show' }).click()
    await page.waitForURL(/\?status=sent#recipients$/)
    await expect(page.getByText('44 sent of 44.').count()).resolves.toBe(1)
    await expect(recipients.locator('tbody tr').count()).resolves.toBe(44)
    await screenshot(page, 'campaign-recipients')

    // A rep reads the campaign and its recipients too.
    const rep = await signIn(REP)
    await rep.goto(page.url())
    await expect(rep.getByText('44 sent of 44.').count()).resolves.toBe(1)
  }, 120_000)

  it('creates, imports with errors, previews, starts; the mail arrives and its link lands', async () => {
    // axe is a script the page's CSP would refuse.
    const page = await signIn(SDR, { bypassCSP: true })
    await page.goto(`${server.url}/app/campaigns`)
    await page.getByRole('link', { name: 'New campaign' }).click()
    await page.getByLabel('Name', { exact: true }).fill('E2E outreach')
    await page.getByLabel('Sender address').fill('taylor@frontdoor.example')
    await page.getByLabel('Subject').fill('A question for {{company|your team}}')
    await page
      .getByLabel('Message (plain text)')
      .fill('Hi {{firstName|there}},\n\nHave a look: {{website}}\n\nTaylor')
    await page.getByLabel(/Messages per hour/).fill('3600')
    await page.getByLabel('Send from (hour)').selectOption('0')
    await page.getByLabel('until (hour)').selectOption('24')
    await page.getByLabel('Time zone').fill('Europe/Berlin')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}\?notice=/)
    const campaignUrl = page.url().split('?')[0]!

    // The file as a browser would pick it, without one on disk.
    await page
      .getByLabel(/Import a CSV/)
      .setInputFiles(
        csvFile(
          'prospects.csv',
          '\uFEFFemail;first name;company;website\n' +
            `e2e.one@prospect.example;Una;Prospect One;${siteUrl}/one\n` +
            'not-an-address;Bad;Row;\n' +
            `e2e.one@prospect.example;Una;Duplicate;${siteUrl}/dup\n`,
        ),
      )
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await page.waitForURL(/\/imports\/[0-9a-f-]{36}/)
    await page.getByText('Done:').waitFor({ timeout: 30_000 })
    // Not "importing now" beside "Done" (the page reloads itself with the upload's notice).
    await expect(page.getByText('Uploaded: importing now.').count()).resolves.toBe(0)
    await expect(page.getByText('Imported: 1').count()).resolves.toBe(1)
    await expect(page.getByText('Duplicates skipped: 1').count()).resolves.toBe(1)
    await expect(
      page.getByRole('cell', { name: '"not-an-address" is not an email address' }).count(),
    ).resolves.toBe(1)
    // The bad rows' section and the table scrolling inside it were two regions of one name.
    expect(await axeViolations(page)).toEqual([])
    await screenshot(page, 'campaign-import-errors')
    // The refused rows as the file had them (its `;` too), to fix and upload again.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download as CSV' }).click(),
    ])
    expect(await readFile((await download.path())!, 'utf8')).toBe(
      '\uFEFF"Why it was refused";"Line in your file";"email";"first name";"company";"website"\r\n' +
        '"""not-an-address"" is not an email address";"3";"not-an-address";"Bad";"Row";""\r\n',
    )

    await page.goto(`${campaignUrl}/preview`)
    await page.getByText('No problems: every message can be sent.').waitFor()
    await expect(page.getByText(`${siteUrl}/one`).count()).resolves.toBeGreaterThan(0)
    await screenshot(page, 'campaign-preview')

    // With no mail server, the SDR reads their own test in their mail (the dev mailbox, theirs
    // only); the test's timeout bounds the wait.
    await page.getByRole('button', { name: 'Send me a test' }).click()
    await page.getByText(/^Test sent to your address/).waitFor()
    await page.getByRole('link', { name: 'your mail' }).click()
    await page.getByRole('heading', { name: 'Your mail' }).waitFor()
    const test = page.getByRole('link', { name: '[Test] A question for Prospect One' })
    while ((await test.count()) === 0) {
      await page.waitForTimeout(500)
      await page.reload()
    }
    // Only mail to them: the outreach the demo campaign sent to prospects is not listed.
    const subjects = await page.locator('tbody tr td:nth-child(3)').allInnerTexts()
    expect(subjects.length).toBeGreaterThan(0)
    for (const subject of subjects) expect(subject).toMatch(/^\[Test\] /)
    expect(await axeViolations(page)).toEqual([])
    await test.first().click()
    await page.getByRole('heading', { name: 'Headers' }).waitFor()
    expect(await page.locator('main').innerText()).toContain(`${siteUrl}/one`)
    await page.goto(`${campaignUrl}/preview`)

    await page.goto(campaignUrl)
    await page.getByRole('button', { name: 'Start sending' }).click()
    await page.waitForURL(/notice=Started/)
    await screenshot(page, 'campaign-sending')

    // The outreach arrives in the dev mailbox (the admin reads it); the test's timeout bounds the wait.
    const admin = await signIn(ADMIN, { bypassCSP: true })
    let found = false
    while (!found) {
      await admin.goto(`${server.url}/app/admin/mailbox`)
      found =
        (await admin
          .getByRole('link', { name: 'A question for Prospect One', exact: true })
          .count()) > 0
      if (!found) await admin.waitForTimeout(1000)
    }
    expect(found).toBe(true)
    await admin
      .getByRole('link', { name: 'A question for Prospect One', exact: true })
      .first()
      .click()
    await admin.getByRole('heading', { name: 'Headers' }).waitFor()
    expect(await axeViolations(admin)).toEqual([])
    const body = await admin.locator('main').innerText()
    const tracked = body.match(
      new RegExp(`${server.url.replace(/[.]/g, '\\.')}/r/[a-z2-7]{26}`),
    )?.[0]
    expect(tracked, body).toBeTruthy()
    expect(body).not.toContain(`${siteUrl}/one`)

    // The click lands on the destination.
    const visitor = await (await browser.newContext()).newPage()
    await visitor.goto(tracked!)
    expect(visitor.url()).toBe(`${siteUrl}/one`)
    await expect(visitor.getByRole('heading', { name: 'Landing page /one' }).count()).resolves.toBe(
      1,
    )
  }, 180_000)

  it('stops a campaign for good only after a confirming step, without JavaScript', async () => {
    const page = await (
      await signedInContext(browser, server.url, SDR, DEMO_PASSWORD, { javaScriptEnabled: false })
    ).newPage()
    // A sending campaign (one message an hour, two recipients: it stays sending).
    await page.goto(`${server.url}/app/campaigns/new`)
    await page.getByLabel('Name', { exact: true }).fill('E2E stop for good')
    await page.getByLabel('Sender address').fill('taylor@frontdoor.example')
    await page.getByLabel('Subject').fill('Stop test for {{company|your team}}')
    await page.getByLabel('Message (plain text)').fill('Hi {{firstName|there}},\n\nTaylor')
    await page.getByLabel(/Messages per hour/).fill('1')
    await page.getByLabel('Send from (hour)').selectOption('0')
    await page.getByLabel('until (hour)').selectOption('24')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}\?notice=/)
    const campaignUrl = page.url().split('?')[0]!
    await page
      .getByLabel(/Import a CSV/)
      .setInputFiles(
        csvFile(
          'stop.csv',
          'email,first name,company\nstop.one@prospect.example,Una,One\nstop.two@prospect.example,Dos,Two\n',
        ),
      )
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await page.waitForURL(/\/imports\/[0-9a-f-]{36}/)
    await page.getByText('Done:').waitFor({ timeout: 30_000 })
    await page.goto(campaignUrl)
    await page.getByRole('button', { name: 'Start sending' }).click()
    await page.waitForURL(/notice=Started/)

    // Permanent: no button stops it at once; a disclosure holds the words and the real button.
    await expect(page.getByRole('button', { name: 'Pause' }).count()).resolves.toBe(1)
    await expect(page.getByRole('button', { name: /Stop for good/ }).count()).resolves.toBe(0)
    await page.locator('summary', { hasText: 'Stop for good' }).click()
    const stop = page.getByRole('button', { name: /^Stop for good/ })
    expect(await stop.isVisible()).toBe(true)
    await expect(page.getByText('cannot be started again').count()).resolves.toBe(1)
    await screenshot(page, 'campaign-stop-confirm')

    // axe runs as a script: a context with JavaScript reads the page with the step open.
    const js = await (
      await signedInContext(browser, server.url, SDR, DEMO_PASSWORD, { bypassCSP: true })
    ).newPage()
    await js.goto(campaignUrl)
    await js.locator('summary', { hasText: 'Stop for good' }).click()
    expect(await axeViolations(js)).toEqual([])

    await stop.click()
    await page.waitForURL(/\?notice=/)
    // Stopped, by whom, and not "completed" as a campaign that sent everything reads.
    await expect(page.getByRole('heading', { level: 1, name: /stopped/ }).count()).resolves.toBe(1)
    await expect(page.getByText(/^Stopped by .+ on .+ not sent\.$/).count()).resolves.toBe(1)
    // Those it did not send read so, not as waiting for their turn.
    const statuses = page.getByRole('region', { name: 'Recipient list' }).locator('.badge')
    const shown = await statuses.allTextContents()
    expect(shown).toContain('Not sent (stopped)')
    expect(shown).not.toContain('Waiting')
    await page.goto(`${server.url}/app/campaigns`)
    const row = page.getByRole('row', { name: /E2E stop for good/ })
    await expect(row.getByText('stopped', { exact: true }).count()).resolves.toBe(1)
  }, 120_000)

  it('starts a campaign at a later time from the plain form, without JavaScript', async () => {
    const page = await (
      await signedInContext(browser, server.url, SDR, DEMO_PASSWORD, { javaScriptEnabled: false })
    ).newPage()
    await page.goto(`${server.url}/app/campaigns/new`)
    await page.getByLabel('Name', { exact: true }).fill('E2E start later')
    await page.getByLabel('Sender address').fill('taylor@gmail.com')
    await page.getByLabel('Subject').fill('Later for {{company|your team}}')
    await page.getByLabel('Message (plain text)').fill('Hi {{firstName|there}},\n\nTaylor')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    // A sender off the verified domain: refused beside its field, the address typed kept but
    // not in the URL.
    await page.waitForURL(/\/app\/campaigns\/new\?error=/)
    expect(decodeURIComponent(page.url())).not.toContain('gmail')
    const sender = page.getByLabel('Sender address')
    expect(await sender.getAttribute('aria-invalid')).toBe('true')
    expect(await sender.inputValue()).toBe('taylor@gmail.com')
    await expect(page.locator('#senderEmail-error').textContent()).resolves.toMatch(
      /verified sending domain/,
    )
    await sender.fill('taylor@frontdoor.example')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}\?notice=/)
    const campaignUrl = page.url().split('?')[0]!
    await page
      .getByLabel(/Import a CSV/)
      .setInputFiles(csvFile('later.csv', 'email,first name\nlater@prospect.example,Lea\n'))
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await page.waitForURL(/\/imports\/[0-9a-f-]{36}/)
    await page.getByText('Done:').waitFor({ timeout: 30_000 })
    await page.goto(campaignUrl)

    // Today (the earliest day the field offers) at midnight has passed: refused, the campaign
    // still a draft, what was typed kept.
    const today = (await page.getByLabel(/Start on/).getAttribute('min'))!
    await page.getByLabel(/Start on/).fill(today)
    await page.getByLabel('at', { exact: true }).fill('00:00')
    await page.getByRole('button', { name: 'Start sending' }).click()
    await page.waitForURL(/error=/)
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/has passed/)
    expect(await page.getByLabel(/Start on/).inputValue()).toBe(today)
    // Today's time is what has passed: that field is marked.
    expect(await page.getByLabel('at', { exact: true }).getAttribute('aria-invalid')).toBe('true')
    await expect(page.getByRole('heading', { level: 1, name: /draft/ }).count()).resolves.toBe(1)

    // Three days from now (on any clock), 09:00: sending, but it says when it starts.
    const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)
    await page.getByLabel(/Start on/).fill(day)
    await page.getByLabel('at', { exact: true }).fill('09:00')
    await page.getByRole('button', { name: 'Start sending' }).click()
    await page.waitForURL(/notice=Scheduled/)
    await expect(page.getByRole('heading', { level: 1, name: /sending/ }).count()).resolves.toBe(1)
    await expect(page.getByText(/^Starts .*, 09:00 /).count()).resolves.toBe(1)
    await screenshot(page, 'campaign-start-at')
    await page.goto(`${server.url}/app/campaigns`)
    const row = page.getByRole('row', { name: /E2E start later/ })
    await expect(row.getByText(/^Starts .*, 09:00 /).count()).resolves.toBe(1)
  }, 120_000)

  it('uses a campaign as a template, without JavaScript: its message and settings, no recipients', async () => {
    const page = await (
      await signedInContext(browser, server.url, SDR, DEMO_PASSWORD, { javaScriptEnabled: false })
    ).newPage()
    await page.goto(`${server.url}/app/campaigns`)
    // A click only waits for the next page to start arriving; reading a field before it has all
    // arrived reads half a message. waitForURL waits for the page's load event.
    await page.getByRole('link', { name: 'Logistics leaders: stalled pipeline' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}$/)
    const original = page.url()
    const body = await page.locator('section[aria-label="Settings"] pre').textContent()
    await page.getByRole('link', { name: 'Use as a template' }).click()
    await page.waitForURL(/\/app\/campaigns\/new\?from=/)
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe(
      'Logistics leaders: stalled pipeline (copy)',
    )
    expect(await page.getByLabel('Message (plain text)').inputValue()).toBe(body)
    expect(await page.getByLabel('Sender address').inputValue()).toBe(SDR)
    await screenshot(page, 'campaign-template')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}\?notice=/)
    expect(page.url()).not.toContain(original)
    await expect(page.getByText('draft', { exact: true }).count()).resolves.toBe(1)
    await expect(page.getByText('No imports yet.').count()).resolves.toBe(1)
    await expect(page.getByRole('region', { name: 'Recipient list' }).count()).resolves.toBe(0)

    // An admin's copy stays credited to the SDR; a rep has no such link.
    const admin = await signIn(ADMIN)
    await admin.goto(original)
    await admin.getByRole('link', { name: 'Use as a template' }).click()
    await admin.waitForURL(/\/app\/campaigns\/new\?from=/)
    expect(await admin.locator('#ownerId option:checked').textContent()).toContain('Taylor Brooks')
    const rep = await signIn(REP)
    await rep.goto(original)
    await expect(rep.getByRole('link', { name: 'Use as a template' }).count()).resolves.toBe(0)
  }, 120_000)
})

function csvFile(name: string, text: string) {
  return { name, mimeType: 'text/csv', buffer: Buffer.from(text) }
}
