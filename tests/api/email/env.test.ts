import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { EnvError, parseEnv } from '../../../api/env.ts'
import { parseMailbox } from '../../../api/email-headers.ts'
import { transportKindFor } from '../../../api/email/mailer.ts'

const pem = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString()

describe('email configuration', () => {
  it('turns a literal \\n in DKIM_PRIVATE_KEY into newlines', () => {
    const env = parseEnv({
      DKIM_DOMAIN: 'frontdoor.example',
      DKIM_SELECTOR: 's1',
      DKIM_PRIVATE_KEY: pem.trim().replace(/\n/g, '\\n'),
    })
    expect(env.DKIM_PRIVATE_KEY).toBe(pem.trim())
  })

  it.each([
    [{ DKIM_DOMAIN: 'frontdoor.example' }, 'DKIM_SELECTOR, DKIM_PRIVATE_KEY'],
    [{ DKIM_DOMAIN: 'frontdoor.example', DKIM_SELECTOR: 's1' }, 'DKIM_PRIVATE_KEY'],
    [{ DKIM_PRIVATE_KEY: pem }, 'DKIM_DOMAIN, DKIM_SELECTOR'],
  ])('requires all three DKIM variables together (%o)', (source, missing) => {
    expect(() => parseEnv(source)).toThrow(EnvError)
    expect(() => parseEnv(source)).toThrow(missing)
  })

  it('names DKIM_PRIVATE_KEY when it is not a private key', () => {
    expect(() =>
      parseEnv({ DKIM_DOMAIN: 'd.example', DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY: 'not a key' }),
    ).toThrow('DKIM_PRIVATE_KEY')
  })

  it.each(['MAIL_FROM', 'MAIL_FROM_MARKETING', 'MAIL_REPLY_TO'])(
    'names %s when it is not an address',
    (name) => {
      expect(() => parseEnv({ [name]: 'Frontdoor <nope>' })).toThrow(name)
      expect(parseEnv({ [name]: 'Frontdoor <hello@frontdoor.example>' })[name as 'MAIL_FROM']).toBe(
        'Frontdoor <hello@frontdoor.example>',
      )
    },
  )

  it('reads sender addresses in the usual forms', () => {
    expect(parseMailbox('hello@frontdoor.example')).toEqual({ address: 'hello@frontdoor.example' })
    expect(parseMailbox('Frontdoor <hello@frontdoor.example>')).toEqual({
      name: 'Frontdoor',
      address: 'hello@frontdoor.example',
    })
    expect(parseMailbox('"Sales, Frontdoor" <s@frontdoor.example>')).toEqual({
      name: 'Sales, Frontdoor',
      address: 's@frontdoor.example',
    })
    expect(parseMailbox('a@b.example, c@d.example')).toBeNull()
    expect(parseMailbox('Eve <a@b.example> <c@d.example>')).toBeNull()
  })

  it('picks SMTP over Resend when both are set, Resend alone, and the dev mailbox otherwise', () => {
    expect(
      transportKindFor(parseEnv({ SMTP_URL: 'smtp://127.0.0.1:25', RESEND_API_KEY: 're_x' })),
    ).toBe('smtp')
    expect(transportKindFor(parseEnv({ RESEND_API_KEY: 're_x' }))).toBe('resend')
    expect(transportKindFor(parseEnv({}))).toBe('dev')
  })

  it('takes a Resend webhook signing secret as Resend shows it, and names the variable otherwise', () => {
    const secret = `whsec_${Buffer.from('a'.repeat(24)).toString('base64')}`
    expect(parseEnv({ RESEND_WEBHOOK_SECRET: ` ${secret} ` }).RESEND_WEBHOOK_SECRET).toBe(secret)
    expect(parseEnv({ RESEND_WEBHOOK_SECRET: '' }).RESEND_WEBHOOK_SECRET).toBeUndefined()
    for (const bad of ['re_123', 'whsec_', 'whsec_not base64!', 'whsec_abc'])
      expect(() => parseEnv({ RESEND_WEBHOOK_SECRET: bad })).toThrow('RESEND_WEBHOOK_SECRET')
  })
})
