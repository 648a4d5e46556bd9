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

// Taking a recipient out and following up with non-clickers, in Chromium with JavaScript off at
// 1280 px, against the production server with the demo team: plain forms, 303s back, notices.

const SDR = 'taylor@frontdoor.example'

describe.skipIf(!hasChromium)('taking out and following up (real Chromium, no JavaScript)', () => {
  let server: TestServer
  let browser: Browser

  beforeAll(async () => {
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
  })

  const signIn = async (): Promise<Page> =>
    signInWithForm(
      await (
        await browser.newContext({
          javaScriptEnabled: false,
          viewport: { width: 1280, height: 900 },
        })
      ).newPage(),
      server.url,
      SDR,
      DEMO_PASSWORD,
    )

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

  it('takes one waiting recipient out from the list, back on the same filter', async () => {
    const page = await signIn()
    await page.goto(`${server.url}/app/campaigns/new`)
    await page.getByLabel('Name', { exact: true }).fill('E2E take-out')
    await page.getByLabel('Sender address').fill('taylor@frontdoor.example')
    await page.getByLabel('Subject').fill('A question for {{company|your team}}')
    await page.getByLabel('Message (plain text)').fill('Hi {{firstName|there}},\n\nTaylor')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}\?notice=/)
    const campaignUrl = page.url().split('?')[0]!
    await page.getByLabel(/Import a CSV/).setInputFiles({
      name: 'prospects.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'email,first name,last name,company\n' +
          'ada@takeout.example,Ada,Lovelace,Analytical\n' +
          'bob@takeout.example,Bob,Builder,Bricks\n' +
          'cy@takeout.example,Cy,Young,Pitch\n',
      ),
    })
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await page.getByText('Done:').waitFor({ timeout: 30_000 })

    await page.goto(`${campaignUrl}?status=pending#recipients`)
    const list = page.getByRole('region', { name: 'Recipient list' })
    await list.getByRole('button', { name: 'Take out Bob Builder' }).click()
    await page.waitForURL(/notice=/)
    const back = new URL(page.url())
    expect(back.pathname).toBe(new URL(campaignUrl).pathname)
    expect(back.searchParams.get('status')).toBe('pending')
    await expect(
      page.getByText('Recipient taken out: they get nothing from this campaign.').count(),
    ).resolves.toBe(1)
    await expect(list.locator('tbody tr').count()).resolves.toBe(2)
    await page.goto(`${campaignUrl}#recipients`)
    await expect(list.getByText('Taken out', { exact: true }).count()).resolves.toBe(1)
    await expect(list.getByRole('button', { name: /^Take out / }).count()).resolves.toBe(2)
    expect(await violations(page)).toEqual([])
    await screenshot(page, 'campaign-recipients-take-out')
  }, 120_000)

  it('follows the demo campaign up with its non-clickers after asking first', async () => {
    const page = await signIn()
    await page.goto(`${server.url}/app/campaigns`)
    await page.getByRole('link', { name: 'Logistics leaders: stalled pipeline' }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}$/)
    const original = page.url()
    await page.getByRole('link', { name: 'Follow up with non-clickers' }).click()
    await page.waitForURL(/\/follow-up/)
    const ask = page.url()
    // The demo's second touch already follows it up and still waits to write to every
    // non-clicker: the page says so, and offers no follow-up that would write to them twice.
    await page.getByRole('heading', { name: 'Nobody to follow up' }).waitFor()
    await expect(
      page
        .getByText(
          'Already in another live campaign, not followed up: 12 people who did not click.',
        )
        .count(),
    ).resolves.toBe(1)
    await expect(
      page.getByRole('button', { name: /^Create the follow-up draft/ }).count(),
    ).resolves.toBe(0)
    expect(await violations(page)).toEqual([])
    await screenshot(page, 'campaign-follow-up-waiting')

    // Once the second touch is stopped, they can be followed up.
    await page.getByRole('note').getByRole('link', { name: 'Second touch: no click yet' }).click()
    await page.locator('summary', { hasText: 'Stop for good' }).click()
    await page.getByRole('button', { name: /^Stop for good/ }).click()
    await page.waitForURL(/\?notice=/)
    await page.goto(ask)
    await page.getByRole('heading', { name: '12 recipients to follow up' }).waitFor()
    await expect(
      page.getByRole('note').getByRole('link', { name: 'Second touch: no click yet' }).count(),
    ).resolves.toBe(1)
    expect(await violations(page)).toEqual([])
    await screenshot(page, 'campaign-follow-up-ask')
    await page.getByRole('button', { name: /^Create the follow-up draft/ }).click()
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}\?notice=Follow-up/)
    expect(page.url().split('?')[0]).not.toBe(original.split('?')[0])
    await expect(page.getByText(/^Follow-up of/).count()).resolves.toBe(1)
    await expect(
      page.getByRole('link', { name: 'Logistics leaders: stalled pipeline' }).count(),
    ).resolves.toBe(1)
    expect(await violations(page)).toEqual([])
    await screenshot(page, 'campaign-follow-up-draft')

    // The demo's second touch is the first one's follow-up, and sent nothing before it was
    // stopped: nobody to follow up, so no such link.
    await page.goto(`${server.url}/app/campaigns`)
    await page.getByRole('link', { name: 'Second touch: no click yet' }).click()
    // Counted once the page has all arrived (a click waits only for it to start).
    await page.waitForURL(/\/app\/campaigns\/[0-9a-f-]{36}$/)
    await expect(page.getByText(/^Follow-up of/).count()).resolves.toBe(1)
    await expect(
      page.getByRole('link', { name: 'Follow up with non-clickers' }).count(),
    ).resolves.toBe(0)
  }, 120_000)
})
