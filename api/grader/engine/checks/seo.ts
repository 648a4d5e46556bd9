import robotsParser from 'robots-parser'
import subtags from '../data/language-subtags.json' with { type: 'json' }
import type { LinkFact } from '../page-facts.ts'
import type { SiteData } from '../site-data.ts'
import type { CheckDefinition, CheckOutcome, EvidenceItem } from './check.ts'

// SEO, 30 points. Where Lighthouse has the audit, the logic is Lighthouse 13.5.0's (Apache-2.0),
// restated over SiteData, so the grader and Lighthouse agree on the same page.

// ---- is-crawlable ---------------------------------------------------------------------------

// Lighthouse passes the page when at least one of these (undefined: any bot) may index it.
const BOT_USER_AGENTS = [undefined, 'Googlebot', 'bingbot', 'DuckDuckBot', 'archive.org_bot']
const BLOCKING_DIRECTIVES = new Set(['noindex', 'none'])
const UNAVAILABLE_AFTER = 'unavailable_after'

function isUnavailable(directive: string, now: number): boolean {
  const parts = directive.split(':')
  if (parts.length <= 1 || parts[0] !== UNAVAILABLE_AFTER) return false
  const date = Date.parse(parts.slice(1).join(':'))
  return !Number.isNaN(date) && date < now
}

function hasBlockingDirective(directives: string, now: number): boolean {
  return directives
    .split(',')
    .map((d) => d.toLowerCase().trim())
    .some((d) => BLOCKING_DIRECTIVES.has(d) || isUnavailable(d, now))
}

function userAgentOfHeaderDirectives(directives: string): string | undefined {
  const parts = /^([^,:]+):/.exec(directives)
  if (parts?.[1] !== undefined && parts[1].toLowerCase() !== UNAVAILABLE_AFTER) return parts[1]
  return undefined
}

function blockingSources(
  site: SiteData,
  userAgent: string | undefined,
  robots: ReturnType<typeof robotsParser> | undefined,
  now: number,
): string[] {
  const sources: string[] = []
  const metas = site.page.metas
  let meta =
    userAgent === undefined ? undefined : metas.find((m) => m.name === userAgent.toLowerCase())
  meta ??= metas.find((m) => m.name === 'robots')
  if (meta !== undefined && hasBlockingDirective(meta.content ?? '', now)) {
    sources.push(`<meta name="${meta.name}" content="${meta.content ?? ''}">`)
  }
  const header = site.headers['x-robots-tag']
  // Repeated headers arrive joined with ", "; a new one starts where a bot name and colon do.
  for (const value of header === undefined ? [] : header.split(/,\s*(?=[^,:\s]+:(?!\/))/)) {
    const directiveUserAgent = userAgentOfHeaderDirectives(value)
    if (directiveUserAgent !== userAgent && directiveUserAgent !== undefined) continue
    let directives = value.trim()
    if (userAgent !== undefined && value.startsWith(`${userAgent}:`)) {
      directives = value.replace(`${userAgent}:`, '')
    }
    if (hasBlockingDirective(directives, now)) sources.push(`X-Robots-Tag: ${value}`)
  }
  if (robots !== undefined && robots.isAllowed(site.finalUrl, userAgent) === false) {
    const line = robots.getMatchingLineNumber(site.finalUrl, userAgent)
    sources.push(`robots.txt line ${line > 0 ? line : 1}`)
  }
  return sources
}

const isCrawlable: CheckDefinition = {
  id: 'is-crawlable',
  category: 'seo',
  weight: 8,
  title: 'Permission to index',
  passTitle: "Page isn't blocked from indexing",
  failTitle: 'Page is blocked from indexing',
  scoring:
    'Meta robots (and bot-specific metas), X-Robots-Tag (noindex, none, past unavailable_after) and robots.txt rules, for any bot and Googlebot, bingbot, DuckDuckBot, archive.org_bot: fails only when all of them are blocked. When it fails, SEO earns at most 9 of its 30 points.',
  lighthouse: 'is-crawlable',
  fix: 'Remove "noindex" from the robots meta tag and X-Robots-Tag header, and make sure robots.txt does not disallow this page.',
  run(site) {
    const now = Date.parse(site.fetchedAt)
    const robots =
      site.robotsTxt.content === null
        ? undefined
        : robotsParser(site.robotsTxt.url, site.robotsTxt.content)
    const blockedAgents: string[] = []
    let generic: string[] = []
    for (const userAgent of BOT_USER_AGENTS) {
      const sources = blockingSources(site, userAgent, robots, now)
      if (sources.length > 0) blockedAgents.push(userAgent ?? '*')
      if (userAgent === undefined) generic = sources
    }
    const blocked = blockedAgents.length === BOT_USER_AGENTS.length
    return {
      score: blocked ? 0 : 1,
      summary: blocked
        ? `Blocked by ${generic.join('; ') || 'bot-specific directives'}`
        : blockedAgents.length > 0
          ? `Indexable, but blocked for: ${blockedAgents.join(', ')}`
          : 'No directive blocks indexing',
      items: (blocked ? generic : []).map((source) => ({ source })),
    }
  },
}

