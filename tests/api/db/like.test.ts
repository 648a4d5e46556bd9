import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { containsPattern, escapeLike } from '../../../api/db/like.ts'

// api/db/like.ts is the one home of LIKE escaping: a copy elsewhere drifts (escapes one wildcard
// fewer, or a different escape character) and a search for "50%" or "a_b" quietly matches more.

const root = fileURLToPath(new URL('../../../', import.meta.url))
const THE_HOME = 'api/db/like.ts'

/** A `.replace(/…/…, …)` whose pattern names both of LIKE's wildcards: escaping made by hand. */
const HAND_ESCAPING = /\.replace(?:All)?\(\s*\/(?=[^/\n]*%)(?=[^/\n]*_)[^/\n]*\/[a-z]*\s*,/

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return entry === 'migrations' ? [] : sourceFiles(path)
    return /\.(ts|astro|mjs)$/.test(entry) ? [path] : []
  })
}

describe('LIKE patterns from typed text', () => {
  it('match the wildcards and the escape character only as themselves', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\')
    expect(containsPattern('a_b')).toBe('%a\\_b%')
  })

  it('are escaped in api/db/like.ts alone: no other source escapes the wildcards by hand', () => {
    const files = ['api', 'src', 'scripts'].flatMap((dir) => sourceFiles(join(root, dir)))
    expect(files.length).toBeGreaterThan(100)
    const byHand = files
      .map((file) => relative(root, file))
      .filter((file) => HAND_ESCAPING.test(readFileSync(join(root, file), 'utf8')))
    expect(byHand).toEqual([THE_HOME])
  })
})
