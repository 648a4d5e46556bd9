import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import {
  allStarted,
  axeViolations,
  hasChromium,
  launchBrowser,
  screenshot,
  startServer,
  type TestServer,
} from './harness.ts'

describe.skipIf(!hasChromium)(
  'signing in through the pages (real Chromium, production server)',
  () => {
    let server: TestServer
    let browser: Browser

    beforeAll(async () => {
      await allStarted([
        startServer({}, { emptyDataDir: true }).then((s) => (server = s)), // the first run, as a newcomer's
        launchBrowser().then((b) => (browser = b)),
      ])
    })
    afterAll(async () => {
      await browser?.close()
      const code = await server?.stop()
      expect(code).toBe(0) // graceful shutdown closed the embedded database cleanly
    })

    it('creates the first admin from the setup link, signs out, signs in again and reaches /app', async () => {
      expect(server.setupLink).toBeTruthy()
      // bypassCSP lets the test inject axe-core; the app's own scripts are held to the CSP.
      const context = await browser.newContext({ bypassCSP: true })
      const page = await context.newPage()
      await page.goto(server.setupLink!)
      await page.getByLabel('Your name').fill('Ada Admin')
      await page.getByLabel('Work email').fill('ada@example.com')
      // Refused (a weak password), the form comes back with what was typed, never the password.
      await page.getByLabel(/Password/).fill('aaaaaaaaaaaa')
      await page.getByRole('button', { name: /Create admin/ }).click()
      await page.waitForURL(/\/setup\?.*error=/)
      expect(await page.textContent('[role=alert]')).toContain('one repeated character')
      expect(await page.getByLabel('Your name').inputValue()).toBe('Ada Admin')
      expect(await page.getByLabel('Work email').inputValue()).toBe('ada@example.com')
      expect(await page.getByLabel(/Password/).inputValue()).toBe('')
      await page.getByLabel(/Password/).fill('a strong passphrase')
      await page.getByRole('button', { name: /Create admin/ }).click()
      await page.waitForURL(/\/app$/)
      expect(await page.textContent('h1')).toContain('Ada')

      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.waitForURL(/\/login\?signed_out=1/)

      await page.goto(`${server.url}/app/admin/users`)
      await page.waitForURL(/\/login\?next=%2Fapp%2Fadmin%2Fusers/)
      await page.getByLabel('Email').fill('ada@example.com')
      await page.getByLabel('Password').fill('wrong password!!')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(/error=invalid_credentials/)
      expect(await page.textContent('[role=alert]')).toContain('Email or password is incorrect')
      await screenshot(page, 'login-error')
      expect(await axeViolations(page)).toEqual([])

      await page.getByLabel('Email').fill('ada@example.com')
      await page.getByLabel('Password').fill('a strong passphrase')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(/\/app\/admin\/users$/)
      expect(await page.textContent('h1')).toBe('Users')
      await screenshot(page, 'admin-users')
      expect(await axeViolations(page)).toEqual([])
      await context.close()
    })

    it('works with JavaScript off', async () => {
      const context = await browser.newContext({ javaScriptEnabled: false })
      const page = await context.newPage()
      await page.goto(`${server.url}/login`)
      await page.getByLabel('Email').fill('ada@example.com')
      await page.getByLabel('Password').fill('a strong passphrase')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(/\/app$/)
      await context.close()
    })

    it('a link of an account disabled since says so, and offers no form', async () => {
      const signIn = await fetch(`${server.url}/api/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ada@example.com', password: 'a strong passphrase' }),
      })
      const headers = {
        'content-type': 'application/json',
        origin: server.url,
        cookie: signIn.headers.get('set-cookie')!.split(';')[0]!,
      }
      const invited = await fetch(`${server.url}/api/users`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ email: 'dora@example.com', name: 'Dora', role: 'rep' }),
      })
      expect(invited.status).toBe(201)
      const { user, inviteLink } = (await invited.json()) as {
        user: { id: string }
        inviteLink: string
      }
      const page = await browser.newPage()
      await page.goto(inviteLink)
      expect(await page.getByLabel(/New password/).count()).toBe(1)
      const off = await fetch(`${server.url}/api/users/${user.id}/disable`, {
        method: 'POST',
        headers,
      })
      expect(off.status).toBe(200)
      const res = await page.goto(inviteLink)
      expect(res!.status()).toBe(403)
      expect(await page.textContent('[role=alert]')).toContain('This account is disabled')
      expect(await page.getByLabel(/New password/).count()).toBe(0)
      await page.close()
    })

    it('serves hashed assets as immutable and pages with security headers', async () => {
      const res = await fetch(`${server.url}/login`)
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      const html = await res.text()
      const asset = html.match(/\/_astro\/[^"']+\.css/)?.[0]
      expect(asset).toBeTruthy()
      const css = await fetch(`${server.url}${asset}`)
      expect(css.status).toBe(200)
      expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    })
  },
)
