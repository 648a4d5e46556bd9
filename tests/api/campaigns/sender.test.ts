import { describe, expect, it } from 'vitest'
import { checkSenderAddress, verifiedSendingDomains } from '../../../api/campaigns/sender.ts'

describe('the verified sending domain', () => {
  it('comes from the marketing sender and DKIM_DOMAIN', () => {
    expect(
      verifiedSendingDomains(
        { marketingFrom: { name: 'Frontdoor', address: 'hello@Frontdoor.example' } },
        { DKIM_DOMAIN: 'mail.frontdoor.example' },
      ).sort(),
    ).toEqual(['frontdoor.example', 'mail.frontdoor.example'])
    expect(verifiedSendingDomains({ marketingFrom: null }, { DKIM_DOMAIN: undefined })).toEqual([])
  })

  it('refuses any other address, lookalikes and subdomains included', () => {
    const domains = ['frontdoor.example']
    expect(checkSenderAddress('Riley@FRONTDOOR.example', domains)).toMatchObject({
      ok: true,
      domain: 'frontdoor.example',
    })
    for (const bad of [
      'riley@gmail.com',
      'riley@frontdoor.example.evil.com',
      'riley@mail.frontdoor.example',
      'riley@xfrontdoor.example',
    ]) {
      const check = checkSenderAddress(bad, domains)
      expect(check.ok, bad).toBe(false)
      if (!check.ok) expect(check.message).toContain('@frontdoor.example')
    }
    expect(checkSenderAddress('not an address', domains)).toMatchObject({ ok: false })
    expect(checkSenderAddress('riley@frontdoor.example', [])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/No verified sending domain/),
    })
  })
})
