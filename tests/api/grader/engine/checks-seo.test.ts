import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scoreSite } from '../../../../api/grader/engine/grade.ts'
import { validateRobotsTxt } from '../../../../api/grader/engine/checks/seo.ts'
import { checkOf, collectFrom, fixtureHost, startFixtureStage } from './fixture-stage.ts'
import type { Stage } from './loopback.ts'

// Each SEO check mirrored from Lighthouse gets at least one page it passes and one it fails,
// served on loopback and collected through the real fetcher and parser.

let stage: Stage
beforeAll(async () => {
  stage = await startFixtureStage()
})
afterAll(() => stage.close())

const page = (path: string) => stage.url(fixtureHost('pages'), `/${path}`)
const home = (site: string) => stage.url(fixtureHost(site), '/')

async function verdict(url: string, checkId: string) {
  const site = await collectFrom(stage, url)
  return checkOf(site, checkId)
}

describe('is-crawlable', () => {
  it('passes a page nothing blocks', async () => {
    expect((await verdict(page('seo-pass.html'), 'is-crawlable')).score).toBe(1)
  })

  it.each([
    ['a robots meta noindex', 'noindex-meta.html', /meta name="robots"/],
    ['a robots meta "none"', 'noindex-none.html', /NONE/],
    ['an X-Robots-Tag header', 'noindex-header.html', /X-Robots-Tag: noindex/],
    ['an unavailable_after date in the past', 'unavailable-after.html', /unavailable_after/],
  ])('fails a page blocked by %s', async (_label, path, evidence) => {
    const result = await verdict(page(path), 'is-crawlable')
    expect(result.score).toBe(0)
    expect(result.title).toBe('Page is blocked from indexing')
    expect(result.evidence.summary).toMatch(evidence)
  })

  it('fails a page that robots.txt disallows', async () => {
    const result = await verdict(home('blocked'), 'is-crawlable')
    expect(result.score).toBe(0)
    expect(result.evidence.summary).toMatch(/robots\.txt line 2/)
  })

  it('passes when only one bot is blocked, as Lighthouse does', async () => {
    const result = await verdict(page('noindex-googlebot-only.html'), 'is-crawlable')
    expect(result.score).toBe(1)
    expect(result.evidence.summary).toMatch(/blocked for: Googlebot/)
  })

  it('caps SEO at 9 of 30 points when indexing is blocked', async () => {
    const site = await collectFrom(stage, home('blocked'))
    const scored = scoreSite(site)
    const seoChecks = scored.checks.filter((c) => c.category === 'seo' && c.id !== 'is-crawlable')
    expect(seoChecks.filter((c) => c.score !== null).every((c) => c.score === 1)).toBe(true)
    expect(scored.categories.find((c) => c.id === 'seo')).toMatchObject({ score: 9, capped: true })
  })
})

describe('document-title', () => {
  it('passes a page with a title', async () => {
    expect((await verdict(page('seo-pass.html'), 'document-title')).score).toBe(1)
  })
  it.each(['no-title.html', 'empty-title.html', 'no-title-svg-icon.html'])(
    'fails %s',
    async (path) => {
      const result = await verdict(page(path), 'document-title')
      expect(result.score).toBe(0)
      expect(result.fix).not.toBe('')
    },
  )
})

describe('meta-description', () => {
  it('passes a page with a description', async () => {
    expect((await verdict(page('seo-pass.html'), 'meta-description')).score).toBe(1)
  })
  it.each(['no-description.html', 'empty-description.html'])('fails %s', async (path) => {
    expect((await verdict(page(path), 'meta-description')).score).toBe(0)
  })
})

describe('http-status-code', () => {
  it('passes a 200 page', async () => {
    expect((await verdict(page('seo-pass.html'), 'http-status-code')).score).toBe(1)
  })
  // A page answering 4xx/5xx is not graded at all (collect.test.ts): the check still judges a
  // status, as Lighthouse's audit does, for SiteData that carries one.
  it.each([404, 503])('fails a page that answered %i', async (status) => {
    const site = await collectFrom(stage, page('seo-pass.html'))
    const result = checkOf({ ...site, status }, 'http-status-code')
    expect(result.score).toBe(0)
    expect(result.evidence.summary).toBe(`HTTP ${status}`)
  })

  it.each([
    ['not-found.html', 404],
    ['server-error.html', 503],
  ])('never grades %s', async (path, status) => {
    await expect(collectFrom(stage, page(path))).rejects.toThrow(`HTTP ${status}`)
  })
})

describe('link-text', () => {
  it('passes descriptive links, and ignores same-page, nofollow, javascript: and mailto: links', async () => {
    expect((await verdict(page('seo-pass.html'), 'link-text')).score).toBe(1)
    expect((await verdict(page('generic-links-ignored.html'), 'link-text')).score).toBe(1)
  })
  it('fails "click here" and "read more"', async () => {
    const result = await verdict(page('generic-links.html'), 'link-text')
    expect(result.score).toBe(0)
    expect(result.evidence.items.map((i) => i.text)).toEqual(['click here', 'Read more'])
  })
  it('uses the language of the link: "mehr" fails on a German page, not on an English one', async () => {
    expect((await verdict(page('generic-links-german.html'), 'link-text')).score).toBe(0)
    expect(
      (await verdict(page('generic-links-german-word-in-english.html'), 'link-text')).score,
    ).toBe(1)
  })
})