// ---- document-title, meta-description, http-status-code --------------------------------------

const documentTitle: CheckDefinition = {
  id: 'document-title',
  category: 'seo',
  weight: 4,
  title: 'Page title',
  passTitle: 'Document has a <title> element',
  failTitle: 'Document doesn’t have a <title> element',
  scoring: 'A <title> element with text → 1, otherwise 0.',
  lighthouse: 'document-title',
  fix: 'Give the page a unique <title> of about 50–60 characters that says what it offers.',
  run(site) {
    const title = site.page.title
    if (title === null) return { score: 0, summary: 'No <title> element' }
    if (title.trim() === '') return { score: 0, summary: 'The <title> element is empty' }
    return { score: 1, summary: `Title: “${title.slice(0, 120)}” (${title.length} characters)` }
  },
}

const metaDescription: CheckDefinition = {
  id: 'meta-description',
  category: 'seo',
  weight: 4,
  title: 'Meta description',
  passTitle: 'Document has a meta description',
  failTitle: 'Document does not have a meta description',
  scoring: '<meta name="description"> with non-empty content → 1, otherwise 0.',
  lighthouse: 'meta-description',
  fix: 'Add <meta name="description" content="…"> summarising the page in about 150 characters.',
  run(site) {
    const meta = site.page.metas.find((m) => m.name === 'description')
    if (meta === undefined) return { score: 0, summary: 'No meta description' }
    const text = (meta.content ?? '').trim()
    if (text === '') return { score: 0, summary: 'Description text is empty.' }
    return { score: 1, summary: `“${text.slice(0, 160)}” (${text.length} characters)` }
  },
}

const httpStatus: CheckDefinition = {
  id: 'http-status-code',
  category: 'seo',
  weight: 3,
  title: 'HTTP status code',
  passTitle: 'Page has successful HTTP status code',
  failTitle: 'Page has unsuccessful HTTP status code',
  scoring: 'Status of the final page: 400–599 → 0, anything else → 1.',
  lighthouse: 'http-status-code',
  fix: 'Make the address answer 200 OK (fix the error, or redirect permanently to the right page).',
  run(site) {
    const failed = site.status >= 400 && site.status <= 599
    return { score: failed ? 0 : 1, summary: `HTTP ${site.status}` }
  },
}

// ---- link-text, crawlable-anchors --------------------------------------------------------------

// Lighthouse 13.5.0 core/audits/seo/link-text.js.
const NON_DESCRIPTIVE_LINK_TEXTS: Record<string, Set<string>> = {
  en: new Set([
    'click here',
    'click this',
    'go',
    'here',
    'information',
    'learn more',
    'more',
    'more info',
    'more information',
    'right here',
    'read more',
    'see more',
    'start',
    'this',
  ]),
  ja: new Set(['ここをクリック', 'こちらをクリック', 'リンク', '続きを読む', '続く', '全文表示']),
  es: new Set([
    'click aquí',
    'click aqui',
    'clicka aquí',
    'clicka aqui',
    'pincha aquí',
    'pincha aqui',
    'aquí',
    'aqui',
    'más',
    'mas',
    'más información',
    'más informacion',
    'mas información',
    'mas informacion',
    'este',
    'enlace',
    'este enlace',
    'empezar',
  ]),
  pt: new Set(['clique aqui', 'ir', 'mais informação', 'mais informações', 'mais', 'veja mais']),
  ko: new Set([
    '여기',
    '여기를 클릭',
    '클릭',
    '링크',
    '자세히',
    '자세히 보기',
    '계속',
    '이동',
    '전체 보기',
  ]),
  sv: new Set(['här', 'klicka här', 'läs mer', 'mer', 'mer info', 'mer information']),
  de: new Set([
    'klicke hier',
    'hier klicken',
    'hier',
    'mehr',
    'siehe',
    'dies',
    'das',
    'weiterlesen',
  ]),
  ta: new Set([
    'அடுத்த பக்கம்',
    'மறுபக்கம்',
    'முந்தைய பக்கம்',
    'முன்பக்கம்',
    'மேலும் அறிக',
    'மேலும் தகவலுக்கு',
    'மேலும் தரவுகளுக்கு',
    'தயவுசெய்து இங்கே அழுத்தவும்',
    'இங்கே கிளிக் செய்யவும்',
  ]),
  fa: new Set([
    'اطلاعات بیشتر',
    'اطلاعات',
    'این',
    'اینجا بزنید',
    'اینجا کلیک کنید',
    'اینجا',
    'برو',
    'بیشتر بخوانید',
    'بیشتر بدانید',
    'بیشتر',
    'شروع',
  ]),
}

