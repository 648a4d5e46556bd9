import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../api/app.ts'
import { createLogger } from '../../api/logger.ts'
import { proxiedDatabase } from '../db-proxy.ts'
import type { TestContext } from '../helpers.ts'
import { leadForm, postLead, rowCounts, setupLeadApp } from './leads/lead-helpers.ts'

// The database going away under a running app (a loopback proxy in front of the test database,
// closed with its connections): a browser's form gets a page that says nothing was saved and to
// send again in a minute, an API client a 503 in JSON, both with Retry-After; nothing is written.

const ctx = await setupLeadApp()
const proxy = await proxiedDatabase(ctx.database)
afterAll(() => proxy.close())
const lines: Record<string, unknown>[] = []
const logger = createLogger({
  level: 'info',
  format: 'json',
  write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
})
const deps = { ...ctx.deps, database: proxy.database, db: proxy.database.db, logger }
const through: TestContext = { ...ctx, deps, app: createApp(deps) }
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }

describe('a form posted while the database is unreachable', () => {
  it('works through the proxy, then answers 503 with a page or JSON and writes nothing', async () => {
    const ok = await postLead(through, leadForm(ctx), { headers: BROWSER })
    expect(ok.status).toBe(303)
    const before = await rowCounts(ctx)
    expect(before.submissions).toBe(1)

    await proxy.down()
    lines.length = 0
    const page = await postLead(through, leadForm(ctx, { email: 'sam.rivera@acme-robotics.com' }), {
      headers: BROWSER,
    })
    expect(page.status).toBe(503)
    expect(page.headers.get('retry-after')).toBe('30')
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const body = await page.text()
    expect(body).toContain('We could not save this just now')
    expect(body).toContain('nothing you sent was saved')
    expect(body).toContain('Back button')
    expect(body).toContain('in a minute')
    expect(body).toContain('href="/privacy"') // the site's chrome
    // Logged as before: one error line with the request id (and the fields a page's has).
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ msg: 'unhandled error', method: 'POST', path: '/api/leads' })
    expect(errors[0]!.requestId).toBe(page.headers.get('x-request-id'))

    const json = await postLead(through, leadForm(ctx, { email: 'kim.nguyen@acme-robotics.com' }), {
      js: true,
    })
    expect(json.status).toBe(503)
    expect(json.headers.get('retry-after')).toBe('30')
    expect(await json.json()).toMatchObject({ error: { code: 'unavailable' } })

    expect(await rowCounts(ctx)).toEqual(before)
  })
})

describe('any other unhandled error', () => {
  it('is a 500 page in the site chrome for a browser form, and JSON for an API client', async () => {
    // A pool this process closed is not the database going away: a plain failure, a 500.
    await proxy.database.close()
    const page = await postLead(through, leadForm(ctx), { headers: BROWSER })
    expect(page.status).toBe(500)
    expect(page.headers.get('retry-after')).toBeNull()
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const body = await page.text()
    expect(body).toContain('Something went wrong on our side')
    expect(body).toContain(page.headers.get('x-request-id')!)
    expect(body).toContain('href="/privacy"')

    const json = await postLead(through, leadForm(ctx), { js: true })
    expect(json.status).toBe(500)
    expect(await json.json()).toMatchObject({ error: { code: 'internal' } })
  })
})
