// Dev tool for the marketing site: screenshots every public page at desktop and phone widths,
// runs axe-core in each, and checks the head tags every page must carry.
//
//   npm exec -- node scripts/screenshot-site.ts [--base http://localhost:4400] [--out dir]
//                                               [--only /path,/other] [--no-shots]
//   npm exec -- node scripts/screenshot-site.ts --assets   # re-render public/ PNG/ICO from SVG
//
// Needs a running server (`npm exec -- astro dev --port 4400`) and Chromium at /usr/bin/chromium
// (or CHROMIUM_PATH). Exits 1 when axe finds a violation or a head tag is missing.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_FLAGS } from '../tests/chromium.ts'
import type { Browser, Page } from 'playwright-core'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

const PAGES = [
  '/',
  '/whitepapers',
  '/whitepapers/mid-market-pipeline-benchmark-2026',
  '/case-studies',
  '/case-studies/fieldstack-forecast-accuracy',
  '/case-studies/brightlane-stalled-pipeline',
  '/case-studies/oakridge-one-revenue-number',
  '/whitepapers/probability-weighted-forecasting',
  '/whitepapers/net-revenue-retention-playbook',
  '/trial',
  '/privacy',
  '/thanks?offer=whitepaper:mid-market-pipeline-benchmark-2026&dl=demo-token-0123456789abcdef',
  '/thanks?offer=trial',
  '/no-such-page',
]

const WIDTHS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 375, height: 740 },
  // The narrowest phones in use: checked for overflow and axe like the others.
  { name: 'narrow', width: 360, height: 740 },
]

interface AxeResult {
  violations: {
    id: string
    impact: string
    help: string
    nodes: { target: string[]; failureSummary: string }[]
  }[]
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
  })
}

/** A full-page PNG plus viewport-sized slices of it (small enough to look at one by one). */
async function screenshot(
  page: Page,
  out: string,
  name: string,
  sliceHeight: number,
): Promise<void> {
  // Scroll through once so lazy images load, then wait for every image to finish.
  await page.evaluate(async () => {
    for (let y = 0; y < document.documentElement.scrollHeight; y += 500) {
      window.scrollTo(0, y)
      await new Promise((resolve) => setTimeout(resolve, 30))
    }
    window.scrollTo(0, 0)
    await Promise.all(
      Array.from(document.images, (img) =>
        img.complete
          ? null
          : new Promise((resolve) => img.addEventListener('load', resolve, { once: true })),
      ),
    )
  })
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true })
  const height = await page.evaluate(() => document.documentElement.scrollHeight)
  const width = page.viewportSize()?.width ?? 1280
  for (let i = 0, y = 0; y < height; i++, y += sliceHeight) {
    await page.screenshot({
      path: join(out, `${name}.${i + 1}.png`),
      fullPage: true,
      clip: { x: 0, y, width, height: Math.min(sliceHeight, height - y) },
    })
  }
}

/** The head tags and landmarks every page must have; returns what is missing. */
async function checkHead(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = []
    const attr = (selector: string, name: string) =>
      document.querySelector(selector)?.getAttribute(name)?.trim() ?? ''
    if (!document.documentElement.lang) problems.push('html[lang]')
    if (!attr('meta[name="viewport"]', 'content')) problems.push('viewport')
    if (!document.title.trim()) problems.push('title')
    const description = attr('meta[name="description"]', 'content')
    if (description.length < 50 || description.length > 160)
      problems.push(`meta description length ${description.length}`)
    if (!/^https?:\/\//.test(attr('link[rel="canonical"]', 'href'))) problems.push('canonical')
    for (const p of ['og:title', 'og:description', 'og:url', 'og:image', 'og:type'])
      if (!attr(`meta[property="${p}"]`, 'content')) problems.push(p)
    for (const n of ['twitter:card', 'twitter:title', 'twitter:description'])
      if (!attr(`meta[name="${n}"]`, 'content')) problems.push(n)
    const skip = document.querySelector('a.skip-link')
    if (!skip || !document.querySelector(skip.getAttribute('href') ?? '#none'))
      problems.push('skip link')
    for (const landmark of ['header', 'nav', 'main', 'footer'])
      if (!document.querySelector(landmark)) problems.push(`<${landmark}>`)
    if (document.querySelectorAll('h1').length !== 1) problems.push('exactly one h1')
    if (document.documentElement.scrollWidth > window.innerWidth + 1)
      problems.push(`horizontal overflow (${document.documentElement.scrollWidth}px)`)
    return problems
  })
}