function withoutFragment(url: string): string {
  return url.split('#')[0] ?? url
}

const linkText: CheckDefinition = {
  id: 'link-text',
  category: 'seo',
  weight: 2,
  title: 'Descriptive link text',
  passTitle: 'Links have descriptive text',
  failTitle: 'Links do not have descriptive text',
  scoring:
    'Any followed link (not nofollow, javascript:, mailto: or a same-page anchor) whose whole text is on Lighthouse’s list of generic texts (“click here”, “read more”, “mehr”, …) → 0, otherwise 1.',
  lighthouse: 'link-text',
  fix: 'Write link text that says where the link goes (“See pricing plans” rather than “Click here”).',
  run(site) {
    const failing = site.page.anchors.filter((a) => {
      if (a.href === '' || a.rel.includes('nofollow')) return false
      const href = a.href.toLowerCase()
      if (href.startsWith('javascript:') || href.startsWith('mailto:')) return false
      if (withoutFragment(a.href) === withoutFragment(site.finalUrl)) return false
      const text = a.text.trim().toLowerCase()
      if (text === '') return false
      if (a.textLang !== null) {
        const lang = a.textLang.split('-')[0]?.toLowerCase() ?? ''
        return NON_DESCRIPTIVE_LINK_TEXTS[lang]?.has(text) ?? false
      }
      return Object.values(NON_DESCRIPTIVE_LINK_TEXTS).some((texts) => texts.has(text))
    })
    return {
      score: failing.length === 0 ? 1 : 0,
      summary:
        failing.length === 0
          ? `${site.page.anchors.length} links checked`
          : `${failing.length} link(s) with generic text`,
      items: failing.slice(0, 20).map((a) => ({ href: a.href, text: a.text })),
    }
  },
}

const HREF_ASSOCIATED_ATTRIBUTES = [
  'target',
  'download',
  'ping',
  'rel',
  'hreflang',
  'type',
  'referrerpolicy',
]

const crawlableAnchors: CheckDefinition = {
  id: 'crawlable-anchors',
  category: 'seo',
  weight: 1,
  title: 'Crawlable links',
  passTitle: 'Links are crawlable',
  failTitle: 'Links are not crawlable',
  scoring:
    'Any <a> without a role whose href is empty, javascript:void(0), file:, unparseable, or missing while it has an onclick handler → 0, otherwise 1.',
  lighthouse: 'crawlable-anchors',
  fix: 'Give every link a real URL in href; use <button> for actions that are not navigation.',
  run(site) {
    const failing = site.page.anchors.filter((a) => {
      const rawHref = a.rawHref.replace(/\s/g, '')
      if (a.role.trim().length > 0) return false
      if (rawHref.startsWith('mailto:')) return false
      if (rawHref === '' && a.id !== '') return false
      if (rawHref.startsWith('file:')) return true
      if (a.name.trim().length > 0) return false
      if (
        !a.attributeNames.includes('href') &&
        HREF_ASSOCIATED_ATTRIBUTES.every((attr) => !a.attributeNames.includes(attr))
      ) {
        return a.hasOnclick
      }
      if (a.href === '') return true
      if (/javascript:void(\(|)0(\)|)/.test(rawHref)) return true
      return URL.canParse(rawHref, site.finalUrl) === false
    })
    return {
      score: failing.length === 0 ? 1 : 0,
      summary:
        failing.length === 0
          ? `${site.page.anchors.length} links checked`
          : `${failing.length} link(s) search engines cannot follow`,
      items: failing.slice(0, 20).map((a) => ({ href: a.rawHref, text: a.text.slice(0, 80) })),
    }
  },
}

