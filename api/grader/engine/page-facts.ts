import { load } from 'cheerio'
// Type only (erased at run time): the element type cheerio's own API is declared with.
import type { Element } from 'domhandler'

// Everything the checks need from the HTML, read once with cheerio (parse5: the same tree a
// browser builds, so "is this link in <head>" agrees with Lighthouse). The result is plain data:
// the DOM is dropped as soon as the facts are out.

export type MetaFact = { name: string; content: string | null }

export type LinkFact = {
  /** Lower-cased `rel` attribute as written (`canonical`, `alternate`, `stylesheet`, …). */
  rel: string
  /** Resolved against the document base, or null when it does not resolve. */
  href: string | null
  hrefRaw: string
  hreflang: string
  source: 'head' | 'body' | 'headers'
  media: string | null
}

export type AnchorFact = {
  href: string
  rawHref: string
  text: string
  rel: string
  name: string
  role: string
  id: string
  attributeNames: string[]
  hasOnclick: boolean
  textLang: string | null
}

export type ImageFact = {
  src: string | null
  rawSrc: string
  alt: string | null
  role: string
  ariaLabel: string
  ariaLabelledby: string
  ariaHidden: boolean
  title: string
  hasSrcset: boolean
  inPictureWithSources: boolean
  width: string | null
  height: string | null
}

export type ScriptFact = { src: string | null; type: string | null; inline: string | null }

export type PageFacts = {
  baseUrl: string
  lang: string | null
  /** Text of the first <title>, null when there is none. */
  title: string | null
  metas: MetaFact[]
  links: LinkFact[]
  anchors: AnchorFact[]
  h1: string[]
  images: ImageFact[]
  scripts: ScriptFact[]
  stylesheets: Array<{ href: string; media: string | null }>
  inlineStyles: string[]
  /** `style` attributes that set a font. */
  styleAttributes: string[]
  iframes: string[]
  /** http: URLs of subresources (scripts, styles, images, frames, media). */
  insecureReferences: Array<{ url: string; element: string }>
  /** Content of each `<meta http-equiv="Content-Security-Policy">` in <head> (ignored elsewhere). */
  contentSecurityPolicies: string[]
  /** DOM fingerprints of site builders and frameworks (for platform detection). */
  markers: string[]
  totals: { anchors: number; images: number; scripts: number }
}

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml'
const MAX_ANCHORS = 5_000
const MAX_IMAGES = 2_000
const MAX_SCRIPTS = 500
const MAX_INLINE_SCRIPT_CHARS = 256 * 1024
const MAX_INLINE_TOTAL_CHARS = 2 * 1024 * 1024

function resolve(raw: string, base: string): string | null {
  try {
    return new URL(raw.trim(), base).href
  } catch {
    return null
  }
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** The charset parameter of a Content-Type header, if any. */
export function charsetOf(contentType: string | null): string | undefined {
  const match = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')
  return match?.[1]
}

function decoderFor(label: string | undefined): TextDecoder | null {
  if (label === undefined) return null
  try {
    return new TextDecoder(label.trim().toLowerCase())
  } catch {
    return null
  }
}

/**
 * The page's text, decoded the way a browser picks the encoding: byte-order mark, then the
 * Content-Type charset, then a <meta> charset in the first 1024 bytes; undeclared pages are read
 * as UTF-8 when they are valid UTF-8, else as windows-1252 (the web's legacy default).
 */
export function decodeHtml(html: Buffer, contentType: string | null): string {
  if (html[0] === 0xef && html[1] === 0xbb && html[2] === 0xbf) {
    return new TextDecoder('utf-8').decode(html)
  }
  if (html[0] === 0xff && html[1] === 0xfe) return new TextDecoder('utf-16le').decode(html)
  if (html[0] === 0xfe && html[1] === 0xff) return new TextDecoder('utf-16be').decode(html)
  const head = html.subarray(0, 1024).toString('latin1')
  const declared =
    charsetOf(contentType) ?? /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1]
  const decoder = decoderFor(declared)
  if (decoder !== null) return decoder.decode(html)
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(html)
  } catch {
    return new TextDecoder('windows-1252').decode(html)
  }
}

/** RFC 8288 Link header entries that matter for SEO (canonical, alternate hreflang). */
export function parseLinkHeader(value: string, base: string): LinkFact[] {
  const links: LinkFact[] = []
  for (const part of value.split(/,(?=\s*<)/)) {
    const target = /<([^>]*)>/.exec(part)
    if (target?.[1] === undefined) continue
    const param = (name: string) =>
      new RegExp(`;\\s*${name}\\s*=\\s*"?([^";]*)"?`, 'i').exec(part)?.[1]?.trim() ?? ''
    links.push({
      rel: param('rel').toLowerCase(),
      href: resolve(target[1], base),
      hrefRaw: target[1],
      hreflang: param('hreflang'),
      source: 'headers',
      media: null,
    })
  }
  return links
}

