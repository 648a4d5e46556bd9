import { describe, expect, it } from 'vitest'
import { passwordProblem, passwordRules } from '../../../api/accounts/passwords.ts'

// The hint beside a new password's field states every rule passwordProblem applies, so none is
// learnt only from a refusal.

describe('the new-password hint', () => {
  it('states each rule a password is refused for, naming the email’s name when it knows it', () => {
    const email = 'riley@frontdoor.example'
    const hint = passwordRules(email)
    expect(hint).toBe(
      '10 to 256 characters, not one character repeated, not containing “riley” (your email’s name), not starting with a common password such as “password” or “1234567890”.',
    )
    // Each refusal's rule is in the hint.
    for (const [password, rule] of [
      ['short', '10 to 256 characters'],
      ['x'.repeat(257), '10 to 256 characters'],
      ['aaaaaaaaaaaa', 'not one character repeated'],
      ['hello-riley-2026', '“riley”'],
      ['password-for-me', '“password”'],
    ] as const) {
      expect(passwordProblem(password, email), password).not.toBeNull()
      expect(hint).toContain(rule)
    }
  })

  it('says which part of the address when the email is typed in the same form, and “their” for an admin', () => {
    expect(passwordRules(null)).toContain('not containing the part of your email before the @')
    expect(passwordRules(null, 'their')).toContain('the part of their email before the @')
  })

  it('leaves out the email rule for a name too short to be checked', () => {
    expect(passwordRules('al@frontdoor.example')).not.toContain('email')
    expect(passwordProblem('al-is-my-name-1', 'al@frontdoor.example')).toBeNull()
  })
})