// ---- headings, images --------------------------------------------------------------------------

const singleH1: CheckDefinition = {
  id: 'single-h1',
  category: 'seo',
  weight: 2,
  title: 'Exactly one H1',
  passTitle: 'Page has exactly one <h1>',
  failTitle: 'Page does not have exactly one <h1>',
  scoring: 'Exactly one <h1> element with text → 1; none, an empty one, or several → 0.',
  lighthouse: null,
  fix: 'Mark the main heading of the page, and only that one, as <h1>; use <h2>–<h6> below it.',
  run(site) {
    const h1 = site.page.h1
    const ok = h1.length === 1 && (h1[0] ?? '').trim() !== ''
    return {
      score: ok ? 1 : 0,
      summary:
        h1.length === 0
          ? 'No <h1>'
          : h1.length === 1
            ? (h1[0] ?? '') === ''
              ? 'The <h1> is empty'
              : `<h1>: “${(h1[0] ?? '').slice(0, 120)}”`
            : `${h1.length} <h1> elements`,
      items: h1.slice(0, 10).map((text) => ({ text: text.slice(0, 120) })),
    }
  },
}

const imageAlt: CheckDefinition = {
  id: 'image-alt',
  category: 'seo',
  weight: 2,
  title: 'Image alt text',
  passTitle: 'Image elements have [alt] attributes',
  failTitle: 'Image elements do not have [alt] attributes',
  scoring:
    'axe-core’s image-alt rule (Lighthouse): every visible <img> needs an alt attribute that is not just a space, an aria-label, aria-labelledby, a title, or role="none"/"presentation". Any failing image → 0. No images: not applicable.',
  lighthouse: 'image-alt',
  fix: 'Describe each meaningful image in its alt attribute; give decorative images alt="".',
  run(site) {
    const images = site.page.images.filter((i) => !i.ariaHidden)
    if (images.length === 0) return { score: null, summary: 'No images on the page' }
    const failing = images.filter((i) => {
      if (i.role === 'none' || i.role === 'presentation') return false
      if (i.ariaLabel.trim() !== '' || i.ariaLabelledby.trim() !== '') return false
      if (i.title.trim() !== '') return false
      if (i.alt === null) return true
      // axe's alt-space-value: an alt of only spaces reads as a missing one.
      return i.alt.length > 0 && i.alt.trim() === ''
    })
    return {
      score: failing.length === 0 ? 1 : 0,
      summary:
        failing.length === 0
          ? `${images.length} image(s), all with alternative text`
          : `${failing.length} of ${images.length} image(s) without alternative text`,
      items: failing.slice(0, 20).map((i) => ({ src: i.src ?? i.rawSrc })),
    }
  },
}

// ---- canonical, hreflang -----------------------------------------------------------------------

function canonicalOutcome(site: SiteData): CheckOutcome {
  const canonicals = new Set<string>()
  const hreflangUrls = new Set<string>()
  let invalid: LinkFact | undefined
  let relative: LinkFact | undefined
  for (const link of site.page.links) {
    if (link.source === 'body') continue
    if (link.rel === 'canonical') {
      if (link.hrefRaw === '') continue
      if (link.href === null) {
        invalid = link
        continue
      }
      if (!URL.canParse(link.hrefRaw, 'https://example.com')) invalid = link
      else if (!URL.canParse(link.hrefRaw)) relative = link
      else canonicals.add(link.href)
    } else if (link.rel === 'alternate') {
      if (link.href !== null && link.hreflang !== '') hreflangUrls.add(link.href)
    }
  }
  if (invalid !== undefined) return { score: 0, summary: `Invalid URL (${invalid.hrefRaw})` }
  if (relative !== undefined) {
    return { score: 0, summary: `Is not an absolute URL (${relative.hrefRaw})` }
  }
  const urls = [...canonicals]
  const first = urls[0]
  if (first === undefined) return { score: null, summary: 'No canonical link' }
  if (urls.length > 1)
    return { score: 0, summary: `Multiple conflicting URLs (${urls.join(', ')})` }
  const canonical = new URL(first)
  const base = new URL(site.finalUrl)
  if (
    hreflangUrls.has(base.href) &&
    hreflangUrls.has(canonical.href) &&
    base.href !== canonical.href
  ) {
    return { score: 0, summary: `Points to another hreflang location (${base.href})` }
  }
  if (canonical.origin === base.origin && canonical.pathname === '/' && base.pathname !== '/') {
    return {
      score: 0,
      summary:
        "Points to the domain's root URL (the homepage), instead of an equivalent page of content",
    }
  }
  return { score: 1, summary: `Canonical: ${canonical.href}` }
}