// Every element any fact comes from, in one selector list: css-select walks the document once
// for the whole list, where one query per fact would walk a large page a dozen times.
const INTERESTING = [
  'title',
  'meta[name]',
  'meta[http-equiv]',
  'link',
  'base[href]',
  'a',
  'h1',
  'img',
  'script',
  'style',
  'iframe[src]',
  'video[src]',
  'audio[src]',
  'source[src]',
  'embed[src]',
  'object[data]',
  '[lang]',
  '[style*="font"]',
  '[id]',
  '[data-wf-site]',
  '[data-wf-page]',
  '[data-hs-cos-general-type]',
  '[data-hs-portal-id]',
].join(', ')

function markerOf(el: Element): string | null {
  const id = el.attribs.id
  if (
    el.tagName === 'html' &&
    (el.attribs['data-wf-site'] ?? el.attribs['data-wf-page']) !== undefined
  ) {
    return 'webflow'
  }
  if (id === '__next' || id === '__NEXT_DATA__') return 'nextjs'
  if (id === '__nuxt' || id === '__layout') return 'nuxt'
  if (id === '___gatsby') return 'gatsby'
  if (
    el.attribs['data-hs-cos-general-type'] !== undefined ||
    el.attribs['data-hs-portal-id'] !== undefined
  ) {
    return 'hubspot'
  }
  return null
}

