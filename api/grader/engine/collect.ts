import { gunzipSync, gzipSync } from 'node:zlib'
import { load } from 'cheerio'
import robotsParser from 'robots-parser'
import { getDomain } from 'tldts'
import { findFontUrls, findImports } from './css.ts'
import type { FetchFailure, FetchedResponse, GuardedFetcher } from './guarded-fetch.ts'
import { detectFromUrl, type DetectedLibrary } from './js-libraries.ts'
import { scanScriptContents, type ScriptText } from './library-scan.ts'
import { computeCSSTokenLength, computeJSTokenLength } from './minification.ts'
import { pageFailureMessage, type PageFailure } from './failures.ts'
import { extractPageFacts } from './page-facts.ts'
import type {
  HttpProbe,
  InlineCode,
  Resource,
  ResourceType,
  RobotsTxtData,
  SiteData,
  SitemapData,
} from './site-data.ts'

// Collection: every request of one grading, through the guarded fetcher only, into one SiteData.

export type CollectLimits = {
  /** Decoded bytes of the page itself; longer pages are cut (and still graded). */
  htmlMaxBytes: number
  /**
   * Bytes of the page that go into the DOM. A parse5 DOM of dense markup costs around forty
   * times the HTML in heap (a whole 5 MB page would need 200 MB), so only the first MiB is
   * parsed: that holds the head and the first screens of any real page. Page weight still
   * counts every byte.
   */
  htmlParseBytes: number
  robotsMaxBytes: number
  sitemapMaxBytes: number
  /** Subresources requested at most (the rest are counted, not requested). */
  maxResources: number
  concurrency: number
  /** Transfer bytes spent on subresource bodies; past it, sizes come from HEAD only. */
  resourceBudgetBytes: number
  textResourceMaxBytes: number
  binaryResourceMaxBytes: number
  resourceTimeoutMs: number
  firstPartyCssMaxChars: number
  /** Time allowed for matching script contents against retire.js's rules (on a worker). */
  libraryScanTimeoutMs: number
}

export const COLLECT_LIMITS: CollectLimits = {
  htmlMaxBytes: 10 * 1024 * 1024,
  htmlParseBytes: 1024 * 1024,
  robotsMaxBytes: 500 * 1024,
  sitemapMaxBytes: 5 * 1024 * 1024,
  maxResources: 100,
  concurrency: 6,
  resourceBudgetBytes: 25 * 1024 * 1024,
  textResourceMaxBytes: 2 * 1024 * 1024,
  binaryResourceMaxBytes: 8 * 1024 * 1024,
  resourceTimeoutMs: 8_000,
  firstPartyCssMaxChars: 1024 * 1024,
  libraryScanTimeoutMs: 3_000,
}

export type CollectOptions = {
  limits?: Partial<CollectLimits>
  now?: Date
  /** The plain-HTTP address probed for an https site; default `http://<host>/`. */
  httpProbeUrl?: (finalUrl: URL) => string
  /** No new subresource request starts after this instant (performance.now() clock). */
  softDeadline?: number
  /** Every failed request, with its server-side cause, for the server log. */
  onFetchFailure?: (failure: FetchFailure) => void
}

export type CollectFailure = PageFailure & {
  /** For the visitor. */
  message: string
  /** For the server log only: never shown (it tells blocked from refused from timed out). */
  cause: string
}

export type CollectOutcome = { ok: true; site: SiteData } | { ok: false; error: CollectFailure }

function failed(failure: PageFailure, cause: string): { ok: false; error: CollectFailure } {
  return { ok: false, error: { ...failure, message: pageFailureMessage(failure), cause } }
}

/**
 * The page request failed. A response whose headers had come was reached: an error status is
 * said as such, and a body that did not finish in time is "too slow", not "unreachable". Anything
 * that failed before a response keeps one wording, whatever happened (no port-scan oracle).
 */
function pageFetchFailure(error: FetchFailure): { ok: false; error: CollectFailure } {
  const status = error.responseStatus
  if (status !== null && status >= 400) {
    return failed({ code: 'http_error', httpStatus: status }, `HTTP ${status}; ${error.cause}`)
  }
  if (status !== null && (error.kind === 'timeout' || error.kind === 'aborted')) {
    const seconds = Math.max(1, Math.floor(error.elapsedMs / 1000))
    return failed({ code: 'too_slow', seconds }, `body not finished: ${error.cause}`)
  }
  return failed({ code: error.code }, error.cause)
}

