// Lead-supplied text (names, companies, subjects merged from a CSV) ends up in mail headers. A raw
// CR or LF there would let it start a header of its own (`Bcc:`), so everything bound for a header
// goes through here first, and nodemailer does the RFC 2047 encoding.

export type EmailAddress = { name?: string; address: string }

// C0/C1 controls, DEL, the Unicode line and paragraph separators, and the bidi overrides
// (a name with U+202E can display as someone else's).
const unsafeChars = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu

/** One line of header-safe text: no control characters, whitespace collapsed, at most `max` code points. */
export function safeHeaderText(s: string, max: number): string {
  const flat = s.replace(unsafeChars, ' ').replace(/\s+/gu, ' ').trim()
  const chars = Array.from(flat)
  if (chars.length <= max) return flat
  return (
    chars
      .slice(0, Math.max(0, max - 1))
      .join('')
      .trimEnd() + '…'
  )
}

// Dot-atom local part (RFC 5322, plus UTF-8 for SMTPUTF8) and a dotted domain of letter/digit/
// hyphen labels. Deliberately stricter than the RFC: no quoted local parts, no IP literals, nothing
// that could close an angle bracket or start a second address. A combining mark may follow a
// character of an atom: Devanagari or Thai names need them, and lowercasing "İ" gives "i" plus
// U+0307, so without them a canonical address (email-address.ts) could be refused here after
// being accepted there. Invisible ones (variation selectors, the grapheme joiner) are not marks
// of a name.
const atom = String.raw`[\p{L}\p{N}!#$%&'*+/=?^_\x60{|}~-](?:[\p{L}\p{N}!#$%&'*+/=?^_\x60{|}~-]|(?!\p{Default_Ignorable_Code_Point})\p{M})*`
const localPart = new RegExp(`^${atom}(?:\\.${atom})*$`, 'u')
const domainLabel = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u

/** Whether `email` is a plain `local@domain.tld` address that is safe to put in a header. */
export function isValidAddress(email: string): boolean {
  if (email.length > 254) return false
  const at = email.lastIndexOf('@')
  if (at <= 0) return false
  const local = email.slice(0, at)
  const labels = email.slice(at + 1).split('.')
  if (local.length > 64 || !localPart.test(local)) return false
  if (labels.length < 2 || !labels.every((label) => domainLabel.test(label))) return false
  return /^(\p{L}{2,}|xn--[a-z0-9-]+)$/iu.test(labels.at(-1)!)
}

/**
 * An address in nodemailer's object form, so the library quotes and encodes the name. The name is
 * made header-safe (an empty one is left out); an invalid address throws, because addresses are
 * validated at the edge and one arriving here unchecked is a bug.
 */
export function formatAddress(name: string | null | undefined, email: string): EmailAddress {
  const address = email.trim()
  if (!isValidAddress(address)) throw new Error(`invalid email address: ${JSON.stringify(email)}`)
  const safeName = safeHeaderText(name ?? '', 100)
  return safeName ? { name: safeName, address } : { address }
}

// Headers the transport sets itself or that describe the MIME structure: a caller-supplied one
// would override or duplicate them.
const reservedHeaders = new Set([
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'dkim-signature',
  'return-path',
  'received',
])

/**
 * Extra headers (e.g. List-Unsubscribe) made safe: names must be plain tokens and not one of the
 * headers the transport owns (that throws: headers come from our code, not from leads); values
 * are flattened to one line of at most 998 characters, the SMTP line limit.
 */
export function safeCustomHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(name) || reservedHeaders.has(name.toLowerCase())) {
      throw new Error(`header not allowed: ${JSON.stringify(name)}`)
    }
    out[name] = safeHeaderText(value, 998 - name.length - 2)
  }
  return out
}

/**
 * A configured sender such as `Frontdoor <hello@example.com>`, `"Sales, Frontdoor" <s@x.io>` or a
 * bare address, as an EmailAddress; null when it is not one valid address.
 */
export function parseMailbox(value: string): EmailAddress | null {
  const s = value.trim()
  const angled = /^(.*?)\s*<([^<>\s]+)>$/.exec(s)
  if (!angled) return isValidAddress(s) ? { address: s } : null
  const address = angled[2]!
  if (!isValidAddress(address)) return null
  let name = angled[1]!.trim()
  if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) {
    name = name.slice(1, -1).replace(/\\(.)/g, '$1')
  }
  if (/[<>]/.test(name)) return null
  const safe = safeHeaderText(name, 100)
  return safe ? { name: safe, address } : { address }
}
