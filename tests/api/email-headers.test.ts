import { describe, expect, it } from 'vitest'
import {
  formatAddress,
  isValidAddress,
  safeCustomHeaders,
  safeHeaderText,
} from '../../api/email-headers.ts'
import { idempotencyKeyFor, messageIdFor } from '../../api/email/transport.ts'

describe('safeHeaderText', () => {
  it('turns CR, LF and other control characters into single spaces', () => {
    expect(safeHeaderText('Eve\r\nBcc: x@y.example', 100)).toBe('Eve Bcc: x@y.example')
    expect(safeHeaderText('a\u0000b\u0007c\u007fd\u0085e', 100)).toBe('a b c d e')
    expect(safeHeaderText('line\u2028separator\u2029para', 100)).toBe('line separator para')
  })

  it('drops bidi overrides that would make a name display as something else', () => {
    expect(safeHeaderText('Acme\u202Egnp.exe', 100)).toBe('Acme gnp.exe')
  })

  it('collapses runs of whitespace and trims', () => {
    expect(safeHeaderText('  Dana \t\t  Whitfield  ', 100)).toBe('Dana Whitfield')
  })

  it('caps the length in characters, not UTF-16 units, and marks the cut', () => {
    expect(safeHeaderText('abcdefghij', 5)).toBe('abcd…')
    expect(safeHeaderText('😀😀😀😀😀😀', 4)).toBe('😀😀😀…')
    expect(safeHeaderText('short', 5)).toBe('short')
  })

  it('keeps non-Latin names intact for the library to encode', () => {
    expect(safeHeaderText('Zoë Ångström 山田', 100)).toBe('Zoë Ångström 山田')
  })
})

describe('formatAddress', () => {
  it('returns the object form with a header-safe name', () => {
    expect(formatAddress('Eve\r\nBcc: x@y.example', 'eve@northwind.example')).toEqual({
      name: 'Eve Bcc: x@y.example',
      address: 'eve@northwind.example',
    })
  })

  it('leaves out an empty or missing name', () => {
    expect(formatAddress('  ', 'eve@northwind.example')).toEqual({
      address: 'eve@northwind.example',
    })
    expect(formatAddress(null, 'eve@northwind.example')).toEqual({
      address: 'eve@northwind.example',
    })
  })

  it('refuses an address that could smuggle a second one or a header', () => {
    for (const bad of [
      'eve@northwind.example\r\nBcc: x@y.example',
      'eve@northwind.example, x@y.example',
      'Eve <eve@northwind.example>',
      'eve@northwind',
      '@northwind.example',
      'eve@@northwind.example',
      'eve@northwind..example',
      'eve.@northwind.example',
      '"eve"@northwind.example',
    ]) {
      expect(() => formatAddress('Eve', bad), bad).toThrow(/invalid email address/)
    }
  })
})

describe('isValidAddress', () => {
  it('accepts ordinary, plus-tagged, internationalised and punycode addresses', () => {
    for (const ok of [
      'dana@northwind.example',
      'dana.whitfield+leads@mail.northwind.example',
      'zoë@bücher.example',
      'x@xn--bcher-kva.example',
      "o'brien@northwind.co.uk",
    ]) {
      expect(isValidAddress(ok), ok).toBe(true)
    }
  })

  it('accepts combining marks within a local part, as names in many scripts need them', () => {
    // Devanagari vowel signs, Thai vowels, and "İ" lowercased ("i" + U+0307).
    for (const ok of ['राम@example.in', 'นิด@example.co.th', 'i\u0307nci@example.com']) {
      expect(isValidAddress(ok), ok).toBe(true)
    }
    // Not at the start of an atom, and not the invisible ones (a variation selector, the CGJ).
    for (const bad of [
      '\u0301a@example.com',
      'a.\u0301b@example.com',
      'ann\ufe0f@example.com',
      'a\u034fnn@example.com',
    ]) {
      expect(isValidAddress(bad), bad).toBe(false)
    }
  })
})

describe('safeCustomHeaders', () => {
  it('flattens values and keeps the names', () => {
    expect(
      safeCustomHeaders({ 'List-Unsubscribe': '<https://x.example/u/t>\r\nBcc: a@b.example' }),
    ).toEqual({
      'List-Unsubscribe': '<https://x.example/u/t> Bcc: a@b.example',
    })
  })

  it('refuses header names that are not tokens or that the transport owns', () => {
    expect(() => safeCustomHeaders({ 'X-A\r\nBcc': 'x' })).toThrow(/header not allowed/)
    expect(() => safeCustomHeaders({ Bcc: 'x@y.example' })).toThrow(/header not allowed/)
    expect(() => safeCustomHeaders({ 'message-id': '<x@y>' })).toThrow(/header not allowed/)
  })
})

describe('stable identifiers for an outbox row', () => {
  it('derives the Message-ID from the row id and domain, hashing ids that are not plain tokens', () => {
    expect(messageIdFor('0190f3a2-7c4e', 'Frontdoor.Example')).toBe(
      '<outbox.0190f3a2-7c4e@frontdoor.example>',
    )
    const odd = messageIdFor('a b<c>', 'frontdoor.example')
    expect(odd).toMatch(/^<outbox\.[0-9a-f]{32}@frontdoor\.example>$/)
    expect(messageIdFor('a b<c>', 'frontdoor.example')).toBe(odd)
    expect(messageIdFor('7', 'bücher.example')).toBe('<outbox.7@xn--bcher-kva.example>')
  })

  it('derives the idempotency key from the row id, within the API’s 256 characters', () => {
    expect(idempotencyKeyFor('42')).toBe('outbox/42')
    expect(idempotencyKeyFor('x'.repeat(300)).length).toBeLessThanOrEqual(256)
  })
})