const HTML_ACCEPT = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8'
const ACCEPT: Record<ResourceType, string> = {
  script: '*/*',
  stylesheet: 'text/css,*/*;q=0.1',
  image: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  font: '*/*',
}

function isHtml(mediaType: string | null): boolean {
  return mediaType === null || mediaType === 'text/html' || mediaType === 'application/xhtml+xml'
}

function siteOf(url: string): string | null {
  try {
    const host = new URL(url).hostname
    return getDomain(host, { allowPrivateDomains: true }) ?? host
  } catch {
    return null
  }
}

function fetchable(url: string): boolean {
  return url.startsWith('http://') || url.startsWith('https://')
}

async function runPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T
      await work(item)
    }
  })
  await Promise.all(workers)
}

function utf8(body: Buffer): string {
  return new TextDecoder('utf-8').decode(body)
}

export async function collectSite(
  fetcher: GuardedFetcher,
  url: string,
  options: CollectOptions = {},
): Promise<CollectOutcome> {
  const limits = { ...COLLECT_LIMITS, ...options.limits }
  const fetchedAt = (options.now ?? new Date()).toISOString()
  const report = (failure: FetchFailure) => options.onFetchFailure?.(failure)

  const pageRequest = {
    maxBytes: limits.htmlMaxBytes,
    accept: HTML_ACCEPT,
    wantContentType: isHtml,
  }
  let outcome = await fetcher.fetch(url, pageRequest)
  let tlsError: string | null = null
  if (!outcome.ok && outcome.error.kind === 'tls') {
    // A broken certificate is a finding, not a reason not to grade: fetch again without
    // validation and record that it failed.
    report(outcome.error)
    tlsError = outcome.error.cause
    outcome = await fetcher.fetch(url, { ...pageRequest, insecureTls: true })
  }
  if (!outcome.ok) {
    report(outcome.error)
    return pageFetchFailure(outcome.error)
  }
  const main = outcome.response
  // An error page is not graded (Lighthouse refuses a document answering 4xx/5xx too): its
  // scores would grade the error, not the site.
  if (main.status >= 400) {
    return failed({ code: 'http_error', httpStatus: main.status }, `HTTP ${main.status}`)
  }
  if (main.skipped) {
    return failed({ code: 'not_html' }, `content type ${main.contentType ?? 'none'}`)
  }

  const finalUrl = new URL(main.url)
  const parsedBytes = Math.min(main.body.length, limits.htmlParseBytes)
  const page = extractPageFacts(main.body.subarray(0, parsedBytes), main.url, {
    contentType: main.contentType,
    linkHeader: main.headers.link ?? null,
  })
  const htmlGzipBytes =
    main.contentEncoding === null && main.body.length > 1400 ? gzipSync(main.body).length : null
  const html: SiteData['html'] = {
    transferBytes: main.transferBytes,
    decodedBytes: main.decodedBytes,
    contentEncoding: main.contentEncoding,
    truncated: main.truncated,
    maxBytes: limits.htmlMaxBytes,
    parsedBytes,
    gzipBytes: htmlGzipBytes,
  }

  const inlineCode: InlineCode[] = []
  const libraries: DetectedLibrary[] = []
  const scriptTexts: ScriptText[] = []
  for (const script of page.scripts) {
    if (script.inline === null) continue
    const length = script.inline.length
    inlineCode.push({ kind: 'script', length, tokenLength: computeJSTokenLength(script.inline) })
    scriptTexts.push({ url: null, text: script.inline })
  }
  for (const style of page.inlineStyles) {
    inlineCode.push({
      kind: 'style',
      length: style.length,
      tokenLength: computeCSSTokenLength(style),
    })
  }

  const [robotsAndSitemap, inventory, httpProbe] = await Promise.all([
    collectRobotsAndSitemap(fetcher, finalUrl, limits, report),
    collectResources(fetcher, page, main.url, limits, options.softDeadline ?? Infinity, report),
    probeHttp(fetcher, url, main, options.httpProbeUrl, report),
  ])
  for (const script of inventory.scriptBodies) libraries.push(...script.libraries)
  scriptTexts.push(...inventory.scriptTexts)
  const scan = await scanScriptContents(scriptTexts, limits.libraryScanTimeoutMs)
  libraries.push(...scan.libraries)

  const firstPartyCss: string[] = []
  let cssRoom = limits.firstPartyCssMaxChars
  for (const sheet of [...page.inlineStyles, ...inventory.firstPartyCss]) {
    if (cssRoom <= 0) break
    firstPartyCss.push(sheet.slice(0, cssRoom))
    cssRoom -= sheet.length
  }

  const redirectMs = main.redirects.reduce((sum, hop) => sum + hop.ttfbMs, 0)
  const site: SiteData = {
    requestedUrl: url,
    finalUrl: main.url,
    fetchedAt,
    status: main.status,
    headers: main.headers,
    redirects: main.redirects,
    tls:
      finalUrl.protocol === 'https:'
        ? { valid: tlsError === null && main.tlsValid === true, error: tlsError }
        : null,
    timing: {
      serverResponseMs: main.ttfbMs,
      htmlDownloadMs: main.downloadMs,
      redirectMs,
    },
    html,
    page,
    inlineCode,
    robotsTxt: robotsAndSitemap.robotsTxt,
    sitemap: robotsAndSitemap.sitemap,
    resources: inventory.resources,
    inventory: {
      discovered: inventory.discovered,
      overLimit: inventory.overLimit,
      budgetExhausted: inventory.budgetExhausted,
    },
    httpProbe,
    libraries: dedupeLibraries(libraries),
    libraryScanTimedOut: scan.timedOut,
    firstPartyCss,
  }
  return { ok: true, site }
}

