// HTML building for email templates: the `html` tag escapes every interpolated value unless it is
// already Html, so a template cannot forget to escape a prop.

export type Html = { readonly html: string }

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => entities[c]!)
}

type Value = Html | string | number | null | undefined | false | readonly Value[]

function isHtml(v: unknown): v is Html {
  return typeof v === 'object' && v !== null && 'html' in v && typeof v.html === 'string'
}

function toHtml(v: Value): string {
  if (v === null || v === undefined || v === false) return ''
  if (Array.isArray(v)) return v.map(toHtml).join('')
  if (isHtml(v)) return v.html
  return escapeHtml(String(v))
}

/** Tagged template: `html\`<p>${name}</p>\`` escapes `name`; nested `html` and arrays pass through. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!
  values.forEach((v, i) => {
    out += toHtml(v) + strings[i + 1]!
  })
  return { html: out }
}

/** Markup written by us (a constant style block), never data: the one way around escaping. */
export function raw(markup: string): Html {
  return { html: markup }
}

/**
 * A link target as it may appear in an href: http(s) or mailto only, normalised by the URL parser
 * (which percent-encodes quotes and angle brackets). Anything else throws: link props are built
 * by our code, so a `javascript:` URL reaching a template is a bug, not data.
 */
export function safeUrl(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : null
  if (!parsed || !['http:', 'https:', 'mailto:'].includes(parsed.protocol)) {
    throw new Error(`not an http(s) or mailto URL: ${JSON.stringify(url)}`)
  }
  return parsed.href
}

/** One line of display text: whitespace (newlines included) collapsed, so a name cannot fake a new line. */
export function line(s: string | null | undefined): string {
  return (s ?? '').replace(/\s+/gu, ' ').trim()
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * Grader points as every place shows them: at most one decimal, no trailing ".0" (26.5, 27).
 * The report page (src/components/grader/view.ts) uses this too, so the email never rounds
 * differently from the page.
 */
export function points(value: number): string {
  const rounded = Math.round(value * 10) / 10
  return rounded.toLocaleString('en-US', { maximumFractionDigits: 1 })
}
