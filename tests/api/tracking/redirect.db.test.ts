import { createServer } from 'node:http'
import { connect } from 'node:net'
import { getRequestListener, serve } from '@hono/node-server'
import { eq, sql } from 'drizzle-orm'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { clickEvents, trackedLinks } from '../../../api/db/schema.ts'
import type { Deps } from '../../../api/deps.ts'
import { createLogger } from '../../../api/logger.ts'
import { createClickWriter, type ClickWriterOptions } from '../../../api/tracking/click-writer.ts'
import { trackedLinkRedirect } from '../../../api/tracking/redirect.ts'
import { newTrackingToken } from '../../../api/tracking/token.ts'
import { GET as robotsTxt } from '../../../src/pages/robots.txt.ts'
import { setupTestApp } from '../../helpers.ts'
import { addTrackedLinks, held } from './fixtures.ts'

const ctx = await setupTestApp()
const writers: ReturnType<typeof createClickWriter>[] = []
afterAll(() => Promise.all(writers.map((w) => w.drain())))

/** An app with its own click writer (and log lines, when asked), as the composition root builds it. */
function tracked(options: { deps?: Partial<Deps>; writer?: ClickWriterOptions } = {}) {
  const lines: string[] = []
  const deps: Deps = {
    ...ctx.deps,
    logger: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
    ...options.deps,
  }
  const clicks = createClickWriter(deps.db, deps.logger, options.writer)
  writers.push(clicks)
  return { app: createApp(deps, clicks), clicks, lines }
}

/** A database that is down: every use throws, as a lost connection does. */
const downDb = new Proxy({} as Deps['db'], {
  get() {
    throw new Error('connection refused')
  },
})

const clicksFor = (token: string) =>
  ctx.deps.db.select().from(clickEvents).where(eq(clickEvents.token, token))

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml',
  'accept-language': 'en-GB,en;q=0.9',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-user': '?1',
  referer: 'https://mail.example.net/inbox/message/4711?user=ann@example.com',
}
const SCANNER = { 'user-agent': 'python-requests/2.32', accept: '*/*', purpose: 'prefetch' }