async function audit(
  base: string,
  out: string,
  only: string[] | null,
  shots: boolean,
): Promise<number> {
  const axe = await readFile(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8')
  const browser = await launch()
  let failures = 0
  try {
    for (const viewport of WIDTHS) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
      const page = await context.newPage()
      const consoleErrors: string[] = []
      page.on('console', (msg) => {
        if (msg.type() === 'error') consoleErrors.push(msg.text())
      })
      for (const path of only ?? PAGES) {
        const name = `${viewport.name}-${path.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'home'}`
        const run = async () => {
          consoleErrors.length = 0
          const response = await page.goto(new URL(path, base).href, { waitUntil: 'load' })
          if (shots) await screenshot(page, out, name, viewport.height)
          await page.addScriptTag({ content: axe })
          const result = (await page.evaluate(() =>
            // @ts-expect-error axe is injected above
            window.axe.run(document, { resultTypes: ['violations'] }),
          )) as AxeResult
          return { status: response?.status() ?? 0, result, missing: await checkHead(page) }
        }
        // The dev server reloads open pages when files change; one retry absorbs that.
        const { status, result, missing } = await run().catch(async (error: Error) => {
          if (!/context was destroyed|navigat/i.test(error.message)) throw error
          await page.waitForTimeout(2000)
          return run()
        })
        const problems = result.violations.length + missing.length
        failures += problems
        console.log(
          `${status} ${viewport.name.padEnd(7)} ${path}: ${problems === 0 ? 'ok' : `${problems} problem(s)`}`,
        )
        for (const v of result.violations) {
          console.log(`    axe ${v.id} (${v.impact}): ${v.help}`)
          for (const node of v.nodes.slice(0, 3))
            console.log(
              `      ${node.target.join(' ')}\n        ${node.failureSummary.replace(/\n/g, '\n        ')}`,
            )
        }
        for (const m of missing) console.log(`    missing: ${m}`)
        for (const e of consoleErrors) console.log(`    console: ${e}`)
      }
      await context.close()
    }
  } finally {
    await browser.close()
  }
  return failures
}

/** Renders the SVG sources in public/ to the PNG/ICO files that must be bitmaps. */
async function renderAssets(): Promise<void> {
  const browser = await launch()
  try {
    const page = await browser.newPage()
    const render = async (svgPath: string, width: number, height: number): Promise<Buffer> => {
      const svg = await readFile(join(ROOT, svgPath), 'utf8')
      await page.setViewportSize({ width, height })
      await page.setContent(
        `<html><body style="margin:0"><img src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}" width="${width}" height="${height}"></body></html>`,
      )
      await page.waitForLoadState('load')
      return page.screenshot({
        type: 'png',
        clip: { x: 0, y: 0, width, height },
        omitBackground: true,
      })
    }
    await writeFile(
      join(ROOT, 'public/og/default.png'),
      await render('public/og/default.svg', 1200, 630),
    )
    await writeFile(
      join(ROOT, 'public/apple-touch-icon.png'),
      await render('public/favicon.svg', 180, 180),
    )
    await writeFile(
      join(ROOT, 'public/favicon.ico'),
      icoFromPng(await render('public/favicon.svg', 32, 32), 32),
    )
    console.log('wrote public/og/default.png, public/apple-touch-icon.png, public/favicon.ico')
  } finally {
    await browser.close()
  }
}

/** An ICO file holding one PNG image (supported by every browser that asks for favicon.ico). */
function icoFromPng(png: Buffer, size: number): Buffer {
  const header = Buffer.alloc(6 + 16)
  header.writeUInt16LE(0, 0) // reserved
  header.writeUInt16LE(1, 2) // type: icon
  header.writeUInt16LE(1, 4) // one image
  header.writeUInt8(size, 6)
  header.writeUInt8(size, 7)
  header.writeUInt8(0, 8) // no palette
  header.writeUInt8(0, 9)
  header.writeUInt16LE(1, 10) // colour planes
  header.writeUInt16LE(32, 12) // bits per pixel
  header.writeUInt32LE(png.length, 14)
  header.writeUInt32LE(header.length, 18)
  return Buffer.concat([header, png])
}

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'http://localhost:4400' },
    out: { type: 'string', default: join(ROOT, 'test-results/site-screenshots') },
    only: { type: 'string' },
    'no-shots': { type: 'boolean', default: false },
    assets: { type: 'boolean', default: false },
  },
})

if (values.assets) {
  await renderAssets()
} else {
  const out = resolve(values.out)
  await mkdir(out, { recursive: true })
  const only = values.only ? values.only.split(',') : null
  const failures = await audit(values.base, out, only, !values['no-shots'])
  console.log(failures === 0 ? `all pages pass; screenshots in ${out}` : `${failures} problem(s)`)
  process.exitCode = failures === 0 ? 0 : 1
}
