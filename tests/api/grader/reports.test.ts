import { describe, expect, it } from 'vitest'
import { EnvError, parseEnv } from '../../../api/env.ts'
import {
  gradeTarget,
  graderSettingsFrom,
  parseAllowList,
  plausibleToken,
  reportJson,
  unlockTokenHash,
  type ReportRow,
} from '../../../api/grader/reports.ts'
import { newToken } from '../../../api/ids.ts'

describe('GRADER_ALLOW_ADDRESSES', () => {
  it('reads addresses, with an optional port each', () => {
    expect(parseAllowList('127.0.0.3, 127.0.0.4:8080,[::1]:9090 ,::2,[fd00::1]')).toEqual({
      addresses: ['127.0.0.3', '127.0.0.4', '::1', '::2', 'fd00::1'],
      ports: [8080, 9090],
    })
    expect(parseAllowList(undefined)).toEqual({ addresses: [], ports: [] })
    expect(parseAllowList(' , ')).toEqual({ addresses: [], ports: [] })
  })

  it.each(['localhost', '127.0.0.1:0', '127.0.0.1:70000', '10.0.0.0/8', 'example.com:80', '[::1'])(
    'stops the process on "%s", naming the variable',
    (value) => {
      expect(() => parseAllowList(value)).toThrow(EnvError)
      expect(() => parseAllowList(value)).toThrow(/GRADER_ALLOW_ADDRESSES/)
    },
  )

  it('is refused in production by the environment schema, and ignored here too', () => {
    expect(() => parseEnv({ NODE_ENV: 'production', GRADER_ALLOW_ADDRESSES: '127.0.0.1' })).toThrow(
      EnvError,
    )
    const settings = graderSettingsFrom({
      NODE_ENV: 'production',
      GRADER_ALLOW_ADDRESSES: '127.0.0.1:8080',
    })
    expect(settings.allowAddresses).toEqual([])
    expect(settings.allowPorts).toEqual([])
  })

  it('opens its ports for the grader’s URL check in development', () => {
    const settings = graderSettingsFrom({
      NODE_ENV: 'development',
      GRADER_ALLOW_ADDRESSES: '127.0.0.3:8080',
    })
    expect(gradeTarget('http://site.example.com:8080/', settings)).toEqual({
      ok: true,
      url: 'http://site.example.com:8080/',
      host: 'site.example.com',
      blocked: false,
    })
    expect(gradeTarget('http://site.example.com:8081/', settings).ok).toBe(false)
  })
})

describe('gradeTarget', () => {
  const rules = { allowPorts: [] }

  it('normalizes what a visitor types into the cache key', () => {
    expect(gradeTarget('  Example.COM ', rules)).toEqual({
      ok: true,
      url: 'https://example.com/',
      host: 'example.com',
      blocked: false,
    })
    expect(gradeTarget('http://shop.example.co.uk./a?b#c', rules)).toEqual({
      ok: true,
      url: 'http://shop.example.co.uk/a?b',
      host: 'shop.example.co.uk',
      blocked: false,
    })
  })

  it('marks names that can never be public as blocked, not as mistakes (no oracle)', () => {
    for (const input of [
      'localhost',
      'http://localhost:80/',
      'printer.local',
      'intranet',
      'http://db.internal/',
    ])
      expect(gradeTarget(input, rules), input).toMatchObject({ ok: true, blocked: true })
  })

  it('leaves refused IP addresses to the fetcher, which fails them like a silent site', () => {
    for (const input of [
      'http://127.0.0.1/',
      'http://10.0.0.1/',
      'http://[::1]/',
      'http://2130706433/',
    ])
      expect(gradeTarget(input, rules), input).toMatchObject({ ok: true, blocked: false })
  })

  it('explains real input mistakes', () => {
    expect(gradeTarget('', rules)).toEqual({
      ok: false,
      message: 'Enter the address of a website.',
    })
    expect(gradeTarget('mailto:a@b.com', rules)).toMatchObject({ ok: false })
    expect(gradeTarget('https://example.com:8443/', rules)).toEqual({
      ok: false,
      message: 'Only websites on the standard ports (80 and 443) can be graded.',
    })
  })
})

describe('unlock tokens', () => {
  it('bind one token to one report', () => {
    const token = newToken()
    expect(plausibleToken(token)).toBe(true)
    expect(unlockTokenHash('a', token)).not.toBe(unlockTokenHash('b', token))
    expect(unlockTokenHash('a', token)).toMatch(/^[0-9a-f]{64}$/)
    for (const bad of [null, '', 'short', 'UPPERCASEUPPERCASEUPPER', `${token}'--`, 'a'.repeat(65)])
      expect(plausibleToken(bad)).toBe(false)
  })
})

describe('reportJson', () => {
  const base: ReportRow = {
    id: '0190f5d2-0000-7000-8000-000000000000',
    normalizedUrl: 'https://example.com/',
    host: 'example.com',
    status: 'pending',
    finalUrl: null,
    total: null,
    band: null,
    platform: null,
    result: null,
    teaser: null,
    rubricVersion: null,
    error: null,
    requesterIp: '203.0.113.9',
    leaseUntil: null,
    createdAt: new Date('2026-11-29T10:00:00Z'),
    completedAt: null,
  }

  it('never shows who asked or the job’s lease', () => {
    const json = JSON.stringify(
      reportJson({ ...base, status: 'running', leaseUntil: new Date() }, { full: true }),
    )
    expect(json).not.toContain('203.0.113.9')
    expect(json).not.toContain('lease')
  })

  it('turns a failure into its visitor message, whatever the cause', () => {
    expect(
      reportJson({ ...base, status: 'failed', error: 'unreachable' }, { full: false }).error,
    ).toEqual({
      code: 'unreachable',
      message: 'We could not reach that website. Check the address and try again.',
    })
    expect(
      reportJson({ ...base, status: 'failed', error: 'garbage' }, { full: false }).error?.message,
    ).toBe('Something went wrong on our side while grading. Please try again.')
  })

  it('says which status an error page answered, and how long a slow page had taken', () => {
    const failed = (error: string) =>
      reportJson({ ...base, status: 'failed', error }, { full: false }).error
    expect(failed('http_error:503')).toEqual({
      code: 'http_error',
      httpStatus: 503,
      message:
        'That page answered 503 Service Unavailable: we can only grade a page that loads. Check the address, or try again once the site is back.',
    })
    expect(failed('http_error:404')?.message).toBe(
      'That page does not exist (404 Not Found): we can only grade a page that loads. Check the address.',
    )
    expect(failed('http_error:403')?.message).toBe(
      'That page answered 403 Forbidden: we can only grade a page that loads. Check the address.',
    )
    expect(failed('too_slow:15')).toEqual({
      code: 'too_slow',
      seconds: 15,
      message:
        'That website answered but took too long to send its page (over 15 s). Try again in a while.',
    })
    expect(failed('http_error:')).toMatchObject({ code: 'internal' })
  })

  it('shows a report graded before full results were kept (demo data) without details', () => {
    const json = reportJson(
      { ...base, status: 'done', total: 71, band: 'C', completedAt: base.createdAt },
      { full: true },
    )
    expect(json.unlocked).toBe(true)
    expect(json.full).toBeUndefined()
    expect(json.teaser).toBeUndefined()
  })
})
