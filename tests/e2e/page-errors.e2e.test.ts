import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../api/accounts/users.ts'
import { openDatabase } from '../../api/db/client.ts'
import { openTestDatabase } from '../db-fixtures.ts'
import { proxiedDatabase } from '../db-proxy.ts'
import { eventually } from '../eventually.ts'
import { newDataDir, startServer, type TestServer } from './harness.ts'

// A page that fails on our side, against the production server: one JSON `error` line in the
// server's log with the request id the visitor's 500 page shows, and nothing else in another
// format. The failures are real: a table the page reads renamed under the running server, as a
// half-applied migration or a hand-edited schema would leave it.

const REP = {
  email: 'riley.page@frontdoor.example',
  password: 'page-errors-e2e-pw-1',
  name: 'Riley',
}
const REPORT = '/grader/0b0e3c5e-8d2f-4a51-9a3e-1f2a3b4c5d6e'

let server: TestServer
let dataDir: string
let repCookie: string

beforeAll(async () => {
  dataDir = await newDataDir()
  const database = await openDatabase({ dataDir: join(dataDir, 'pglite') })
  await createUser(database.db, { ...REP, role: 'rep' })
  await database.close()
  server = await startServer({}, { dataDir })
  const signedIn = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: REP.email, password: REP.password }),
  })
  expect(signedIn.status).toBe(201)
  repCookie = signedIn.headers.get('set-cookie')!.split(';')[0]!
})
afterAll(async () => {
  await server?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

/** Runs `request` while `table` is renamed away, through the server's own database socket. */
async function withoutTable<T>(table: string, request: () => Promise<T>): Promise<T> {
  const database = await openDatabase({ dataDir: join(dataDir, 'pglite'), throughOwner: true })
  try {
    await database.db.execute(sql.raw(`alter table "${table}" rename to "${table}_away"`))
    try {
      return await request()
    } finally {
      await database.db.execute(sql.raw(`alter table "${table}_away" rename to "${table}"`))
    }
  } finally {
    await database.close()
  }
}

type Line = Record<string, unknown>

/** A failing page's answer and what the server wrote while it was answered. */
async function failingPage(table: string, path: string, headers: Record<string, string> = {}) {
  const from = server.output().length
  const { res, body } = await withoutTable(table, async () => {
    const res = await fetch(`${server.url}${path}`, { headers, redirect: 'manual' })
    return { res, body: await res.text() }
  })
  const requestId = body.match(/Reference: <code>([^<]+)<\/code>/)?.[1]
  // The access-log line is written once the response has gone out: everything before it is in.
  await eventually(() =>
    server
      .output()
      .slice(from)
      .split('\n')
      .some((line) => line.includes('"msg":"request"') && line.includes(`"path":"${path}"`)),
  )
  const text = server.output().slice(from)
  const written = text.slice(0, text.lastIndexOf('\n')).split('\n').filter(Boolean)
  return { res, body, requestId, written }
}

/** The one error line of the request, in the API's shape; returns its `err`. */
function expectOneErrorLine(written: string[], requestId: string, path: string): Line {
  // Every line a JSON object a log pipeline can parse: no Astro or adapter print beside them.
  expect(written.filter((line) => !line.startsWith('{'))).toEqual([])
  const lines = written.map((line) => JSON.parse(line) as Line)
  const errors = lines.filter((l) => l.level === 'error' && l.requestId === requestId)
  expect(errors).toHaveLength(1)
  expect(errors[0]).toMatchObject({ msg: 'unhandled error', method: 'GET', path })
  const err = errors[0]!.err as Line
  // The logger's usual serialisation of a failed query: its SQL and the database's code, a stack.
  expect(err).toMatchObject({ message: 'Failed query', cause: { code: '42P01' } })
  expect(err.stack).toMatch(/\n {4}at /)
  const access = lines.filter((l) => l.msg === 'request' && l.requestId === requestId)
  expect(access).toEqual([expect.objectContaining({ path, status: 500 })])
  return err
}

function expect500Page(res: Response, body: string, requestId: string | undefined) {
  expect(res.status).toBe(500)
  expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  expect(body).toContain('Something went wrong on our side')
  expect(body).toContain('href="/privacy"') // the site's chrome
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
  expect(res.headers.get('x-request-id')).toBe(requestId)
  // The site's security headers, as on every page.
  expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
}

describe('a page that fails on our side', () => {
  it('when its own code throws: a 500 page with a reference, logged as one JSON line with it', async () => {
    const { res, body, requestId, written } = await failingPage('grader_reports', REPORT)
    expect500Page(res, body, requestId)
    const err = expectOneErrorLine(written, requestId!, REPORT)
    // (The grader's background job may log its own failures meanwhile: other lines, no request id.)
    expect(err.query).toContain('"grader_reports"')
  })

  it('when a part of it throws after the page began: the same, not a page cut off at 200', async () => {
    // A rep's home: the page itself reads nothing; its My day component reads their deals.
    const { res, body, requestId, written } = await failingPage('deals', '/app', {
      cookie: repCookie,
    })
    expect500Page(res, body, requestId)
    expectOneErrorLine(written, requestId!, '/app')
  })

  it('when the site middleware throws (the session lookup): the same', async () => {
    const { res, body, requestId, written } = await failingPage('sessions', '/app', {
      cookie: repCookie,
    })
    expect500Page(res, body, requestId)
    expectOneErrorLine(written, requestId!, '/app')
  })

  it('is not a 500 at /500 itself: that address is an unknown page', async () => {
    const res = await fetch(`${server.url}/500`)
    expect(res.status).toBe(404)
    expect(await res.text()).toContain('We could not find that page')
  })
})

// The database going away under a running server (PostgreSQL behind a loopback proxy the test
// cuts): a site page answers as the API does, a 503 with Retry-After, not the 500 page.
describe.skipIf(!process.env.TEST_DATABASE_URL)('a page whose database cannot be reached', () => {
  it('is a 503 "try again in a minute" with Retry-After and the reference, logged once', async () => {
    const direct = await openTestDatabase('postgres')
    const proxy = await proxiedDatabase(direct)
    const pgServer = await startServer({ DATABASE_URL: proxy.url }, { emptyDataDir: true })
    try {
      expect((await fetch(`${pgServer.url}${REPORT}`)).status).toBe(404) // works: no such report
      proxy.cut()
      const from = pgServer.output().length
      const res = await fetch(`${pgServer.url}${REPORT}`)
      const body = await res.text()
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('30')
      expect(body).toContain('This page cannot be shown right now')
      expect(body).toContain('href="/privacy"') // the site's chrome
      const requestId = body.match(/Reference: <code>([^<]+)<\/code>/)?.[1]
      expect(res.headers.get('x-request-id')).toBe(requestId)
      await eventually(() => pgServer.output().slice(from).includes(`"requestId":"${requestId}"`))
      const lines = pgServer
        .output()
        .slice(from)
        .split('\n')
        .filter((line) => line.includes(`"requestId":"${requestId}"`))
        .map((line) => JSON.parse(line) as Line)
      expect(lines.filter((l) => l.level === 'error')).toEqual([
        expect.objectContaining({ msg: 'unhandled error', method: 'GET', path: REPORT }),
      ])
    } finally {
      proxy.restore()
      await pgServer.stop()
      await proxy.close()
      await direct.close()
    }
  })
})
