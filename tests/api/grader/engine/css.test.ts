import { describe, expect, it } from 'vitest'
import { collectFontSizes, findFontUrls, findImports } from '../../../../api/grader/engine/css.ts'

// css.ts reads fetched stylesheets (any site's, inline or linked) on the server's event loop,
// during collection and in the font-size check. A few kilobytes of hostile CSS used to hold it
// for seconds to hours: `url\(\s*([^)]*?)\s*\)` backtracks cubically over whitespace, and a run
// with no closing brace was rescanned from every start position.

const base = 'https://site.frontdoor-fixture.com/'

function millis(work: () => unknown): number {
  const started = performance.now()
  work()
  return performance.now() - started
}

describe('reading CSS', () => {
  it('finds imports, font files and font sizes', () => {
    const css = `@import url( "a.css" ); @import 'b.css'; @import "c.css" screen;
      @font-face { font-family: X; src: url( /f.woff2 ) format("woff2"), url(/f.woff) }
      html { font-size: 16px } @media (min-width: 600px) { .note { font-size: 11px } }
      @media print { body { font-size: 8pt } }`
    expect(findImports(css, base)).toEqual([`${base}a.css`, `${base}b.css`, `${base}c.css`])
    expect(findFontUrls(css, base)).toEqual([`${base}f.woff2`])
    const sizes = collectFontSizes([css], ['color: red; font-size: 14px'])
    expect(sizes.basePx).toBe(16)
    expect(sizes.declarations.map((d) => [d.selector, d.px])).toEqual([
      ['html', 16],
      ['.note', 11],
      ['[style]', 14],
    ])
  })

  // Sizes at which the old expressions took roughly 5 to 40 s each; now a few milliseconds.
  it.each([
    ['an unclosed @import url(', () => findImports(`@import url(${' '.repeat(3_000)}`, base)],
    [
      'an unclosed url( in @font-face',
      () => findFontUrls(`@font-face{src:url(${' '.repeat(3_000)}}`, base),
    ],
    ['@font-face blocks never closed', () => findFontUrls('@font-face{'.repeat(40_000), base)],
    ['text without braces', () => collectFontSizes(['a'.repeat(100_000)], [])],
    ['@media print never opened', () => collectFontSizes(['@media print'.repeat(10_000)], [])],
  ])('reads hostile CSS in linear time: %s', (_name, work) => {
    expect(millis(work)).toBeLessThan(1_000)
  })
})
