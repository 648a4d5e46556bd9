import { describe, expect, it } from 'vitest'
import {
  createUnknownTokenLimit,
  unknownLookupVerdict,
} from '../../../api/tracking/unknown-token-limit.ts'
import { clickHeaders } from '../../../api/tracking/redirect.ts'

const rule = { limit: 3, windowMs: 60_000 }
const at = (iso: string) => new Date(`2026-11-29T${iso}Z`)

describe('the per-IP limit on unknown-token lookups', () => {
  it('allows `limit` misses per window, then says how long until the window turns', () => {
    expect(unknownLookupVerdict(undefined, at('10:00:00'), rule)).toEqual({ allowed: true })
    const start = at('10:00:00').getTime()
    expect(unknownLookupVerdict({ start, count: 2 }, at('10:00:30'), rule)).toEqual({
      allowed: true,
    })
    expect(unknownLookupVerdict({ start, count: 3 }, at('10:00:30'), rule)).toEqual({
      allowed: false,
      retryAfterSeconds: 30,
    })
    expect(unknownLookupVerdict({ start, count: 3 }, at('10:00:59.500'), rule)).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    })
    expect(unknownLookupVerdict({ start, count: 3 }, at('10:01:00'), rule)).toEqual({
      allowed: true,
    })
  })

  it('counts each address on its own', () => {
    const limit = createUnknownTokenLimit(rule)
    const now = at('10:00:10')
    for (let i = 0; i < 3; i++) limit.miss('203.0.113.9', now)
    expect(limit.check('203.0.113.9', now).allowed).toBe(false)
    expect(limit.check('198.51.100.7', now).allowed).toBe(true)
    expect(limit.check('203.0.113.9', at('10:01:00')).allowed).toBe(true)
  })

  it('counts an IPv6 client by its /64, so rotating addresses in it gains nothing', () => {
    const limit = createUnknownTokenLimit(rule)
    const now = at('10:00:10')
    for (let i = 1; i <= 3; i++) limit.miss(`2001:db8:7:1::${i}`, now)
    expect(limit.check('2001:db8:7:1::ffff', now).allowed).toBe(false)
    expect(limit.check('2001:db8:7:2::1', now).allowed).toBe(true)
  })

  it('forgets the least recent addresses beyond its bound', () => {
    const limit = createUnknownTokenLimit(rule, 2)
    const now = at('10:00:10')
    for (let i = 0; i < 3; i++) limit.miss('203.0.113.9', now)
    limit.miss('198.51.100.1', now)
    limit.miss('198.51.100.2', now)
    expect(limit.check('203.0.113.9', now).allowed).toBe(true)
  })
})

describe('the headers recorded with a click', () => {
  const from = (headers: Record<string, string>) => (name: string) => headers[name]

  it('keeps what the verdict rules read, capped, and nothing else', () => {
    const recorded = clickHeaders(
      from({
        purpose: 'prefetch',
        'x-moz': 'prefetch',
        accept: 'a'.repeat(1000),
        cookie: 'session=secret',
        authorization: 'Bearer x',
      }),
    )
    expect(recorded).toEqual({ purpose: 'prefetch', 'x-moz': 'prefetch', accept: 'a'.repeat(256) })
  })

  it('reduces the Referer to its origin', () => {
    expect(
      clickHeaders(
        from({ referer: 'https://mail.example.net/u/0/#inbox/FMfcgz?to=ann@example.com' }),
      ),
    ).toEqual({ 'referer-origin': 'https://mail.example.net' })
    expect(clickHeaders(from({ referer: 'not a url' }))).toEqual({ 'referer-origin': 'invalid' })
    expect(clickHeaders(from({ referer: 'data:text/html,hi' }))).toEqual({
      'referer-origin': 'opaque',
    })
  })
})