function dedupeLibraries(found: DetectedLibrary[]): DetectedLibrary[] {
  const seen = new Set<string>()
  return found.filter((lib) => {
    const key = `${lib.component}@${lib.version}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

async function collectRobotsAndSitemap(
  fetcher: GuardedFetcher,
  pageUrl: URL,
  limits: CollectLimits,
  report: (failure: FetchFailure) => void,
): Promise<{ robotsTxt: RobotsTxtData; sitemap: SitemapData }> {
  const robotsUrl = new URL('/robots.txt', pageUrl).href
  const robotsTxt: RobotsTxtData = { url: robotsUrl, status: null, content: null, error: null }
  const fetched = await fetcher.fetch(robotsUrl, {
    maxBytes: limits.robotsMaxBytes,
    accept: 'text/plain,*/*;q=0.5',
  })
  if (fetched.ok) {
    robotsTxt.status = fetched.response.status
    if (fetched.response.status >= 200 && fetched.response.status < 300) {
      robotsTxt.content = utf8(fetched.response.body)
    }
  } else {
    report(fetched.error)
    robotsTxt.error = fetched.error.code
  }

  const declared = (
    robotsTxt.content === null
      ? []
      : (robotsParser(robotsUrl, robotsTxt.content).getSitemaps() as string[])
  ).filter((u) => /^https?:\/\//i.test(u) && URL.canParse(u))
  const sitemapUrl = declared[0] ?? new URL('/sitemap.xml', pageUrl).href
  const source = declared[0] === undefined ? 'default' : 'robots.txt'
  const sitemap = await fetchSitemap(fetcher, sitemapUrl, limits, report)
  const result: SitemapData = { ...sitemap, url: sitemapUrl, source, child: null }
  const firstChild = sitemap.childUrls[0]
  if (sitemap.format === 'sitemapindex' && firstChild !== undefined) {
    const child = await fetchSitemap(fetcher, firstChild, limits, report)
    result.child = { url: firstChild, status: child.status, valid: child.valid, error: child.error }
  }
  return { robotsTxt, sitemap: result }
}

type SitemapRead = Omit<SitemapData, 'url' | 'source' | 'child'> & { childUrls: string[] }

async function fetchSitemap(
  fetcher: GuardedFetcher,
  url: string,
  limits: CollectLimits,
  report: (failure: FetchFailure) => void,
): Promise<SitemapRead> {
  const empty = { status: null, format: null, entries: 0, valid: false, childUrls: [] }
  let parsedUrl: URL
  try {
    parsedUrl = new URL(url)
  } catch {
    return { ...empty, error: 'invalid_url' }
  }
  const fetched = await fetcher.fetch(parsedUrl, {
    maxBytes: limits.sitemapMaxBytes,
    accept: 'application/xml,text/xml,text/plain;q=0.9,*/*;q=0.5',
  })
  if (!fetched.ok) {
    report(fetched.error)
    return { ...empty, error: fetched.error.code }
  }
  const response = fetched.response
  if (response.status < 200 || response.status >= 300) {
    return { ...empty, status: response.status, error: `http_${response.status}` }
  }
  let body = response.body
  // A sitemap may itself be a .xml.gz file, served without Content-Encoding.
  if (body[0] === 0x1f && body[1] === 0x8b) {
    try {
      body = gunzipSync(body, { maxOutputLength: limits.sitemapMaxBytes })
    } catch {
      return { ...empty, status: response.status, error: 'gzip_unreadable' }
    }
  }
  const text = utf8(body)
  const read = parseSitemap(text)
  return { ...read, status: response.status, error: read.valid ? null : 'unparseable' }
}

/** Recognises an XML urlset, an XML sitemap index, or a plain-text list of URLs. */
export function parseSitemap(text: string): Omit<SitemapRead, 'status' | 'error'> {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart()
  if (trimmed.startsWith('<')) {
    const $ = load(trimmed, { xml: true })
    const root = $.root().children().first()
    const name = (root.prop('tagName') ?? '').toLowerCase().replace(/^.*:/, '')
    if (name !== 'urlset' && name !== 'sitemapindex') {
      return { format: null, entries: 0, valid: false, childUrls: [] }
    }
    const locs: string[] = []
    root.find('loc').each((_, el) => {
      locs.push($(el).text().trim())
    })
    const absolute = locs.filter((loc) => /^https?:\/\//i.test(loc))
    return {
      format: name,
      entries: locs.length,
      valid: absolute.length > 0 && absolute.length === locs.length,
      childUrls: name === 'sitemapindex' ? absolute : [],
    }
  }
  const lines = trimmed
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
  const valid = lines.length > 0 && lines.every((l) => /^https?:\/\/\S+$/i.test(l))
  return { format: valid ? 'text' : null, entries: valid ? lines.length : 0, valid, childUrls: [] }
}

async function probeHttp(
  fetcher: GuardedFetcher,
  requestedUrl: string,
  main: FetchedResponse,
  probeUrl: ((finalUrl: URL) => string) | undefined,
  report: (failure: FetchFailure) => void,
): Promise<HttpProbe | null> {
  const finalUrl = new URL(main.url)
  if (finalUrl.protocol !== 'https:') return null
  // When the visitor typed http:// and ended on https, the page's own chain is the probe.
  if (requestedUrl.startsWith('http:')) {
    return {
      url: requestedUrl,
      reachable: true,
      status: main.redirects[0]?.status ?? main.status,
      finalUrl: main.url,
      redirects: main.redirects,
    }
  }
  const url = probeUrl?.(finalUrl) ?? `http://${finalUrl.hostname}/`
  const probed = await fetcher.fetch(url, {
    maxBytes: 64 * 1024,
    discardBody: true,
    timeoutMs: 8_000,
  })
  if (!probed.ok) {
    report(probed.error)
    return {
      url,
      reachable: false,
      status: null,
      finalUrl: null,
      redirects: probed.error.redirects,
    }
  }
  return {
    url,
    reachable: true,
    status: probed.response.status,
    finalUrl: probed.response.url,
    redirects: probed.response.redirects,
  }
}

type Inventory = {
  resources: Resource[]
  discovered: number
  overLimit: number
  budgetExhausted: boolean
  firstPartyCss: string[]
  scriptBodies: Array<{ url: string; libraries: DetectedLibrary[] }>
  scriptTexts: ScriptText[]
}

async function collectResources(
  fetcher: GuardedFetcher,
  page: ReturnType<typeof extractPageFacts>,
  pageUrl: string,
  limits: CollectLimits,
  softDeadline: number,
  report: (failure: FetchFailure) => void,
): Promise<Inventory> {
  const pageSite = siteOf(pageUrl)
  const inventory: Inventory = {
    resources: [],
    discovered: 0,
    overLimit: 0,
    budgetExhausted: false,
    firstPartyCss: [],
    scriptBodies: [],
    scriptTexts: [],
  }
  const seen = new Set<string>()
  let spent = 0
  let phase: Array<{ url: string; type: ResourceType }> = []
  const discover = (url: string | null, type: ResourceType) => {
    if (url === null || !fetchable(url)) return
    const key = url.split('#')[0] ?? url
    if (seen.has(key)) return
    seen.add(key)
    inventory.discovered++
    if (inventory.resources.length + phase.length >= limits.maxResources) {
      inventory.overLimit++
      return
    }
    phase.push({ url: key, type })
  }
  // Stylesheets first: they reveal fonts and imports for the next round.
  for (const sheet of page.stylesheets) discover(sheet.href, 'stylesheet')
  for (const script of page.scripts) discover(script.src, 'script')
  for (const image of page.images) discover(image.src, 'image')
  for (const style of page.inlineStyles) {
    for (const imported of findImports(style, page.baseUrl)) discover(imported, 'stylesheet')
    for (const font of findFontUrls(style, page.baseUrl)) discover(font, 'font')
  }

  const measure = async (item: { url: string; type: ResourceType }): Promise<Resource> => {
    const resource: Resource = {
      url: item.url,
      type: item.type,
      firstParty: siteOf(item.url) === pageSite,
      status: null,
      error: null,
      transferBytes: null,
      decodedBytes: null,
      truncated: false,
      sizeSource: null,
      contentType: null,
      contentEncoding: null,
      cacheControl: null,
      expires: null,
      textLength: null,
      tokenLength: null,
      gzipBytes: null,
    }
    if (performance.now() > softDeadline) {
      resource.error = 'deadline'
      return resource
    }
    const isText = item.type === 'script' || item.type === 'stylesheet'
    const overBudget = spent >= limits.resourceBudgetBytes
    if (overBudget) inventory.budgetExhausted = true
    const common = { accept: ACCEPT[item.type], timeoutMs: limits.resourceTimeoutMs }
    let response: FetchedResponse | null = null
    if (isText && !overBudget) {
      const got = await fetcher.fetch(item.url, {
        ...common,
        maxBytes: limits.textResourceMaxBytes,
      })
      if (!got.ok) {
        report(got.error)
        resource.error = got.error.code
        return resource
      }
      response = got.response
      resource.sizeSource = 'get'
    } else {
      const head = await fetcher.fetch(item.url, { ...common, method: 'HEAD', maxBytes: 0 })
      if (!head.ok) {
        report(head.error)
        resource.error = head.error.code
        return resource
      }
      const length = Number(head.response.headers['content-length'])
      if (head.response.status < 400 && Number.isFinite(length) && length >= 0) {
        response = head.response
        resource.sizeSource = 'head'
        resource.transferBytes = length
      } else if (!overBudget) {
        const got = await fetcher.fetch(item.url, {
          ...common,
          maxBytes: limits.binaryResourceMaxBytes,
          discardBody: true,
        })
        if (!got.ok) {
          report(got.error)
          resource.error = got.error.code
          return resource
        }
        response = got.response
        resource.sizeSource = 'get'
      } else {
        response = head.response
        resource.error = 'over_budget'
      }
    }
    resource.status = response.status
    resource.contentType = response.contentType
    resource.contentEncoding = response.contentEncoding
    resource.cacheControl = response.headers['cache-control'] ?? null
    resource.expires = response.headers.expires ?? null
    if (resource.sizeSource === 'get') {
      resource.transferBytes = response.transferBytes
      resource.decodedBytes = response.decodedBytes
      resource.truncated = response.truncated
      spent += response.transferBytes
    }
    if (isText && response.body.length > 0 && response.status < 400) {
      readText(resource, response, item.type === 'script' ? 'script' : 'stylesheet')
    }
    return resource
  }

  const readText = (
    resource: Resource,
    response: FetchedResponse,
    kind: 'script' | 'stylesheet',
  ) => {
    const text = utf8(response.body)
    resource.textLength = text.length
    resource.tokenLength =
      kind === 'script' ? computeJSTokenLength(text) : computeCSSTokenLength(text)
    if (response.contentEncoding === null && response.body.length > 1400) {
      resource.gzipBytes = gzipSync(response.body).length
    }
    if (kind === 'script') {
      inventory.scriptBodies.push({ url: resource.url, libraries: detectFromUrl(resource.url) })
      inventory.scriptTexts.push({ url: resource.url, text })
      return
    }
    if (resource.firstParty) inventory.firstPartyCss.push(text)
    for (const imported of findImports(text, response.url)) discover(imported, 'stylesheet')
    for (const font of findFontUrls(text, response.url)) discover(font, 'font')
  }

  // Up to three rounds: the page's own references, then what its CSS pulls in, then what
  // imported CSS pulls in.
  for (let round = 0; round < 3 && phase.length > 0; round++) {
    const current = phase
    phase = []
    await runPool(current, limits.concurrency, async (item) => {
      const resource = await measure(item)
      if (resource.type === 'script' && resource.sizeSource !== 'get') {
        // Scripts measured without a body can still be recognised by their URL.
        inventory.scriptBodies.push({ url: resource.url, libraries: detectFromUrl(resource.url) })
      }
      inventory.resources.push(resource)
    })
  }
  inventory.overLimit += phase.length
  return inventory
}
