import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  allStarted,
  addUserAsDemoAdmin,
  axeViolations,
  hasChromium,
  launchBrowser,
  signInWithCookie,
  signInWithForm,
  screenshot,
  startServer,
  type TestServer,
} from './harness.ts'

// A rep's day in real Chromium against the production server with the demo data: take over a
// lead, plan a call, see it on My day, mark it done with an outcome — with JavaScript off, as
// every form must work — and the pages axe-clean with it on. An SDR's My day is their outbound.

describe.skipIf(!hasChromium)('My day (real Chromium, production server)', () => {
  let server: TestServer
  let browser: Browser
  let rep: { email: string; password: string }

  // The file's first sign-in goes through the form; the others by the session cookie.
  const signIn = (page: Page) => signInWithCookie(page, server.url, rep.email, rep.password)

  beforeAll(async () => {
    await allStarted([
      startServer({ DEMO_SEED: 'yes' }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
    rep = { email: 'dana.day@team.example', password: 'a long rep passphrase' }
    await addUserAsDemoAdmin(server.url, { ...rep, name: 'Dana Day', role: 'rep' })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    const code = await server?.stop()
    expect(code).toBe(0)
  })

  it('a rep takes over a lead, plans a call, sees it on My day and marks it done with an outcome (no JavaScript)', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await signInWithForm(page, server.url, rep.email, rep.password)
    // A rep's home is My day.
    expect(await page.locator('h1').innerText()).toBe('My day')
    expect(await page.getByRole('heading', { name: 'Leads waiting' }).isVisible()).toBe(true)

    await page.goto(`${server.url}/app/leads`)
    const company = await page.locator('.lead h2').first().innerText()
    // The first lead's own button (the bulk "Take over the ticked leads" comes before it).
    await page
      .locator('.lead')
      .first()
      .getByRole('button', { name: /^Take over/ })
      .click()
    await page.waitForURL(/\/app\/deals\/[0-9a-f-]{36}\?notice=/)
    const dealUrl = page.url().split('?')[0]!
    const steps = page.locator('#next-steps')
    expect(await steps.innerText()).toContain('No next step planned')

    await steps.getByLabel('Type', { exact: true }).selectOption('call')
    await steps.getByLabel('Note', { exact: true }).fill('Ask who signs off the budget')
    await steps.getByRole('button', { name: 'Plan', exact: true }).click()
    await page.waitForURL(/notice=Next\+step\+planned/)
    expect(await page.locator('#next-steps .step').first().innerText()).toMatch(/Call[\s\S]*Today/)
    expect(await page.locator('.timeline').innerText()).toContain('Next step planned: Call, due ')

    await page.goto(`${server.url}/app/pipeline`)
    const card = page.locator('.deal-card', { hasText: company })
    expect(await card.innerText()).toContain('Next: Call')

    await page.getByRole('link', { name: 'My day', exact: true }).click()
    await page.waitForURL(/\/app\/my-day$/)
    const today = page.locator('.day-group', { has: page.getByRole('heading', { name: /^Today/ }) })
    const item = today.locator('.day-step', { hasText: company })
    expect(await item.innerText()).toContain('Ask who signs off the budget')
    await item.getByPlaceholder(/Outcome/).fill('left voicemail')
    await item.getByRole('button', { name: 'Done' }).click()
    await page.waitForURL(/\/app\/my-day\?notice=Done/)
    expect(await page.locator('.day-step', { hasText: company }).count()).toBe(0)
    // Done, the deal has no next step any more: My day says so.
    const bare = page.locator('section', {
      has: page.getByRole('heading', { name: 'Deals without a next step' }),
    })
    expect(await bare.innerText()).toContain(company)

    await page.goto(dealUrl)
    expect(await page.locator('.timeline').innerText()).toContain('Call — left voicemail')
    await context.close()
  })

  it('shows an SDR their outbound at /app, a new SDR the way to start; a rep’s and an admin’s home unchanged', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
    })
    const page = await context.newPage()
    const heading = (name: string) => page.getByRole('heading', { name, exact: true })

    // The demo SDR (their demo campaign has sent everything: completed) drafts a new one.
    const signedIn = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'taylor@frontdoor.example', password: DEMO_PASSWORD }),
    })
    const drafted = await fetch(`${server.url}/api/campaigns`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: signedIn.headers.get('set-cookie')!.split(';')[0]!,
        origin: server.url,
      },
      body: JSON.stringify({
        name: 'Retail buyers: Q1',
        senderName: 'Taylor Brooks',
        senderEmail: 'taylor@frontdoor.example',
        subjectTemplate: 'A question, {{firstName|there}}',
        bodyTemplate: 'Hi {{firstName|there}}, see https://frontdoor.example/ — Taylor',
        ratePerHour: 50,
        windowStartHour: 8,
        windowEndHour: 18,
        timezone: 'Europe/Berlin',
      }),
    })
    expect(drafted.status).toBe(201)
    const { campaign: draft } = (await drafted.json()) as { campaign: { id: string } }

    // Their day: the week's figures, the draft, the targets their clicks made.
    await signInWithCookie(page, server.url, 'taylor@frontdoor.example', DEMO_PASSWORD)
    expect(await page.locator('h1').innerText()).toBe('My day')
    expect(await page.title()).toBe('My day · Frontdoor')
    for (const figure of [
      'Messages sent',
      'Human clicks',
      'Targets created',
      'Taken over by a rep',
    ])
      expect(await page.locator('dt', { hasText: figure }).isVisible(), figure).toBe(true)
    const campaigns = page.locator('section', { has: heading('Campaigns in progress') })
    const line = campaigns.locator('li', { hasText: 'Retail buyers: Q1' })
    expect(await line.getByRole('link').getAttribute('href')).toBe(`/app/campaigns/${draft.id}`)
    expect(await line.innerText()).toMatch(/0 recipients[\s\S]*draft/)
    // The demo campaign is completed: not in progress.
    expect(await campaigns.innerText()).not.toContain('Logistics leaders')
    const targets = page.locator('section', { has: heading('Your newest targets') })
    expect(await targets.locator('li').count()).toBeGreaterThan(0)
    expect(await targets.locator('li a').first().getAttribute('href')).toMatch(/^\/app\/deals\//)
    // Nothing about other people's pipeline, nothing to take over.
    expect(await heading('Needs attention').count()).toBe(0)
    expect(await page.getByText('Take over').count()).toBe(0)
    // Readable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await screenshot(page, 'sdr-day-390')

    // The same page at /app/my-day (the shortcut g d, the nav's My day).
    await page.goto(`${server.url}/app/my-day`)
    expect(await heading('Campaigns in progress').isVisible()).toBe(true)
    expect(
      await page
        .getByRole('navigation', { name: 'App' })
        .getByRole('link', { name: 'My day' })
        .getAttribute('aria-current'),
    ).toBe('page')
    await context.clearCookies()

    // A new SDR: no figures, the way to a first campaign.
    const newSdr = { email: 'nia.new@team.example', password: 'a long sdr passphrase' }
    await addUserAsDemoAdmin(server.url, { ...newSdr, name: 'Nia New', role: 'sdr' })
    await signInWithCookie(page, server.url, newSdr.email, newSdr.password)
    expect(await page.locator('h1').innerText()).toBe('My day')
    expect(await heading('Start your first campaign').isVisible()).toBe(true)
    expect(await page.locator('dt', { hasText: 'Messages sent' }).count()).toBe(0)
    await screenshot(page, 'sdr-day-new-390')
    await page.getByRole('link', { name: 'New campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/new$/)
    await context.clearCookies()

    // A rep's home is still their My day, an admin's the team's summary.
    await signIn(page)
    expect(await page.locator('h1').innerText()).toBe('My day')
    expect(await heading('Leads waiting').isVisible()).toBe(true)
    expect(await heading('Campaigns in progress').count()).toBe(0)
    await context.clearCookies()
    await signInWithCookie(page, server.url, 'morgan@frontdoor.example', DEMO_PASSWORD)
    expect(await page.locator('h1').innerText()).toMatch(/^Welcome, /)
    expect(await heading('Needs attention').isVisible()).toBe(true)
    expect(await heading('Campaigns in progress').count()).toBe(0)
    await context.close()
  })

  it('My day and the deal page are axe-clean', async () => {
    const context = await browser.newContext({
      bypassCSP: true,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await signIn(page)
    await page.goto(`${server.url}/app/my-day`)
    await screenshot(page, 'my-day')
    expect(await axeViolations(page)).toEqual([])
    const deal = page.locator('section', {
      has: page.getByRole('heading', { name: 'Deals without a next step' }),
    })
    await deal.getByRole('link').first().click()
    await page.waitForURL(/\/app\/deals\//)
    await screenshot(page, 'deal-next-steps')
    expect(await axeViolations(page)).toEqual([])
    await page.goto(`${server.url}/app/pipeline`)
    expect(await axeViolations(page)).toEqual([])
    await context.close()
  })

  it('an SDR’s My day is axe-clean', async () => {
    const context = await browser.newContext({
      bypassCSP: true,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await signInWithCookie(page, server.url, 'taylor@frontdoor.example', DEMO_PASSWORD)
    await screenshot(page, 'sdr-day')
    expect(await axeViolations(page)).toEqual([])
    await context.close()
  })
})