const canonical: CheckDefinition = {
  id: 'canonical',
  category: 'seo',
  weight: 1,
  title: 'Canonical link',
  passTitle: 'Document has a valid rel=canonical',
  failTitle: 'Document does not have a valid rel=canonical',
  scoring:
    'rel=canonical in the head or a Link header: invalid, relative, conflicting, pointing to another hreflang version, or pointing a deep page at the homepage → 0; valid → 1; none: not applicable.',
  lighthouse: 'canonical',
  fix: 'Use one absolute <link rel="canonical" href="…"> pointing at this page’s preferred address.',
  run: canonicalOutcome,
}

const validLanguages = new Set(subtags.codes.split(' '))

function isExpectedLanguageCode(hreflang: string): boolean {
  if (hreflang.toLowerCase() === 'x-default') return true
  const lang = hreflang.split('-')[0] ?? ''
  return validLanguages.has(lang.toLowerCase())
}

const hreflang: CheckDefinition = {
  id: 'hreflang',
  category: 'seo',
  weight: 1,
  title: 'hreflang links',
  passTitle: 'Document has a valid hreflang',
  failTitle: "Document doesn't have a valid hreflang",
  scoring:
    'Each rel=alternate hreflang link (head or Link header) needs a known language code (or x-default) and an absolute http(s) href; any invalid one → 0, otherwise (including none) 1.',
  lighthouse: 'hreflang',
  fix: 'Use ISO 639-1 language codes (optionally with a region, e.g. en-GB) and absolute URLs in hreflang links.',
  run(site) {
    const invalid: EvidenceItem[] = []
    const alternates = site.page.links.filter(
      (l) => l.rel === 'alternate' && l.hreflang !== '' && l.source !== 'body',
    )
    for (const link of alternates) {
      const reasons: string[] = []
      if (!isExpectedLanguageCode(link.hreflang)) reasons.push('Unexpected language code')
      const raw = link.hrefRaw.toLowerCase()
      if (!raw.startsWith('http:') && !raw.startsWith('https:')) reasons.push('Relative href value')
      if (reasons.length > 0) {
        invalid.push({ hreflang: link.hreflang, href: link.hrefRaw, reason: reasons.join('; ') })
      }
    }
    return {
      score: invalid.length === 0 ? 1 : 0,
      summary:
        alternates.length === 0
          ? 'No hreflang links'
          : invalid.length === 0
            ? `${alternates.length} hreflang link(s), all valid`
            : `${invalid.length} invalid hreflang link(s)`,
      items: invalid,
    }
  },
}

// ---- robots.txt, sitemap -----------------------------------------------------------------------

const DIRECTIVE_SAFELIST = new Set([
  'user-agent',
  'disallow',
  'allow',
  'sitemap',
  'crawl-delay',
  'clean-param',
  'host',
  'request-rate',
  'visit-time',
  'noindex',
  'content-signal',
])
const SITEMAP_VALID_PROTOCOLS = new Set(['https:', 'http:', 'ftp:'])

function verifyDirective(name: string, value: string): string | null {
  if (!DIRECTIVE_SAFELIST.has(name)) return 'Unknown directive'
  if (name === 'sitemap') {
    const url = URL.parse(value)
    if (url === null) return 'Invalid sitemap URL'
    if (!SITEMAP_VALID_PROTOCOLS.has(url.protocol)) return 'Invalid sitemap URL protocol'
  }
  if (name === 'user-agent' && value === '') return 'No user-agent specified'
  if (name === 'allow' || name === 'disallow') {
    if (value !== '' && value[0] !== '/' && value[0] !== '*') {
      return 'Pattern should either be empty, start with "/" or "*"'
    }
    const dollar = value.indexOf('$')
    if (dollar !== -1 && dollar !== value.length - 1)
      return '"$" should only be used at the end of the pattern'
  }
  return null
}

