import { describe, expect, it } from 'vitest'
import { safeNextPath } from '../../../api/http/cookies.ts'
import { scanJson } from '../../../api/http/input.ts'

const findDuplicateKey = (text: string) => scanJson(text).duplicateKey

describe('scanJson', () => {
  it('finds a key repeated in one object, at any depth', () => {
    expect(findDuplicateKey('{"a":1,"a":2}')).toBe('a')
    expect(findDuplicateKey('{"x":{"b":1,"c":{"d":1},"b":2}}')).toBe('b')
    expect(findDuplicateKey('{"\\u0061":1,"a":2}')).toBe('a')
  })
  it('allows the same key in sibling objects and string values that look like keys', () => {
    expect(findDuplicateKey('[{"a":1},{"a":2}]')).toBeNull()
    expect(findDuplicateKey('{"a":"a","b":["a","a"],"c":{"a":1}}')).toBeNull()
    expect(findDuplicateKey('{"a":"x\\"a\\":1"}')).toBeNull()
  })
  it('measures how deep objects and arrays nest, brackets in strings aside', () => {
    expect(scanJson('{}').depth).toBe(1)
    expect(scanJson('{"a":[{"b":"[[[{{{"}],"c":{}}').depth).toBe(3)
    expect(scanJson(`${'['.repeat(5000)}${']'.repeat(5000)}`).depth).toBe(5000)
  })
})

describe('safeNextPath', () => {
  const origin = 'http://localhost:4321'
  it.each([
    ['/app/deals/1?x=1', '/app/deals/1?x=1'],
    ['https://evil.example', '/app'],
    ['//evil.example', '/app'],
    ['/\\evil.example', '/app'],
    ['javascript:alert(1)', '/app'],
    ['/.//evil.example', '/app'],
    ['/./\\evil.example', '/app'],
    [undefined, '/app'],
  ])('%s → %s', (next, expected) => {
    expect(safeNextPath(next, origin)).toBe(expected)
  })
})
