import { collectFontSizes } from '../css.ts'
import type { SiteData } from '../site-data.ts'
import { kib, type CheckDefinition } from './check.ts'

// Mobile, 30 points. Without a browser: the viewport declaration, font sizes read from CSS, and
// whether images offer phone-sized versions. Tap targets need layout, so they are not measured.

export type ViewportMeta = {
  hasViewportTag: boolean
  /** Declares width or initial-scale (Lighthouse's "mobile optimized"). */
  isMobileOptimized: boolean
  /** user-scalable=no or maximum-scale below 2 (axe's meta-viewport rule). */
  zoomDisabled: boolean
  content: string | null
}

const VIEWPORT_SEPARATORS = ' \t\n\r,;='

/**
 * The key=value pairs of a viewport meta's content, split as browsers split them (Blink's
 * HTMLMetaElement::ParseContentAttribute, the css-viewport parsing algorithm): keys and values
 * end at whitespace, a comma, a semicolon or "=", so `width=device-width initial-scale=1` is
 * two properties, and spaces around "=" are allowed.
 */
function viewportProperties(content: string): Map<string, string> {
  const text = content.toLowerCase()
  const separator = (i: number) => i >= text.length || VIEWPORT_SEPARATORS.includes(text[i] ?? '')
  const props = new Map<string, string>()
  let i = 0
  while (i < text.length) {
    while (i < text.length && separator(i)) i++
    const keyStart = i
    while (!separator(i)) i++
    const key = text.slice(keyStart, i)
    // On to the "=", but not past a comma: `width, initial-scale=1` gives width no value.
    while (i < text.length && text[i] !== '=' && text[i] !== ',') i++
    while (i < text.length && text[i] !== ',' && separator(i)) i++
    const valueStart = i
    while (!separator(i)) i++
    if (key !== '') props.set(key, text.slice(valueStart, i))
  }
  return props
}

/** Reads `<meta name="viewport">` as browsers do (see viewportProperties). */
export function readViewport(site: SiteData): ViewportMeta {
  const meta = site.page.metas.find((m) => m.name === 'viewport')
  if (meta === undefined) {
    return { hasViewportTag: false, isMobileOptimized: false, zoomDisabled: false, content: null }
  }
  const content = meta.content ?? ''
  const props = viewportProperties(content)
  const width = props.get('width')
  const validWidth =
    width !== undefined &&
    (width === 'device-width' ||
      width === 'device-height' ||
      (Number(width) >= 1 && Number(width) <= 10_000))
  const scale = Number(props.get('initial-scale'))
  const validScale = props.has('initial-scale') && Number.isFinite(scale) && scale > 0
  const userScalable = props.get('user-scalable')
  const maximumScale = props.has('maximum-scale') ? Number(props.get('maximum-scale')) : Number.NaN
  const zoomDisabled =
    userScalable === 'no' ||
    userScalable === '0' ||
    (Number.isFinite(maximumScale) && maximumScale < 2)
  return {
    hasViewportTag: true,
    isMobileOptimized: validWidth || validScale,
    zoomDisabled,
    content,
  }
}

/** Points of the 14 lost when zoom is disabled (the viewport works, people just cannot zoom). */
export const ZOOM_DISABLED_PENALTY = 4 / 14

const viewport: CheckDefinition = {
  id: 'viewport',
  category: 'mobile',
  weight: 14,
  title: 'Viewport meta tag',
  passTitle: 'Has a <meta name="viewport"> tag with width or initial-scale',
  failTitle: 'Does not have a <meta name="viewport"> tag with width or initial-scale',
  scoring:
    'A viewport meta tag setting width or initial-scale → 1 (Lighthouse’s viewport audit); missing or without either → 0; with zoom disabled (user-scalable=no or maximum-scale < 2) → 10 of 14 points.',
  lighthouse: 'viewport',
  fix: 'Add <meta name="viewport" content="width=device-width, initial-scale=1"> to the <head>, and do not disable zoom.',
  run(site) {
    const v = readViewport(site)
    if (!v.hasViewportTag) return { score: 0, summary: 'No <meta name="viewport"> tag found' }
    if (!v.isMobileOptimized) {
      return { score: 0, summary: `No width or initial-scale in “${v.content ?? ''}”` }
    }
    if (v.zoomDisabled) {
      return {
        score: 1 - ZOOM_DISABLED_PENALTY,
        summary: `Viewport set (“${v.content ?? ''}”) but zoom is disabled`,
      }
    }
    return { score: 1, summary: `Viewport: “${v.content ?? ''}”` }
  },
}

