import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import {
  addUserAsDemoAdmin,
  axeViolations,
  hasChromium,
  launchBrowser,
  signInWithForm,
  screenshot,
  startServer,
  type TestServer,
} from './harness.ts'

// A rep's day in real Chromium against the production server with the demo data: take over a
// lead, plan a call, see it on My day, mark it done with an outcome — with JavaScript off, as
// every form must work — and the pages axe-clean with it on.

describe.skipIf(!hasChromium)('My day (real Chromium, production server)', () => {
  let server: TestServer
  let browser: Browser
  let rep: { email: string; password: string }

  const signIn = (page: Page) => signInWithForm(page, server.url, rep.email, rep.password)

  beforeAll(async () => {
    server = await startServer({ DEMO_SEED: 'yes' })
    browser = await launchBrowser()
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
    await signIn(page)
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
})
