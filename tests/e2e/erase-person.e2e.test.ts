import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  allStarted,
  axeViolations,
  hasChromium,
  launchBrowser,
  screenshot,
  signInWithForm,
  startServer,
  type TestServer,
} from './harness.ts'

// Erasing a person from their contact page, in Chromium with JavaScript off at 1280 px, as the
// demo data's admin: the typed confirmation refused once (the form comes back open, the problem
// beside the field), then accepted: 303 to the contacts list with a notice.

const ADMIN = 'morgan@frontdoor.example'

describe.skipIf(!hasChromium)('erasing a person (real Chromium, no JavaScript)', () => {
  let server: TestServer
  let browser: Browser

  beforeAll(async () => {
    await allStarted([
      startServer({ DEMO_SEED: 'yes' }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** axe runs as a script: the same page, signed in as the same person, with JavaScript on. */
  const violations = async (page: Page) => {
    const context = await browser.newContext({
      bypassCSP: true,
      storageState: await page.context().storageState(),
    })
    const withJs = await context.newPage()
    await withJs.goto(page.url())
    const found = await axeViolations(withJs)
    await context.close()
    return found
  }

  it('asks for the address, refuses another, then erases and says so', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 900 },
    })
    const page = await signInWithForm(await context.newPage(), server.url, ADMIN, DEMO_PASSWORD)
    const list = (await await fetch(`${server.url}/api/contacts`, {
      headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') },
    }).then((r) => r.json())) as { rows: Array<{ id: string; email: string }> }
    const person = list.rows[0]!
    await page.goto(`${server.url}/app/contacts/${person.id}`)
    await page.getByText('Erase this person…').click()
    await page.getByLabel(/^To confirm, type/).fill('someone@else.example')
    await page.getByRole('button', { name: 'Erase this person' }).click()
    await page.waitForURL(/error=/)
    await expect(page.getByText('This is not the contact’s email address.').count()).resolves.toBe(
      1,
    )
    expect(await violations(page)).toEqual([])
    await screenshot(page, 'contact-erase-refused')

    await page.getByLabel(/^To confirm, type/).fill(person.email)
    await page.getByRole('button', { name: 'Erase this person' }).click()
    await page.waitForURL(/\/app\/contacts\?notice=/)
    await expect(page.getByText('The person was erased.', { exact: false }).count()).resolves.toBe(
      1,
    )
    await page.goto(`${server.url}/app/contacts/${person.id}`)
    await page.getByRole('heading', { name: 'Erased person' }).waitFor()
    await expect(page.getByText('Erase this person…').count()).resolves.toBe(0)
    await screenshot(page, 'contact-erased')

    // The do-not-email list holds their fingerprint, found by the whole address.
    await page.goto(`${server.url}/app/admin/suppressions?q=${encodeURIComponent(person.email)}`)
    await expect(page.getByText('Erased person', { exact: true }).count()).resolves.toBe(1)
    await expect(page.getByText(person.email, { exact: true }).count()).resolves.toBe(0)
  }, 120_000)
})
