import { describe, expect, it } from 'vitest'
import { renderOutreach } from '../../../email-templates/outreach.ts'
import { findLinks, linkTracker, normalizeDestination } from '../../../api/tracking/links.ts'
import { isTrackingToken } from '../../../api/tracking/token.ts'

const brand = {
  name: 'Frontdoor',
  postalAddress: '1 Example Street',
  siteUrl: 'https://frontdoor.example',
}

/** The URLs renderOutreach hands to rewriteLink for `body`, in order. */
function linksRendered(body: string): string[] {
  const rewritten: string[] = []
  renderOutreach(
    { subject: 's', body },
    { email: 'a@b.example' },
    {
      brand,
      unsubscribeUrl: 'https://frontdoor.example/u/x',
      rewriteLink: (url) => {
        rewritten.push(url)
        return url
      },
    },
  )
  return rewritten
}

describe('tracked links', () => {
  it('normalises destinations: http(s) only, no credentials', () => {
    expect(normalizeDestination('HTTPS://Example.COM/a b')).toBe('https://example.com/a%20b')
    expect(normalizeDestination('javascript:alert(1)')).toBeNull()
    expect(normalizeDestination('data:text/html,hi')).toBeNull()
    expect(normalizeDestination('ftp://example.com/')).toBeNull()
    expect(normalizeDestination('https://user:pw@example.com/')).toBeNull()
  })

  it('finds the same links renderOutreach makes clickable, in order', () => {
    const body =
      'See https://a.example/x. Or (https://b.example/y_(z)) and https://c.example/?q=1, javascript:alert(1) and http://user:pw@d.example/.'
    const found = findLinks(body)
    const rewritten = linksRendered(body)
    expect(found.map((l) => l.url)).toEqual(rewritten)
    expect(found.map((l) => l.destination)).toEqual([
      'https://a.example/x',
      'https://b.example/y_(z)',
      'https://c.example/?q=1',
      null,
    ])
  })

  it('finds a link followed by a long run of brackets in linear time', () => {
    // Recounting the brackets for each one trimmed was quadratic: 19,000 took 1.8 s a message;
    // a million would take hours that way, so a regression never finishes.
    const body = `See https://a.example/x${')'.repeat(1_000_000)} and [https://b.example/y]].`
    const found = findLinks(body)
    const rewritten = linksRendered(body)
    expect(found.map((l) => l.url)).toEqual(['https://a.example/x', 'https://b.example/y'])
    expect(rewritten).toEqual(['https://a.example/x', 'https://b.example/y'])
  })

  it('rewrites a CSV-supplied URL but never a javascript: one', () => {
    const tracker = linkTracker('https://app.example')
    const message = renderOutreach(
      { subject: 'Hi', body: 'Your site: {{website}} and {{evil}}' },
      {
        email: 'a@b.example',
        custom: {
          website: 'https://acme.example/pricing',
          evil: 'javascript:alert(document.cookie)',
        },
      },
      { brand, unsubscribeUrl: 'https://frontdoor.example/u/x', rewriteLink: tracker.rewrite },
    )
    expect(tracker.links).toHaveLength(1)
    expect(tracker.links[0]!.destination).toBe('https://acme.example/pricing')
    expect(isTrackingToken(tracker.links[0]!.token)).toBe(true)
    expect(message.text).toContain(`https://app.example/r/${tracker.links[0]!.token}`)
    expect(message.text).not.toContain('acme.example')
    expect(message.html).not.toMatch(/href="javascript:/i)
  })

  it('makes no link of a URL it cannot track: credentials, or too long to store', () => {
    const tracker = linkTracker('https://app.example')
    const disguised = 'https://www.paypal.com@evil.example/login'
    const long = `https://acme.example/${'a'.repeat(2100)}`
    const message = renderOutreach(
      {
        subject: 'Hi',
        body: 'Log in: {{login}}\nRead: {{long}}\nOurs: https://frontdoor.example/a',
      },
      { email: 'a@b.example', custom: { login: disguised, long } },
      { brand, unsubscribeUrl: 'https://frontdoor.example/u/x', rewriteLink: tracker.rewrite },
    )
    expect(tracker.links.map((l) => l.destination)).toEqual(['https://frontdoor.example/a'])
    const hrefs = [...message.html.matchAll(/href="([^"]*)"/g)].map((m) => m[1])
    expect(hrefs).toEqual([
      `https://app.example/r/${tracker.links[0]!.token}`,
      'https://frontdoor.example/u/x',
    ])
    // Still there as words, so the message reads as written.
    expect(message.html).toContain(disguised)
    expect(message.text).toContain(`Log in: ${disguised}\n`)
  })
})
