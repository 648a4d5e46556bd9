// npm run audit: Lighthouse (mobile, the npm package) on the built production server, printing
// the four category scores for the pages the spec names. Needs Chromium (CHROMIUM_PATH or
// /usr/bin/chromium) and a build (`npm run build`). Not part of `npm test`: scores are a target
// to watch, not an assertion on a shared machine.
import { existsSync } from 'node:fs'
import { startProductionServer } from '../tests/bench/harness.ts'
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium } from '../tests/chromium.ts'

if (!hasChromium) {
  console.error(
    `audit: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  )
  process.exit(2)
}
if (!existsSync(new URL('../dist/server/entry.mjs', import.meta.url))) {
  console.error('audit: no build found; run `npm run build` first')
  process.exit(2)
}

const pages = [
  '/',
  '/whitepapers/mid-market-pipeline-benchmark-2026',
  '/case-studies/brightlane-stalled-pipeline',
  '/grader',
  '/trial',
]

const { default: lighthouse } = await import('lighthouse')
const chromeLauncher = await import('chrome-launcher')
const server = await startProductionServer()
const chrome = await chromeLauncher.launch({
  chromePath: CHROMIUM,
  chromeFlags: ['--headless=new', ...CHROMIUM_FLAGS],
})
let below = 0
try {
  console.log('page'.padEnd(52) + 'perf  a11y  best  seo')
  for (const path of pages) {
    const result = await lighthouse(`${server.url}${path}`, {
      port: chrome.port,
      logLevel: 'error',
      output: 'json',
      onlyCategories: ['performance', 'accessibility', 'best-practices', 'seo'],
    })
    const lhr = result?.lhr
    if (!lhr || lhr.runtimeError)
      throw new Error(`lighthouse failed on ${path}: ${lhr?.runtimeError?.message}`)
    const scores = ['performance', 'accessibility', 'best-practices', 'seo'].map((k) =>
      Math.round((lhr.categories[k]?.score ?? 0) * 100),
    )
    if (scores.some((s) => s < 100)) below++
    console.log(path.padEnd(52) + scores.map((s) => String(s).padStart(4)).join('  '))
  }
} finally {
  chrome.kill()
  await server.stop()
}
console.log(
  below ? `${below} page(s) below 100 in some category` : 'all pages 100 in all four categories',
)
