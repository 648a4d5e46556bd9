import { describe, expect, it } from 'vitest'
import {
  BACK_MESSAGE_MAX_AGE_MS,
  BACK_SIGNATURE_PARAM,
  backMessages,
  signBackMessages,
} from '../../../api/http/back-message.ts'

// A page shows a ?notice= or ?error= only when this server signed it for that page, lately: a
// link anyone can make (/grader?error=Your+site+is+infected…) shows nothing.

const ORIGIN = 'https://frontdoor.example'
const SECRET = 'back-message-test-secret-0123456789abcdef'
const AT = new Date('2026-11-29T10:00:30Z')
const at = (date: Date) => ({ secret: SECRET, now: () => date })

function signed(pathAndQuery: string, now = AT): URL {
  const url = new URL(pathAndQuery, ORIGIN)
  signBackMessages(SECRET, url, now)
  return url
}

describe('backMessages', () => {
  it('gives back the notice and error the server signed for the page', () => {
    const url = signed('/app/admin/users?notice=User+added.&tab=x')
    expect(url.searchParams.get(BACK_SIGNATURE_PARAM)).toMatch(/^[0-9a-z]+\.[\w-]{16}$/)
    expect(backMessages(at(AT), url)).toEqual({ notice: 'User added.', error: null })
    const refused = signed('/grader?error=Only+http%3A%2F%2F+and+https%3A%2F%2F.&url=ftp%3A%2F%2Fx')
    expect(backMessages(at(AT), refused)).toEqual({
      notice: null,
      error: 'Only http:// and https://.',
    })
  })

  it('shows nothing for a message put in a link by hand', () => {
    const forged = new URL(
      '/grader?error=Keelson+security+notice:+your+site+is+infected.+Call+%2B1-555-0100+now.',
      ORIGIN,
    )
    expect(backMessages(at(AT), forged)).toEqual({ notice: null, error: null })
    forged.searchParams.set(BACK_SIGNATURE_PARAM, 'm1abc.AAAAAAAAAAAAAAAA')
    expect(backMessages(at(AT), forged)).toEqual({ notice: null, error: null })
  })

  it('shows nothing when a signed message is changed, added to, or taken to another page', () => {
    const url = signed('/app/admin/users?notice=User+added.')
    const changed = new URL(url)
    changed.searchParams.set('notice', 'Security check: re-enter your password at evil.example')
    expect(backMessages(at(AT), changed)).toEqual({ notice: null, error: null })
    const added = new URL(url)
    added.searchParams.set('error', 'Your session expired.')
    expect(backMessages(at(AT), added)).toEqual({ notice: null, error: null })
    const moved = new URL(`/app/admin/api${url.search}`, ORIGIN)
    expect(backMessages(at(AT), moved)).toEqual({ notice: null, error: null })
    const otherSecret = { secret: `${SECRET}x`, now: () => AT }
    expect(backMessages(otherSecret, url)).toEqual({ notice: null, error: null })
  })

  it('keeps showing them for a while (a reload), not for a link sent out later', () => {
    const url = signed('/app/admin/users?notice=User+added.')
    const later = (ms: number) => at(new Date(AT.getTime() + ms))
    expect(backMessages(later(BACK_MESSAGE_MAX_AGE_MS - 60_000), url).notice).toBe('User added.')
    expect(backMessages(later(BACK_MESSAGE_MAX_AGE_MS + 60_000), url).notice).toBeNull()
    expect(backMessages(later(-5 * 60_000), url).notice).toBeNull()
  })

  it('signs nothing, and drops an old signature, when the page has no message', () => {
    const url = new URL('/app/pipeline?tab=x', ORIGIN)
    url.searchParams.set(BACK_SIGNATURE_PARAM, 'old')
    signBackMessages(SECRET, url, AT)
    expect(url.search).toBe('?tab=x')
  })
})
