import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Worker } from 'node:worker_threads'
import zlib from 'node:zlib'
import { gradeSite, type GradeOptions } from '../../api/grader/engine/grade.ts'
import { noise } from '../api/grader/engine/fixture-server.ts'
import { PUBLIC_ADDRESS, startStage, type Stage } from '../api/grader/engine/loopback.ts'
import type { Figure } from './harness.ts'
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium } from '../chromium.ts'

// The website grader: how long one grading of a realistic page takes on loopback, how much memory
// a 5 MB page costs, and, when Chromium is installed, how long Lighthouse takes on the same page
// in the same run (the grader exists so a visitor gets a report in seconds, not a minute).

const HOST = 'bench.frontdoor-fixture.com'
const BIG_HOST = 'big.frontdoor-fixture.com'
const RUNS = 7

function benchPage(): string {
  const css = Array.from(
    { length: 8 },
    (_, i) => `<link rel="stylesheet" href="/s/${i}.css">`,
  ).join('\n')
  const js = Array.from({ length: 8 }, (_, i) => `<script src="/j/${i}.js" defer></script>`).join(
    '\n',
  )
  const images = Array.from(
    { length: 20 },
    (_, i) =>
      `<img src="/i/${i}.webp" srcset="/i/${i}.webp 800w" alt="Product shot ${i}" width="400" height="300">`,
  ).join('\n')
  const paragraphs = Array.from(
    { length: 60 },
    (_, i) =>
      `<p>Section ${i}: revenue analytics for B2B teams, with <a href="/docs/${i}">documentation for part ${i}</a>.</p>`,
  ).join('\n')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Benchmark page with forty subresources</title>
<meta name="description" content="A realistic marketing page: stylesheets, scripts, images and web fonts.">
<link rel="canonical" href="http://${HOST}/">
${css}
${js}
</head><body><h1>Forty subresources</h1>
${images}
${paragraphs}
</body></html>`
}

/** About 5 MB of dense, realistic markup. */
function bigPage(): string {
  const parts = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Five megabytes</title></head><body><h1>Catalogue</h1>',
  ]
  let size = 0
  for (let i = 0; size < 5 * 1024 * 1024; i++) {
    const item = `<div class="item item-${i}"><h2>Product ${i}</h2><p>Description of product ${i} with a <a href="/p/${i}">link to product ${i}</a> and an <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Product ${i}"> inline picture, lorem ipsum dolor sit amet.</p></div>\n`
    parts.push(item)
    size += item.length
  }
  parts.push('</body></html>')
  return parts.join('')
}

function serveBench(stage: Stage, bigHtml: Buffer) {
  const page = Buffer.from(benchPage())
  const cssFont = (i: number) =>
    `@font-face{font-family:F${i};src:url(/f/${i}.woff2) format("woff2")}.c${i}{font:16px/1.5 F${i},sans-serif}` +
    `.x${i}{margin:0 auto;padding:12px}`.repeat(40)
  const js = (i: number) =>
    `(function(){var n=${i};window.addEventListener("load",function(){document.body.dataset.m${i}=n})})();`.repeat(
      30,
    )
  stage.handle((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '')
    const path = req.url ?? '/'
    const immutable = { 'cache-control': 'public, max-age=31536000, immutable' }
    const gzip = (body: string | Buffer, type: string, extra = {}) => {
      const data = zlib.gzipSync(body)
      res.writeHead(200, {
        'content-type': type,
        'content-encoding': 'gzip',
        'content-length': data.length,
        ...extra,
      })
      res.end(req.method === 'HEAD' ? undefined : data)
    }
    if (host === BIG_HOST) return gzip(bigHtml, 'text/html; charset=utf-8')
    if (path === '/') return gzip(page, 'text/html; charset=utf-8')
    const n = Number(/\/(\d+)\./.exec(path)?.[1] ?? 0)
    if (path.startsWith('/s/')) return gzip(cssFont(n % 4), 'text/css', immutable)
    if (path.startsWith('/j/')) return gzip(js(n), 'text/javascript', immutable)
    if (path.startsWith('/i/') || path.startsWith('/f/')) {
      const body = noise(path.startsWith('/i/') ? 12_000 : 20_000, n + 1)
      res.writeHead(200, {
        'content-type': path.startsWith('/i/') ? 'image/webp' : 'font/woff2',
        'content-length': body.length,
        ...immutable,
      })
      res.end(req.method === 'HEAD' ? undefined : body)
      return
    }
    if (path === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`User-agent: *\nAllow: /\nSitemap: http://${host}:${stage.port}/sitemap.xml\n`)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found')
  })
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

