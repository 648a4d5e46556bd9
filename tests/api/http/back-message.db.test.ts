import { describe, expect, it } from 'vitest'
import { BACK_SIGNATURE_PARAM, backMessages } from '../../../api/http/back-message.ts'
import { form, formAnswer, ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'

// A plain form's 303 back carries its notice or error to the page, which shows it as this site's
// own words; a link with a ?notice= or ?error= made by anyone else shows nothing (a tester's
// /grader?error=Keelson+security+notice:+your+site+is+infected… was a red alert on the brand's
// domain). formAnswer reads the Location as the pages do (backMessages).

const ctx = await setupTestApp()
const NOTHING = { notice: null, error: null }
const shown = (pathAndQuery: string) => backMessages(ctx.deps, new URL(pathAndQuery, ORIGIN))

describe('the notice and error on a page', () => {
  it('show what the public grader form was answered, and nothing put in its link by hand', async () => {
    const res = await ctx.app.request('/api/grader', form({ url: 'ftp://files.example.com/' }))
    expect(res.status).toBe(303)
    const back = formAnswer(ctx, res, '')
    expect(back.url.pathname).toBe('/grader')
    expect(back.messages).toEqual({
      notice: null,
      error: 'Only http:// and https:// addresses can be graded.',
    })
    expect(back.url.searchParams.get(BACK_SIGNATURE_PARAM)!.length).toBeLessThanOrEqual(24)

    expect(
      shown(
        '/grader?error=Keelson+security+notice:+your+site+is+infected.+Call+%2B1-555-0100+now.',
      ),
    ).toEqual(NOTHING)
    const tampered = new URL(back.url)
    tampered.searchParams.set('error', 'Your site is infected. Call +1-555-0100 now.')
    expect(backMessages(ctx.deps, tampered)).toEqual(NOTHING)
  })

  it('show what an admin’s form was answered, and nothing put in the link by hand', async () => {
    const admin = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/users',
      form(
        { email: 'new.rep@team.example', name: 'New Rep', role: 'rep' },
        { cookie: admin.cookie },
      ),
    )
    expect(res.status).toBe(303)
    const back = formAnswer(ctx, res, admin.user.id)
    expect(back.url.pathname).toBe('/app/admin/users')
    expect(back.messages).toEqual({ notice: 'User added.', error: null })
    const refused = await ctx.app.request(
      '/api/users',
      form({ email: 'new.rep@team.example', name: 'Again', role: 'rep' }, { cookie: admin.cookie }),
    )
    expect(formAnswer(ctx, refused, admin.user.id).messages.error).toMatch(/already/i)

    const phishing =
      'Security check: your session expired. Re-enter your password at https://frontdoor-login.example'
    expect(shown(`/app/admin/users?${new URLSearchParams({ notice: phishing })}`)).toEqual(NOTHING)
    const tampered = new URL(back.url)
    tampered.searchParams.set('notice', phishing)
    expect(backMessages(ctx.deps, tampered)).toEqual(NOTHING)
    // Nor does a real one shown on another page, or long after (a link sent out later).
    expect(shown(`/app/admin/api${back.url.search}`)).toEqual(NOTHING)
    ctx.clock.advance(60 * 60 * 1000)
    expect(backMessages(ctx.deps, back.url)).toEqual(NOTHING)
  })
})
