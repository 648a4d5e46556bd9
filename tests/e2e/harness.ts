import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core'
import { freePort } from '../bench/harness.ts'
import { DEMO_PASSWORD } from '../../api/demo/seed.ts'
import { preparePgliteDataDir } from '../db-fixtures.ts'
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium } from '../chromium.ts'
import { NODE_ENV_VARS, NODE_FLAGS } from '../node-flags.ts'

// Real Chromium against the real production server (built site, Hono entry, embedded database).

export { CHROMIUM, hasChromium }
if (!hasChromium)
  console.warn(`[e2e] skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`)

const root = new URL('../..', import.meta.url).pathname
export const artifactsDir = join(root, 'test-results')

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
  })
}

export { NODE_ENV_VARS, NODE_FLAGS }

export interface TestServer {
  url: string
  pid: number
  setupLink: string | null
  output: () => string
  stop(): Promise<number | null>
  /** SIGKILL, as a crash or an OOM kill: no shutdown hook runs. The data directory stays. */
  kill(): Promise<void>
}

/**
 * Starts `node server.ts` (the built site must exist: `npm test` builds first) on a copy of a
 * migrated database, or with `emptyDataDir` on an empty data directory, as `npm start` first runs.
 * With `clock`, the server's time starts there (tests/e2e/clocked-server.ts).
 */
export async function startServer(
  env: Record<string, string> = {},
  options: { emptyDataDir?: boolean; dataDir?: string; clock?: Date } = {},
): Promise<TestServer> {
  if (!existsSync(join(root, 'dist/server/entry.mjs')))
    throw new Error('dist/ is missing: run `npm run build` first')
  const port = await freePort()
  // A given data directory (a restart on the same data) is used as it is and kept on stop.
  const dataDir = options.dataDir ?? (await newDataDir(options))
  const url = `http://127.0.0.1:${port}`
  const entry = options.clock ? join(root, 'tests/e2e/clocked-server.ts') : join(root, 'server.ts')
  const child: ChildProcess = spawn(process.execPath, [...NODE_FLAGS, entry], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...NODE_ENV_VARS,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_ORIGIN: url,
      DATA_DIR: dataDir,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      DEMO_SEED: 'no',
      ...(options.clock ? { TEST_CLOCK_START: options.clock.toISOString() } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in 180 s:\n${out}`)),
      // A budget for a loaded machine (a start takes seconds on a quiet one), not a timing claim.
      180_000,
    )
    const check = () => {
      if (out.includes('"msg":"listening"')) {
        clearTimeout(timer)
        // the setup link, when there is one, is printed before "listening"
        resolve()
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${out}`))
    })
  })
  const setupLink = out.match(/(http:\/\/\S+\/setup\?token=\w+)/)?.[1] ?? null
  return {
    url,
    pid: child.pid!,
    setupLink,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      )
      child.kill('SIGTERM')
      const code = await exited
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true })
      return code
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** A data directory for a server: a copy of a migrated database, or empty. */
export async function newDataDir(options: { emptyDataDir?: boolean } = {}): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'frontdoor-e2e-'))
  // The server keeps PGlite's files in DATA_DIR/pglite.
  if (!options.emptyDataDir)
    await cp(await preparePgliteDataDir(), join(dataDir, 'pglite'), { recursive: true })
  return dataDir
}

/** Signs in through the login form, as a person would, and waits for the app's home. */
export async function signInWithForm(
  page: Page,
  serverUrl: string,
  email: string,
  password: string,
): Promise<Page> {
  await page.goto(`${serverUrl}/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(/\/app$/)
  return page
}

/**
 * The cookies of a session for `email`, from the API's sign-in (POST /api/sessions: the same
 * session the form makes), for a browser context.
 */
async function sessionCookies(serverUrl: string, email: string, password: string) {
  const res = await fetch(`${serverUrl}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  if (res.status !== 201) throw new Error(`signing in as ${email}: ${res.status}`)
  return res.headers.getSetCookie().map((cookie) => {
    const pair = cookie.split(';')[0]!
    const at = pair.indexOf('=')
    return {
      name: pair.slice(0, at),
      value: pair.slice(at + 1),
      url: serverUrl,
      httpOnly: true,
      sameSite: 'Lax' as const,
    }
  })
}

/**
 * A browser context already signed in as `email`, without loading and submitting the sign-in
 * form (~1 s a sign-in with its page loads). Each file signs in through the form once
 * (signInWithForm); further people and contexts sign in this way or by signInWithCookie
 * (sign-in.e2e.test.ts tests the form itself).
 */
export async function signedInContext(
  browser: Browser,
  serverUrl: string,
  email: string,
  password: string,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const cookies = await sessionCookies(serverUrl, email, password)
  const context = await browser.newContext(options)
  await context.addCookies(cookies)
  return context
}

/**
 * As signInWithForm, where the page ends (on /app, the person's home), through the session
 * cookie instead of the form: see signedInContext.
 */
export async function signInWithCookie(
  page: Page,
  serverUrl: string,
  email: string,
  password: string,
): Promise<Page> {
  await page.context().addCookies(await sessionCookies(serverUrl, email, password))
  await page.goto(`${serverUrl}/app`)
  return page
}

/**
 * A file's setup steps started at once (a server start overlaps a browser launch, ~0.3 s a file
 * measured): waits for every one, then throws the first failure, so that the file's afterAll
 * finds whatever did start (each step assigns its result itself).
 */
export async function allStarted(steps: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(steps)
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
}

/**
 * Adds a person through the API as the demo data's admin (a server started with DEMO_SEED), the
 * way an admin's users page does; throws unless they were added.
 */
export async function addUserAsDemoAdmin(
  serverUrl: string,
  user: { email: string; password: string; name: string; role: 'admin' | 'rep' | 'sdr' },
): Promise<void> {
  const signedIn = await fetch(`${serverUrl}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'morgan@frontdoor.example', password: DEMO_PASSWORD }),
  })
  const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!
  const added = await fetch(`${serverUrl}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: serverUrl },
    body: JSON.stringify(user),
  })
  if (added.status !== 201) throw new Error(`Adding ${user.email}: ${await added.text()}`)
}

