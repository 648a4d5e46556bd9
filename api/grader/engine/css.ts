// Just enough CSS reading for the grader: which fonts and imported sheets a stylesheet pulls in,
// and the font sizes it declares (the legibility estimate without a browser).
// Every expression here runs on fetched text on the main event loop, so each must stay linear: no
// run that can be rescanned from every start position (a `[^{}]+{` over text without braces), and
// no two adjacent quantifiers over the same characters (`\s*([^)]*?)\s*`, cubic on whitespace).

export function stripComments(css: string): string {
  return css.replace(/\/\*[\s\S]*?\*\//g, '')
}

function resolve(raw: string, base: string): string | null {
  const trimmed = raw.trim().replace(/^['"]|['"]$/g, '')
  if (trimmed === '' || trimmed.startsWith('data:')) return null
  try {
    return new URL(trimmed, base).href
  } catch {
    return null
  }
}

/** Stylesheets pulled in with `@import url(...)` or `@import "..."`. */
export function findImports(css: string, base: string): string[] {
  const found: string[] = []
  const pattern = /@import\s+(?:url\(([^()]*)\)|"([^"\n]*)"|'([^'\n]*)')/gi
  for (const match of stripComments(css).matchAll(pattern)) {
    const url = resolve(match[1] ?? match[2] ?? match[3] ?? '', base)
    if (url !== null) found.push(url)
  }
  return found
}

/**
 * The font files a browser would download for each `@font-face`: the first `url()` of its `src`
 * (browsers take the first format they support, and every current browser supports the first
 * one sites list, usually woff2).
 */
export function findFontUrls(css: string, base: string): string[] {
  const found: string[] = []
  for (const block of stripComments(css).matchAll(/@font-face\s*{([^{}]*)}/gi)) {
    const src = /(?:^|;)\s*src\s*:([^;]*)/i.exec(block[1] ?? '')
    const first = /url\(([^()]*)\)/i.exec(src?.[1] ?? '')
    const url = first?.[1] === undefined ? null : resolve(first[1], base)
    if (url !== null) found.push(url)
  }
  return found
}

const KEYWORD_SIZES: Record<string, number> = {
  'xx-small': 9,
  'x-small': 10,
  small: 13,
  medium: 16,
  large: 18,
  'x-large': 24,
  'xx-large': 32,
  'xxx-large': 48,
  smaller: 13.3,
  larger: 19.2,
}

const ROOT_PX = 16

/**
 * One font-size value in CSS pixels, or null when it cannot be known without layout
 * (viewport units, calc, variables). Relative units are taken against the 16px default, which
 * is what they mean on the root and what most sites keep.
 */
export function fontSizeToPx(value: string): number | null {
  const v = value
    .trim()
    .toLowerCase()
    .replace(/\s*!important$/, '')
  const keyword = KEYWORD_SIZES[v]
  if (keyword !== undefined) return keyword
  // clamp(MIN, preferred, MAX) renders at MIN on a narrow phone screen.
  const clamp = /^clamp\(\s*([^,]+),/.exec(v)
  if (clamp?.[1] !== undefined) return fontSizeToPx(clamp[1])
  const match = /^(-?\d*\.?\d+)(px|pt|pc|rem|em|%|q|mm|cm|in)?$/.exec(v)
  if (match?.[1] === undefined) return null
  const n = Number(match[1])
  switch (match[2]) {
    case 'px':
      return n
    case 'pt':
      return (n * 4) / 3
    case 'pc':
      return n * 16
    case 'rem':
    case 'em':
      return n * ROOT_PX
    case '%':
      return (n / 100) * ROOT_PX
    case 'q':
      return (n * 96) / 101.6
    case 'mm':
      return (n * 96) / 25.4
    case 'cm':
      return (n * 96) / 2.54
    case 'in':
      return n * 96
    case undefined:
      return n === 0 ? 0 : null
    default:
      return null
  }
}

/** The size part of the `font` shorthand (`italic bold 12px/1.5 Georgia`). */
function sizeFromShorthand(value: string): string | null {
  for (const token of value.trim().split(/\s+/)) {
    const size = token.split('/')[0] ?? ''
    if (KEYWORD_SIZES[size.toLowerCase()] !== undefined) return size
    if (/^\d*\.?\d+(px|pt|pc|rem|em|%|q|mm|cm|in)$/i.test(size) || /^clamp\(/i.test(size))
      return size
  }
  return null
}

/** Removes `@media print { … }` blocks: they never apply on a phone screen. */
function withoutPrintRules(css: string): string {
  let out = ''
  let i = 0
  const pattern = /@media\s+print\b[^{};@]*{/gi
  for (let match = pattern.exec(css); match !== null; match = pattern.exec(css)) {
    out += css.slice(i, match.index)
    let depth = 1
    let j = match.index + match[0].length
    while (j < css.length && depth > 0) {
      if (css[j] === '{') depth++
      else if (css[j] === '}') depth--
      j++
    }
    i = j
    pattern.lastIndex = j
  }
  return out + css.slice(i)
}

export type FontSizeDeclaration = { selector: string; value: string; px: number }

export type FontSizeEstimate = {
  declarations: FontSizeDeclaration[]
  /** Declared on html, :root or body, when any. */
  basePx: number | null
}

/** Every font size declared in the given stylesheets and style attributes, in CSS pixels. */
export function collectFontSizes(sheets: string[], styleAttributes: string[]): FontSizeEstimate {
  const declarations: FontSizeDeclaration[] = []
  let basePx: number | null = null
  const add = (selector: string, property: string, value: string) => {
    const sizeText = property === 'font' ? sizeFromShorthand(value) : value
    if (sizeText === null) return
    const px = fontSizeToPx(sizeText)
    if (px === null || px <= 0) return
    declarations.push({ selector, value: sizeText.trim(), px })
    if (/(^|,)\s*(html|:root|body)\s*(,|$)/i.test(selector)) basePx = px
  }
  for (const sheet of sheets) {
    const css = withoutPrintRules(stripComments(sheet))
    for (const rule of css.matchAll(/(?<=^|[{}])([^{}]+){([^{}]*)}/g)) {
      const selector = (rule[1] ?? '').trim()
      if (selector.startsWith('@font-face')) continue
      for (const decl of (rule[2] ?? '').matchAll(/(?:^|;)\s*(font-size|font)\s*:\s*([^;]+)/gi)) {
        add(selector, (decl[1] ?? '').toLowerCase(), decl[2] ?? '')
      }
    }
  }
  for (const style of styleAttributes) {
    for (const decl of style.matchAll(/(?:^|;)\s*(font-size|font)\s*:\s*([^;]+)/gi)) {
      add('[style]', (decl[1] ?? '').toLowerCase(), decl[2] ?? '')
    }
  }
  return { declarations, basePx }
}
