import { getLogNormalScore, type LogNormalCurve } from '../scoring.ts'
import type { Resource, SiteData } from '../site-data.ts'
import { byteSize, kib, type CheckDefinition, type EvidenceItem } from './check.ts'

// Performance, 30 points. What can be known from the network alone: bytes, requests, time to the
// HTML, redirects, and how assets are served. Curves are log-normal (see CURVES).

const KIB = 1024

/** p10 scores 0.9, median scores 0.5. */
export const CURVES = {
  /** Lighthouse total-byte-weight's own curve. */
  pageWeightBytes: { p10: 2667 * KIB, median: 4000 * KIB },
  /** Requests for the page and what its HTML and CSS reference (HubSpot's guide: under 30). */
  requestCount: { p10: 30, median: 80 },
  /** Time to first byte plus HTML download (Lighthouse server-response-time passes under 600 ms). */
  responseMs: { p10: 600, median: 1600 },
  /** Bytes a minifier would remove, summed over flagged files. */
  minifySavingsBytes: { p10: 8 * KIB, median: 64 * KIB },
  /** Bytes gzip would save on text sent uncompressed, summed over flagged responses. */
  compressionSavingsBytes: { p10: 8 * KIB, median: 64 * KIB },
  /** Estimated avoidable image bytes (modern formats, oversized files). */
  imageSavingsBytes: { p10: 50 * KIB, median: 500 * KIB },
} satisfies Record<string, LogNormalCurve>

function measuredBytes(resources: Resource[]): number {
  return resources.reduce((sum, r) => sum + (r.transferBytes ?? 0), 0)
}

const pageWeight: CheckDefinition = {
  id: 'page-weight',
  category: 'performance',
  weight: 6,
  title: 'Page weight',
  passTitle: 'Page weight is low',
  failTitle: 'Page is heavy',
  scoring: `Transfer bytes of the HTML and every script, stylesheet, image and font it references (log-normal: ${kib(CURVES.pageWeightBytes.p10)} → 0.9, ${kib(CURVES.pageWeightBytes.median)} → 0.5, as Lighthouse's total-byte-weight). HTML longer than our download cap scores 0: its size is only known to be at least the cap.`,
  lighthouse: 'total-byte-weight',
  fix: 'Compress and resize images, drop unused scripts and styles, and lazy-load what is below the fold.',
  run(site) {
    const total = site.html.transferBytes + measuredBytes(site.resources)
    const unknown = site.resources.filter((r) => r.transferBytes === null).length
    const unknownNote = unknown > 0 ? `; ${unknown} resource(s) of unknown size not counted` : ''
    const largest = [...site.resources]
      .filter((r) => r.transferBytes !== null)
      .sort((a, b) => (b.transferBytes ?? 0) - (a.transferBytes ?? 0))
      .slice(0, 5)
      .map((r): EvidenceItem => ({ url: r.url, type: r.type, bytes: r.transferBytes }))
    const { html } = site
    const overCap = html.decodedBytes >= html.maxBytes || html.transferBytes >= html.maxBytes
    if (html.truncated && overCap) {
      // The HTML went on past the cap: what we read is a lower bound, not its size.
      const decoded =
        html.contentEncoding === null ? '' : `, over ${byteSize(html.maxBytes)} once decompressed`
      return {
        score: 0,
        summary:
          `At least ${byteSize(total)} transferred (HTML at least ${byteSize(html.transferBytes)}${decoded}: we stopped reading there)` +
          unknownNote,
        items: largest,
      }
    }
    return {
      score: getLogNormalScore(CURVES.pageWeightBytes, total),
      summary: `${kib(total)} transferred (HTML ${kib(html.transferBytes)})` + unknownNote,
      items: largest,
    }
  },
}

const requestCount: CheckDefinition = {
  id: 'request-count',
  category: 'performance',
  weight: 4,
  title: 'Number of requests',
  passTitle: 'Few requests',
  failTitle: 'Too many requests',
  scoring: `The page plus every discoverable subresource (log-normal: ${CURVES.requestCount.p10} → 0.9, ${CURVES.requestCount.median} → 0.5).`,
  lighthouse: null,
  fix: 'Bundle scripts and styles, inline tiny assets, use SVG sprites, and remove third-party tags you do not need.',
  run(site) {
    const count = 1 + site.resources.length + site.inventory.overLimit
    const byType: EvidenceItem = { document: 1 }
    for (const r of site.resources) byType[r.type] = Number(byType[r.type] ?? 0) + 1
    return {
      score: getLogNormalScore(CURVES.requestCount, count),
      summary: `${count} requests`,
      items: [byType],
    }
  },
}

