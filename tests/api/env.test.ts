import { describe, expect, it } from 'vitest'
import { EnvError, parseEnv } from '../../api/env.ts'

describe('parseEnv', () => {
  it('has working defaults', () => {
    const env = parseEnv({})
    expect(env).toMatchObject({
      PORT: 4321,
      HOST: 'localhost',
      DATA_DIR: './data',
      TRUST_PROXY: false,
      APP_ORIGIN: 'http://localhost:4321',
      OUTBOX_RETENTION_DAYS: 90,
    })
    expect(env.DATABASE_URL).toBeUndefined()
  })

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['APP_ORIGIN', { APP_ORIGIN: 'not a url' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'maybe' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['SMTP_URL', { SMTP_URL: 'http://mail' }],
    // Once these crashed the server after it said it was listening (nodemailer's first send).
    ['SMTP_URL', { SMTP_URL: 'smtp://localhost:notaport' }],
    ['SMTP_URL', { SMTP_URL: 'smtp://' }],
    ['GRADER_ALLOW_ADDRESSES', { NODE_ENV: 'production', GRADER_ALLOW_ADDRESSES: '127.0.0.1' }],
    ['OUTBOX_RETENTION_DAYS', { OUTBOX_RETENTION_DAYS: '0' }],
    ['OUTBOX_RETENTION_DAYS', { OUTBOX_RETENTION_DAYS: 'forever' }],
  ])('names %s when its value is bad', (name, source) => {
    expect(() => parseEnv(source)).toThrow(EnvError)
    expect(() => parseEnv(source)).toThrow(name)
  })

  it('derives APP_ORIGIN from HOST and PORT when it is not set, or set empty', () => {
    expect(parseEnv({ PORT: '8080' }).APP_ORIGIN).toBe('http://localhost:8080')
    // `APP_ORIGIN=` in a .env file: unset, as the other optional settings, not "Invalid URL".
    expect(parseEnv({ PORT: '8080', APP_ORIGIN: ' ' }).APP_ORIGIN).toBe('http://localhost:8080')
  })

  it('keeps only the origin of APP_ORIGIN', () => {
    expect(parseEnv({ APP_ORIGIN: 'https://sales.example.com/some/path' }).APP_ORIGIN).toBe(
      'https://sales.example.com',
    )
  })
})
