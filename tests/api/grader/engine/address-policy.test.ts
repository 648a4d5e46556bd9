import { describe, expect, it } from 'vitest'
import {
  classifyAddress,
  createAddressPolicy,
} from '../../../../api/grader/engine/address-policy.ts'
import {
  checkTargetUrl,
  hasPublicSuffix,
  normalizeGraderUrl,
} from '../../../../api/grader/engine/target-url.ts'

const allowed = (ip: string) => classifyAddress(ip).allowed

describe('the address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'cloud metadata (link-local)'],
    ['100.64.0.1', 'CGNAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fc00::1', 'ULA'],
    ['fd12:3456::1', 'ULA'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible even when public'],
    ['::ffff:0:127.0.0.1', 'SIIT'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
    ['64:ff9b:1::808:808', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo whose client is 127.0.0.1'],
    ['2001:0:7f00:1::', 'Teredo whose server is 127.0.0.1'],
    ['2001:db8::1', 'documentation'],
    ['fe80::1%eth0', 'scoped'],
    ['0177.0.0.1', 'not canonical (octal)'],
    ['localhost', 'not an address'],
  ])('refuses %s (%s)', (ip) => {
    expect(allowed(ip)).toBe(false)
  })

  it.each([
    ['8.8.8.8'],
    ['93.184.215.14'],
    ['2606:4700:4700::1111'],
    ['::ffff:8.8.8.8'],
    ['64:ff9b::808:808'],
    ['2002:808:808::1'],
    ['[2606:4700:4700::1111]'],
  ])('allows the public address %s', (ip) => {
    expect(allowed(ip)).toBe(true)
  })

  it('lets listed addresses count as public and nothing else', () => {
    const policy = createAddressPolicy({ allowAddresses: ['127.0.0.3', '0:0::1'] })
    expect(policy('127.0.0.3').allowed).toBe(true)
    expect(policy('::1').allowed).toBe(true)
    expect(policy('127.0.0.1').allowed).toBe(false)
    expect(policy('10.0.0.1').allowed).toBe(false)
    expect(() => createAddressPolicy({ allowAddresses: ['not-an-ip'] })).toThrow(/not an IP/)
  })
})

describe('the URL rules', () => {
  const verdict = (url: string) => checkTargetUrl(new URL(url))

  it('relies on the WHATWG URL parser to canonicalise every IPv4 spelling', () => {
    expect(new URL('http://0x7f.1/').hostname).toBe('127.0.0.1')
    expect(new URL('http://2130706433/').hostname).toBe('127.0.0.1')
    expect(new URL('http://0177.0.0.1/').hostname).toBe('127.0.0.1')
    expect(new URL('http://127.1/').hostname).toBe('127.0.0.1')
    expect(new URL('http://0x7f000001/').hostname).toBe('127.0.0.1')
    expect(new URL('http://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]')
  })

  it.each([
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[64:ff9b::a00:1]/',
  ])('refuses the literal address in %s before any connection', (url) => {
    expect(verdict(url)).toMatchObject({ ok: false, kind: 'address' })
  })

  it.each([
    ['ftp://example.com/', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['gopher://example.com/', /scheme/],
    ['http://user:pass@example.com/', /credentials/],
    ['http://example.com:22/', /port/],
    ['https://example.com:8443/', /port/],
    ['http://localhost/', /public suffix/],
    ['http://printer.local/', /public suffix/],
    ['http://db.internal/', /public suffix/],
    ['http://intranet/', /public suffix/],
    ['http://router.home.arpa/', /public suffix/],
    ['http://co.uk/', /public suffix/],
    [`https://example.com/${'a'.repeat(2050)}`, /longer/],
  ])('refuses %s', (url, reason) => {
    const result = verdict(url)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toMatch(reason)
  })

  it('accepts public names on 80 and 443, and other ports only when allowed', () => {
    expect(verdict('https://www.example.co.uk/path?q=1').ok).toBe(true)
    expect(verdict('http://example.com:443/').ok).toBe(true)
    expect(verdict('http://someone.github.io/').ok).toBe(true)
    expect(checkTargetUrl(new URL('http://example.com:8080/'), { allowPorts: [8080] }).ok).toBe(
      true,
    )
    expect(hasPublicSuffix('127.0.0.1.nip.io')).toBe(true)
  })

  it('takes any port but the Fetch standard’s bad ones where asked (webhook receivers)', () => {
    const any = (url: string) => checkTargetUrl(new URL(url), { anyPort: true })
    expect(any('https://n8n.example.com:5678/webhook/abc').ok).toBe(true)
    expect(any('https://hooks.example.com:8443/').ok).toBe(true)
    // SMTP, SSH, IRC: a POST must never reach them, whatever the rule.
    for (const port of [25, 22, 587, 6667])
      expect(any(`http://mail.example.com:${port}/`), String(port)).toMatchObject({
        ok: false,
        reason: `port ${port} is not for HTTP`,
      })
    expect(checkTargetUrl(new URL('http://example.com:25/'), { allowPorts: [25] })).toMatchObject({
      ok: false,
    })
    // A site to grade is still on 80 or 443.
    expect(verdict('https://n8n.example.com:5678/').ok).toBe(false)
  })
})

describe('normalizeGraderUrl', () => {
  it('turns what a visitor types into one cache key', () => {
    const keys = [
      'Example.COM',
      'https://example.com',
      'https://example.com/#top',
      'https://EXAMPLE.com.:443/',
    ]
    const normalized = keys.map((k) => normalizeGraderUrl(k))
    for (const n of normalized) expect(n).toMatchObject({ ok: true, url: 'https://example.com/' })
    expect(normalizeGraderUrl('example.com')).toMatchObject({ schemeGiven: false })
    expect(normalizeGraderUrl('http://example.com/a?b=1')).toMatchObject({
      url: 'http://example.com/a?b=1',
      schemeGiven: true,
    })
  })

  it.each([
    ['nothing', '', /Enter the address/],
    ['only spaces', '   ', /Enter the address/],
    ['an ftp address', 'ftp://example.com', /Only http/],
    ['credentials', 'http://user:secret@example.com', /user name and password/],
    ['a non-standard port', 'localhost:3000', /standard ports/],
    ['a single-label host', 'http://intranet/', /public website/],
    ['a space in the host', 'http://exa mple.com', /not a valid/],
    ['a javascript: URL', 'javascript:alert(1)', /./],
    ['2,100 characters', `example.com/${'x'.repeat(2100)}`, /longer than 2048/],
  ])('explains why an address with %s cannot be graded', (_label, input, message) => {
    const result = normalizeGraderUrl(input)
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.code).toBe('invalid_url')
      expect(result.message).toMatch(message)
    }
  })

  it('does not single out private IP literals: they fail later like any unreachable site', () => {
    expect(normalizeGraderUrl('http://10.0.0.1/')).toMatchObject({ ok: true })
  })
})
