import { describe, expect, it } from 'vitest'
import { ORIGIN } from '../helpers.ts'
import { encodeForm, leadForm, postLead, setupLeadApp } from '../api/leads/lead-helpers.ts'
import { HOSTILE, RAW_FORM_VALUES, seededRandom } from './payloads.ts'

// Issue 19, item 7: a bounded, seeded fuzz run against the public routes through app.request():
// malformed paths, methods, headers and bodies. Every answer must be below 500, and the app must
// still take a real lead afterwards. FUZZ_SEED and FUZZ_REQUESTS override the defaults; a
// failure prints the seed and request number to replay it.

const SEED = Number(process.env.FUZZ_SEED ?? 19)
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000)

const ctx = await setupLeadApp()

type Fuzzed = { method: string; path: string; headers: Record<string, string>; body?: BodyInit }

/** Percent-encoding as a browser does it: a lone surrogate becomes U+FFFD. */
const enc = (s: string) => encodeURIComponent(s.toWellFormed())

function fuzzer(random: () => number) {
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(list: ReadonlyArray<T>): T => list[int(list.length)]!
  const chance = (p: number) => random() < p

  const junk = (): string => {
    const kind = int(6)
    if (kind === 0) return pick(HOSTILE)[1]
    if (kind === 1)
      return String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x3000)))
    if (kind === 2) return Math.random.toString().slice(0, int(20))
    if (kind === 3) return String(pick([-1, 0, 1e309, Number.MAX_SAFE_INTEGER, 3.5, NaN]))
    if (kind === 4) return pick(['', ' ', 'null', 'true', '[]', '{}', '../../etc/passwd'])
    return Array.from({ length: int(64) }, () => pick([...'abcxyz0129-_.~%/?#&=+'])).join('')
  }
  const token = () =>
    pick([
      junk(),
      'a'.repeat(int(300)),
      Array.from({ length: 32 }, () => pick([...'abcdefghijklmnopqrstuvwxyz234567'])).join(''),
      '%00',
      '..%2f..%2fetc',
      '%ZZ',
    ])
  const pathFor = (): string => {
    const t = enc(token()).slice(0, 400)
    // The lead form is the busiest public door: half the requests go to it.
    if (chance(0.5)) return '/api/leads'
    return pick([
      '/api/leads',
      '/api/sessions',
      '/api/sessions/current',
      '/api/setup',
      '/api/setup/password',
      '/api/grader',
      `/api/grader/${t}`,
      `/api/grader/${t}/unlock`,
      `/d/${t}`,
      `/d/${t}/renew`,
      `/u/${t}`,
      `/r/${t}`,
      '/api/health',
      `/api/${t}`,
      `/${t}`,
    ])
  }
  const formBody = (): string => {
    if (chance(0.3)) {
      // A real lead form with fields replaced, added or broken.
      const fields = leadForm(ctx)
      const keys = Object.keys(fields)
      for (let i = 0, n = 1 + int(4); i < n; i++) {
        const key = chance(0.8) ? pick(keys) : junk().slice(0, 50)
        fields[key] = junk()
      }
      let body = encodeForm(fields)
      if (chance(0.3)) body += `&${pick(keys)}=${pick(RAW_FORM_VALUES)}`
      if (chance(0.1)) body += `&${pick(keys)}=duplicate`
      return body
    }
    return Array.from({ length: int(8) }, () => {
      const raw = chance(0.2) ? pick(RAW_FORM_VALUES) : enc(junk())
      return `${enc(junk()).slice(0, 40)}=${raw}`
    }).join(pick(['&', '&&', ';', '']))
  }
  const jsonValue = (depth: number): unknown => {
    const kind = int(depth > 3 ? 3 : 6)
    if (kind === 0) return junk()
    if (kind === 1) return pick([null, true, 0, -1, 1e308, 'x'])
    if (kind === 2) return int(1000)
    if (kind === 3) return Array.from({ length: int(4) }, () => jsonValue(depth + 1))
    const obj: Record<string, unknown> = {}
    for (let i = 0, n = int(5); i < n; i++)
      obj[pick(['email', 'password', 'url', 'token', 'name', '__proto__', junk().slice(0, 20)])] =
        jsonValue(depth + 1)
    return obj
  }
  const jsonBody = (): string => {
    const text = JSON.stringify(jsonValue(0)) ?? 'null'
    if (chance(0.15)) return text.slice(0, int(text.length))
    if (chance(0.05)) return '['.repeat(5_000) + ']'.repeat(5_000)
    if (chance(0.05)) return '{"email":"a@b.example","email":"c@d.example"}'
    return text
  }

  return (): Fuzzed => {
    const method = chance(0.6) ? 'POST' : pick(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])
    const headers: Record<string, string> = {}
    if (chance(0.8)) headers.origin = ORIGIN
    if (chance(0.3)) headers.accept = 'application/json'
    if (chance(0.5)) headers['x-forwarded-for'] = pick(['203.0.113.9', 'junk', '::1, 10.0.0.1'])
    if (chance(0.2))
      headers.cookie = pick([
        `fd_session=${token()}`,
        `fd_ft=${enc(junk())}`,
        `fd_dl=${enc(junk())}`,
        `fd_session=a.b; fd_ft=%7B%22utm%22`,
      ]).replace(/[^\x20-\x7e]/g, '') // headers are bytes: what a client could send
    const fuzzed: Fuzzed = { method, path: pathFor(), headers }
    if (method === 'GET' || method === 'HEAD') {
      if (chance(0.3)) fuzzed.path += `?${formBody()}`
      return fuzzed
    }
    const kind = int(10)
    if (kind < 5) {
      headers['content-type'] = pick([
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=utf-8',
        'application/x-www-form-urlencoded; charset=latin1',
      ])
      fuzzed.body = formBody()
    } else if (kind < 8) {
      headers['content-type'] = pick(['application/json', 'application/json; charset="UTF-8"'])
      fuzzed.body = jsonBody()
    } else if (kind < 9) {
      headers['content-type'] = pick(['text/plain', 'multipart/form-data; boundary=x', 'x/y'])
      fuzzed.body = junk()
    } else {
      if (chance(0.5)) headers['content-type'] = 'application/x-www-form-urlencoded'
      fuzzed.body = new Uint8Array(Array.from({ length: int(200) }, () => int(256)))
    }
    return fuzzed
  }
}