/** Lighthouse's robots.txt validation: one entry per line it does not accept. */
export function validateRobotsTxt(
  content: string,
): Array<{ line: number; content: string; message: string }> {
  const errors: Array<{ line: number; content: string; message: string }> = []
  let inGroup = false
  content.split(/\r\n|\r|\n/).forEach((raw, index) => {
    const hash = raw.indexOf('#')
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim()
    if (line === '') return
    const colon = line.indexOf(':')
    if (colon === -1) {
      errors.push({ line: index + 1, content: raw, message: 'Syntax not understood' })
      return
    }
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    const problem = verifyDirective(name, value)
    if (problem !== null) {
      errors.push({ line: index + 1, content: raw, message: problem })
      return
    }
    if (name === 'user-agent') inGroup = true
    else if (!inGroup && (name === 'allow' || name === 'disallow')) {
      errors.push({ line: index + 1, content: raw, message: 'No user-agent specified' })
    }
  })
  return errors
}

const robotsTxt: CheckDefinition = {
  id: 'robots-txt',
  category: 'seo',
  weight: 1,
  title: 'robots.txt',
  passTitle: 'robots.txt is valid',
  failTitle: 'robots.txt is not valid',
  scoring:
    'robots.txt answering 5xx or not fetchable → 0; 4xx or empty: not applicable; otherwise each line must be a known directive with a valid value (Lighthouse’s rules) → 1, else 0.',
  lighthouse: 'robots-txt',
  fix: 'Fix the listed robots.txt lines: only User-agent, Allow, Disallow, Sitemap (absolute URL) and Crawl-delay, each rule inside a User-agent group.',
  run(site) {
    const { status, content } = site.robotsTxt
    if (status !== null && status >= 500)
      return { score: 0, summary: `robots.txt answered HTTP ${status}` }
    if ((status !== null && status >= 400) || content === '') {
      return {
        score: null,
        summary:
          status !== null && status >= 400
            ? `No robots.txt (HTTP ${status})`
            : 'robots.txt is empty',
      }
    }
    if (status === null || content === null)
      return { score: 0, summary: 'robots.txt could not be fetched' }
    const errors = validateRobotsTxt(content)
    return {
      score: errors.length === 0 ? 1 : 0,
      summary:
        errors.length === 0 ? 'robots.txt is valid' : `${errors.length} error(s) in robots.txt`,
      items: errors
        .slice(0, 20)
        .map((e) => ({ line: e.line, content: e.content.slice(0, 200), error: e.message })),
    }
  },
}

const sitemap: CheckDefinition = {
  id: 'sitemap',
  category: 'seo',
  weight: 1,
  title: 'XML sitemap',
  passTitle: 'Sitemap found and readable',
  failTitle: 'No readable sitemap',
  scoring:
    'The first Sitemap: of robots.txt, else /sitemap.xml: a urlset or sitemap index (or a text list) of absolute URLs → 1, otherwise 0.',
  lighthouse: null,
  fix: 'Publish /sitemap.xml listing your pages with absolute URLs and name it in robots.txt (Sitemap: https://…/sitemap.xml).',
  run(site) {
    const s = site.sitemap
    const where = `${s.url ?? '/sitemap.xml'}${s.source === 'robots.txt' ? ' (from robots.txt)' : ''}`
    if (s.valid) {
      return {
        score: 1,
        summary: `${where}: ${s.format}, ${s.entries} entr${s.entries === 1 ? 'y' : 'ies'}`,
      }
    }
    const reason =
      s.error === 'unreachable'
        ? 'could not be fetched'
        : s.status !== null && s.status >= 400
          ? `answered HTTP ${s.status}`
          : 'is not a valid sitemap'
    return { score: 0, summary: `${where} ${reason}` }
  },
}

export const SEO_CHECKS: CheckDefinition[] = [
  isCrawlable,
  documentTitle,
  metaDescription,
  httpStatus,
  linkText,
  crawlableAnchors,
  singleH1,
  imageAlt,
  canonical,
  hreflang,
  robotsTxt,
  sitemap,
]
