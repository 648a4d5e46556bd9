import { describe, expect, it } from 'vitest'
import {
  FORM_FLASH_COOKIE,
  formFlashCookie,
  formRefill,
  keepsFormFlash,
  readFormFlash,
  takeFormFlash,
  type StoredFormFlash,
} from '../../../api/http/form-flash.ts'
import { readCookie } from '../../../api/http/cookies.ts'
import { createUserToken } from '../../../api/accounts/users.ts'
import { makeDeal } from '../pipeline/fixtures.ts'
import { EMAIL_ADDRESS, ORIGIN, form, json, setupTestApp, signedInAs } from '../../helpers.ts'

// A refused plain form (JavaScript off) comes back to its page with what was typed and each
// field's problem: in a signed cookie for that page and person, for a minute — never in the URL.

const ctx = await setupTestApp()
const { db, secret } = ctx.deps
const rep = await signedInAs(ctx, 'rep')
const other = await signedInAs(ctx, 'rep')

/** The flash cookie a response set, as the browser would send it back. */
function flashOf(res: Response): { header: string; cookie: string } {
  const header = res.headers.getSetCookie().find((c) => c.startsWith(`${FORM_FLASH_COOKIE}=`))
  expect(header, 'a form flash cookie').toBeDefined()
  return { header: header!, cookie: header!.split(';')[0]! }
}