const responseTime: CheckDefinition = {
  id: 'response-time',
  category: 'performance',
  weight: 6,
  title: 'Server response and HTML download time',
  passTitle: 'Server responds quickly',
  failTitle: 'Server responds slowly',
  scoring: `Time to first byte of the final page plus the time to download its HTML (log-normal: ${CURVES.responseMs.p10} ms → 0.9, ${CURVES.responseMs.median} ms → 0.5). Measured from our server, once.`,
  lighthouse: 'server-response-time',
  fix: 'Cache rendered pages (or put a CDN in front), speed up slow database queries, and keep HTML small.',
  run(site) {
    const ms = site.timing.serverResponseMs + site.timing.htmlDownloadMs
    return {
      score: getLogNormalScore(CURVES.responseMs, ms),
      summary: `${Math.round(site.timing.serverResponseMs)} ms to first byte + ${Math.round(site.timing.htmlDownloadMs)} ms to download the HTML`,
    }
  },
}

const REDIRECT_SCORES = [1, 0.75, 0.5, 0.25]

const redirects: CheckDefinition = {
  id: 'redirects',
  category: 'performance',
  weight: 3,
  title: 'Redirects before the page',
  passTitle: 'No redirects before the page',
  failTitle: 'Redirects slow down the page',
  scoring:
    'Redirect hops from the address entered to the page: 0 → 1, 1 → 0.75, 2 → 0.5, 3 → 0.25, more → 0.',
  lighthouse: 'redirects',
  fix: 'Link to the final address directly (scheme, www and trailing slash included) and collapse redirect chains into one hop.',
  run(site) {
    const hops = site.redirects.length
    return {
      score: REDIRECT_SCORES[hops] ?? 0,
      summary:
        hops === 0
          ? 'No redirects'
          : `${hops} redirect(s), ${Math.round(site.timing.redirectMs)} ms`,
      items: site.redirects.map((h) => ({ from: h.url, status: h.status, to: h.location })),
    }
  },
}

const DAY = 24 * 60 * 60

/** Seconds a shared or browser cache may keep a response, from Cache-Control or Expires. */
export function cacheLifetime(resource: Resource, fetchedAt: string): number {
  const cc = (resource.cacheControl ?? '').toLowerCase()
  if (/\b(no-store|no-cache)\b/.test(cc)) return 0
  if (/\bimmutable\b/.test(cc)) return 365 * DAY
  const maxAge = /\bmax-age\s*=\s*"?(\d+)/.exec(cc)
  if (maxAge?.[1] !== undefined) return Number(maxAge[1])
  if (resource.expires !== null) {
    const expires = Date.parse(resource.expires)
    if (Number.isFinite(expires)) return Math.max(0, (expires - Date.parse(fetchedAt)) / 1000)
  }
  return 0
}

const caching: CheckDefinition = {
  id: 'cache-headers',
  category: 'performance',
  weight: 3,
  title: 'Caching of static assets',
  passTitle: 'Static assets are cached',
  failTitle: 'Static assets are not cached long enough',
  scoring:
    'Each script, stylesheet, image and font: cache lifetime of 7 days or more (or immutable) → 1, 1 day or more → 0.5, less → 0; the check is their average.',
  lighthouse: 'uses-long-cache-ttl',
  fix: 'Serve fingerprinted assets with "Cache-Control: public, max-age=31536000, immutable" and give the rest at least a week.',
  run(site) {
    const assets = site.resources.filter(
      (r) => r.status !== null && r.status >= 200 && r.status < 300,
    )
    if (assets.length === 0) return { score: null, summary: 'No static assets found' }
    const rated = assets.map((r) => {
      const lifetime = cacheLifetime(r, site.fetchedAt)
      return { r, lifetime, score: lifetime >= 7 * DAY ? 1 : lifetime >= DAY ? 0.5 : 0 }
    })
    const short = rated.filter((x) => x.score < 1)
    return {
      score: rated.reduce((s, x) => s + x.score, 0) / rated.length,
      summary: `${assets.length - short.length} of ${assets.length} static assets cached for a week or more`,
      items: short.slice(0, 20).map((x) => ({
        url: x.r.url,
        cacheControl: x.r.cacheControl,
        lifetimeSeconds: Math.round(x.lifetime),
      })),
    }
  },
}

