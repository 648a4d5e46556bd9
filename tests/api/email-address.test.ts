import { describe, expect, it } from 'vitest'
import { companyDomainOf, isFreeMailDomain, parseEmailAddress } from '../../api/email-address.ts'

describe('parseEmailAddress: one canonical form per person', () => {
  it.each([
    ['  Dana.Lee@Acme.COM ', 'dana.lee@acme.com', 'Dana.Lee@Acme.COM'],
    ['ann.lee+pdf@gmail.com', 'ann.lee+pdf@gmail.com', 'ann.lee+pdf@gmail.com'], // dots and +tags kept
    ['jörg@Bücher.de', 'jörg@xn--bcher-kva.de', 'jörg@Bücher.de'], // IDN domain → punycode
    ['JÖRG@xn--bcher-kva.de', 'jörg@xn--bcher-kva.de', 'JÖRG@xn--bcher-kva.de'],
    ['Zoe\u0308@example.com', 'zoë@example.com', 'Zoë@example.com'], // NFD → NFC
    ['x@mail.example.co.uk.', 'x@mail.example.co.uk', 'x@mail.example.co.uk.'], // trailing root dot
  ])('%j → %s', (input, canonical, display) => {
    expect(parseEmailAddress(input)).toMatchObject({ canonical, display })
  })

  it('sends to the address as typed, with an ASCII domain', () => {
    expect(parseEmailAddress('Jörg@Bücher.de')!.mailbox).toBe('Jörg@xn--bcher-kva.de')
  })

  it.each([
    '',
    'plain',
    '@example.com',
    'dana@',
    'dana@localhost',
    'a..b@example.com',
    '.a@example.com',
    'a b@example.com',
    '"quoted"@example.com',
    'a@-bad.example',
    'a@exa_mple.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(250)}.com`,
    'a@example.com\r\nBcc: x@y.example',
    'a@1.2.3.4',
  ])('refuses %j', (input) => {
    expect(parseEmailAddress(input)).toBeNull()
  })
})

describe('companies by email domain', () => {
  it('knows free-mail and disposable providers from the maintained list', () => {
    for (const domain of [
      'gmail.com',
      'outlook.com',
      'yahoo.co.uk',
      'gmx.de',
      'protonmail.com',
      'mailinator.com',
    ])
      expect(isFreeMailDomain(domain)).toBe(true)
    expect(isFreeMailDomain('acme-robotics.com')).toBe(false)
  })

  it('uses the registrable domain, and none for free mail', () => {
    expect(companyDomainOf('mail.acme.co.uk')).toBe('acme.co.uk')
    expect(companyDomainOf('acme.com')).toBe('acme.com')
    expect(companyDomainOf('gmail.com')).toBeNull()
  })
})
