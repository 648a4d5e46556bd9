import type { RedirectHop } from './guarded-fetch.ts'
import type { DetectedLibrary } from './js-libraries.ts'
import type { PageFacts } from './page-facts.ts'

// The one object every check reads. Plain, JSON-serialisable data: collected once by
// collect.ts, then scored by pure functions that never fetch.

export type ResourceType = 'script' | 'stylesheet' | 'image' | 'font'

export type Resource = {
  url: string
  type: ResourceType
  /** Same registrable domain as the page. */
  firstParty: boolean
  status: number | null
  /** Why it could not be measured: 'unreachable', 'over_budget', 'deadline'. Null when fetched. */
  error: string | null
  /** Body bytes on the wire (Content-Length for a HEAD). Null when unknown. */
  transferBytes: number | null
  decodedBytes: number | null
  truncated: boolean
  sizeSource: 'get' | 'head' | null
  contentType: string | null
  contentEncoding: string | null
  cacheControl: string | null
  expires: string | null
  /** Scripts and stylesheets: characters, and characters left by a minifier (Lighthouse's estimate). */
  textLength: number | null
  tokenLength: number | null
  /** Text sent uncompressed: its size once gzipped, for the compression check. */
  gzipBytes: number | null
}

export type InlineCode = { kind: 'script' | 'style'; length: number; tokenLength: number }

export type RobotsTxtData = {
  url: string
  /** HTTP status, null when the request failed. */
  status: number | null
  /** Body when the status was 2xx. */
  content: string | null
  error: string | null
}

export type SitemapData = {
  url: string | null
  source: 'robots.txt' | 'default' | null
  status: number | null
  format: 'urlset' | 'sitemapindex' | 'text' | null
  entries: number
  valid: boolean
  error: string | null
  /** For a sitemap index: its first child sitemap, fetched to confirm the index leads somewhere. */
  child: { url: string; status: number | null; valid: boolean; error: string | null } | null
}

export type HttpProbe = {
  url: string
  /** Whether anything answered on plain HTTP. */
  reachable: boolean
  status: number | null
  finalUrl: string | null
  redirects: RedirectHop[]
}

export type SiteData = {
  requestedUrl: string
  finalUrl: string
  /** When the page was fetched; checks use it as "now" (e.g. robots `unavailable_after`). */
  fetchedAt: string
  status: number
  headers: Record<string, string>
  redirects: RedirectHop[]
  /** https only: did the certificate validate. Null for a page served over http. */
  tls: { valid: boolean; error: string | null } | null
  timing: { serverResponseMs: number; htmlDownloadMs: number; redirectMs: number }
  html: {
    transferBytes: number
    decodedBytes: number
    contentEncoding: string | null
    /** Reading stopped before the end: the page was longer than `maxBytes` (or undecodable). */
    truncated: boolean
    /** The download cap, in decoded bytes: a page cut there is at least this big. */
    maxBytes: number
    /** How much of it went into the DOM (see COLLECT_LIMITS.htmlParseBytes). */
    parsedBytes: number
    gzipBytes: number | null
  }
  page: PageFacts
  inlineCode: InlineCode[]
  robotsTxt: RobotsTxtData
  sitemap: SitemapData
  resources: Resource[]
  inventory: {
    discovered: number
    /** Discovered beyond the resource count limit: not requested at all. */
    overLimit: number
    budgetExhausted: boolean
  }
  httpProbe: HttpProbe | null
  libraries: DetectedLibrary[]
  /** The content scan ran out of time (libraries may be missing from the list). */
  libraryScanTimedOut: boolean
  /** Same-site CSS (linked and inline), capped: the font-size estimate reads it. */
  firstPartyCss: string[]
}