describe('GET /r/<token>', () => {
  it('records the click with what the verdict rules need, then redirects to the stored destination', async () => {
    const { app } = tracked()
    const link = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/pricing?plan=team'])
    const token = link.tokens[0]!
    const res = await app.request(`/r/${token}?utm_source=ignored`, { headers: BROWSER })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://www.example.com/pricing?plan=team')
    const [click, ...more] = await clicksFor(token)
    expect(more).toEqual([])
    expect(click).toMatchObject({
      token,
      recipientId: link.recipientId,
      campaignId: link.campaignId,
      kind: 'click',
      method: 'GET',
      userAgent: BROWSER['user-agent'],
      verdict: 'pending',
      createdAt: ctx.clock.now(),
    })
    expect(click!.headers).toEqual({
      accept: BROWSER.accept,
      'accept-language': BROWSER['accept-language'],
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
      'sec-fetch-user': '?1',
      'referer-origin': 'https://mail.example.net', // never the path, which may name the reader
    })
  })

  it('answers bots and browsers with the same bytes, over a real socket', async () => {
    const { app } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/case-study'])
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    try {
      const port = (server.address() as { port: number }).port
      const raw = (headers: Record<string, string>) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1')
          let out = ''
          socket.on('data', (d) => (out += d))
          socket.on('end', () => resolve(out))
          socket.on('error', reject)
          const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
          socket.write(
            `GET /r/${tokens[0]} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}Connection: close\r\n\r\n`,
          )
        })
      const withoutDate = (response: string) => response.replace(/^Date: .*\r\n/im, '')
      const browser = withoutDate(await raw(BROWSER))
      const scanner = withoutDate(await raw(SCANNER))
      const bare = withoutDate(await raw({}))
      expect(browser).toMatch(/^HTTP\/1\.1 302 Found\r\n/)
      expect(browser).toContain('\r\nLocation: https://www.example.com/case-study\r\n')
      expect(scanner).toBe(browser)
      expect(bare).toBe(browser)
      // Every one of them is recorded, with the socket's address.
      const rows = await clicksFor(tokens[0]!)
      expect(rows.map((r) => r.userAgent).sort()).toEqual(
        [BROWSER['user-agent'], null, SCANNER['user-agent']].sort(),
      )
      expect(rows.map((r) => r.ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1'])
      expect(rows.find((r) => r.userAgent === SCANNER['user-agent'])!.headers).toEqual({
        accept: '*/*',
        purpose: 'prefetch',
      })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('answers HEAD with the same 302 and records nothing', async () => {
    const { app } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    const head = await app.request(`/r/${tokens[0]}`, { method: 'HEAD', headers: SCANNER })
    expect(head.status).toBe(302)
    expect(head.headers.get('location')).toBe('https://www.example.com/')
    expect(await clicksFor(tokens[0]!)).toEqual([])
    const get = await app.request(`/r/${tokens[0]}`, { headers: SCANNER })
    expect([...get.headers]).toEqual([...head.headers])
    expect(await clicksFor(tokens[0]!)).toHaveLength(1)
  })

  it('answers a cached link on node:http before Hono, with the bytes the app writes, as the server does', async () => {
    const lines: string[] = []
    const deps: Deps = {
      ...ctx.deps,
      logger: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
    }
    const clicks = createClickWriter(deps.db, deps.logger)
    writers.push(clicks)
    const trackedLink = trackedLinkRedirect(deps, clicks)
    const app = createApp(deps, clicks, trackedLink)
    // api/server.ts's dispatch: the fast path first, the adapter for whatever it leaves.
    const adapter = getRequestListener(app.fetch)
    const viaApp: string[] = []
    const server = createServer((incoming, outgoing) => {
      if (trackedLink.node(incoming, outgoing)) return
      viaApp.push(`${incoming.method} ${incoming.url}`)
      void adapter(incoming, outgoing)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as { port: number }).port
      const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/fast'])
      const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1')
          let out = ''
          socket.on('data', (d) => (out += d))
          socket.on('end', () => resolve(out.replace(/^Date: .*\r\n/im, '')))
          socket.on('error', reject)
          const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
          socket.write(
            `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}Connection: close\r\n\r\n`,
          )
        })
      const path = `/r/${tokens[0]}`
      // Not cached yet: the app looks it up (and caches it); then the fast path answers.
      const first = await raw('GET', path, BROWSER)
      const fast = await raw('GET', path, BROWSER)
      const head = await raw('HEAD', path, SCANNER)
      const withQuery = await raw('GET', `${path}?utm_source=x`, SCANNER)
      expect(viaApp).toEqual([`GET ${path}`, `GET ${path}?utm_source=x`])
      expect(first).toMatch(
        /^HTTP\/1\.1 302 Found\r\nLocation: https:\/\/www\.example\.com\/fast\r\n/,
      )
      expect(fast).toBe(first)
      expect(withQuery).toBe(first)
      expect(head).toBe(
        first.replace('Transfer-Encoding: chunked\r\n', '').replace(/0\r\n\r\n$/, ''),
      )
      // Three clicks (HEAD records nothing), the fast path's as complete as the app's.
      const rows = await clicksFor(tokens[0]!)
      expect(rows).toHaveLength(3)
      const fromBrowser = rows.filter((r) => r.userAgent === BROWSER['user-agent'])
      expect(fromBrowser).toHaveLength(2)
      expect(fromBrowser[1]).toMatchObject({
        ...fromBrowser[0],
        id: fromBrowser[1]!.id,
        createdAt: fromBrowser[1]!.createdAt,
      })
      expect(fromBrowser[1]!.ip).toBe('127.0.0.1')
      expect(fromBrowser[1]!.headers).toMatchObject({
        'referer-origin': 'https://mail.example.net',
      })
      // The fast path writes no access log line either (it would hold the token).
      expect(lines.join('\n')).not.toContain(tokens[0]!)
      // Malformed, another method, a longer path: left to the app, which answers its pages.
      expect(await raw('GET', '/r/not-a-token')).toMatch(/^HTTP\/1\.1 404/)
      expect(await raw('POST', path)).toMatch(/^HTTP\/1\.1 40[34]/)
      expect(viaApp).toHaveLength(4)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('serves a known link from memory: tracked links never change', async () => {
    const { app } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/cached'])
    expect((await app.request(`/r/${tokens[0]}`)).status).toBe(302)
    await ctx.deps.db.delete(trackedLinks).where(eq(trackedLinks.token, tokens[0]!))
    const again = await app.request(`/r/${tokens[0]}`)
    expect(again.headers.get('location')).toBe('https://www.example.com/cached')
    expect(await clicksFor(tokens[0]!)).toHaveLength(2)
    // A fresh app instance has its own cache, and asks the database.
    expect((await tracked().app.request(`/r/${tokens[0]}`)).status).toBe(404)
  })
})

describe('a token that is not a link', () => {
  const expectNotFoundPage = async (res: Response) => {
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('location')).toBeNull()
    const body = await res.text()
    expect(body).toContain('<h1>This link does not work</h1>')
    expect(body).toContain('<a href="/">')
  }

  it('gets the friendly 404 page when tampered with, truncated, in the wrong alphabet or oversized', async () => {
    const { app } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    const token = tokens[0]!
    const tampered = (token[0] === 'a' ? 'b' : 'a') + token.slice(1)
    const cases = [
      tampered,
      token.slice(0, 25),
      token + 'a',
      token.toUpperCase(),
      token.slice(0, 25) + '0', // 0, 1, 8 and 9 are not base32
      token.slice(0, 25) + '9',
      token.slice(0, 25) + '=',
      `${token}/`,
      `${token}/more`,
      'x'.repeat(10_240),
      '',
    ]
    const before = await ctx.deps.db.$count(clickEvents)
    for (const bad of cases) await expectNotFoundPage(await app.request(`/r/${bad}`))
    await expectNotFoundPage(await app.request('/r'))
    expect(await ctx.deps.db.$count(clickEvents)).toBe(before)
  })

  it('is refused without a query when malformed: with the database down, 404 for those and 503 for a well-formed unknown one', async () => {
    const { app } = tracked({ deps: { db: downDb } })
    for (const bad of ['short', 'x'.repeat(10_240), 'A'.repeat(26), `${'a'.repeat(26)}/x`]) {
      await expectNotFoundPage(await app.request(`/r/${bad}`))
    }
    const unknown = await app.request(`/r/${'a'.repeat(26)}`)
    expect(unknown.status).toBe(503)
    expect(unknown.headers.get('content-type')).toMatch(/^text\/html/)
    expect(unknown.headers.get('retry-after')).toBe('30')
    expect(await unknown.text()).toContain('This link cannot be opened right now')
  })

  it('is remembered as unknown, and an address that keeps guessing is slowed down with a 429 page', async () => {
    const { app } = tracked({ deps: { env: { ...ctx.deps.env, TRUST_PROXY: true } } })
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
    // Warm the cache with the guesser's one real link: it keeps working throughout.
    expect((await app.request(`/r/${tokens[0]}`, from('203.0.113.9'))).status).toBe(302)
    const guesses = Array.from({ length: 33 }, () => newTrackingToken())
    const guess = (i: number) => guesses[i]!
    for (let i = 0; i < 30; i++)
      expect((await app.request(`/r/${guess(i)}`, from('203.0.113.9'))).status).toBe(404)
    const limited = await app.request(`/r/${guess(30)}`, from('203.0.113.9'))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    // A token it already tried is answered from memory; its real link still redirects; others are not limited.
    expect((await app.request(`/r/${guess(3)}`, from('203.0.113.9'))).status).toBe(404)
    expect((await app.request(`/r/${tokens[0]}`, from('203.0.113.9'))).status).toBe(302)
    expect((await app.request(`/r/${guess(31)}`, from('198.51.100.7'))).status).toBe(404)
    // The window turns: guessing may go on, slowly.
    ctx.clock.advance(60_000)
    expect((await app.request(`/r/${guess(32)}`, from('203.0.113.9'))).status).toBe(404)
  })
})

describe('group commit', () => {
  it('commits clicks that arrive during a flush together, in the next one, and answers none of them before its commit', async () => {
    const gate = held()
    const started: number[] = []
    let firstFlush = held()
    const { app, clicks } = tracked({
      writer: {
        beforeWrite: async (size) => {
          started.push(size)
          firstFlush.release()
          if (started.length === 1) await gate.promise
        },
      },
    })
    const { tokens } = await addTrackedLinks(ctx.deps.db, [
      'https://www.example.com/a',
      'https://www.example.com/b',
    ])
    // Warm the link cache so the clicks below reach the writer at once.
    await app.request(`/r/${tokens[1]}`, { method: 'HEAD' })
    const answered: string[] = []
    const first = Promise.resolve(app.request(`/r/${tokens[0]}`)).then(
      (r) => (answered.push('first'), r),
    )
    await firstFlush.promise // the first flush is in flight, held before its insert
    const N = 24
    const rest = Array.from({ length: N }, (_, i) =>
      Promise.resolve(app.request(`/r/${tokens[i % 2]}`)).then((r) => (answered.push(`#${i}`), r)),
    )
    firstFlush = held()
    // Nothing can be answered while the first flush is held: not even the clicks that came later.
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toEqual([1])
    expect(answered).toEqual([])
    gate.release()
    const responses = await Promise.all([first, ...rest])
    expect(responses.every((r) => r.status === 302)).toBe(true)
    expect(answered[0]).toBe('first')
    expect(started).toEqual([1, N]) // one flush in flight at a time, the next one carrying all N
    expect(clicks.stats()).toMatchObject({
      recorded: N + 1,
      unrecorded: 0,
      flushes: 2,
      batchSizes: { 1: 1, [N]: 1 },
    })
    const rows = await ctx.deps.db
      .select()
      .from(clickEvents)
      .where(sql`${clickEvents.token} in (${tokens[0]}, ${tokens[1]})`)
    expect(rows).toHaveLength(N + 1)
    // Rows of one flush were committed by one transaction.
    const transactions = await ctx.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from click_events where token in (${tokens[0]}, ${tokens[1]}) group by xmin::text order by n`,
    )
    expect((transactions as unknown as { rows: { n: number }[] }).rows.map((r) => r.n)).toEqual([
      1,
      N,
    ])
  })

  it('commits through one named statement flush after flush (PostgreSQL parses and plans it once per connection)', async () => {
    const { app, clicks } = tracked({ writer: { statementName: 'insert_clicks_test' } })
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/named'])
    await app.request(`/r/${tokens[0]}`, { method: 'HEAD' })
    for (let round = 0; round < 3; round++) {
      const responses = await Promise.all(
        Array.from({ length: 4 }, () => Promise.resolve(app.request(`/r/${tokens[0]}`))),
      )
      expect(responses.map((r) => r.status)).toEqual([302, 302, 302, 302])
    }
    expect(clicks.stats()).toMatchObject({ recorded: 12, unrecorded: 0 })
    expect(await clicksFor(tokens[0]!)).toHaveLength(12)
  })

  it('splits a backlog larger than the batch limit into consecutive flushes', async () => {
    const gate = held()
    const started: number[] = []
    const inFlight = held()
    const { app, clicks } = tracked({
      writer: {
        maxBatch: 10,
        beforeWrite: async (size) => {
          started.push(size)
          inFlight.release()
          if (started.length === 1) await gate.promise
        },
      },
    })
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    await app.request(`/r/${tokens[0]}`, { method: 'HEAD' })
    const first = app.request(`/r/${tokens[0]}`)
    await inFlight.promise
    const rest = Array.from({ length: 25 }, () => app.request(`/r/${tokens[0]}`))
    gate.release()
    await Promise.all([first, ...rest])
    expect(started).toEqual([1, 10, 10, 5])
    expect(clicks.stats().recorded).toBe(26)
    expect(await clicksFor(tokens[0]!)).toHaveLength(26)
  })
})

describe('failure policy', () => {
  // The database may be shared with other files: leave nothing behind.
  afterEach(async () => {
    await ctx.deps.db.execute(sql`drop trigger if exists refuse_clicks on click_events`)
    await ctx.deps.db.execute(sql`drop function if exists refuse_clicks()`)
    await ctx.deps.db.execute(sql`drop sequence if exists refuse_once`)
  })

  it('still redirects when the commit fails twice, and counts, logs and shows the unrecorded click', async () => {
    const { app, clicks, lines } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/failing'])
    await ctx.deps.db.execute(
      sql.raw(`
      create or replace function refuse_clicks() returns trigger language plpgsql as $$
      begin raise exception 'clicks refused by the test'; end $$`),
    )
    await ctx.deps.db.execute(
      sql`create trigger refuse_clicks before insert on click_events for each statement execute function refuse_clicks()`,
    )
    const res = await app.request(`/r/${tokens[0]}`, { headers: BROWSER })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://www.example.com/failing')
    expect(await clicksFor(tokens[0]!)).toEqual([])
    expect(clicks.stats()).toMatchObject({ recorded: 0, unrecorded: 1 })
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'clicks not recorded')
    expect(logged).toEqual([
      expect.objectContaining({
        level: 'error',
        clicks: 1,
        err: expect.objectContaining({
          cause: expect.objectContaining({ message: 'clicks refused by the test' }),
        }),
      }),
    ])
    expect(lines.join('\n')).not.toContain(tokens[0])
    const health = await (await app.request('/api/health')).json()
    expect(health.clicks).toEqual({
      recorded: 0,
      unrecorded: 1,
      pending: 0,
      commits: 0,
      commitsBySize: {},
    })
  })

  it('retries a failed commit once', async () => {
    const { app, clicks } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/flaky'])
    await ctx.deps.db.execute(sql`create sequence refuse_once`)
    await ctx.deps.db.execute(
      sql.raw(`
      create or replace function refuse_clicks() returns trigger language plpgsql as $$
      begin if nextval('refuse_once') = 1 then raise exception 'first attempt refused'; end if; return null; end $$`),
    )
    await ctx.deps.db.execute(
      sql`create trigger refuse_clicks before insert on click_events for each statement execute function refuse_clicks()`,
    )
    expect((await app.request(`/r/${tokens[0]}`)).status).toBe(302)
    expect(await clicksFor(tokens[0]!)).toHaveLength(1)
    expect(clicks.stats()).toMatchObject({ recorded: 1, unrecorded: 0 })
  })

  it('with the database down: a cached link still redirects (counted as unrecorded); health shows it', async () => {
    const { tokens } = await addTrackedLinks(ctx.deps.db, [
      'https://www.example.com/cached-while-down',
    ])
    let db = ctx.deps.db
    const switchable = new Proxy({} as Deps['db'], { get: (_, key) => Reflect.get(db, key) })
    const ping = { ...ctx.deps.database, ping: async () => db === ctx.deps.db }
    const { app, clicks } = tracked({ deps: { db: switchable, database: ping } })
    expect((await app.request(`/r/${tokens[0]}`)).status).toBe(302)
    db = downDb
    const res = await app.request(`/r/${tokens[0]}`)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://www.example.com/cached-while-down')
    expect((await app.request(`/r/${'c'.repeat(26)}`)).status).toBe(503)
    expect(clicks.stats()).toMatchObject({ recorded: 1, unrecorded: 1 })
    const health = await app.request('/api/health')
    expect(health.status).toBe(503)
    expect((await health.json()).clicks).toEqual({
      recorded: 1,
      unrecorded: 1,
      pending: 0,
      commits: 1,
      commitsBySize: { 1: 1 },
    })
  })
})

describe('privacy of tokens', () => {
  it('keeps tracked-link tokens out of the access log', async () => {
    const { app, lines } = tracked()
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    await app.request(`/r/${tokens[0]}`)
    await app.request(`/r/${tokens[0]}`, { method: 'HEAD' })
    await app.request(`/r/${'d'.repeat(26)}`)
    expect(lines).toEqual([]) // answered in front: no request context, no access line
    await app.request(`/r/${tokens[0]}`, { method: 'POST' }) // falls through to the API
    expect(lines.join('\n')).toContain('"path":"/r/…"')
    expect(lines.join('\n')).not.toContain(tokens[0])
  })

  it('keeps /r/ out of crawlers (robots.txt)', async () => {
    const res = await robotsTxt({ locals: { deps: ctx.deps } } as never)
    expect(await res.text()).toContain('\nDisallow: /r/\n')
  })
})
