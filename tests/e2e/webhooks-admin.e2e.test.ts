import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  hasChromium,
  launchBrowser,
  screenshot,
  signInWithForm,
  startServer,
  type TestServer,
} from './harness.ts'

// The webhooks page with JavaScript off, in real Chromium against the production server: a
// refused subscription comes back with the URL typed and the events ticked, the problem beside
// the field, as the app's other forms do (api/http/form-flash.ts).

describe.skipIf(!hasChromium)('the webhooks page without JavaScript (real Chromium)', () => {
  let server: TestServer
  let browser: Browser

  beforeAll(async () => {
    server = await startServer({ DEMO_SEED: 'yes' })
    browser = await launchBrowser()
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('keeps the URL and the events ticked when a subscription is refused', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await signInWithForm(page, server.url, 'morgan@frontdoor.example', DEMO_PASSWORD)
    await page.goto(`${server.url}/app/admin/webhooks`)
    const url = page.getByLabel('URL (https://…)')
    const subscribe = page.getByRole('button', { name: 'Subscribe' })

    // Production takes https:// URLs only.
    await url.fill('http://crm.example.com/hooks/frontdoor')
    await page.getByLabel('deal.won').check()
    await page.getByLabel('lead.captured').check()
    await subscribe.click()
    await page.waitForURL(/\/app\/admin\/webhooks\?error=/)
    expect(new URL(page.url()).search).not.toContain('crm.example.com')
    expect(await url.inputValue()).toBe('http://crm.example.com/hooks/frontdoor')
    expect(await url.getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#hook-url-error').innerText()).toMatch(/https:\/\//)
    expect(await page.getByLabel('deal.won').isChecked()).toBe(true)
    expect(await page.getByLabel('lead.captured').isChecked()).toBe(true)
    expect(await page.getByLabel('deal.lost').isChecked()).toBe(false)
    await screenshot(page, 'webhooks-refused')

    // No event chosen: the URL stays, the problem is said in the events' group.
    await url.fill('https://crm.example.com/hooks/frontdoor')
    await page.getByLabel('deal.won').uncheck()
    await page.getByLabel('lead.captured').uncheck()
    await subscribe.click()
    await page.waitForURL(/\/app\/admin\/webhooks\?error=/)
    expect(await url.inputValue()).toBe('https://crm.example.com/hooks/frontdoor')
    expect(await page.locator('#hook-events-error').innerText()).toBe('Choose at least one event.')

    // Once: a reload shows the empty form again.
    await page.goto(`${server.url}/app/admin/webhooks`)
    expect(await url.inputValue()).toBe('')
    await context.close()
  })
})