async function timeGrade(url: string, options: GradeOptions): Promise<number> {
  const started = performance.now()
  const outcome = await gradeSite(url, options)
  if (!outcome.ok) throw new Error(`grading ${url} failed: ${outcome.error.cause}`)
  return performance.now() - started
}

/** Resident memory of the whole process, sampled from another thread every 2 ms. */
function startRssSampler(): { stop(): Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads')
     let peak = 0
     const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 2)
     parentPort.on('message', () => { clearInterval(timer); parentPort.postMessage(peak) })`,
    { eval: true },
  )
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (peak: number) => {
          void worker.terminate()
          resolve(peak)
        })
        worker.postMessage('stop')
      }),
  }
}

async function measureBigPage(options: GradeOptions, url: string) {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // One warm-up so code and lazily loaded data (the retire.js snapshot) are not counted.
  await timeGrade(url, options)
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const rssBefore = process.memoryUsage.rss()
  let heapPeak = heapBefore
  const sample = () => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
  }
  const timer = setInterval(sample, 1)
  const rss = startRssSampler()
  const ms = await timeGrade(url, options)
  sample()
  clearInterval(timer)
  const rssPeak = await rss.stop()
  return { heapMb: (heapPeak - heapBefore) / 1e6, rssMb: (rssPeak - rssBefore) / 1e6, ms }
}

async function lighthouseTimes(url: string, runs: number): Promise<number[]> {
  const { default: lighthouse } = await import('lighthouse')
  const chromeLauncher = await import('chrome-launcher')
  const chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM,
    chromeFlags: [
      '--headless=new',
      ...CHROMIUM_FLAGS,
      `--host-resolver-rules=MAP ${HOST} ${PUBLIC_ADDRESS}`,
    ],
  })
  try {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      const result = await lighthouse(url, {
        port: chrome.port,
        logLevel: 'error',
        output: 'json',
        onlyCategories: ['performance', 'seo', 'best-practices'],
      })
      if (result?.lhr.runtimeError)
        throw new Error(`lighthouse: ${result.lhr.runtimeError.message}`)
      times.push(performance.now() - started)
    }
    return times
  } finally {
    chrome.kill()
  }
}

export async function bench(): Promise<Figure[]> {
  const stage = await startStage()
  const bigHtml = Buffer.from(bigPage())
  serveBench(stage, bigHtml)
  stage.dns.set(HOST, [PUBLIC_ADDRESS])
  stage.dns.set(BIG_HOST, [PUBLIC_ADDRESS])
  const options: GradeOptions = stage.fetcherOptions()
  const url = stage.url(HOST)
  try {
    const first = await gradeSite(url, options)
    if (!first.ok) throw new Error(`grading failed: ${first.error.cause}`)
    const subresources = first.result.checks.find((c) => c.id === 'request-count')?.evidence.summary
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) times.push(await timeGrade(url, options))
    const graderMs = median(times)
    const big = await measureBigPage(options, stage.url(BIG_HOST))
    const figures: Figure[] = [
      {
        name: `Grade a loopback site (${subresources}: HTML, 8 CSS, 8 JS, 20 images, 4 fonts), p50 of ${RUNS}`,
        value: Math.round(graderMs),
        unit: 'ms',
      },
      {
        name: `Peak extra JS heap grading a ${(bigHtml.length / 1e6).toFixed(1)} MB page`,
        value: Math.round(big.heapMb),
        unit: 'MB',
        target: '< 100',
      },
      {
        name: 'Peak extra resident memory, same grading (sampled from another thread)',
        value: Math.round(big.rssMb),
        unit: 'MB',
      },
      { name: 'Time to grade the 5 MB page', value: Math.round(big.ms), unit: 'ms' },
    ]
    if (hasChromium) {
      const lhTimes = await lighthouseTimes(`http://${HOST}:${stage.port}/`, 3)
      const lighthouseMs = median(lhTimes)
      figures.push({
        name: 'Lighthouse (performance, SEO, best practices) on the same page, p50 of 3, Chromium already running',
        value: Math.round(lighthouseMs),
        unit: 'ms',
        baseline: Math.round(graderMs),
        ratio: lighthouseMs / graderMs,
        target: 'ratio ≥ 10',
      })
    } else {
      figures.push({ name: `Lighthouse comparison skipped: no ${CHROMIUM}`, value: 0, unit: '' })
    }
    return figures
  } finally {
    await stage.close()
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('grader', await bench())
}
