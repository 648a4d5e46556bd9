// Outreach: an SDR writes a subject and a plain-text body with merge fields, `{{firstName}}`,
// `{{company}}`, a CSV column `{{industry}}`, a fallback `{{firstName|there}}`. The message goes
// out as plain text (it should read like a person wrote it); the HTML part is the same text,
// escaped, with the links clickable; a value inside a link the template writes is percent-encoded
// (`?name={{firstName}}`). Every message carries a visible unsubscribe line and the
// postal address. `checkMergeFields` finds every problem before a campaign starts;
// `renderOutreach` refuses to render a message with one, so nobody gets "Hi ,".

import { escapeHtml, line, safeUrl } from './html.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type OutreachTemplate = { subject: string; body: string }

export type OutreachRecipient = {
  email: string
  firstName?: string | null | undefined
  lastName?: string | null | undefined
  company?: string | null | undefined
  title?: string | null | undefined
  /** Extra CSV columns, by header name. */
  custom?: Record<string, string | null | undefined> | undefined
  /** The CSV line the recipient came from, for error reports; defaults to its 1-based position. */
  row?: number | undefined
}

export const standardFields = ['firstName', 'lastName', 'company', 'title', 'email'] as const

type Part = 'subject' | 'body'
type Token = { field: string; fallback: string | null }

export type MergeFieldReport = {
  ok: boolean
  /** Every field the template uses, in order of first use. */
  fields: string[]
  syntaxErrors: Array<{ part: Part; text: string; message: string }>
  unknownFields: Array<{ part: Part; field: string; suggestion: string | null; message: string }>
  /** Recipients lacking a value for a field used without a fallback. */
  missingValues: Array<{ row: number; email: string; fields: string[]; message: string }>
}

export class MergeFieldError extends Error {
  report: MergeFieldReport
  constructor(report: MergeFieldReport) {
    const first =
      report.syntaxErrors[0]?.message ??
      report.unknownFields[0]?.message ??
      report.missingValues[0]?.message
    super(`merge fields: ${first}`)
    this.name = 'MergeFieldError'
    this.report = report
  }
}

const tokenPattern = /\{\{([^{}]*)\}\}/g

function parseToken(inner: string): Token | null {
  const bar = inner.indexOf('|')
  const field = (bar === -1 ? inner : inner.slice(0, bar)).trim()
  if (!field) return null
  return { field, fallback: bar === -1 ? null : inner.slice(bar + 1).trim() }
}