/**
 * Whether the tests save screenshots of what they see (test-results/screenshots/), for people to
 * look at: `E2E_SCREENSHOTS=yes npm run test:e2e`. Off by default: no assertion reads them, and
 * a full-page PNG costs Chromium ~0.4 s of CPU here (~70 of them took ~30 s of each CI run).
 */
export const screenshots = process.env.E2E_SCREENSHOTS === 'yes'

/** A full-page screenshot named `name`, or of one element of it, when screenshots are on. */
export async function screenshot(page: Page, name: string, element?: Locator): Promise<void> {
  if (!screenshots) return
  await mkdir(join(artifactsDir, 'screenshots'), { recursive: true })
  const path = join(artifactsDir, 'screenshots', `${name}.png`)
  if (element) await element.screenshot({ path })
  else await page.screenshot({ path, fullPage: true })
}

/**
 * How wide the page is, and what makes it wider than its viewport (on a phone: a page that
 * scrolls sideways): each element, or text that runs out of its element (a long URL in a `pre`),
 * whose right edge passes the viewport's and that no box scrolling or clipping it holds.
 * A page that fits answers `{ width: <the viewport's>, culprits: [] }`.
 */
export async function horizontalOverflow(
  page: Page,
): Promise<{ width: number; culprits: string[] }> {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth
    const name = (el: Element) =>
      el.tagName.toLowerCase() +
      (el.id ? `#${el.id}` : '') +
      [...el.classList].map((c) => `.${c}`).join('')
    const selector = (el: Element) => {
      const parts: string[] = []
      for (let e: Element | null = el; e && e !== document.body; e = e.parentElement)
        parts.unshift(name(e))
      return parts.join(' > ')
    }
    // A box that scrolls or clips sideways keeps what is inside it off the page's width.
    const held = (from: Element | null) => {
      for (let e = from; e && e !== document.body; e = e.parentElement)
        if (getComputedStyle(e).overflowX !== 'visible') return true
      return false
    }
    const culprits: string[] = []
    const walker = document.createTreeWalker(
      document.body,
      NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT,
    )
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const isText = node.nodeType === Node.TEXT_NODE
      if (isText && !node.textContent?.trim()) continue
      const el = isText ? node.parentElement! : (node as Element)
      let right: number
      if (isText) {
        const range = document.createRange()
        range.selectNodeContents(node)
        right = range.getBoundingClientRect().right
      } else right = el.getBoundingClientRect().right
      // Text is held by its own element too (a `pre` that scrolls); an element by its parent.
      if (right <= viewport + 0.5 || held(isText ? el : el.parentElement)) continue
      culprits.push(
        `${isText ? 'text in ' : ''}${selector(el)} (right edge at ${Math.round(right)} px)` +
          (isText ? `: ${JSON.stringify(node.textContent!.trim().slice(0, 40))}` : ''),
      )
    }
    return { width: document.documentElement.scrollWidth, culprits: culprits.slice(0, 10) }
  })
}

/**
 * Words broken letter by letter in a table's code (`code`, `.mono` in a `.table-wrap`): each run of
 * letters and digits that the browser laid out over more than one line, as `"word" in N lines`.
 * A line may still end at a space or a hyphen ("webhook-" / "timestamp"); with `word-break:
 * break-all` a narrow column stacked "webhook-timestamp" one letter a line.
 */
export async function brokenWordsInTables(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const broken: string[] = []
    for (const el of document.querySelectorAll('.table-wrap :is(code, .mono)')) {
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const word of (node.textContent ?? '').matchAll(/[\p{L}\p{N}]+/gu)) {
          const range = document.createRange()
          range.setStart(node, word.index)
          range.setEnd(node, word.index + word[0].length)
          const lines = new Set(
            [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)),
          )
          if (lines.size > 1) broken.push(`${JSON.stringify(word[0])} in ${lines.size} lines`)
        }
      }
    }
    return broken
  })
}

/** Runs axe-core in the page and returns its violations (id, impact, help, nodes). */
export async function axeViolations(page: Page) {
  await page.addScriptTag({ path: join(root, 'node_modules/axe-core/axe.min.js') })
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            opts: object,
          ) => Promise<{
            violations: Array<{
              id: string
              impact: string
              help: string
              nodes: Array<{ target: string[] }>
            }>
          }>
        }
      }
    ).axe
    const result = await axe.run(document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
      },
    })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }))
  })
}