describe('a refused new deal', () => {
  const typed = {
    next: '/app/deals/new',
    email: 'rosa.parks@referral.example',
    firstName: 'Rosa',
    lastName: 'Parks',
    phone: '+1 555 0100',
    stage: 'demo',
    amount: '12 thousand',
    currency: 'USD',
    reason: 'Referral from the Montgomery office',
  }

  it('goes back to the page with the message, and what was typed in a cookie for that page only', async () => {
    const res = await ctx.app.request('/api/deals', form(typed, { cookie: rep.cookie }))
    expect(res.status).toBe(303)
    const location = res.headers.get('location')!
    const url = new URL(location, ORIGIN)
    expect(url.pathname).toBe('/app/deals/new')
    expect(url.searchParams.get('error')).toMatch(/amount/i)
    // Nothing typed is in the URL.
    for (const value of Object.values(typed).slice(1))
      expect(decodeURIComponent(location)).not.toContain(value)

    const { header, cookie } = flashOf(res)
    expect(header).toContain('Path=/app/deals/new')
    expect(header).toContain('HttpOnly')
    expect(header).toContain('Max-Age=60')
    const flash = readFormFlash(secret, cookie, '/app/deals/new', rep.user.id, ctx.deps.now())
    expect(flash).toEqual({
      action: '/api/deals',
      values: {
        email: typed.email,
        firstName: 'Rosa',
        lastName: 'Parks',
        phone: typed.phone,
        stage: 'demo',
        amount: '12 thousand',
        currency: 'USD',
        reason: typed.reason,
      },
      fields: { amount: expect.stringMatching(/number/) },
    })
    // The page's form reads it back by field; another form on the page gets nothing.
    const refill = formRefill(flash, '/api/deals')
    expect(refill.value('email')).toBe(typed.email)
    expect(refill.value('title', 'default')).toBe('')
    expect(refill.error('amount')).toMatch(/number/)
    expect(refill.aria('amount')).toEqual({
      'aria-invalid': 'true',
      'aria-describedby': 'amount-error',
    })
    expect(formRefill(flash, '/api/contacts').value('email', 'x')).toBe('x')
  })

  it('is for that page, that person and a minute, and cannot be forged', async () => {
    const res = await ctx.app.request('/api/deals', form(typed, { cookie: rep.cookie }))
    const { cookie } = flashOf(res)
    const now = ctx.deps.now()
    const read = (c: string, path = '/app/deals/new', userId = rep.user.id, at = now) =>
      readFormFlash(secret, c, path, userId, at)
    expect(read(cookie)).not.toBeNull()
    expect(read(cookie, '/app/contacts/new')).toBeNull()
    expect(read(cookie, '/app/deals/new', other.user.id)).toBeNull()
    expect(read(cookie, '/app/deals/new', rep.user.id, new Date(now.getTime() + 61_000))).toBeNull()
    const value = readCookie(cookie, FORM_FLASH_COOKIE)!
    const [body, signature] = value.split('.') as [string, string]
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString())
    payload.values.email = 'someone.else@evil.example'
    const forged = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`
    expect(read(`${FORM_FLASH_COOKIE}=${forged}`)).toBeNull()
    expect(read(`${FORM_FLASH_COOKIE}=garbage`)).toBeNull()
    expect(readFormFlash('another secret', cookie, '/app/deals/new', rep.user.id, now)).toBeNull()
  })

  it('gives API clients their 422 and no cookie', async () => {
    const { next: _next, ...body } = typed
    const res = await ctx.app.request(
      '/api/deals',
      json(body, { cookie: rep.cookie, origin: ORIGIN, accept: 'application/json' }),
    )
    expect(res.status).toBe(422)
    expect(res.headers.getSetCookie().some((c) => c.startsWith(FORM_FLASH_COOKIE))).toBe(false)
  })
})

describe('refusals the domain finds carry the values too, with the field it names', () => {
  it('a contact edit to another contact’s address', async () => {
    const mine = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const created = await ctx.app.request(
      '/api/contacts',
      json(
        { email: 'taken@elsewhere.example' },
        { cookie: rep.cookie, origin: ORIGIN, accept: 'application/json' },
      ),
    )
    expect(created.status).toBe(201)
    const page = `/app/contacts/${mine.contactId}`
    const res = await ctx.app.request(
      `/api/contacts/${mine.contactId}`,
      form(
        { next: page, email: 'taken@elsewhere.example', firstName: 'Kept', jobTitle: 'CFO' },
        { cookie: rep.cookie },
      ),
    )
    expect(res.status).toBe(303)
    const back = new URL(res.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(page)
    expect(back.searchParams.get('error')).toMatch(/another contact/)
    expect(back.searchParams.get('error')).not.toMatch(EMAIL_ADDRESS)
    const flash = readFormFlash(secret, flashOf(res).cookie, page, rep.user.id, ctx.deps.now())
    expect(flash).toMatchObject({
      action: `/api/contacts/${mine.contactId}`,
      values: { email: 'taken@elsewhere.example', firstName: 'Kept', jobTitle: 'CFO' },
      fields: { email: expect.stringMatching(/another contact/) },
    })
  })

  it('a next step planned in the past, from the deal page', async () => {
    const deal = await makeDeal(db, { stage: 'demo', ownerId: rep.user.id })
    const page = `/app/deals/${deal.id}`
    const res = await ctx.app.request(
      '/api/activities',
      form(
        {
          next: page,
          dealId: deal.id,
          type: 'meeting',
          dueOn: '2020-01-01',
          note: 'Bring the deck',
        },
        { cookie: rep.cookie },
      ),
    )
    expect(res.status).toBe(303)
    const flash = readFormFlash(secret, flashOf(res).cookie, page, rep.user.id, ctx.deps.now())
    expect(flash).toMatchObject({
      action: '/api/activities',
      values: { type: 'meeting', dueOn: '2020-01-01', note: 'Bring the deck' },
      fields: { dueOn: 'A next step is due today or later.' },
    })
  })
})

describe('a refused new campaign', () => {
  it('comes back with its name, subject, message and hours, the time zone marked', async () => {
    const sdr = await signedInAs(ctx, 'sdr')
    const typed = {
      name: 'Q1 robotics',
      senderName: 'Sam',
      senderEmail: 'sam@frontdoor.example',
      replyTo: '',
      subjectTemplate: 'Hello {{firstName}}',
      bodyTemplate: 'Hi {{firstName|there}},\n\nA short note about robots.',
      ratePerHour: '40',
      windowStartHour: '9',
      windowEndHour: '17',
      timezone: 'Mars/Olympus_Mons',
    }
    const res = await ctx.app.request('/api/campaigns', form(typed, { cookie: sdr.cookie }))
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!, ORIGIN).pathname).toBe('/app/campaigns/new')
    const flash = readFormFlash(
      secret,
      flashOf(res).cookie,
      '/app/campaigns/new',
      sdr.user.id,
      ctx.deps.now(),
    )
    const { replyTo: _empty, ...carried } = typed
    expect(flash).toEqual({
      action: '/api/campaigns',
      values: carried,
      fields: { timezone: expect.stringMatching(/IANA time zone/) },
    })
  })
})

describe('a refused form too long for a cookie', () => {
  it('keeps a long message in the database for the page, once, and only for its author', async () => {
    const sdr = await signedInAs(ctx, 'sdr')
    const other = await signedInAs(ctx, 'sdr')
    // 5,000 characters of Japanese: 15,000 bytes of UTF-8, far past what a cookie holds (and,
    // percent-encoded, most of the 64 KiB a form post may carry).
    const message =
      `こんにちは {{firstName}}、${'ロボットについての短いお知らせです。'.repeat(300)}`.slice(
        0,
        5_000,
      )
    const typed = {
      name: 'Q1 robotics, long',
      senderName: 'Sam',
      senderEmail: 'sam@frontdoor.example',
      subjectTemplate: 'Hello {{firstName}}',
      bodyTemplate: message,
      ratePerHour: '40',
      windowStartHour: '9',
      windowEndHour: '17',
      timezone: 'Mars/Olympus_Mons',
    }
    const res = await ctx.app.request('/api/campaigns', form(typed, { cookie: sdr.cookie }))
    expect(res.status).toBe(303)
    const { header, cookie } = flashOf(res)
    expect(header.length).toBeLessThan(4_000)
    const take = (userId: string) =>
      takeFormFlash(db, secret, cookie, '/app/campaigns/new', userId, ctx.deps.now())
    // Someone else's session with the same cookie gets nothing, and leaves it for its author.
    expect(await take(other.user.id)).toBeNull()
    expect(await take(sdr.user.id)).toEqual({
      action: '/api/campaigns',
      values: typed,
      fields: { timezone: expect.stringMatching(/IANA time zone/) },
    })
    expect(await take(sdr.user.id)).toBeNull()
  })
})

describe('the cookie', () => {
  const now = new Date('2026-12-05T10:00:00Z')
  const base = { action: '/api/x', fields: {}, path: '/app/x', userId: 'u1' }

  it('never carries passwords, tokens or the form’s next', () => {
    const header = formFlashCookie(
      'k',
      {
        ...base,
        values: { name: 'Ann', password: 'hunter2', newPassword: 'x', token: 't', next: '/app' },
      },
      now,
      true,
    )!
    expect(header).toContain('Secure')
    const flash = readFormFlash('k', header.split(';')[0]!, '/app/x', 'u1', now)
    expect(flash!.values).toEqual({ name: 'Ann' })
  })

  it('names a stored row instead of carrying what would not fit, when it may store it', () => {
    const kept: StoredFormFlash[] = []
    const values = { note: 'ü'.repeat(4_000), email: 'ann@example.com' }
    const fields = { email: 'Taken.' }
    const header = formFlashCookie('k', { ...base, values, fields }, now, false, {
      store: (flash) => kept.push(flash),
    })!
    expect(header.length).toBeLessThan(4_000)
    expect(kept).toEqual([{ id: expect.any(String), userId: 'u1', values, fields }])
    expect(readFormFlash('k', header.split(';')[0]!, '/app/x', 'u1', now)).toEqual({
      action: '/api/x',
      values: {},
      fields: {},
      ref: kept[0]!.id,
    })
    // Nobody signed in: nothing is stored, the longest values stay behind.
    const anonymous = formFlashCookie('k', { ...base, userId: null, values, fields }, now, false, {
      store: (flash) => kept.push(flash),
    })!
    expect(kept).toHaveLength(1)
    expect(readFormFlash('k', anonymous.split(';')[0]!, '/app/x', null, now)!.values).toEqual({
      email: 'ann@example.com',
    })
  })

  it('leaves the longest values behind when everything would not fit, keeping the rest', () => {
    const header = formFlashCookie(
      'k',
      { ...base, values: { note: 'ü'.repeat(4_000), email: 'ann@example.com' } },
      now,
      false,
    )!
    expect(header.length).toBeLessThan(4_000)
    const flash = readFormFlash('k', header.split(';')[0]!, '/app/x', 'u1', now)
    expect(flash!.values).toEqual({ email: 'ann@example.com' })
  })

  it('is not made for a path that is not plain, nor when there is nothing to carry', () => {
    const values = { name: 'Ann' }
    expect(formFlashCookie('k', { ...base, values, path: '/app/x;Domain=evil' }, now, false)).toBe(
      null,
    )
    expect(formFlashCookie('k', { ...base, values: { password: 'p' } }, now, false)).toBeNull()
  })
})

describe('a refused first-admin setup', () => {
  it('comes back to /setup with the name and email typed, never the password or the link', async () => {
    // The setup page got only ?error=: after a weak password the person typed everything again.
    const fresh = await setupTestApp()
    const { token } = await createUserToken(fresh.deps.db, 'setup', null, fresh.deps.now())
    const typed = { token, name: 'Olga Owner', email: 'olga@example.com', password: 'short' }
    const res = await fresh.app.request('/api/setup', form(typed))
    expect(res.status).toBe(303)
    const url = new URL(res.headers.get('location')!, ORIGIN)
    expect(url.pathname).toBe('/setup')
    expect(url.searchParams.get('token')).toBe(token)
    expect(url.searchParams.get('error')).toBeTruthy()
    const { header, cookie } = flashOf(res)
    expect(header).toContain('Path=/setup;')
    const { secret } = fresh.deps
    const body = Buffer.from(cookie.split('=')[1]!.split('.')[0]!, 'base64url').toString()
    expect(body).not.toContain('short')
    expect(body).not.toContain(token)
    // Nobody is signed in on the setup page: the flash is for no one, as the page reads it.
    const flash = await takeFormFlash(
      fresh.deps.db,
      secret,
      cookie,
      '/setup',
      null,
      fresh.deps.now(),
    )
    expect(flash).toEqual({
      action: '/api/setup',
      values: { name: 'Olga Owner', email: 'olga@example.com' },
      fields: {},
    })
    expect(keepsFormFlash('/setup')).toBe(true)
    // A field the form's check refused is named beside it, the rest kept.
    const bad = await fresh.app.request(
      '/api/setup',
      form({ ...typed, email: 'not an address', password: 'a secret passphrase 1' }),
    )
    expect(bad.status).toBe(303)
    const refill = formRefill(
      readFormFlash(secret, flashOf(bad).cookie, '/setup', null, fresh.deps.now()),
      '/api/setup',
    )
    expect(refill.value('name')).toBe('Olga Owner')
    expect(refill.value('password')).toBe('')
    expect(refill.error('email')).toBeTruthy()
  })
})
