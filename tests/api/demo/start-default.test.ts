import { describe, expect, it } from 'vitest'
import { demoSeedDefault } from '../../../api/demo/start-default.ts'

// `npm start` adds the demo team (whose password the README publishes) to an empty embedded
// database only while the server listens on this machine alone.

describe('npm start’s demo data default', () => {
  it('is yes on an embedded database listening on loopback', () => {
    for (const HOST of [
      undefined,
      '',
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.0.0.53',
      '::1',
      '[::1]',
    ])
      expect(demoSeedDefault({ HOST }), String(HOST)).toEqual({ value: 'yes', note: null })
  })

  it('is nothing, said plainly, when other machines can reach the server', () => {
    for (const HOST of [
      '0.0.0.0',
      '::',
      '192.168.1.20',
      '10.0.0.5',
      'frontdoor.example',
      '::ffff:192.168.1.20',
    ]) {
      const got = demoSeedDefault({ HOST })
      expect(got.value, HOST).toBeNull()
      expect(got.note, HOST).toContain(`HOST=${HOST}`)
      expect(got.note, HOST).toContain('DEMO_SEED=yes')
    }
  })

  it('is nothing, said plainly, on loopback behind a proxy others reach', () => {
    for (const env of [
      { HOST: '127.0.0.1', TRUST_PROXY: 'true' },
      { TRUST_PROXY: '1' },
      { HOST: '127.0.0.1', APP_ORIGIN: 'https://sales.example.com' },
    ]) {
      const got = demoSeedDefault(env)
      expect(got.value, JSON.stringify(env)).toBeNull()
      expect(got.note, JSON.stringify(env)).toContain('DEMO_SEED=yes')
    }
    for (const env of [
      { TRUST_PROXY: 'false' },
      { APP_ORIGIN: 'http://localhost:4321' },
      { APP_ORIGIN: 'http://127.0.0.1:8080' },
      { APP_ORIGIN: '' },
    ])
      expect(demoSeedDefault(env), JSON.stringify(env)).toEqual({ value: 'yes', note: null })
  })

  it('leaves a DEMO_SEED that is set, production and PostgreSQL alone', () => {
    for (const env of [
      { DEMO_SEED: 'no' },
      { DEMO_SEED: 'yes', HOST: '0.0.0.0' },
      { NODE_ENV: 'production' },
      { DATABASE_URL: 'postgres://localhost/frontdoor' },
    ])
      expect(demoSeedDefault(env), JSON.stringify(env)).toEqual({ value: null, note: null })
  })
})
