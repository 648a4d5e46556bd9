import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../eventually.ts'
import { startServer, type TestServer } from './harness.ts'

// The production server's access log: a line for every page as for every API request, in the
// same JSON shape (request id, method, path without its query, status, ms); static files only at
// debug.

const servers: TestServer[] = []
afterAll(async () => {
  for (const server of servers) await server.stop()
})

type Line = Record<string, unknown>
const requestLines = (server: TestServer): Line[] =>
  server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.msg === 'request')

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('the access log', () => {
  it('has a line for each page, in the shape of the API’s, and none for static files', async () => {
    const server = await startServer()
    servers.push(server)
    const home = await fetch(`${server.url}/`)
    expect(home.status).toBe(200)
    const asset = (await home.text()).match(/\/_astro\/[^"']+\.(css|js)/)?.[0]
    expect(asset).toBeDefined()
    expect((await fetch(`${server.url}${asset}`)).status).toBe(200)
    const trial = await fetch(`${server.url}/trial?email=dana.lee%40acme-robotics.com`)
    expect(trial.status).toBe(200)
    await trial.text()
    const app = await fetch(`${server.url}/app/leads`, { redirect: 'manual' })
    expect(app.status).toBe(303)
    const missing = await fetch(`${server.url}/no-such-page`)
    expect(missing.status).toBe(404)
    await missing.text()
    await (await fetch(`${server.url}/api/health`)).text()

    // The API's line for the last request: the pages' lines, written as each finished, are in.
    await eventually(() => requestLines(server).some((l) => l.path === '/api/health'))
    const lines = requestLines(server)
    const byPath = (path: string) => lines.filter((l) => l.path === path)
    for (const [path, status] of [
      ['/', 200],
      ['/trial', 200],
      ['/app/leads', 303],
      ['/no-such-page', 404],
      ['/api/health', 200],
    ] as const) {
      const found = byPath(path)
      expect(found, path).toHaveLength(1)
      expect(found[0]).toMatchObject({ level: 'info', method: 'GET', status })
      expect(found[0]!.requestId).toMatch(UUID)
      expect(typeof found[0]!.ms).toBe('number')
      // The same fields as the API's line, in the same order.
      expect(Object.keys(found[0]!)).toEqual(Object.keys(byPath('/api/health')[0]!))
    }
    expect(server.output()).not.toContain('acme-robotics')
    expect(byPath(asset!)).toHaveLength(0)
  })

  it('logs static files at debug', async () => {
    const server = await startServer({ LOG_LEVEL: 'debug' })
    servers.push(server)
    const asset = (await (await fetch(`${server.url}/`)).text()).match(
      /\/_astro\/[^"']+\.(css|js)/,
    )?.[0]
    expect((await fetch(`${server.url}${asset}`)).status).toBe(200)
    const line = await eventually(() => requestLines(server).find((l) => l.path === asset))
    expect(line).toMatchObject({ level: 'debug', method: 'GET', status: 200 })
  })
})