describe('crawlable-anchors', () => {
  it('passes real links and the exceptions Lighthouse allows (role, id, name, mailto)', async () => {
    expect((await verdict(page('seo-pass.html'), 'crawlable-anchors')).score).toBe(1)
    expect((await verdict(page('crawlable-exceptions.html'), 'crawlable-anchors')).score).toBe(1)
  })
  it.each(['uncrawlable-void.html', 'uncrawlable-onclick.html', 'uncrawlable-file.html'])(
    'fails %s',
    async (path) => {
      expect((await verdict(page(path), 'crawlable-anchors')).score).toBe(0)
    },
  )
})

describe('single-h1', () => {
  it('passes exactly one h1', async () => {
    expect((await verdict(page('seo-pass.html'), 'single-h1')).score).toBe(1)
  })
  it.each(['h1-none.html', 'h1-two.html'])('fails %s', async (path) => {
    expect((await verdict(page(path), 'single-h1')).score).toBe(0)
  })
})

describe('image-alt', () => {
  it('passes images with alt, aria-label, title, a presentational role, or hidden', async () => {
    expect((await verdict(page('images-alt-variants.html'), 'image-alt')).score).toBe(1)
  })
  it.each(['images-no-alt.html', 'images-space-alt.html'])('fails %s', async (path) => {
    expect((await verdict(page(path), 'image-alt')).score).toBe(0)
  })
  it('is not applicable to a page without images', async () => {
    expect((await verdict(page('no-images.html'), 'image-alt')).score).toBeNull()
  })
})

describe('canonical', () => {
  it('passes a valid absolute canonical', async () => {
    expect((await verdict(page('seo-pass.html'), 'canonical')).score).toBe(1)
  })
  it.each([
    ['canonical-relative.html', /not an absolute URL/],
    ['canonical-conflict.html', /conflicting/],
    ['canonical-root.html', /root URL/],
    ['canonical-invalid.html', /Invalid URL/],
  ])('fails %s', async (path, reason) => {
    const result = await verdict(page(path), 'canonical')
    expect(result.score).toBe(0)
    expect(result.evidence.summary).toMatch(reason)
  })
  it('is not applicable without a canonical in the head (body links do not count)', async () => {
    expect((await verdict(page('no-images.html'), 'canonical')).score).toBeNull()
    expect((await verdict(page('canonical-in-body.html'), 'canonical')).score).toBeNull()
  })
})

describe('hreflang', () => {
  it('passes valid hreflang links, and a page without any', async () => {
    expect((await verdict(page('seo-pass.html'), 'hreflang')).score).toBe(1)
    expect((await verdict(page('no-images.html'), 'hreflang')).score).toBe(1)
  })
  it.each([
    ['hreflang-invalid-code.html', 'Unexpected language code'],
    ['hreflang-relative.html', 'Relative href value'],
  ])('fails %s', async (path, reason) => {
    const result = await verdict(page(path), 'hreflang')
    expect(result.score).toBe(0)
    expect(result.evidence.items[0]?.reason).toBe(reason)
  })
})

describe('robots-txt', () => {
  it('passes a valid robots.txt', async () => {
    expect((await verdict(page('seo-pass.html'), 'robots-txt')).score).toBe(1)
  })
  it('fails an invalid robots.txt and lists the lines', async () => {
    const result = await verdict(home('badrobots'), 'robots-txt')
    expect(result.score).toBe(0)
    expect(result.evidence.items.map((i) => i.error)).toEqual([
      'No user-agent specified',
      'Syntax not understood',
      'Unknown directive',
      'Invalid sitemap URL',
    ])
  })
  it('fails a robots.txt answering 5xx', async () => {
    const result = await verdict(home('robots500'), 'robots-txt')
    expect(result).toMatchObject({
      score: 0,
      evidence: { summary: 'robots.txt answered HTTP 503' },
    })
  })
  it('is not applicable when there is no robots.txt', async () => {
    expect((await verdict(home('norobots'), 'robots-txt')).score).toBeNull()
  })
  it('validates lines the way Lighthouse does', () => {
    expect(
      validateRobotsTxt('User-agent: *\nDisallow: /a$\nAllow: *.css$\nCrawl-delay: 2\n# note\n'),
    ).toEqual([])
    expect(
      validateRobotsTxt('User-agent: *\nDisallow: a/b\nAllow: /a$b\n').map((e) => e.line),
    ).toEqual([2, 3])
  })
})

describe('sitemap', () => {
  it('passes a sitemap index named in robots.txt, and confirms its first child', async () => {
    const site = await collectFrom(stage, page('seo-pass.html'))
    expect(site.sitemap).toMatchObject({
      source: 'robots.txt',
      format: 'sitemapindex',
      valid: true,
    })
    expect(site.sitemap.child).toMatchObject({ valid: true, status: 200 })
    expect(checkOf(site, 'sitemap').score).toBe(1)
  })
  it('falls back to /sitemap.xml when robots.txt names no usable sitemap', async () => {
    const site = await collectFrom(stage, home('badrobots'))
    expect(site.sitemap).toMatchObject({
      source: 'default',
      valid: true,
      format: 'urlset',
      entries: 1,
    })
    expect(checkOf(site, 'sitemap').score).toBe(1)
  })
  it('fails a sitemap that is not one', async () => {
    expect((await verdict(home('brokensitemap'), 'sitemap')).score).toBe(0)
  })
  it('fails when there is none', async () => {
    const result = await verdict(home('norobots'), 'sitemap')
    expect(result.score).toBe(0)
    expect(result.evidence.summary).toMatch(/HTTP 404/)
  })
})