function scan(part: Part, source: string) {
  const tokens: Token[] = []
  const syntaxErrors: MergeFieldReport['syntaxErrors'] = []
  for (const match of source.matchAll(tokenPattern)) {
    const token = parseToken(match[1]!)
    if (token) tokens.push(token)
    else {
      syntaxErrors.push({
        part,
        text: match[0],
        message: `${part}: "${match[0]}" has no field name`,
      })
    }
  }
  // Braces that are not part of a well-formed token: mask the tokens (keeping offsets) and look
  // for what is left, quoting the word it is attached to.
  const masked = source.replace(tokenPattern, (m) => '\0'.repeat(m.length))
  for (const stray of masked.matchAll(/\{\{|\}\}/g)) {
    const text =
      stray[0] === '{{'
        ? /^\{\{[^\s{}]*/.exec(source.slice(stray.index))![0]
        : wordBefore(source, stray.index) + '}}'
    syntaxErrors.push({
      part,
      text,
      message: `${part}: unmatched braces in "${text}" (write fields as {{firstName}})`,
    })
  }
  return { tokens, syntaxErrors }
}

// The word a stray "}}" closes, walked back by hand: /[^\s{}]*\}\}$/ on all the text before
// each stray was cubic (20,000 characters of "xx…x}}}}…" took 224 s, blocking the server).
function wordBefore(source: string, end: number): string {
  let start = end
  while (start > 0 && !/[\s{}]/.test(source[start - 1]!)) start--
  return source.slice(start, end)
}

function valueOf(recipient: OutreachRecipient, field: string): string {
  if ((standardFields as readonly string[]).includes(field))
    return line(recipient[field as (typeof standardFields)[number]])
  // Own keys only: a recipient without a "constructor" column has no value for it.
  const custom = recipient.custom ?? {}
  return Object.hasOwn(custom, field) ? line(custom[field]) : ''
}

const squash = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')

/**
 * Checks a template against its recipients before anything is sent: malformed `{{…}}`, fields
 * that are neither standard nor a column (`columns`, or any recipient's custom keys), and, per
 * recipient, fields with no value and no fallback.
 */
export function checkMergeFields(
  template: OutreachTemplate,
  recipients: OutreachRecipient[],
  options: { columns?: readonly string[] | undefined } = {},
): MergeFieldReport {
  const known = new Set<string>([...standardFields, ...(options.columns ?? [])])
  for (const r of recipients) for (const key of Object.keys(r.custom ?? {})) known.add(key)

  const parts = (['subject', 'body'] as const).map((part) => ({
    part,
    ...scan(part, template[part]),
  }))
  const syntaxErrors = parts.flatMap((p) => p.syntaxErrors)
  const fields = [...new Set(parts.flatMap((p) => p.tokens.map((t) => t.field)))]

  const unknownFields: MergeFieldReport['unknownFields'] = []
  for (const { part, tokens } of parts) {
    for (const field of new Set(tokens.map((t) => t.field))) {
      if (known.has(field)) continue
      const suggestion = [...known].find((k) => squash(k) === squash(field)) ?? null
      unknownFields.push({
        part,
        field,
        suggestion,
        message: `${part}: unknown field {{${field}}}${suggestion ? ` (did you mean {{${suggestion}}}?)` : ''}`,
      })
    }
  }

  // Fields used somewhere without a fallback; an unknown field is reported once above, not per row.
  const required = new Set(
    parts.flatMap((p) => p.tokens.filter((t) => t.fallback === null).map((t) => t.field)),
  )
  for (const u of unknownFields) required.delete(u.field)

  const missingValues: MergeFieldReport['missingValues'] = []
  recipients.forEach((recipient, i) => {
    const missing = [...required].filter((field) => !valueOf(recipient, field))
    if (missing.length === 0) return
    const row = recipient.row ?? i + 1
    missingValues.push({
      row,
      email: recipient.email,
      fields: missing,
      message: `row ${row} (${recipient.email}): no value for ${missing.map((f) => `{{${f}}}`).join(', ')} and no fallback (write {{${missing[0]}|…}} or fill the column)`,
    })
  })

  const ok = syntaxErrors.length === 0 && unknownFields.length === 0 && missingValues.length === 0
  return { ok, fields, syntaxErrors, unknownFields, missingValues }
}

function merge(
  source: string,
  recipient: OutreachRecipient,
  encode: (value: string) => string = (value) => value,
): string {
  return source.replace(tokenPattern, (_, inner: string) => {
    const token = parseToken(inner)!
    return encode(valueOf(recipient, token.field) || token.fallback || '')
  })
}

/** A value inside a link: encodeURIComponent, and !'()* too, so no mail client cuts the link at one. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

// http(s) URLs in running text. Trailing punctuation belongs to the sentence, and a closing
// bracket only to the URL when the URL opened one: "(see https://x.example/a_(b))."
const urlPattern = /\bhttps?:\/\/[^\s<>"'`]+/gi

function trimUrl(url: string): string {
  // Brackets counted once and kept as characters come off: recounting the rest for each one was
  // quadratic (a link followed by 19,000 ")" took 1.8 s a message, in the preview and the scheduler).
  const opened = { ')': count(url, '('), ']': count(url, '[') }
  const closed = { ')': count(url, ')'), ']': count(url, ']') }
  let end = url.length
  for (;;) {
    const c = url[end - 1]
    if (c && '.,;:!?'.includes(c)) end--
    else if ((c === ')' || c === ']') && opened[c] < closed[c]) {
      closed[c]--
      end--
    } else return url.slice(0, end)
  }
}

function count(s: string, c: string): number {
  return s.split(c).length - 1
}

type Segment = { text: string } | { url: string }

/** The http(s) URLs of running text that a message makes links of, in order, and where each starts. */
export function* urlsIn(text: string): Generator<{ url: string; index: number }> {
  for (const match of text.matchAll(urlPattern)) {
    const url = trimUrl(match[0])
    if (URL.canParse(url)) yield { url, index: match.index }
  }
}

function splitLinks(text: string): Segment[] {
  const segments: Segment[] = []
  let last = 0
  for (const { url, index } of urlsIn(text)) {
    segments.push({ text: text.slice(last, index) }, { url })
    last = index + url.length
  }
  segments.push({ text: text.slice(last) })
  return segments
}

/**
 * The merged body as text and links. The links the template writes are found on the template,
 * each field in them masked (with URL characters that end neither a link nor a sentence), so a
 * value inside one (`?name={{firstName}}`) is percent-encoded and stays inside: its `&`, `#` or
 * space can neither add a parameter nor end the link. The text between is merged as it is, then
 * searched for links, so a field that is a whole link (`{{website}}`) is the URL its value is.
 */
function mergeBody(body: string, recipient: OutreachRecipient): Segment[] {
  const source = body.replace(/\r\n?/g, '\n')
  const masked = source.replace(tokenPattern, (token) => 'x'.repeat(token.length))
  // Text and links alternate, text first and last; a link holds no whitespace.
  const pieces: Segment[] = []
  let last = 0
  for (const { url, index } of urlsIn(masked)) {
    pieces.push({ text: merge(source.slice(last, index), recipient) })
    const link = merge(source.slice(index, index + url.length), recipient, encodeValue)
    pieces.push(URL.canParse(link) ? { url: link } : { text: link })
    last = index + url.length
  }
  pieces.push({ text: merge(source.slice(last), recipient) })
  return pieces.flatMap((piece, i) => {
    if ('url' in piece) return [piece]
    // No spaces at the ends of lines, nor whitespace around the whole body.
    let text = piece.text.replace(/[ \t]+(?=\n)/g, '')
    if (i === 0) text = text.trimStart()
    if (i === pieces.length - 1) text = text.trimEnd()
    return splitLinks(text)
  })
}

export type OutreachOptions = {
  brand: Brand
  /** Absolute `<origin>/u/<token>` for this recipient; shown, never rewritten. */
  unsubscribeUrl: string
  /**
   * Rewrites every link of the body, numbered in order of appearance (tracked links: `/r/<token>`);
   * null leaves the URL as words, no link (one that cannot be tracked must not go out clickable).
   */
  rewriteLink?: ((url: string, index: number) => string | null) | undefined
  /**
   * The campaign's columns (of all its imports), as `checkMergeFields` takes them: a field among
   * them that this recipient has no value for is a missing value (its fallback applies), not an
   * unknown field.
   */
  columns?: readonly string[] | undefined
}

/** One recipient's message. Throws MergeFieldError when checkMergeFields would report a problem. */
export function renderOutreach(
  template: OutreachTemplate,
  recipient: OutreachRecipient,
  options: OutreachOptions,
): RenderedEmail {
  const report = checkMergeFields(template, [recipient], { columns: options.columns })
  if (!report.ok) throw new MergeFieldError(report)
  const postal = line(options.brand.postalAddress)
  if (!postal) throw new Error('outreach needs the postal address of the sender (CAN-SPAM)')
  const brandName = line(options.brand.name)
  const unsubscribe = safeUrl(options.unsubscribeUrl)

  const subject = line(merge(template.subject, recipient))
  let index = 0
  const segments = mergeBody(template.body, recipient).map((s): Segment => {
    if (!('url' in s) || !options.rewriteLink) return s
    const rewritten = options.rewriteLink(s.url, index++)
    return rewritten === null ? { text: s.url } : { url: safeUrl(rewritten) }
  })

  const text = [
    segments.map((s) => ('url' in s ? s.url : s.text)).join(''),
    '',
    '-- ',
    `${brandName} · ${postal}`,
    `Not interested? Unsubscribe: ${unsubscribe}`,
    '',
  ].join('\n')

  const bodyHtml = segments
    .map((s) =>
      'url' in s
        ? `<a href="${escapeHtml(safeUrl(s.url))}" style="color:#2f54eb;">${escapeHtml(s.url)}</a>`
        : escapeHtml(s.text),
    )
    .join('')
    .split(/\n{2,}/)
    .map((p) => `<p style="margin:0 0 1em 0;">${p.replace(/\n/g, '<br>\n')}</p>`)
    .join('\n')

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:16px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;">
${bodyHtml}
<p style="margin:2em 0 0 0;font-size:12px;color:#6b7280;">${escapeHtml(brandName)} · ${escapeHtml(postal)}<br>
Not interested? <a href="${escapeHtml(unsubscribe)}" style="color:#6b7280;">Unsubscribe</a></p>
</body>
</html>
`
  return { subject, html, text }
}

// The uniform (props) => email shape of the other templates, for the preview page.

export type Props = {
  brand: Brand
  template: OutreachTemplate
  recipient: OutreachRecipient
  unsubscribeUrl: string
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  template: {
    subject: 'Quick question about {{company|your team}}',
    body: `Hi {{firstName|there}},

As {{title|someone}} at {{company}}, you probably care how fast inbound leads get an answer. We measured it across 400 B2B teams: https://frontdoor.example/whitepapers/lead-response-benchmark

Would a 15-minute call next week be useful?

Riley
SDR, Frontdoor`,
  },
  recipient: {
    email: 'lee.park@contoso.example',
    firstName: 'Lee',
    lastName: 'Park',
    company: 'Contoso',
    title: 'VP Operations',
  },
  unsubscribeUrl: 'https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0',
}

export function render(props: Props): RenderedEmail {
  return renderOutreach(props.template, props.recipient, {
    brand: props.brand,
    unsubscribeUrl: props.unsubscribeUrl,
  })
}
