import { isIP } from 'node:net'
import { parse as parseDomain } from 'tldts'
import { classifyAddress, type AddressPolicy } from './address-policy.ts'

// What the grader may be pointed at, judged on the URL alone (before any DNS or connection).
// The address actually connected to is checked again at connect time by the guarded fetcher.

export const MAX_URL_LENGTH = 2048
const DEFAULT_PORTS = [80, 443]

/**
 * The Fetch standard's bad ports (https://fetch.spec.whatwg.org/#bad-port): mail, SSH, DNS, IRC
 * and the like, which no HTTP request of ours may reach, whatever port rule otherwise applies.
 */
const BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
])

// Names that can never be a public website even where tldts knows the suffix ("home.arpa" is in
// the ICANN section of the public suffix list) or a resolver on our network would answer them.
const RESERVED_SUFFIXES = [
  'localhost',
  'local',
  'localdomain',
  'internal',
  'intranet',
  'lan',
  'home',
  'corp',
  'private',
  'arpa',
  'test',
  'example',
  'invalid',
  'onion',
  'alt',
]

export type UrlVerdict = { ok: true } | { ok: false; kind: 'url' | 'address'; reason: string }

export type TargetUrlRules = {
  /** Extra ports besides 80 and 443 (a test's loopback server). */
  allowPorts?: readonly number[]
  /**
   * Any port but the bad ones, not only 80 and 443: a webhook receiver the subscriber names
   * (n8n listens on 5678, many gateways on 8443). A site to grade is on 80 or 443.
   */
  anyPort?: boolean
  /** Judges IP-literal hosts; the default policy when absent. */
  policy?: AddressPolicy
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

/** Whether a host name (not an IP) belongs under a public suffix, e.g. `shop.example.co.uk`. */
export function hasPublicSuffix(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '').toLowerCase()
  if (!name.includes('.')) return false
  const last = name.slice(name.lastIndexOf('.') + 1)
  if (RESERVED_SUFFIXES.includes(last)) return false
  const parsed = parseDomain(name, { allowPrivateDomains: true })
  if (parsed.isIp) return false
  if (!(parsed.isIcann || parsed.isPrivate)) return false
  return parsed.domain !== null && parsed.hostname !== parsed.publicSuffix
}

/** Checks one URL (the page, a redirect hop, a subresource) against the outbound rules. */
export function checkTargetUrl(url: URL, rules: TargetUrlRules = {}): UrlVerdict {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, kind: 'url', reason: `scheme ${url.protocol} is not http or https` }
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, kind: 'url', reason: 'credentials in the URL' }
  }
  if (url.href.length > MAX_URL_LENGTH) {
    return { ok: false, kind: 'url', reason: `URL longer than ${MAX_URL_LENGTH} characters` }
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  if (BAD_PORTS.has(port)) {
    return { ok: false, kind: 'url', reason: `port ${port} is not for HTTP` }
  }
  if (!rules.anyPort && !DEFAULT_PORTS.includes(port) && !(rules.allowPorts ?? []).includes(port)) {
    return { ok: false, kind: 'url', reason: `port ${port} is not 80 or 443` }
  }
  const host = bareHost(url.hostname)
  // The WHATWG parser has already turned 2130706433, 0177.1 or 0x7f.1 into 127.0.0.1, so an IP
  // literal in any spelling arrives here in canonical form. It never passes a DNS hook, so it is
  // judged now, before any connection.
  if (isIP(host) !== 0) {
    const verdict = (rules.policy ?? classifyAddress)(host)
    return verdict.allowed ? { ok: true } : { ok: false, kind: 'address', reason: verdict.reason }
  }
  if (!hasPublicSuffix(host)) {
    return { ok: false, kind: 'url', reason: `host ${host} has no public suffix` }
  }
  return { ok: true }
}

export type NormalizedUrl =
  | { ok: true; url: string; schemeGiven: boolean }
  | { ok: false; code: 'invalid_url'; message: string }

function invalid(message: string): NormalizedUrl {
  return { ok: false, code: 'invalid_url', message }
}

/**
 * Turns what a visitor typed into the URL we grade, and the key reports are cached under:
 * `Example.com` → `https://example.com/`. Fragment and trailing dot dropped, scheme and host
 * lower-cased, default port removed. Errors are written for the visitor.
 */
export function normalizeGraderUrl(input: string, rules: TargetUrlRules = {}): NormalizedUrl {
  const trimmed = input.trim()
  if (trimmed === '') return invalid('Enter the address of a website.')
  if (trimmed.length > MAX_URL_LENGTH) {
    return invalid(`That address is longer than ${MAX_URL_LENGTH} characters.`)
  }
  let text = trimmed
  let schemeGiven = true
  if (text.startsWith('//')) {
    text = `https:${text}`
    schemeGiven = false
  } else if (!/^https?:\/\//i.test(text)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      return invalid('Only http:// and https:// addresses can be graded.')
    }
    text = `https://${text}`
    schemeGiven = false
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return invalid('That is not a valid web address.')
  }
  url.hash = ''
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.replace(/\.+$/, '')
  const verdict = checkTargetUrl(url, rules)
  if (!verdict.ok && verdict.kind === 'url') {
    if (url.username !== '' || url.password !== '') {
      return invalid('Remove the user name and password from the address.')
    }
    if (verdict.reason.startsWith('port')) {
      return invalid('Only websites on the standard ports (80 and 443) can be graded.')
    }
    if (verdict.reason.startsWith('host')) {
      return invalid('Enter the address of a public website, such as example.com.')
    }
    return invalid('That address cannot be graded.')
  }
  // An IP literal that the address policy refuses is not reported here: it fails later exactly
  // like an unreachable site, so the form does not become a map of which addresses we refuse.
  return { ok: true, url: url.href, schemeGiven }
}
