// Small display helpers for the email admin pages (a leading underscore keeps this out of routing).

/** `2026-11-29 10:04 UTC`: one unambiguous format for every admin table. */
export function when(d: Date | string | null | undefined): string {
  if (!d) return '—'
  return new Date(d).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
}

/** `3 min`, `2 h 5 min`, `4 d 1 h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`
}

/** The e-mail HTML for an iframe's srcdoc: links open in a new tab, outside the sandbox. */
export function previewDocument(html: string): string {
  const base = '<base target="_blank">'
  return /<head[^>]*>/i.test(html) ? html.replace(/<head([^>]*)>/i, `<head$1>${base}`) : base + html
}