export function extractPageFacts(
  html: Buffer,
  pageUrl: string,
  options: { contentType?: string | null; linkHeader?: string | null } = {},
): PageFacts {
  const $ = load(decodeHtml(html, options.contentType ?? null))
  const byTag = new Map<string, Element[]>()
  const langElements: Element[] = []
  const styleAttributes: string[] = []
  const markers = new Set<string>()
  $(INTERESTING).each((_, node) => {
    if (node.type !== 'tag' && node.type !== 'script' && node.type !== 'style') return
    const el = node as Element
    const list = byTag.get(el.tagName)
    if (list === undefined) byTag.set(el.tagName, [el])
    else list.push(el)
    if (el.attribs.lang !== undefined) langElements.push(el)
    const style = el.attribs.style
    if (style !== undefined && style.includes('font') && styleAttributes.length < 2_000) {
      styleAttributes.push(style)
    }
    const marker = markerOf(el)
    if (marker !== null) markers.add(marker)
  })
  const elements = (tag: string) => byTag.get(tag) ?? []

  const baseHref = elements('base').find((el) => el.attribs.href !== undefined)?.attribs.href
  const baseUrl = (baseHref === undefined ? null : resolve(baseHref, pageUrl)) ?? pageUrl

  const insecureReferences: PageFacts['insecureReferences'] = []
  const noteInsecure = (url: string | null, element: string) => {
    if (url?.startsWith('http:')) insecureReferences.push({ url, element })
  }

  const lang = elements('html')[0]?.attribs.lang?.trim() || null
  // document.title's element: the first <title> in the HTML namespace. An inline SVG icon's
  // <title> (in the body, common on pages with no title of their own) is not the page's.
  const titleElement = elements('title').find((el) => el.namespace === HTML_NAMESPACE)
  const title = titleElement === undefined ? null : collapse($(titleElement).text())

  const metas: MetaFact[] = []
  const contentSecurityPolicies: string[] = []
  for (const el of elements('meta')) {
    const httpEquiv = el.attribs['http-equiv']?.trim().toLowerCase()
    // A browser applies a policy from <meta> only when the element is a child of <head>.
    if (
      httpEquiv === 'content-security-policy' &&
      el.attribs.content !== undefined &&
      $(el).parent('head').length > 0
    ) {
      contentSecurityPolicies.push(el.attribs.content)
    }
    if (el.attribs.name === undefined) continue
    metas.push({ name: el.attribs.name.trim().toLowerCase(), content: el.attribs.content ?? null })
  }

  const links: LinkFact[] = []
  for (const el of elements('link')) {
    const hrefRaw = el.attribs.href ?? ''
    links.push({
      rel: (el.attribs.rel ?? '').trim().toLowerCase(),
      href: hrefRaw === '' ? null : resolve(hrefRaw, baseUrl),
      hrefRaw,
      hreflang: el.attribs.hreflang ?? '',
      source: $(el).closest('head').length > 0 ? 'head' : 'body',
      media: el.attribs.media ?? null,
    })
  }
  if (options.linkHeader) links.push(...parseLinkHeader(options.linkHeader, pageUrl))

  const stylesheets: PageFacts['stylesheets'] = []
  for (const link of links) {
    if (link.source === 'headers' || link.href === null) continue
    if (!link.rel.split(/\s+/).includes('stylesheet') || link.rel.includes('alternate')) continue
    stylesheets.push({ href: link.href, media: link.media })
    noteInsecure(link.href, 'link')
  }

  // Lighthouse takes the language of the whole document when only <html> or <body> sets one.
  const onlyLang = langElements.length === 1 ? langElements[0] : undefined
  const singleLang =
    onlyLang !== undefined && (onlyLang.tagName === 'html' || onlyLang.tagName === 'body')
      ? (onlyLang.attribs.lang ?? null)
      : null
  const anchorElements = elements('a')
  const anchors: AnchorFact[] = []
  for (const el of anchorElements.slice(0, MAX_ANCHORS)) {
    const node = $(el)
    const rawHref = el.attribs.href ?? ''
    anchors.push({
      href: Object.hasOwn(el.attribs, 'href') ? (resolve(rawHref, baseUrl) ?? '') : '',
      rawHref,
      text: collapse(node.text()),
      rel: (el.attribs.rel ?? '').toLowerCase(),
      name: el.attribs.name ?? '',
      role: el.attribs.role ?? '',
      id: el.attribs.id ?? '',
      attributeNames: Object.keys(el.attribs),
      hasOnclick: Object.hasOwn(el.attribs, 'onclick'),
      textLang:
        singleLang ??
        (langElements.length === 0 ? null : (node.closest('[lang]').attr('lang') ?? null)),
    })
  }

  const h1 = elements('h1').map((el) => collapse($(el).text()))

  const imageElements = elements('img')
  const images: ImageFact[] = []
  for (const el of imageElements.slice(0, MAX_IMAGES)) {
    const a = el.attribs
    const rawSrc = a.src ?? ''
    const src = rawSrc === '' ? null : resolve(rawSrc, baseUrl)
    noteInsecure(src, 'img')
    const picture = $(el).parent('picture')
    images.push({
      src,
      rawSrc,
      alt: a.alt ?? null,
      role: (a.role ?? '').trim().toLowerCase(),
      ariaLabel: a['aria-label'] ?? '',
      ariaLabelledby: a['aria-labelledby'] ?? '',
      ariaHidden: (a['aria-hidden'] ?? '').trim() === 'true',
      title: a.title ?? '',
      hasSrcset: (a.srcset ?? '').trim() !== '',
      inPictureWithSources: picture.length > 0 && picture.find('source[srcset]').length > 0,
      width: a.width ?? null,
      height: a.height ?? null,
    })
  }

  const scriptElements = elements('script')
  const scripts: ScriptFact[] = []
  let inlineBudget = MAX_INLINE_TOTAL_CHARS
  for (const el of scriptElements.slice(0, MAX_SCRIPTS)) {
    const type = el.attribs.type?.trim().toLowerCase() ?? null
    // Data blocks (JSON-LD, templates) are not executed, so they are not scripts for our purposes.
    const executable =
      type === null || type === '' || type === 'module' || type.includes('javascript')
    if (!executable) continue
    const rawSrc = el.attribs.src
    if (rawSrc !== undefined) {
      const src = resolve(rawSrc, baseUrl)
      noteInsecure(src, 'script')
      scripts.push({ src, type, inline: null })
      continue
    }
    const text = $(el).text()
    if (text.trim() === '' || inlineBudget <= 0) continue
    const kept = text.slice(0, Math.min(MAX_INLINE_SCRIPT_CHARS, inlineBudget))
    inlineBudget -= kept.length
    scripts.push({ src: null, type, inline: kept })
  }

  const inlineStyles: string[] = []
  for (const el of elements('style')) {
    if (inlineBudget <= 0) break
    const text = $(el).text().slice(0, inlineBudget)
    inlineBudget -= text.length
    inlineStyles.push(text)
  }

  const iframes: string[] = []
  for (const el of elements('iframe')) {
    const src = resolve(el.attribs.src ?? '', baseUrl)
    if (src === null) continue
    iframes.push(src)
    noteInsecure(src, 'iframe')
  }
  for (const tag of ['video', 'audio', 'source', 'embed', 'object']) {
    for (const el of elements(tag)) {
      const raw = el.attribs.src ?? el.attribs.data
      if (raw !== undefined) noteInsecure(resolve(raw, baseUrl), tag)
    }
  }

  return {
    baseUrl,
    lang,
    title,
    metas,
    links,
    anchors,
    h1,
    images,
    scripts,
    stylesheets,
    inlineStyles,
    styleAttributes,
    iframes,
    insecureReferences,
    contentSecurityPolicies,
    markers: [...markers],
    totals: {
      anchors: anchorElements.length,
      images: imageElements.length,
      scripts: scriptElements.length,
    },
  }
}
