import { describe, expect, it } from 'vitest'
import { checkFormToken, issueFormToken } from '../../../api/leads/form-tokens.ts'

const secret = 'a-secret-a-secret-a-secret-a-secret'
const t0 = new Date('2026-11-29T10:00:00Z')
const after = (ms: number) => new Date(t0.getTime() + ms)
const PAGE = '/whitepapers/benchmark'
const issued = (at = t0, form = PAGE) => issueFormToken(secret, at, form)

describe('form time-trap tokens', () => {
  it('accept a form submitted after a human-plausible delay', () => {
    expect(checkFormToken(secret, issued(), after(8_000), PAGE)).toEqual({
      ok: true,
      ageMs: 8_000,
    })
  })
  it('flag a form submitted faster than a person could', () => {
    expect(checkFormToken(secret, issued(), after(500), PAGE)).toMatchObject({
      ok: false,
      reason: 'too_fast',
    })
  })
  it('flag forged, missing and ancient tokens', () => {
    expect(
      checkFormToken('other-secret-other-secret-other!!', issued(), after(8_000), PAGE),
    ).toMatchObject({ reason: 'invalid' })
    expect(checkFormToken(secret, '', after(1), PAGE)).toMatchObject({ reason: 'missing' })
    expect(checkFormToken(secret, 'abc.def', after(1), PAGE)).toMatchObject({ reason: 'invalid' })
    expect(checkFormToken(secret, issued(), after(2 * 86_400_000), PAGE)).toMatchObject({
      reason: 'expired',
    })
  })
  it('are bound to the form they were rendered for', () => {
    const token = issued(t0, '/whitepapers/other-paper')
    expect(checkFormToken(secret, token, after(8_000), PAGE)).toMatchObject({
      ok: false,
      reason: 'other_form',
    })
    expect(checkFormToken(secret, token, after(8_000), '/whitepapers/other-paper').ok).toBe(true)
    // The page answers with and without a trailing slash.
    expect(checkFormToken(secret, issued(t0, `${PAGE}/`), after(8_000), PAGE).ok).toBe(true)
  })
  it('cannot be moved to another form by editing the form tag', () => {
    const [stamp, nonce, , mac] = issued(t0, '/trial').split('.')
    const pageTag = issued(t0, PAGE).split('.')[2]
    const moved = `${stamp}.${nonce}.${pageTag}.${mac}`
    expect(checkFormToken(secret, moved, after(8_000), PAGE)).toMatchObject({
      reason: 'invalid',
    })
  })
  it('still accept a token issued by an earlier release (the construction is pinned)', () => {
    // Issued by the code before its HMAC moved to api/http/signature.ts: pages rendered before an
    // upgrade must still post.
    const old = 'mx1o4740.BwEL5aIL.dseitb5t.B7metjW96O4xptWbykwa71HYsAuB2cy9'
    expect(checkFormToken(secret, old, after(8_000), PAGE)).toEqual({ ok: true, ageMs: 8_000 })
    expect(checkFormToken(secret, old.slice(0, -1) + 'a', after(8_000), PAGE)).toMatchObject({
      reason: 'invalid',
    })
  })
})
