import { describe, expect, it } from 'vitest'
import { limitAddress } from '../../api/rate-limits.ts'

// What a per-IP limit counts: an IPv6 client normally holds a whole /64, so it is counted as one.

describe('limitAddress', () => {
  it('counts an IPv4 address as itself', () => {
    expect(limitAddress('203.0.113.7')).toBe('203.0.113.7')
    expect(limitAddress('203.0.113.8')).toBe('203.0.113.8')
  })

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(limitAddress('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(limitAddress('::FFFF:cb00:7107')).toBe('203.0.113.7')
  })

  it('counts every spelling of every address in one /64 as that /64', () => {
    for (const ip of [
      '2001:db8:1:2::1',
      '2001:db8:1:2::2',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:DB8:1:2:AAAA:BBBB:CCCC:DDDD',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2::',
      '2001:db8:1:2::9%eth0',
    ])
      expect(limitAddress(ip), ip).toBe('2001:db8:1:2::/64')
  })

  it('keeps two /64s apart, even in one /48', () => {
    expect(limitAddress('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(limitAddress('2001:db8:1:2::1')).not.toBe(limitAddress('2001:db8:1:3::1'))
    expect(limitAddress('2001:db8:2:2::1')).not.toBe(limitAddress('2001:db8:1:2::1'))
    expect(limitAddress('::1')).toBe('::/64')
  })

  it('leaves what is no address as it is', () => {
    expect(limitAddress('unknown')).toBe('unknown')
    expect(limitAddress('')).toBe('')
  })
})
