import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { fastRedirect } from '../../../api/http/redirect.ts'

describe('fastRedirect', () => {
  const app = new Hono()
  app.get('/plain', (c) => fastRedirect(c, '/next?x=1'))
  app.get('/moved', (c) => fastRedirect(c, 'https://example.com/a', 301))
  app.get('/unicode', (c) => fastRedirect(c, '/grüße'))
  app.get('/kanji', (c) => fastRedirect(c, '/日本'))
  app.get('/crlf', (c) => fastRedirect(c, '/a\r\nSet-Cookie: x=1'))
  app.get('/cookie', (c) => {
    c.header('Set-Cookie', 'a=1; Path=/')
    return fastRedirect(c, '/after')
  })

  it('answers like c.redirect(): status and location', async () => {
    const res = await app.request('/plain')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/next?x=1')
    expect(await res.text()).toBe('')
    expect((await app.request('/moved')).status).toBe(301)
  })

  it('percent-encodes a location that is not printable ASCII', async () => {
    expect((await app.request('/unicode')).headers.get('location')).toBe('/gr%C3%BC%C3%9Fe')
    const crlf = await app.request('/crlf')
    expect(crlf.headers.get('location')).toBe('/a%0D%0ASet-Cookie:%20x=1')
    expect(crlf.headers.get('set-cookie')).toBeNull()
    expect((await app.request('/kanji')).headers.get('location')).toBe('/%E6%97%A5%E6%9C%AC')
  })

  it('keeps headers set before it', async () => {
    const res = await app.request('/cookie')
    expect(res.headers.get('location')).toBe('/after')
    expect(res.headers.get('set-cookie')).toBe('a=1; Path=/')
  })
})
