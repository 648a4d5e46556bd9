import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { SITE } from '../../api/content/site.ts'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  allStarted,
  axeViolations,
  hasChromium,
  horizontalOverflow,
  launchBrowser,
  screenshot,
  signInWithForm,
  startServer,
  type TestServer,
} from './harness.ts'

// Defects a reviewer found in the signed-in app, each seen as its user sees it: in Chromium,
// against the production server with the demo data, with JavaScript off where that matters.

const ADMIN = 'morgan@frontdoor.example'
const REP = 'riley@frontdoor.example'

describe.skipIf(!hasChromium)('the signed-in app as its users see it (real Chromium)', () => {
  let server: TestServer
  let browser: Browser
  let adminCookie: string

  beforeAll(async () => {
    await allStarted([
      startServer({ DEMO_SEED: 'yes' }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN, password: DEMO_PASSWORD }),
    })
    adminCookie = res.headers.get('set-cookie')!.split(';')[0]!
  })

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  async function signedIn(
    email: string,
    options: { width?: number; javaScriptEnabled?: boolean } = {},
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport: { width: options.width ?? 1280, height: 900 },
      javaScriptEnabled: options.javaScriptEnabled ?? true,
      // axe-core is added to the page as a script, which the app's CSP would refuse.
      bypassCSP: true,
    })
    const page = await signInWithForm(await context.newPage(), server.url, email, DEMO_PASSWORD)
    return { context, page }
  }

  /** The rep's card's Move form on the board, without JavaScript: open it, choose, submit. */
  async function moveOnBoard(page: Page, dealId: string, stage: string) {
    await page.goto(`${server.url}/app/pipeline`)
    const card = page.locator(`.deal-card[data-deal="${dealId}"]`)
    await card.locator('summary').click()
    await card.getByLabel(/^Move .* to$/).selectOption(stage)
    await card.getByRole('button', { name: 'Move', exact: true }).click()
  }

  it('item 1: without JavaScript, a move more than one stage back asks first, and Cancel changes nothing', async () => {
    const { context, page } = await signedIn(REP, { width: 390, javaScriptEnabled: false })
    await page.goto(`${server.url}/app/pipeline`)
    const card = page
      .locator('[data-column="demo"], [data-column="decision_maker"], [data-column="negotiation"]')
      .locator('.deal-card[data-editable]')
      .first()
    const id = (await card.getAttribute('data-deal'))!
    await moveOnBoard(page, id, 'signed')
    await page.waitForURL(/\/app\/pipeline\?notice=/)
    expect(await page.locator(`[data-column="signed"] [data-deal="${id}"]`).count()).toBe(1)

    // Three stages back: a page asks, the deal still at 90%.
    await moveOnBoard(page, id, 'demo')
    await page.waitForURL(new RegExp(`/app/deals/${id}/move\\?`))
    expect(await page.locator('h1').innerText()).toBe('Move back 3 stages?')
    expect(await page.locator('#move-q').innerText()).toBe(
      'Move this deal back 3 stages, from Contract signed (90%) to Demo & support won (30%)?',
    )
    await screenshot(page, 'app-ux-move-back-asks-390')
    const audit = await signedIn(REP, { width: 390 })
    await audit.page.goto(page.url())
    expect(await axeViolations(audit.page)).toEqual([])
    await audit.context.close()
    await page.getByRole('link', { name: /^Cancel/ }).click()
    await page.waitForURL(`${server.url}/app/pipeline`)
    expect(await page.locator(`[data-column="signed"] [data-deal="${id}"]`).count()).toBe(1)

    // Asked again and answered yes: moved, and back on the board it came from.
    await moveOnBoard(page, id, 'demo')
    await page.waitForURL(/\/move\?/)
    await page.getByRole('button', { name: 'Move to Demo & support won (30%)' }).click()
    await page.waitForURL(/\/app\/pipeline\?notice=/)
    expect(await page.locator('.notice[role="status"]').innerText()).toBe(
      'Moved back from Contract signed (90%) to Demo & support won (30%).',
    )
    expect(await page.locator(`[data-column="demo"] [data-deal="${id}"]`).count()).toBe(1)
    await context.close()
  })

  it('item 1: with JavaScript, the dialog’s yes goes with the form: moved at once, not asked twice', async () => {
    const { context, page } = await signedIn(REP)
    await page.goto(`${server.url}/app/pipeline`)
    const id = (await page
      .locator('[data-column="negotiation"] .deal-card[data-editable]')
      .first()
      .getAttribute('data-deal'))!
    await page.goto(`${server.url}/app/deals/${id}`)
    await page.locator('#move-stage').selectOption('target')
    const asked: string[] = []
    page.on('dialog', (dialog) => {
      asked.push(dialog.message())
      void dialog.accept()
    })
    await page.getByRole('button', { name: 'Move', exact: true }).click()
    await page.waitForURL(/notice=/)
    expect(asked).toEqual([
      'Move this deal back 3 stages, from Negotiating the solution (70%) to Target identified (10%)?',
    ])
    expect(new URL(page.url()).pathname).toBe(`/app/deals/${id}`)
    expect(await page.getByRole('status').first().innerText()).toBe(
      'Moved back from Negotiating the solution (70%) to Target identified (10%).',
    )
    await context.close()
  })

  it('item 2: a refused sign-in keeps the email typed, never the password, with or without JavaScript', async () => {
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled })
      const page = await context.newPage()
      await page.goto(`${server.url}/login`)
      await page.getByLabel('Email').fill(REP)
      await page.getByLabel('Password').fill('not-the-password')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(/\/login\?error=invalid_credentials/)
      expect(await page.getByRole('alert').innerText()).toBe('Email or password is incorrect.')
      expect(await page.getByLabel('Email').inputValue()).toBe(REP)
      expect(await page.getByLabel('Password').inputValue()).toBe('')
      if (javaScriptEnabled) {
        await screenshot(page, 'app-ux-login-refused')
        // The password is what is left to type.
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('password')
      }
      // A reload shows the page as new: the email was for that one answer.
      await page.reload()
      expect(await page.getByLabel('Email').inputValue()).toBe('')
      await context.close()
    }
  })

  it('item 3: Settings say which From the mail goes out with, and that it is the built-in default', async () => {
    const { context, page } = await signedIn(ADMIN)
    await page.goto(`${server.url}/app/admin/settings`)
    const from = `${SITE.name} <${SITE.email.noreply}>`
    // The demo data sets a marketing From; the transactional one is left to the default.
    expect(await page.locator('#transactionalFrom-hint').innerText()).toContain(
      `In use: ${from}, the built-in default for the dev mailbox`,
    )
    expect(await page.locator('#marketingFrom-hint').innerText()).not.toContain('built-in')
    await screenshot(page, 'app-ux-settings-sender')
    await context.close()
  })

  it('item 4: a deal marked lost with a reason of only spaces is refused in the words of its form', async () => {
    const { context, page } = await signedIn(REP, { javaScriptEnabled: false })
    await page.goto(`${server.url}/app/pipeline`)
    const id = (await page
      .locator('[data-column="demo"] .deal-card[data-editable]')
      .first()
      .getAttribute('data-deal'))!
    await page.goto(`${server.url}/app/deals/${id}`)
    await page.getByLabel('Why was it lost?').fill('   ')
    await page.getByRole('button', { name: 'Mark lost' }).click()
    await page.waitForURL(/error=/)
    expect(await page.getByRole('alert').first().innerText()).toBe(
      'Why was it lost? Say why the deal was lost.',
    )
    await screenshot(page, 'app-ux-lost-reason-refused')
    await context.close()
  })

  it('item 5: a campaign’s clicks per link are labelled by host and path, wrapping on a phone', async () => {
    const list = await fetch(`${server.url}/api/campaigns`, { headers: { cookie: adminCookie } })
    const { campaigns } = (await list.json()) as { campaigns: Array<{ id: string; name: string }> }
    const campaign = campaigns.find((c) => c.name === 'Logistics leaders: stalled pipeline')!
    const results = await fetch(`${server.url}/api/campaigns/${campaign.id}/results`, {
      headers: { cookie: adminCookie },
    })
    const { links } = (await results.json()) as { links: Array<{ url: string }> }
    expect(links.length).toBeGreaterThan(0)

    const { context, page } = await signedIn(ADMIN, { width: 390 })
    await page.goto(`${server.url}/app/campaigns/${campaign.id}`)
    const rows = page.getByRole('list', { name: 'Human clicks per link' }).locator('li')
    expect(await rows.count()).toBe(links.length)
    for (const [i, link] of links.entries()) {
      const url = new URL(link.url)
      const label = rows.nth(i).locator('.link-label')
      // Seen: the host and the path, from the start; heard: the whole address.
      const seen = await label.locator('[aria-hidden="true"]').innerText()
      expect(seen.startsWith(`${url.host}${url.pathname}`.slice(0, 70))).toBe(true)
      expect(await label.getAttribute('title')).toBe(link.url)
      expect(await label.innerText()).toContain(link.url)
    }
    await screenshot(page, 'app-ux-campaign-links-390')
    await screenshot(
      page,
      'app-ux-campaign-links-390-results',
      page.locator('section[aria-labelledby="results-h"]'),
    )
    expect(await horizontalOverflow(page)).toEqual({ width: 390, culprits: [] })
    expect(await axeViolations(page)).toEqual([])
    await context.close()
  })

  it('item 6: an invitation’s password hint states every rule, the email’s name included', async () => {
    const res = await fetch(`${server.url}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: adminCookie, origin: server.url },
      body: JSON.stringify({ email: 'jordan.lee@frontdoor.example', name: 'Jordan', role: 'rep' }),
    })
    const { inviteLink } = (await res.json()) as { inviteLink: string }
    const context = await browser.newContext({
      viewport: { width: 390, height: 900 },
      bypassCSP: true,
    })
    const page = await context.newPage()
    await page.goto(inviteLink.replace(/^https?:\/\/[^/]+/, server.url))
    const hint = await page.locator('#password-hint').innerText()
    expect(hint).toBe(
      '10 to 256 characters, not one character repeated, not containing “jordan.lee” (your email’s name), not starting with a common password such as “password” or “1234567890”.',
    )
    expect(await page.getByLabel('New password').getAttribute('aria-describedby')).toBe(
      'password-hint',
    )
    await screenshot(page, 'app-ux-invitation-password-390')
    expect(await axeViolations(page)).toEqual([])
    await context.close()
  })
})
