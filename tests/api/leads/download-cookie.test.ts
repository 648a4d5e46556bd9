import { describe, expect, it } from 'vitest'
import { downloadCookie, downloadTokenFromCookie } from '../../../api/leads/download-cookie.ts'

const OFFER = 'whitepaper:benchmark'
const TOKEN = 'abcdefghijklmnopqrstuvwxyz234567'
const valueOf = (setCookie: string) => setCookie.split(';')[0]!.split('=').slice(1).join('=')

describe('the thank-you page’s download cookie', () => {
  it('is HttpOnly, for the thank-you page only, for an hour', () => {
    const cookie = downloadCookie(OFFER, TOKEN, true)
    expect(cookie).toMatch(/^fd_dl=/)
    expect(cookie).toContain('; Path=/thanks; Max-Age=3600; HttpOnly; SameSite=Lax; Secure')
    expect(downloadCookie(OFFER, TOKEN, false)).not.toContain('Secure')
  })
  it('gives its token back for its own offer only, whether or not the value was decoded', () => {
    const value = valueOf(downloadCookie(OFFER, TOKEN, false))
    expect(downloadTokenFromCookie(value, OFFER)).toBe(TOKEN)
    expect(downloadTokenFromCookie(decodeURIComponent(value), OFFER)).toBe(TOKEN)
    expect(downloadTokenFromCookie(value, 'whitepaper:other')).toBeNull()
  })
  it('ignores anything that is not an opaque token', () => {
    expect(downloadTokenFromCookie(undefined, OFFER)).toBeNull()
    expect(downloadTokenFromCookie(`${OFFER}.<script>`, OFFER)).toBeNull()
    expect(downloadTokenFromCookie(`${OFFER}.${TOKEN}x`, OFFER)).toBeNull()
    expect(downloadTokenFromCookie(`%E0%A4%A.${TOKEN}`, OFFER)).toBeNull()
  })
})
