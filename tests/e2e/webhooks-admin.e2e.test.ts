import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContextOptions } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import { newId } from '../../api/ids.ts'
import {
  allStarted,
  axeViolations,
  brokenWordsInTables,
  hasChromium,
  horizontalOverflow,
  launchBrowser,
  screenshot,
  signInWithForm,
  signedInContext,
  startServer,
  type TestServer,
} from './harness.ts'

// The webhooks page with JavaScript off, in real Chromium against the production server: a
// refused subscription comes back with the URL typed and the events ticked, the problem beside
// the field, as the app's other forms do (api/http/form-flash.ts).

// One browser for the file: each test opens contexts of its own.
let launched: Promise<Browser> | undefined
const fileBrowser = () => (launched ??= launchBrowser())
afterAll(async () => {
  await (await launched?.catch(() => undefined))?.close()
})

describe.skipIf(!hasChromium)('the webhooks page without JavaScript (real Chromium)', () => {
  let server: TestServer
  let browser: Browser

  beforeAll(async () => {
    await allStarted([
      startServer({ DEMO_SEED: 'yes' }).then((s) => (server = s)),
      fileBrowser().then((b) => (browser = b)),
    ])
  }, 120_000)
  afterAll(async () => {
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

// A subscription's page, in real Chromium against the built server (development settings, so a
// receiver on a loopback address may be subscribed, as WEBHOOK_ALLOW_ADDRESSES allows): each
// "Send again" in the delivery log says which delivery it sends, the log scrolls by keyboard, and
// "Delete" (it cannot be undone) takes a second, deliberate step that works without JavaScript.
describe.skipIf(!hasChromium)(
  'admin row buttons and a webhook subscription page (real Chromium)',
  () => {
    let server: TestServer
    let browser: Browser
    let receiver: Server
    let receiverUrl: string
    let failing = false

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        req.resume()
        res.writeHead(failing ? 503 : 204).end()
      })
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
      const port = (receiver.address() as AddressInfo).port
      receiverUrl = `http://127.0.0.1:${port}/hooks/frontdoor`
      // Production refuses the allow-list (api/env.ts): this is the development setting.
      await allStarted([
        startServer({
          DEMO_SEED: 'yes',
          NODE_ENV: 'development',
          WEBHOOK_ALLOW_ADDRESSES: `127.0.0.1:${port}`,
        }).then((s) => (server = s)),
        fileBrowser().then((b) => (browser = b)),
      ])
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
      await new Promise((resolve) => receiver?.close(resolve))
    })

    /** A context signed in as the demo admin (by the session cookie, not the form). */
    const asAdmin = (options: BrowserContextOptions) =>
      signedInContext(browser, server.url, 'morgan@frontdoor.example', DEMO_PASSWORD, options)
    const NO_JS = { javaScriptEnabled: false, viewport: { width: 1280, height: 900 } }

    it('names each "Send again" by its delivery and deletes only after a confirming step', async () => {
      const context = await asAdmin(NO_JS)
      const page = await context.newPage()
      await page.goto(`${server.url}/app/admin/webhooks`)
      await page.getByLabel('URL (https://…)').fill(receiverUrl)
      await page.getByLabel('deal.won').check()
      await page.getByRole('button', { name: 'Subscribe' }).click()
      await page.waitForURL(/\/app\/admin\/webhooks\/[0-9a-f-]{36}\?notice=Subscribed/)
      const subscriptionUrl = page.url().split('?')[0]!

      for (let i = 0; i < 2; i++) {
        await page.getByRole('button', { name: 'Send a test event' }).click()
        await page.waitForURL(/\?notice=Test\+event\+delivered/)
      }
      // Two deliveries, two buttons: their names differ and say which event each sends again.
      const log = page.getByRole('region', { name: 'Delivery log' })
      expect(await log.getAttribute('tabindex')).toBe('0')
      const rows = log.locator('tbody tr')
      expect(await rows.count()).toBe(2)
      const names = new Set<string>()
      for (let i = 0; i < 2; i++) {
        const eventId = (await rows.nth(i).locator('td').nth(1).locator('.mono').innerText()).trim()
        const again = rows.nth(i).getByRole('button', { name: /^Send again/ })
        const name = (await again.getAttribute('aria-label')) ?? ''
        expect(name).toContain(eventId)
        names.add(name)
        await expect(
          page.getByRole('button', { name: new RegExp(`^Send again.*${eventId}`) }).count(),
        ).resolves.toBe(1)
      }
      expect(names.size).toBe(2)

      // "Delete" is not one click away: the button that deletes is behind a disclosure.
      await expect(page.getByRole('button', { name: /Delete/ }).count()).resolves.toBe(0)
      // axe runs as a script: a second context with JavaScript reads the same page, closed and open.
      const axeContext = await asAdmin({ bypassCSP: true })
      const axePage = await axeContext.newPage()
      await axePage.goto(subscriptionUrl)
      expect(await axeViolations(axePage)).toEqual([])
      await axePage.locator('summary', { hasText: 'Delete' }).click()
      expect(await axeViolations(axePage)).toEqual([])
      await axeContext.close()

      await page.locator('summary', { hasText: 'Delete' }).click()
      const remove = page.getByRole('button', { name: 'Delete this subscription' })
      expect(await remove.isVisible()).toBe(true)
      await screenshot(page, 'webhook-delete-confirm')
      await remove.click()
      await page.waitForURL(/\/app\/admin\/webhooks\?notice=Subscription\+deleted/)
      const gone = await page.goto(subscriptionUrl)
      expect(gone!.status()).toBe(404)
      await context.close()
    }, 120_000)

    it('edits a subscription and rotates its secret without JavaScript, a refused edit keeping what was typed, the secret shown only on purpose', async () => {
      const context = await asAdmin(NO_JS)
      const page = await context.newPage()
      await page.goto(`${server.url}/app/admin/webhooks`)
      await page.getByLabel('URL (https://…)').fill(receiverUrl)
      await page.getByLabel('deal.won').check()
      await page.getByRole('button', { name: 'Subscribe' }).click()
      await page.waitForURL(/\/app\/admin\/webhooks\/[0-9a-f-]{36}\?notice=Subscribed/)
      const subscriptionUrl = page.url().split('?')[0]!
      // The secret just made is shown once; any other view of the page keeps it hidden.
      const shown = page.locator('#signing-secret')
      const first = await shown.innerText()
      expect(first).toMatch(/^whsec_/)
      expect(page.url()).not.toContain(encodeURIComponent(first))
      const edit = page.getByRole('form', { name: 'Change the URL or events' })
      const url = edit.getByLabel('URL (https://…)')
      expect(await url.inputValue()).toBe(receiverUrl)
      expect(await edit.getByLabel('deal.won').isChecked()).toBe(true)

      // A private address is refused: what was typed comes back, the problem beside it.
      await url.fill('http://10.0.0.1/hooks')
      await edit.getByLabel('deal.lost').check()
      await edit.getByRole('button', { name: 'Save' }).click()
      await page.waitForURL(/\?error=/)
      expect(await url.inputValue()).toBe('http://10.0.0.1/hooks')
      expect(await url.getAttribute('aria-invalid')).toBe('true')
      expect(await page.locator('#edit-url-error').innerText()).toMatch(/public addresses/)
      expect(await edit.getByLabel('deal.lost').isChecked()).toBe(true)
      expect(await page.locator('h1').innerText()).toBe(receiverUrl)

      await url.fill(`${receiverUrl}/v2`)
      await edit.getByRole('button', { name: 'Save' }).click()
      await page.waitForURL(/\?notice=Saved/)
      expect(await page.locator('h1').innerText()).toBe(`${receiverUrl}/v2`)
      expect(await edit.getByLabel('deal.lost').isChecked()).toBe(true)

      expect(await shown.count()).toBe(0)
      expect(await page.content()).not.toContain('whsec_')
      await page.getByRole('button', { name: 'Reveal the secret' }).click()
      await page.waitForURL(/\?notice=The\+signing\+secret/)
      expect(await shown.innerText()).toBe(first)
      await page.reload()
      expect(await shown.count()).toBe(0)

      await page.getByRole('button', { name: 'Rotate the secret' }).click()
      await page.waitForURL(/\?notice=New\+signing\+secret/)
      const rotated = await shown.innerText()
      expect(rotated).toMatch(/^whsec_/)
      expect(rotated).not.toBe(first)
      expect(await page.getByText('The previous secret still signs too').count()).toBe(1)
      await screenshot(page, 'webhook-edit-rotate')

      const axeContext = await asAdmin({ bypassCSP: true })
      const axePage = await axeContext.newPage()
      await axePage.goto(subscriptionUrl)
      expect(await axeViolations(axePage)).toEqual([])
      await axeContext.close()
      await context.close()
    }, 120_000)

    it('pages and filters the delivery log and opens an event as sent, without JavaScript', async () => {
      const context = await asAdmin(NO_JS)
      const page = await context.newPage()
      await page.goto(`${server.url}/app/admin/webhooks`)
      await page.getByLabel('URL (https://…)').fill(receiverUrl)
      await page.getByLabel('deal.won').check()
      await page.getByRole('button', { name: 'Subscribe' }).click()
      await page.waitForURL(/\/app\/admin\/webhooks\/[0-9a-f-]{36}\?notice=Subscribed/)
      const subscriptionUrl = page.url().split('?')[0]!
      const send = async (notice: RegExp) => {
        await page.getByRole('button', { name: 'Send a test event' }).click()
        await page.waitForURL(notice)
      }
      for (let i = 0; i < 3; i++) await send(/\?notice=Test\+event\+delivered/)
      failing = true
      try {
        for (let i = 0; i < 2; i++) await send(/\?notice=Test\+event\+failed/)
      } finally {
        failing = false
      }
      const log = page.getByRole('region', { name: 'Delivery log' })
      const ids = () => log.locator('tbody tr td:nth-child(2) .mono').allInnerTexts()
      await page.goto(`${subscriptionUrl}`)
      const newestFirst = await ids()
      expect(newestFirst).toHaveLength(5)
      // On a phone the log scrolls in its own region; the page itself does not scroll sideways,
      // and a column is never so narrow that a word in it ("webhook-timestamp", an id) stacks a
      // few letters a line.
      const onAPhone = async (name: string) => {
        await page.setViewportSize({ width: 390, height: 900 })
        expect(await horizontalOverflow(page)).toEqual({ width: 390, culprits: [] })
        expect(await brokenWordsInTables(page)).toEqual([])
        await screenshot(page, name)
        await page.setViewportSize({ width: 1280, height: 900 })
      }
      await onAPhone('webhook-log-390')

      // Two at a time: Older, Older, then Newer back; each entry once, in order.
      await page.goto(`${subscriptionUrl}?limit=2`)
      const seen = [...(await ids())]
      const pages = page.getByRole('navigation', { name: 'Pages' })
      for (let i = 0; i < 2; i++) {
        await pages.getByRole('link', { name: 'Older' }).click()
        await page.waitForURL(/cursor=/)
        seen.push(...(await ids()))
      }
      expect(seen).toEqual(newestFirst)
      expect(await pages.getByRole('link', { name: 'Older' }).count()).toBe(0)
      await pages.getByRole('link', { name: 'Newer' }).click()
      await page.waitForURL(/newer=/)
      expect(await ids()).toEqual(newestFirst.slice(2, 4))

      // Only the failures, by the GET form.
      await page.goto(subscriptionUrl)
      await page.getByLabel('Outcome').selectOption('failed')
      await page.getByRole('button', { name: 'Show', exact: true }).click()
      await page.waitForURL(/status=failed/)
      expect(await ids()).toEqual(newestFirst.slice(0, 2))
      expect(await log.locator('.badge.danger').count()).toBe(2)
      expect(await page.getByLabel('Outcome').inputValue()).toBe('failed')
      await screenshot(page, 'webhook-log-failed')

      // A cursor not given out: 400 as the API answers it, said, and the log from its newest.
      const bad = await page.goto(`${subscriptionUrl}?cursor=nonsense`)
      expect(bad!.status()).toBe(400)
      expect(await page.getByRole('alert').innerText()).toMatch(
        /cursor is not one this log gave out/,
      )
      expect(await ids()).toEqual(newestFirst)

      // The event as sent: its body, its headers, its attempts.
      await page.goto(`${subscriptionUrl}?status=failed`)
      await log.getByRole('link', { name: 'webhook.test' }).first().click()
      await page.waitForURL(/\/events\/[0-9a-f-]{36}$/)
      const eventUrl = page.url()
      expect(eventUrl).toContain(newestFirst[0]!)
      expect(await page.locator('h1').innerText()).toBe('Event webhook.test')
      const body = JSON.parse(
        (await page.getByTestId('body-as-sent').textContent()) ?? '',
      ) as object
      expect(body).toMatchObject({ type: 'webhook.test', data: { message: expect.any(String) } })
      expect(await page.getByRole('region', { name: 'Headers' }).innerText()).toContain(
        newestFirst[0]!,
      )
      const attempts = page.getByRole('region', { name: 'Attempts' }).locator('tbody tr')
      expect(await attempts.count()).toBe(1)
      expect(await attempts.first().innerText()).toMatch(/503/)
      await screenshot(page, 'webhook-event')
      await onAPhone('webhook-event-390')
      await page.getByRole('button', { name: 'Send again' }).click()
      await page.waitForURL(/\?notice=Sent\+again/)
      await page.goto(eventUrl)
      expect(await attempts.count()).toBe(2)
      // Delivered by hand at last: it left the queue, and its page says when; as the first.
      const delivered = page.locator('p', { hasText: /^Delivery: delivered at \S/ })
      expect(await delivered.count()).toBe(1)
      await page.goto(`${subscriptionUrl}/events/${newestFirst[4]}`)
      expect(await delivered.count()).toBe(1)
      expect(await attempts.count()).toBe(1)
      expect((await page.goto(`${subscriptionUrl}/events/not-an-id`))!.status()).toBe(404)

      const axeContext = await asAdmin({ bypassCSP: true })
      const axePage = await axeContext.newPage()
      await axePage.goto(`${subscriptionUrl}?status=failed&limit=1`)
      expect(await axeViolations(axePage)).toEqual([])
      await axePage.goto(eventUrl)
      expect(await axeViolations(axePage)).toEqual([])
      // An event it was never sent, and an unknown subscription: headed pages, not bare notes.
      for (const path of [
        `${subscriptionUrl}/events/${newId()}`,
        `/app/admin/webhooks/${newId()}`,
      ]) {
        const missing = await axePage.goto(new URL(path, subscriptionUrl).href)
        expect(missing!.status()).toBe(404)
        expect(await axeViolations(axePage), path).toEqual([])
      }
      await axeContext.close()
      await context.close()
    }, 120_000)

    it('names each "Revoke" on the API tokens page by its token', async () => {
      const context = await asAdmin({ javaScriptEnabled: false })
      const page = await context.newPage()
      for (const name of ['CRM sync', 'BI export']) {
        await page.goto(`${server.url}/app/admin/api`)
        await page.getByLabel('Name (what will use it)').fill(name)
        await page.locator('input[type=checkbox]').first().check()
        await page.getByRole('button', { name: 'Create token' }).click()
        await page.waitForURL(/\/app\/admin\/api/)
      }
      await page.goto(`${server.url}/app/admin/api`)
      const tokens = page.getByRole('region', { name: 'API tokens' })
      await expect(tokens.getByRole('button', { name: /^Revoke/ }).count()).resolves.toBe(2)
      for (const name of ['CRM sync', 'BI export'])
        await expect(
          tokens.getByRole('button', { name: new RegExp(`^Revoke.*${name}`) }).count(),
        ).resolves.toBe(1)
      await context.close()
    })
  },
)
