import { describe, expect, it } from 'vitest'
import { checkFormToken, issueFormToken } from '../../../api/leads/form-tokens.ts'

const secret = 'a-secret-a-secret-a-secret-a-secret'
const t0 = new Date('2026-11-29T10:00:00Z')
const after = (ms: number) => new Date(t0.getTime() + ms)

describe('form time-trap tokens', () => {
  it('accept a form submitted after a human-plausible delay', () => {
    expect(checkFormToken(secret, issueFormToken(secret, t0), after(8_000))).toEqual({
      ok: true,
      ageMs: 8_000,
    })
  })
  it('flag a form submitted faster than a person could', () => {
    expect(checkFormToken(secret, issueFormToken(secret, t0), after(500))).toMatchObject({
      ok: false,
      reason: 'too_fast',
    })
  })
  it('flag forged, missing and ancient tokens', () => {
    expect(
      checkFormToken('other-secret-other-secret-other!!', issueFormToken(secret, t0), after(8_000)),
    ).toMatchObject({ reason: 'invalid' })
    expect(checkFormToken(secret, '', after(1))).toMatchObject({ reason: 'missing' })
    expect(checkFormToken(secret, 'abc.def', after(1))).toMatchObject({ reason: 'invalid' })
    expect(checkFormToken(secret, issueFormToken(secret, t0), after(2 * 86_400_000))).toMatchObject(
      { reason: 'expired' },
    )
  })
})