// Lighthouse unminified-javascript / unminified-css ignore a file below either threshold.
const MINIFY_IGNORE_PERCENT = 10
const MINIFY_IGNORE_BYTES = 2048

const minified: CheckDefinition = {
  id: 'minified-code',
  category: 'performance',
  weight: 3,
  title: 'Minified JavaScript and CSS',
  passTitle: 'JavaScript and CSS are minified',
  failTitle: 'JavaScript or CSS is not minified',
  scoring: `Lighthouse's token-ratio estimate per script and stylesheet (inline ones too); a file counts when minifying would save ≥ ${MINIFY_IGNORE_PERCENT}% and ≥ ${kib(MINIFY_IGNORE_BYTES)}. Log-normal on the total saving: ${kib(CURVES.minifySavingsBytes.p10)} → 0.9, ${kib(CURVES.minifySavingsBytes.median)} → 0.5.`,
  lighthouse: 'unminified-javascript, unminified-css',
  fix: 'Minify scripts and stylesheets in your build (esbuild, terser, lightningcss) or turn on your platform’s minification setting.',
  run(site) {
    const files: Array<{ url: string; bytes: number; length: number; tokens: number }> = []
    for (const r of site.resources) {
      if (r.textLength === null || r.tokenLength === null || r.textLength === 0) continue
      files.push({
        url: r.url,
        bytes: r.transferBytes ?? r.textLength,
        length: r.textLength,
        tokens: r.tokenLength,
      })
    }
    for (const code of site.inlineCode) {
      if (code.length === 0) continue
      files.push({
        url: `inline ${code.kind}`,
        bytes: code.length,
        length: code.length,
        tokens: code.tokenLength,
      })
    }
    if (files.length === 0) return { score: null, summary: 'No scripts or stylesheets found' }
    const flagged = files
      .map((f) => {
        const wastedRatio = 1 - f.tokens / f.length
        return {
          url: f.url,
          wastedPercent: 100 * wastedRatio,
          wastedBytes: Math.round(f.bytes * wastedRatio),
        }
      })
      .filter(
        (f) => f.wastedPercent >= MINIFY_IGNORE_PERCENT && f.wastedBytes >= MINIFY_IGNORE_BYTES,
      )
      .sort((a, b) => b.wastedBytes - a.wastedBytes)
    const savings = flagged.reduce((s, f) => s + f.wastedBytes, 0)
    return {
      score: getLogNormalScore(CURVES.minifySavingsBytes, savings),
      summary:
        flagged.length === 0
          ? `${files.length} scripts and stylesheets checked, all minified`
          : `${flagged.length} file(s) could shrink by about ${kib(savings)}`,
      items: flagged.slice(0, 20).map((f) => ({
        url: f.url,
        wastedBytes: f.wastedBytes,
        wastedPercent: Math.round(f.wastedPercent),
      })),
    }
  },
}

// Lighthouse uses-text-compression ignores savings under 1.4 KiB or 10%.
const COMPRESSION_IGNORE_BYTES = 1400
const COMPRESSION_IGNORE_RATIO = 0.1

