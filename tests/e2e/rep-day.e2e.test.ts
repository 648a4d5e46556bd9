import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import {
  allStarted,
  addUserAsDemoAdmin,
  axeViolations,
  hasChromium,
  launchBrowser,
  screenshot,
  signInWithForm,
  startServer,
  type TestServer,
} from './harness.ts'

// A rep's day with JavaScript off, in real Chromium against the production server: a refused
// form comes back with what was typed and the problem beside the field (nothing typed in the
// URL); times read on the rep's clock; a next step is rescheduled and cancelled from the deal page
// and from My day; the days a won deal's dates may take end on the rep's today, not UTC's.

const ZONE = 'Asia/Kolkata' // UTC+5:30: no clock shows it by accident
// The server's clock starts here (and moves on at the real pace): 09:00 on Sunday, Dec 6 in
// Auckland (NZDT, UTC+13), still Saturday, Dec 5 in UTC — and 01:30 on Dec 6 in Kolkata.
const CLOCK = new Date('2026-12-05T20:00:00Z')
const AUCKLAND = 'Pacific/Auckland'
const AUCKLAND_TODAY = '2026-12-06'
const UTC_TODAY = '2026-12-05'

describe.skipIf(!hasChromium)('a rep’s working day without JavaScript (real Chromium)', () => {
  let server: TestServer
  let browser: Browser
  const rep = { email: 'rita.refill@team.example', password: 'a long rep passphrase' }

  const signIn = (page: Page) => signInWithForm(page, server.url, rep.email, rep.password)
  /** The rep signed in with JavaScript off, working in `zone` (saved from My day). */
  async function repWorkingIn(zone: string) {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await signIn(page)
    await page.goto(`${server.url}/app/my-day`)
    await page.getByLabel('Time zone').fill(zone)
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForURL(/notice=/)
    return { context, page }
  }

  beforeAll(async () => {
    await allStarted([
      startServer({ DEMO_SEED: 'yes' }, { clock: CLOCK }).then((s) => (server = s)),
      launchBrowser().then((b) => (browser = b)),
    ])
    await addUserAsDemoAdmin(server.url, { ...rep, name: 'Rita Refill', role: 'rep' })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    const code = await server?.stop()
    expect(code).toBe(0)
  })

  it('keeps what was typed when a form is refused, shows times on the rep’s clock, reschedules and cancels a next step', async () => {
    // The rep works in Kolkata.
    const { context, page } = await repWorkingIn(ZONE)

    // A deal entered as won without its dates is refused: everything typed comes back.
    await page.goto(`${server.url}/app/deals/new`)
    await page.getByLabel('Email').fill('rosa.refill@referral.example')
    await page.getByLabel('First name').fill('Rosa')
    await page.getByLabel('Job title').fill('Head of Ops')
    await page.getByLabel('Stage').selectOption('won')
    await page.getByLabel('Amount').fill('48,000')
    await page.getByLabel('Why is this a deal?').fill('Met at the Pune fair')
    await page.getByRole('button', { name: 'Add deal' }).click()
    await page.waitForURL(/\/app\/deals\/new\?error=/)
    // The query only: the server's port may well contain 48.
    expect(decodeURIComponent(new URL(page.url()).search)).not.toMatch(/rosa|Pune|48/i)
    expect(await page.getByRole('alert').innerText()).toMatch(/contract|paid|payment/i)
    expect(await page.getByLabel('Email').inputValue()).toBe('rosa.refill@referral.example')
    expect(await page.getByLabel('First name').inputValue()).toBe('Rosa')
    expect(await page.getByLabel('Job title').inputValue()).toBe('Head of Ops')
    expect(await page.getByLabel('Stage').inputValue()).toBe('won')
    expect(await page.getByLabel('Amount').inputValue()).toBe('48,000')
    expect(await page.getByLabel('Why is this a deal?').inputValue()).toBe('Met at the Pune fair')
    // The missing dates are marked where they go, in the "Already won?" part, opened.
    expect(await page.getByLabel('Contract signed on').isVisible()).toBe(true)
    expect(await page.getByLabel('Contract signed on').getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#paymentReceivedOn-error').innerText()).toBe(
      'When was the payment received?',
    )
    await screenshot(page, 'new-deal-refused')
    // Once: a reload shows the empty form again.
    await page.goto(`${server.url}/app/deals/new`)
    expect(await page.getByLabel('Email').inputValue()).toBe('')

    // Entered again at Demo, the deal's timeline reads on the rep's clock.
    await page.getByLabel('Email').fill('rosa.refill@referral.example')
    await page.getByLabel('First name').fill('Rosa')
    await page.getByLabel('Stage').selectOption('demo')
    await page.getByRole('button', { name: 'Add deal' }).click()
    await page.waitForURL(/\/app\/deals\/[0-9a-f-]{36}\?notice=/)
    const dealUrl = page.url().split('?')[0]!
    const firstEntry = page.locator('.timeline li time').first()
    expect(await firstEntry.innerText()).toMatch(/, \d\d:\d\d GMT\+5:30$/)
    const at = new Date((await firstEntry.getAttribute('datetime'))!)
    const onTheirClock = new Intl.DateTimeFormat('en', {
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZone: ZONE,
    }).format(at)
    expect(await firstEntry.innerText()).toContain(onTheirClock)

    // A next step planned, then moved to tomorrow at 10:30, then cancelled.
    const steps = page.locator('#next-steps')
    await steps.getByLabel('Type', { exact: true }).selectOption('call')
    await steps.getByRole('button', { name: 'Plan', exact: true }).click()
    await page.waitForURL(/notice=Next\+step\+planned/)
    const step = page.locator('#next-steps .step').first()
    await step.getByText('Reschedule or cancel').click()
    const due = step.getByLabel('New due date')
    const today = await due.inputValue()
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000)
      .toISOString()
      .slice(0, 10)
    await due.fill(tomorrow)
    await step.getByLabel('Time (optional)').fill('10:30')
    await step.getByRole('button', { name: 'Reschedule' }).click()
    await page.waitForURL(/notice=Next\+step\+rescheduled/)
    const timeline = page.locator('.timeline')
    expect(await timeline.innerText()).toMatch(
      // The runtime may name the zone by its older ICU name (Asia/Calcutta).
      /Next step rescheduled: Call from .+ to .+, 10:30 \(Asia\/(Kolkata|Calcutta)\)/,
    )
    expect(await page.locator('#next-steps .step').first().innerText()).toContain('10:30')
    await page.locator('#next-steps .step').first().getByText('Reschedule or cancel').click()
    await page.getByRole('button', { name: /^Cancel this step\s*: the call due / }).click()
    await page.waitForURL(/notice=Next\+step\+cancelled/)
    expect(await page.locator('#next-steps').innerText()).toContain('No next step planned')
    expect(await timeline.innerText()).toContain('Next step cancelled: Call, was due ')

    // The same from My day, back to My day: a call and an email planned for today on the deal
    // page; on My day the call moves to tomorrow at 11:00 and the email is cancelled.
    for (const type of ['call', 'email']) {
      await steps.getByLabel('Type', { exact: true }).selectOption(type)
      await steps.getByRole('button', { name: 'Plan', exact: true }).click()
      await page.waitForURL(/notice=Next\+step\+planned/)
    }
    await page.goto(`${server.url}/app/my-day`)
    const dayCall = page.locator('.day-step', { hasText: 'Call' })
    const dayEmail = page.locator('.day-step', { hasText: 'Email ·' })
    expect(await page.locator('.day-step').count()).toBe(2)
    await dayCall.getByText('Reschedule or cancel').click()
    const dayDue = dayCall.getByLabel('New due date')
    expect(await dayDue.getAttribute('min')).toBe(await dayDue.inputValue())
    await dayDue.fill(tomorrow)
    await dayCall.getByLabel('Time (optional)').fill('11:00')
    await dayCall.getByRole('button', { name: /^Reschedule the call with / }).click()
    await page.waitForURL(/\/app\/my-day\?notice=Next\+step\+rescheduled/)
    expect(await page.getByRole('status').innerText()).toBe('Next step rescheduled.')
    expect(await page.locator('.day-step').count()).toBe(1)
    expect(await dayEmail.count()).toBe(1)
    const comingUp = page.locator('details.day-group')
    expect(await comingUp.locator('summary').innerText()).toBe('Coming up (1)')
    expect(await comingUp.locator('li').textContent()).toContain('11:00')
    // A rep's /app is My day too, and the forms come back to it.
    await page.goto(`${server.url}/app`)
    await dayEmail.getByText('Reschedule or cancel').click()
    await dayEmail.getByRole('button', { name: /^Cancel this step\s*: the email with / }).click()
    await page.waitForURL(/\/app\?notice=Next\+step\+cancelled/)
    expect(await page.getByRole('status').innerText()).toBe('Next step cancelled.')
    expect(await page.locator('.day-step').count()).toBe(0)
    expect(await page.locator('#steps-h + .day-empty').innerText()).toMatch(/^Nothing overdue/)
    await screenshot(page, 'my-day-after-cancel')
    await page.goto(dealUrl)
    expect(await timeline.innerText()).toContain('Next step cancelled: Email, was due ')
    expect(await timeline.innerText()).toMatch(/Next step rescheduled: Call from .+ to .+, 11:00/)
    expect(await page.locator('#next-steps .step').count()).toBe(1)

    // A contact edit to an address another contact has: the edit form comes back open, with
    // what was typed and the problem beside the email field.
    await page.goto(`${server.url}/app/contacts/new`)
    await page.getByLabel('Email').fill('taken.refill@referral.example')
    await page.getByRole('button', { name: 'Add contact' }).click()
    await page.waitForURL(/\/app\/contacts\/[0-9a-f-]{36}/)
    await page.goto(dealUrl)
    await page.locator('main a[href^="/app/contacts/"]').first().click()
    await page.waitForURL(/\/app\/contacts\/[0-9a-f-]{36}$/)
    const contactUrl = page.url()
    await page.getByText('Edit contact').click()
    await page.locator('#ed-email').fill('taken.refill@referral.example')
    await page.locator('#ed-job').fill('COO')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForURL(/\?error=/)
    expect(page.url().split('?')[0]).toBe(contactUrl)
    expect(decodeURIComponent(new URL(page.url()).search)).not.toContain('COO')
    expect(await page.locator('#ed-email').inputValue()).toBe('taken.refill@referral.example')
    expect(await page.locator('#ed-email').getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#ed-job').inputValue()).toBe('COO')
    expect(await page.locator('#ed-email-error').innerText()).toBe(
      'Already another contact’s address.',
    )
    await screenshot(page, 'contact-edit-refused')
    await context.close()
  })

  it('the won dates end on the rep’s today in Auckland, a day ahead of UTC', async () => {
    const { context, page } = await repWorkingIn(AUCKLAND)
    expect(await page.locator('h1 + p').innerText()).toMatch(
      /^Sunday, December 6 · Pacific\/Auckland/,
    )

    // Entering a deal: the "already won?" dates.
    await page.goto(`${server.url}/app/deals/new`)
    for (const field of ['#signed', '#paid'])
      expect(await page.locator(field).getAttribute('max'), field).toBe(AUCKLAND_TODAY)
    await page.getByLabel('Email').fill('tama.won@referral.example')
    await page.getByLabel('First name').fill('Tama')
    await page.getByLabel('Stage').selectOption('negotiation')
    await page.getByRole('button', { name: 'Add deal' }).click()
    await page.waitForURL(/\/app\/deals\/[0-9a-f-]{36}\?notice=/)

    // Closing it as won on its page: both dates may be today in Auckland (tomorrow in UTC).
    const signed = page.locator('#won-signed')
    const paid = page.locator('#won-paid')
    expect(await signed.getAttribute('max')).toBe(AUCKLAND_TODAY)
    expect(await paid.getAttribute('max')).toBe(AUCKLAND_TODAY)
    expect(await page.locator('#step-due').getAttribute('min')).toBe(AUCKLAND_TODAY)
    await signed.fill(AUCKLAND_TODAY)
    await paid.fill(AUCKLAND_TODAY)
    await page.getByRole('button', { name: 'Mark won' }).click()
    await page.waitForURL(/notice=/)
    expect(await page.getByRole('alert').count()).toBe(0)
    expect(await page.locator('.timeline').innerText()).toContain('Contract signed Dec 6, 2026')

    // The board's won drop zone asks for the same dates.
    await page.goto(`${server.url}/app/pipeline`)
    for (const field of ['#dz-signed', '#dz-paid'])
      expect(await page.locator(field).getAttribute('max'), field).toBe(AUCKLAND_TODAY)
    expect(AUCKLAND_TODAY).not.toBe(UTC_TODAY)
    await context.close()
  })

  it('a refused form shown back is axe-clean', async () => {
    const context = await browser.newContext({
      bypassCSP: true,
      viewport: { width: 1280, height: 900 },
    })
    const page = await context.newPage()
    await signIn(page)
    await page.goto(`${server.url}/app/contacts/new`)
    await page.getByLabel('Email').fill('rosa.refill@referral.example')
    await page.getByLabel('Phone').fill('+91 20 5555 0100')
    // The page's own check would stop it; the server's refusal is what is looked at here.
    await page
      .locator('form[action="/api/contacts"]')
      .evaluate((f) => f.setAttribute('novalidate', ''))
    await page.getByLabel('Phone').fill('call me')
    await page.getByRole('button', { name: 'Add contact' }).click()
    await page.waitForURL(/\/app\/contacts\/new\?error=/)
    expect(await page.getByLabel('Email').inputValue()).toBe('rosa.refill@referral.example')
    expect(await page.locator('#phone-error').innerText()).toMatch(/phone number/)
    expect(await axeViolations(page)).toEqual([])

    // My day with a step due, its "Reschedule or cancel" open, and a reschedule to a past day
    // refused (the server's check; the page's own would stop it) and shown back there.
    await page.goto(`${server.url}/app/deals/new`)
    await page.getByLabel('Email').fill('axel.day@referral.example')
    await page.getByLabel('First name').fill('Axel')
    await page.getByLabel('Stage').selectOption('demo')
    await page.getByRole('button', { name: 'Add deal' }).click()
    await page.waitForURL(/\/app\/deals\/[0-9a-f-]{36}\?notice=/)
    await page.locator('#next-steps').getByRole('button', { name: 'Plan', exact: true }).click()
    await page.waitForURL(/notice=Next\+step\+planned/)
    await page.goto(`${server.url}/app/my-day`)
    const step = page.locator('.day-step', { hasText: 'Axel' })
    await step.getByText('Reschedule or cancel').click()
    expect(await axeViolations(page)).toEqual([])
    await step
      .locator('form[action$="/reschedule"]')
      .evaluate((f) => f.setAttribute('novalidate', ''))
    await step.getByLabel('New due date').fill('2026-11-01')
    await step.getByRole('button', { name: /^Reschedule the call/ }).click()
    await page.waitForURL(/\/app\/my-day\?error=/)
    expect(await page.getByRole('alert').innerText()).toBe('A next step is due today or later.')
    const due = page.locator('.day-step', { hasText: 'Axel' }).getByLabel('New due date')
    expect(await due.isVisible()).toBe(true)
    expect(await due.inputValue()).toBe('2026-11-01')
    expect(await due.getAttribute('aria-invalid')).toBe('true')
    expect(await axeViolations(page)).toEqual([])
    await screenshot(page, 'my-day-refused-1280')
    // "Done" refused (an outcome past 300 characters; the field's own limit would stop it) comes
    // back to My day with what was typed and the problem beside the field, as on the deal page.
    const long = `Spoke to Axel: ${'x'.repeat(300)}`
    const outcome = page.locator('.day-step', { hasText: 'Axel' }).getByLabel(/^Outcome: Call/)
    await outcome.evaluate((input) => input.removeAttribute('maxlength'))
    await outcome.fill(long)
    await page
      .locator('.day-step', { hasText: 'Axel' })
      .getByRole('button', { name: 'Done' })
      .click()
    await page.waitForURL(/\/app\/my-day\?error=/)
    const refused = page.locator('.day-step', { hasText: 'Axel' }).getByLabel(/^Outcome: Call/)
    expect(await refused.inputValue()).toBe(long)
    expect(await refused.getAttribute('aria-invalid')).toBe('true')
    expect(
      await page.locator('.day-step', { hasText: 'Axel' }).locator('.field-error').innerText(),
    ).toContain('300 characters')
    expect(await axeViolations(page)).toEqual([])
    await context.close()
  })

  it('My day’s own settings, refused for an unknown time zone, come back as typed with the problem beside the field', async () => {
    const { context, page } = await repWorkingIn(ZONE)
    await page.goto(`${server.url}/app/my-day`)
    const digest = page.getByLabel('Email me my next steps each morning')
    expect(await digest.isChecked()).toBe(false)
    await page.getByLabel('Time zone').fill('Mars/Olympus_Mons')
    await digest.check()
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForURL(/\/app\/my-day\?error=/)
    expect(await page.getByRole('alert').innerText()).toMatch(/time zone/)
    const zone = page.getByLabel('Time zone')
    expect(await zone.inputValue()).toBe('Mars/Olympus_Mons')
    expect(await zone.getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#day-timeZone-error').innerText()).toMatch(/Europe\/Berlin/)
    expect(await digest.isChecked()).toBe(true)
    // Once: a reload shows what is saved.
    await page.goto(`${server.url}/app/my-day`)
    expect(await page.getByLabel('Time zone').inputValue()).toMatch(/^Asia\/(Kolkata|Calcutta)$/)
    expect(await digest.isChecked()).toBe(false)
    await context.close()
  })

  it('an admin’s bar is one row at 1280 px, and the new campaign’s sender fields line up', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await signInWithForm(page, server.url, 'morgan@frontdoor.example', DEMO_PASSWORD)
    for (const path of ['/app', '/app/admin/users', '/app/campaigns/new']) {
      await page.goto(`${server.url}${path}`)
      const bar = (await page.locator('header.topbar').boundingBox())!
      expect(bar.height, path).toBeLessThan(60)
    }
    await screenshot(page, 'campaign-new-admin-1280')
    const tops = await Promise.all(
      ['#senderName', '#senderEmail', '#replyTo'].map(
        async (field) => (await page.locator(field).boundingBox())!.y,
      ),
    )
    expect(new Set(tops).size, JSON.stringify(tops)).toBe(1)
    // A campaign refused for its time zone comes back with the message and all else typed.
    await page.getByLabel('Name', { exact: true }).fill('Q1 robotics')
    await page.getByLabel('Subject').fill('Hello {{firstName}}')
    await page.getByLabel('Message (plain text)').fill('Hi {{firstName|there}}, about robots.')
    await page.getByLabel('Time zone').fill('Mars/Olympus_Mons')
    await page.getByRole('button', { name: 'Create campaign' }).click()
    await page.waitForURL(/\/app\/campaigns\/new\?error=/)
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('Q1 robotics')
    expect(await page.getByLabel('Message (plain text)').inputValue()).toBe(
      'Hi {{firstName|there}}, about robots.',
    )
    expect(await page.locator('#timezone-error').innerText()).toMatch(/not an IANA time zone/)
    // Sign out and the search button are still there for whoever needs them.
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true)
    expect(await page.getByRole('button', { name: 'Search', exact: true }).count()).toBe(1)
    await context.close()

    // A rep's bar, with fewer links, keeps who is signed in.
    const repContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const repPage = await repContext.newPage()
    await signIn(repPage)
    expect(await repPage.locator('header.topbar .who').innerText()).toContain('Rita Refill')
    expect((await repPage.locator('header.topbar').boundingBox())!.height).toBeLessThan(60)
    await repContext.close()
  })
})
