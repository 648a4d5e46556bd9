import { describe, expect, it } from 'vitest'
import { setupTestApp } from '../../helpers.ts'

const ctx = await setupTestApp()

describe('GET /api/health', () => {
  it('reports the database engine and that it answers', async () => {
    const res = await ctx.app.request('/api/health')
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({
      status: 'ok',
      database: { engine: ctx.database.engine, ok: true },
      version: 'test',
    })
  })

  it('is where the API root points', async () => {
    const res = await ctx.app.request('/api', { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/api/health')
    expect(res.headers.get('x-request-id')).toBeNull() // hot redirects carry nothing extra
  })

  it('answers unknown API paths with a JSON 404', async () => {
    const res = await ctx.app.request('/api/nope')
    expect(res.status).toBe(404)
    expect((await res.json()).error.code).toBe('not_found')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/) // errors carry the id to quote
  })
})
