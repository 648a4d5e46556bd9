import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

// Which IP addresses the grader may connect to. Only public unicast: everything that could reach
// our own network, the cloud metadata service or a neighbour's (loopback, private, link-local,
// CGNAT, reserved, multicast, and IPv6 forms that carry such an IPv4 address) is refused.

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string }

/** Decides whether one IP address (no brackets, no port) may be connected to. */
export type AddressPolicy = (address: string) => AddressVerdict

const ALLOWED: AddressVerdict = { allowed: true }

function blocked(reason: string): AddressVerdict {
  return { allowed: false, reason }
}

function classifyIPv4(ip: ipaddr.IPv4, label = 'IPv4'): AddressVerdict {
  const range = ip.range()
  if (range !== 'unicast') return blocked(`${label} ${ip.toString()} is ${range}`)
  return ALLOWED
}

function ipv4FromHalves(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff])
}

function classifyIPv6(ip: ipaddr.IPv6): AddressVerdict {
  const parts = ip.parts
  const text = ip.toString()
  const part = (i: number) => parts[i] ?? 0
  const range = ip.range()

  if (range === 'ipv4Mapped') return classifyIPv4(ip.toIPv4Address(), `IPv4-mapped ${text} ->`)
  // ::a.b.c.d (deprecated IPv4-compatible) and ::ffff:0:a.b.c.d (SIIT) have no legitimate use on
  // the public internet; some stacks still route them to the embedded IPv4 address.
  if (parts.slice(0, 6).every((p) => p === 0) && range !== 'loopback' && range !== 'unspecified') {
    return blocked(`IPv4-compatible ${text}`)
  }
  if (range === 'rfc6145') return blocked(`SIIT-translated ${text}`)
  if (range === 'rfc6052') {
    // 64:ff9b::/96 (well-known NAT64) carries a real IPv4 destination in its last 32 bits; the
    // local-use prefix 64:ff9b:1::/48 maps to whatever the operator decided, so it is refused.
    if (part(2) !== 0 || part(3) !== 0 || part(4) !== 0 || part(5) !== 0) {
      return blocked(`local-use NAT64 ${text}`)
    }
    return classifyIPv4(ipv4FromHalves(part(6), part(7)), `NAT64 ${text} ->`)
  }
  if (range === '6to4') return classifyIPv4(ipv4FromHalves(part(1), part(2)), `6to4 ${text} ->`)
  if (range === 'teredo') {
    const server = classifyIPv4(ipv4FromHalves(part(2), part(3)), `Teredo server ${text} ->`)
    if (!server.allowed) return server
    // The client address is stored inverted (RFC 4380 section 4).
    return classifyIPv4(
      ipv4FromHalves(~part(6) & 0xffff, ~part(7) & 0xffff),
      `Teredo client ${text} ->`,
    )
  }
  if (range !== 'unicast') return blocked(`IPv6 ${text} is ${range}`)
  // Only 2000::/3 is allocated as global unicast; ipaddr.js calls everything it has no name for
  // "unicast", which includes unallocated space and fec0::/10-style leftovers.
  if ((part(0) & 0xe000) !== 0x2000) return blocked(`IPv6 ${text} is outside 2000::/3`)
  return ALLOWED
}

// ipaddr.js reads "::a.b.c.d" as the IPv4-mapped "::ffff:a.b.c.d"; spelling the dotted tail as
// two hex groups first makes it parse as the address the kernel would actually use.
function hexTail(ipv6: string): string {
  const m = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ipv6)
  if (m === null) return ipv6
  const [a, b, c, d] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number]
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
}

function parseIp(bare: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ipaddr.parse(isIP(bare) === 6 ? hexTail(bare) : bare)
}

/** The default policy: public unicast addresses only. */
export function classifyAddress(address: string): AddressVerdict {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  // A zone index (fe80::1%eth0) only exists for link-local scopes.
  if (bare.includes('%')) return blocked(`scoped address ${bare}`)
  // net.isIP accepts only canonical dotted-quad IPv4, unlike ipaddr.parse which would also take
  // octal or hex forms; callers hand us addresses already normalised by the URL parser or DNS.
  const family = isIP(bare)
  if (family === 0) return blocked(`not an IP address: ${bare}`)
  const ip = parseIp(bare)
  return ip.kind() === 'ipv4' ? classifyIPv4(ip as ipaddr.IPv4) : classifyIPv6(ip as ipaddr.IPv6)
}

/** Canonical text of an IP address so that "::1" and "0:0::1" compare equal. */
export function canonicalAddress(address: string): string | null {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  if (isIP(bare) === 0) return null
  return parseIp(bare).toNormalizedString()
}

/**
 * The default policy, plus a list of exact addresses that count as public (GRADER_ALLOW_ADDRESSES:
 * for a staging network or a test that lets one loopback address play a public site).
 */
export function createAddressPolicy(
  options: { allowAddresses?: readonly string[]; base?: AddressPolicy } = {},
): AddressPolicy {
  const base = options.base ?? classifyAddress
  const allowed = new Set<string>()
  for (const address of options.allowAddresses ?? []) {
    const canonical = canonicalAddress(address.trim())
    if (canonical === null) throw new Error(`allowAddresses: not an IP address: ${address}`)
    allowed.add(canonical)
  }
  if (allowed.size === 0) return base
  return (address) => {
    const canonical = canonicalAddress(address)
    if (canonical !== null && allowed.has(canonical)) return ALLOWED
    return base(address)
  }
}