const LEGIBLE_PX = 12
// Lighthouse's font-size audit passes when at least 60% of the text is 12px or larger.
const LEGIBLE_SHARE = 0.6

const fontSize: CheckDefinition = {
  id: 'font-size',
  category: 'mobile',
  weight: 6,
  title: 'Legible font sizes',
  passTitle: 'Document uses legible font sizes',
  failTitle: 'Document doesn’t use legible font sizes',
  scoring:
    'Estimated from the site’s own CSS (linked, inline and style attributes; print rules ignored): no mobile viewport → 0 (as Lighthouse); a base size on html/body under 12px → 0; otherwise at least 60% of the font-size declarations at 12px or more → 1, else 0. No font sizes declared: browser default 16px → 1.',
  lighthouse: 'font-size',
  fix: 'Use a base font size of at least 16px and keep small print at 12px or more.',
  run(site) {
    const v = readViewport(site)
    if (!v.isMobileOptimized) {
      return {
        score: 0,
        summary:
          "Text is illegible because there's no viewport meta tag optimized for mobile screens.",
      }
    }
    const { declarations, basePx } = collectFontSizes(site.firstPartyCss, site.page.styleAttributes)
    if (basePx !== null && basePx < LEGIBLE_PX) {
      return { score: 0, summary: `Base font size is ${basePx}px` }
    }
    if (declarations.length === 0)
      return { score: 1, summary: 'No font sizes set: browser default 16px' }
    const small = declarations.filter((d) => d.px < LEGIBLE_PX)
    const share = 1 - small.length / declarations.length
    return {
      score: share >= LEGIBLE_SHARE ? 1 : 0,
      summary: `${Math.round(share * 100)}% of ${declarations.length} font-size declarations are ${LEGIBLE_PX}px or larger`,
      items: small
        .slice(0, 20)
        .map((d) => ({ selector: d.selector.slice(0, 120), fontSize: d.value })),
    }
  },
}

const tapTargets: CheckDefinition = {
  id: 'tap-targets',
  category: 'mobile',
  weight: 6,
  title: 'Tap target sizes',
  passTitle: 'Tap targets are sized appropriately',
  failTitle: 'Tap targets are not sized appropriately',
  scoring:
    'Needs a rendered page in a browser: not measured by this grader, so it is left out of the Mobile score.',
  lighthouse: 'tap-targets',
  fix: 'Make buttons and links at least 48×48 CSS pixels with space between them.',
  run() {
    return { score: null, summary: 'Tap target sizes need a browser to measure' }
  },
}

const SMALL_IMAGE_BYTES = 30 * 1024
const ICON_MAX_PX = 64

const responsiveImages: CheckDefinition = {
  id: 'responsive-images',
  category: 'mobile',
  weight: 4,
  title: 'Responsive images',
  passTitle: 'Images offer sizes for small screens',
  failTitle: 'Images are not responsive',
  scoring: `Share of raster <img> elements that offer srcset (or sit in a <picture> with sources), counting images over ${kib(SMALL_IMAGE_BYTES)} or of unknown size, and not icons (width/height ≤ ${ICON_MAX_PX}) or SVG. None to judge: not applicable.`,
  lighthouse: 'uses-responsive-images',
  fix: 'Give large images a srcset with a few widths (e.g. 480w, 960w, 1600w) and a sizes attribute, or use <picture>.',
  run(site) {
    const sizes = new Map(site.resources.map((r) => [r.url, r]))
    const candidates = site.page.images.filter((i) => {
      if (i.src === null || !/^https?:/.test(i.src)) return false
      const resource = sizes.get(i.src)
      const type = resource?.contentType ?? ''
      if (type.includes('svg') || /\.svg(\?|#|$)/i.test(i.src)) return false
      const w = Number(i.width)
      const h = Number(i.height)
      if (
        (i.width !== null && w > 0 && w <= ICON_MAX_PX) ||
        (i.height !== null && h > 0 && h <= ICON_MAX_PX)
      ) {
        return false
      }
      const bytes = resource?.transferBytes ?? null
      return bytes === null || bytes > SMALL_IMAGE_BYTES
    })
    if (candidates.length === 0) return { score: null, summary: 'No large images to judge' }
    const fixed = candidates.filter((i) => !i.hasSrcset && !i.inPictureWithSources)
    return {
      score: 1 - fixed.length / candidates.length,
      summary: `${candidates.length - fixed.length} of ${candidates.length} large image(s) offer srcset or <picture> sources`,
      items: fixed.slice(0, 20).map((i) => ({ src: i.src })),
    }
  },
}

export const MOBILE_CHECKS: CheckDefinition[] = [viewport, fontSize, tapTargets, responsiveImages]
