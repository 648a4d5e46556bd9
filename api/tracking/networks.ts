import ipaddr from 'ipaddr.js'
import data from './data/security-networks.json' with { type: 'json' }

/**
 * Which network a click came from, for the verdict rules: mail-security vendors' scanners (a
 * strong signal) and cloud/hosting providers (a weak one), from the ranges in
 * data/security-networks.json (with a source and date each; refresh them, see the file).
 */

export type NetworkKind = 'security' | 'hosting'

export interface KnownNetwork {
  kind: NetworkKind
  vendor: string
  /** What a rep reads, e.g. "Microsoft 365 mail-security network". */
  label: string
  cidr: string
}

type Address = ipaddr.IPv4 | ipaddr.IPv6

interface Range extends KnownNetwork {
  range: [Address, number]
}

function ranges(kind: NetworkKind, list: { cidr: string; vendor: string; label: string }[]) {
  return list.map((r): Range => ({
    kind,
    vendor: r.vendor,
    label: r.label,
    cidr: r.cidr,
    range: ipaddr.parseCIDR(r.cidr),
  }))
}

const SECURITY = ranges('security', data.security)
const HOSTING = ranges('hosting', data.hosting)

/** The address, with `::ffff:a.b.c.d` read as the IPv4 address it is; null when it is no address. */
export function parseAddress(ip: string | null | undefined): Address | null {
  if (!ip || !ipaddr.isValid(ip)) return null
  const address = ipaddr.parse(ip)
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress())
    return (address as ipaddr.IPv6).toIPv4Address()
  return address
}

/** The known network holding this address (mail-security before hosting), or null. */
export function knownNetwork(ip: string | null | undefined): KnownNetwork | null {
  const address = parseAddress(ip)
  if (!address) return null
  for (const list of [SECURITY, HOSTING]) {
    for (const r of list) {
      if (r.range[0].kind() === address.kind() && address.match(r.range)) {
        const { range: _range, ...network } = r
        return network
      }
    }
  }
  return null
}

/**
 * One "source" for the burst rules: a mail-security vendor or a cloud provider as a whole (a
 * scanner spreads one sweep over many of its addresses: Safe Links detonation walks a message
 * from a different Azure /24 per link), else the /24 (IPv4) or /48 (IPv6) around the address.
 */
export function sourceKey(ip: string | null | undefined): string | null {
  return ip ? remembered(sourceKeys, ip, computeSourceKey) : null
}

const sourceKeys = new Map<string, string | null>()

/**
 * The verdict job asks for the same addresses many times per batch (every click against each
 * click near it; parsing one with ipaddr.js takes microseconds): remember a bounded few.
 */
function remembered(
  memo: Map<string, string | null>,
  ip: string,
  compute: (ip: string) => string | null,
): string | null {
  let value = memo.get(ip)
  if (value === undefined) {
    if (memo.size >= 10_000) memo.clear()
    value = compute(ip)
    memo.set(ip, value)
  }
  return value
}

function computeSourceKey(ip: string): string | null {
  const address = parseAddress(ip)
  if (!address) return null
  const network = knownNetwork(ip)
  if (network) return `vendor:${network.vendor}`
  if (address.kind() === 'ipv4') {
    const [a, b, c] = (address as ipaddr.IPv4).octets
    return `${a}.${b}.${c}.0/24`
  }
  const parts = (address as ipaddr.IPv6).parts
  return `${parts
    .slice(0, 3)
    .map((p) => p.toString(16))
    .join(':')}::/48`
}

/** The address in its plain form (IPv4-mapped IPv6 as IPv4), for comparing two clicks' addresses. */
export function normalAddress(ip: string | null | undefined): string | null {
  return ip ? remembered(normalAddresses, ip, (a) => parseAddress(a)?.toString() ?? null) : null
}

const normalAddresses = new Map<string, string | null>()