describe(`a seeded fuzz run (seed ${SEED}, ${REQUESTS} requests)`, () => {
  it('gets no answer of 500 or more, and the app still takes a lead after it', async () => {
    const next = fuzzer(seededRandom(SEED))
    const failures: string[] = []
    const statuses = new Map<number, number>()
    for (let i = 0; i < REQUESTS; i++) {
      const req = next()
      let res: Response
      try {
        res = await ctx.app.request(req.path, {
          method: req.method,
          headers: req.headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
        })
      } catch (err) {
        // The app threw instead of answering: as bad as a 500.
        failures.push(`#${i} ${req.method} ${req.path.slice(0, 120)} → threw ${String(err)}`)
        continue
      }
      await res.arrayBuffer()
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      if (res.status >= 500 && failures.length < 5)
        failures.push(`#${i} ${req.method} ${req.path.slice(0, 120)} → ${res.status}`)
    }
    const errors = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0)
    console.info(
      `fuzz: ${REQUESTS} requests (seed ${SEED}), ${errors} answers ≥ 500; statuses`,
      Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
    )
    expect(failures, `replay with FUZZ_SEED=${SEED}`).toEqual([])
    expect(errors).toBe(0)

    const lead = await postLead(ctx, leadForm(ctx, { email: 'after.fuzz@acme-robotics.com' }))
    expect(lead.status).toBe(303)
    expect((await ctx.app.request('/api/health')).status).toBe(200)
  }, 120_000)
})
