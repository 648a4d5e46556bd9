import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  allStarted,
  axeViolations,
  hasChromium,
  launchBrowser,
  signInWithForm,
  startServer,
  type TestServer,
} from './harness.ts'

// Search everywhere and the keyboard shortcuts in real Chromium against the production server
// with the demo data: a rep finds a contact with the keyboard alone, the shortcuts go where they
// say and never fire while typing, and the search box works with JavaScript off.

const REP = 'riley@frontdoor.example'

describe.skipIf(!hasChromium)('search and keyboard shortcuts (real Chromium)', () => {
  let server: TestServer
  let browser: Browser
  let contact: { id: string; email: string }

  const signIn = async (context: BrowserContext) =>
    signInWithForm(await context.newPage(), server.url, REP, DEMO_PASSWORD)
  const focused = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement
      return { id: el?.id ?? '', href: el?.getAttribute('href') ?? null }
    })

  beforeAll(async () => {
    await allStarted([
      startServer({ DEMO_SEED: 'yes' }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
    const signedIn = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: REP, password: DEMO_PASSWORD }),
    })
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!
    const list = (await (
      await fetch(`${server.url}/api/contacts`, { headers: { cookie } })
    ).json()) as { rows: Array<{ id: string; email: string }> }
    contact = list.rows[0]!
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('finds a contact with the search box using only the keyboard', async () => {
    // bypassCSP: only so the test can inject axe-core; the page's own scripts are files.
    const context = await browser.newContext({ bypassCSP: true })
    const page = await signIn(context)
    await page.goto(`${server.url}/app/pipeline`)
    await page.keyboard.press('/')
    expect((await focused(page)).id).toBe('app-search')
    await page.keyboard.type(contact.email)
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/app\/search\?q=/)
    await page.getByRole('heading', { name: 'Contacts' }).waitFor()
    expect(await axeViolations(page)).toEqual([])
    const target = `/app/contacts/${contact.id}`
    for (let i = 0; i < 100 && (await focused(page)).href !== target; i++)
      await page.keyboard.press('Tab')
    expect((await focused(page)).href).toBe(target)
    await page.keyboard.press('Enter')
    await page.waitForURL(new RegExp(`${target}$`))
    expect(await page.locator('main').innerText()).toContain(contact.email)
    await context.close()
  })

  it('lists the shortcuts, goes where they say, and stays quiet while typing', async () => {
    // bypassCSP: only so the test can inject axe-core; the page's own scripts are files.
    const context = await browser.newContext({ bypassCSP: true })
    const page = await signIn(context)
    await page.goto(`${server.url}/app/search?q=a`)
    // Typing in the search box: `g`, `p` and `?` are letters, not shortcuts.
    await page.keyboard.press('/')
    await page.keyboard.type('gp?')
    expect(await page.locator('#app-search').inputValue()).toBe('gp?')
    expect(page.url()).toContain('/app/search')
    expect(await page.locator('dialog[open]').count()).toBe(0)
    await page.locator('#app-search').evaluate((el) => (el as HTMLElement).blur())

    await page.keyboard.press('?')
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' })
    await dialog.waitFor()
    expect(await axeViolations(page)).toEqual([])
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })

    // A modifier held: not a shortcut.
    await page.keyboard.press('Control+/')
    expect((await focused(page)).id).not.toBe('app-search')

    await page.keyboard.press('g')
    await page.keyboard.press('p')
    await page.waitForURL(/\/app\/pipeline$/)
    await page.keyboard.press('g')
    await page.keyboard.press('f')
    await page.waitForURL(/\/app\/forecast$/)
    await page.keyboard.press('g')
    await page.keyboard.press('l')
    await page.waitForURL(/\/app\/leads$/)
    await page.keyboard.press('g')
    await page.keyboard.press('d')
    await page.waitForURL(/\/app\/my-day$/)

    // `n` on one of the rep's deals: the first field of "plan a next step".
    await page.goto(`${server.url}/app/pipeline`)
    // A card's link (the page's first deal link is the New deal button).
    const deal = await page.locator('.deal-card h3 a').first().getAttribute('href')
    await page.goto(`${server.url}${deal}`)
    await page.keyboard.press('n')
    const field = await focused(page)
    expect(
      await page.evaluate(
        (id) => !!document.querySelector(`#next-steps form.plan-form #${id}`),
        field.id,
      ),
    ).toBe(true)
    await context.close()
  })

  it('searches with JavaScript off: the box is a plain form', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false })
    const page = await signIn(context)
    await page.goto(`${server.url}/app/leads`)
    await page
      .getByRole('searchbox', { name: 'Search deals, contacts and companies' })
      .fill(contact.email)
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.waitForURL(/\/app\/search\?q=/)
    await expect(page.locator(`a[href="/app/contacts/${contact.id}"]`).count()).resolves.toBe(1)
    // A company found (by its domain) links to its own page (it once went to the contacts list).
    const domain = contact.email.split('@')[1]!
    await page.goto(`${server.url}/app/search?${new URLSearchParams({ q: domain })}`)
    const company = page.locator('section[aria-labelledby="companies-h"] a').first()
    expect(await company.getAttribute('href')).toMatch(/^\/app\/companies\/[0-9a-f-]{36}$/)
    await context.close()
  })
})