const compression: CheckDefinition = {
  id: 'text-compression',
  category: 'performance',
  weight: 2,
  title: 'Text compression',
  passTitle: 'Text is compressed',
  failTitle: 'Text is sent uncompressed',
  scoring: `HTML, scripts and stylesheets sent without Content-Encoding although we asked for gzip/br: the bytes gzip would save, counted when ≥ 1.4 KiB and ≥ 10% (as Lighthouse's uses-text-compression). Log-normal on the total: ${kib(CURVES.compressionSavingsBytes.p10)} → 0.9, ${kib(CURVES.compressionSavingsBytes.median)} → 0.5.`,
  lighthouse: 'uses-text-compression',
  fix: 'Turn on gzip or Brotli for text/html, text/css, JavaScript, JSON and SVG in your web server or CDN.',
  run(site) {
    const candidates = [
      { url: site.finalUrl, size: site.html.decodedBytes, gzip: site.html.gzipBytes },
      ...site.resources.map((r) => ({ url: r.url, size: r.decodedBytes ?? 0, gzip: r.gzipBytes })),
    ]
    const flagged = candidates
      .filter((c) => c.gzip !== null)
      .map((c) => ({ url: c.url, size: c.size, savings: c.size - (c.gzip ?? c.size) }))
      .filter(
        (c) =>
          c.savings >= COMPRESSION_IGNORE_BYTES && c.savings / c.size >= COMPRESSION_IGNORE_RATIO,
      )
      .sort((a, b) => b.savings - a.savings)
    const savings = flagged.reduce((s, f) => s + f.savings, 0)
    return {
      score: getLogNormalScore(CURVES.compressionSavingsBytes, savings),
      summary:
        flagged.length === 0
          ? 'Text responses are compressed'
          : `${flagged.length} response(s) uncompressed; gzip would save about ${kib(savings)}`,
      items: flagged
        .slice(0, 20)
        .map((f) => ({ url: f.url, bytes: f.size, savingsBytes: f.savings })),
    }
  },
}

const LEGACY_IMAGE_TYPES = [
  'image/jpeg',
  'image/jpg',
  'image/png',
  'image/gif',
  'image/bmp',
  'image/tiff',
]
const LEGACY_IMAGE_EXTENSIONS = /\.(jpe?g|png|gif|bmp|tiff?)(\?|#|$)/i
// Typical saving of WebP/AVIF over JPEG/PNG at equal quality.
const MODERN_FORMAT_SAVING = 0.3
const LEGACY_IGNORE_BYTES = 50 * KIB
const LARGE_IMAGE_BYTES = 300 * KIB

function isLegacyImage(r: Resource): boolean {
  const type = (r.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type !== '') return LEGACY_IMAGE_TYPES.includes(type)
  return LEGACY_IMAGE_EXTENSIONS.test(r.url)
}

const images: CheckDefinition = {
  id: 'image-optimization',
  category: 'performance',
  weight: 3,
  title: 'Image sizes and formats',
  passTitle: 'Images are light and in modern formats',
  failTitle: 'Images are heavy or in old formats',
  scoring: `Estimated avoidable bytes per image: 30% of a JPEG/PNG/GIF over ${kib(LEGACY_IGNORE_BYTES)} (what WebP/AVIF typically saves), or everything above ${kib(LARGE_IMAGE_BYTES)}, whichever is more. Log-normal on the total: ${kib(CURVES.imageSavingsBytes.p10)} → 0.9, ${kib(CURVES.imageSavingsBytes.median)} → 0.5.`,
  lighthouse: 'modern-image-formats, uses-optimized-images',
  fix: 'Serve images as WebP or AVIF, resized to the size they are shown at, and compress photos (quality 75–85 is rarely visible).',
  run(site) {
    const measured = site.resources.filter((r) => r.type === 'image' && r.transferBytes !== null)
    if (measured.length === 0) return { score: null, summary: 'No images found' }
    const rated = measured
      .map((r) => {
        const bytes = r.transferBytes ?? 0
        const formatSaving =
          isLegacyImage(r) && bytes > LEGACY_IGNORE_BYTES ? bytes * MODERN_FORMAT_SAVING : 0
        const sizeSaving = Math.max(0, bytes - LARGE_IMAGE_BYTES)
        return { r, bytes, savings: Math.round(Math.max(formatSaving, sizeSaving)) }
      })
      .filter((x) => x.savings > 0)
      .sort((a, b) => b.savings - a.savings)
    const savings = rated.reduce((s, x) => s + x.savings, 0)
    return {
      score: getLogNormalScore(CURVES.imageSavingsBytes, savings),
      summary:
        rated.length === 0
          ? `${measured.length} image(s), none heavy or in an old format`
          : `${rated.length} of ${measured.length} image(s) could save about ${kib(savings)}`,
      items: rated.slice(0, 20).map((x) => ({
        url: x.r.url,
        bytes: x.bytes,
        contentType: x.r.contentType,
        savingsBytes: x.savings,
      })),
    }
  },
}

export const PERFORMANCE_CHECKS: CheckDefinition[] = [
  pageWeight,
  requestCount,
  responseTime,
  redirects,
  caching,
  minified,
  compression,
  images,
]
