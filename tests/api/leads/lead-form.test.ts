import { describe, expect, it } from 'vitest'
import { issueFormToken, checkFormToken } from '../../../api/leads/form-tokens.ts'
import { firstTouchCookie, firstTouchOf, parseFirstTouch } from '../../../api/leads/first-touch.ts'
import { requestHash } from '../../../api/idempotency.ts'
import { checkLeadPost, parseLeadPost } from '../../../api/leads/lead-form.ts'
import type { OfferInfo } from '../../../api/leads/offers.ts'
import { spamReasons } from '../../../api/leads/spam.ts'

const offer: OfferInfo = {
  offer: 'whitepaper:x',
  kind: 'whitepaper',
  title: 'X',
  path: '/whitepapers/x',
  file: 'x.pdf',
  fields: { name: 'required', phone: 'optional' },
}

function check(post: Record<string, string>) {
  const shape = parseLeadPost({ offer: offer.offer, ...post })
  if (!shape.ok) return shape
  return checkLeadPost(shape.post, offer)
}

describe('the lead form contract', () => {
  it('enforces the offer’s required fields and drops the ones it does not ask for', () => {
    expect(check({ email: 'a@acme.example', name: '' })).toMatchObject({
      ok: false,
      fields: { name: 'Enter your name.' },
    })
    const ok = check({ email: 'a@acme.example', name: '  Ann  ', company: 'Not asked', phone: '' })
    expect(ok).toMatchObject({ ok: true, data: { fields: { name: 'Ann' } } })
  })

  it('checks the phone pattern the form shows', () => {
    expect(check({ email: 'a@acme.example', name: 'A', phone: '+49 (30) 123-45' })).toMatchObject({
      ok: true,
    })
    expect(check({ email: 'a@acme.example', name: 'A', phone: 'call me' })).toMatchObject({
      ok: false,
      fields: { phone: expect.stringContaining('digits') },
    })
  })

  it('cuts hidden attribution fields to size instead of refusing the person', () => {
    const result = check({
      email: 'a@acme.example',
      name: 'A',
      utm_source: 'x'.repeat(500),
      pageUrl: 'javascript:alert(1)',
    })
    expect(result).toMatchObject({
      ok: true,
      data: { utm: { utm_source: 'x'.repeat(200) }, pageUrl: null },
    })
  })

  it('reads the consent box as ticked only for "yes"', () => {
    expect(check({ email: 'a@acme.example', name: 'A', consent: 'yes' })).toMatchObject({
      ok: true,
      data: { consent: { granted: true } },
    })
    expect(check({ email: 'a@acme.example', name: 'A' })).toMatchObject({
      ok: true,
      data: { consent: { granted: false } },
    })
    expect(check({ email: 'a@acme.example', name: 'A', consent: 'on' })).toMatchObject({
      ok: false,
    })
  })

  it('hashes a request independently of field order', () => {
    expect(requestHash({ a: '1', b: '2' })).toBe(requestHash({ b: '2', a: '1' }))
    expect(requestHash({ a: '1', b: '2' })).not.toBe(requestHash({ a: '1', b: '3' }))
  })
})

describe('spamReasons', () => {
  const secret = 'x'.repeat(32)
  const now = new Date('2026-11-29T10:00:00Z')
  const token = (ageMs: number) =>
    checkFormToken(
      secret,
      issueFormToken(secret, new Date(now.getTime() - ageMs), '/trial'),
      now,
      '/trial',
    )

  it('finds nothing in a person’s post', () => {
    expect(
      spamReasons({
        honeypot: '',
        formToken: token(8000),
        rateLimited: false,
        addressRateLimited: false,
      }),
    ).toEqual([])
  })
  it('names every signal it sees', () => {
    expect(
      spamReasons({
        honeypot: 'x',
        formToken: token(300),
        rateLimited: true,
        addressRateLimited: true,
      }),
    ).toEqual(['honeypot', 'too_fast', 'rate_limited', 'address_rate_limited'])
    expect(
      spamReasons({
        honeypot: '',
        formToken: checkFormToken(secret, null, now, '/trial'),
        rateLimited: false,
        addressRateLimited: false,
      }),
    ).toEqual(['form_token_missing'])
    expect(
      spamReasons({
        honeypot: '',
        formToken: checkFormToken(secret, 'abc.def', now, '/trial'),
        rateLimited: false,
        addressRateLimited: false,
      }),
    ).toEqual(['form_token_invalid'])
  })
  it('does not hold a tab left open for two days against anyone', () => {
    expect(
      spamReasons({
        honeypot: '',
        formToken: token(2 * 86_400_000),
        rateLimited: false,
        addressRateLimited: false,
      }),
    ).toEqual([])
  })
})

describe('first-touch attribution', () => {
  const now = new Date('2026-11-29T10:00:00Z')
  it('is taken from a landing URL with UTM parameters, with only the referring site', () => {
    const touch = firstTouchOf(
      new URL('https://site.example/whitepapers/x?utm_source=linkedin&utm_campaign=q4&other=1'),
      'https://www.linkedin.com/feed/?secret=1',
      now,
    )
    expect(touch).toEqual({
      utm: { utm_source: 'linkedin', utm_campaign: 'q4' },
      landingPage: '/whitepapers/x',
      referrer: 'https://www.linkedin.com/feed/',
      ts: now.toISOString(),
    })
    expect(firstTouchOf(new URL('https://site.example/?a=1'), null, now)).toBeNull()
  })

  it('round-trips through the cookie, 30 days (as the privacy page says), SameSite=Lax, readable by scripts', () => {
    const touch = firstTouchOf(
      new URL('https://site.example/?utm_source=news;letter"&utm_medium=email'),
      null,
      now,
    )!
    const cookie = firstTouchCookie(touch, true)
    expect(cookie).toMatch(/^fd_ft=[^;\s]+; Path=\/; Max-Age=2592000; SameSite=Lax; Secure$/)
    expect(cookie).not.toContain('HttpOnly')
    expect(parseFirstTouch(cookie.split(';')[0]!.slice('fd_ft='.length))).toEqual(touch)
  })

  it('ignores a cookie it did not write', () => {
    expect(parseFirstTouch('garbage')).toBeNull()
    expect(parseFirstTouch(encodeURIComponent(JSON.stringify({ utm: { evil: 'x' } })))).toBeNull()
  })
})
