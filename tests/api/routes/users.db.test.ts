import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { accountLinkFromCookie } from '../../../api/accounts/link-cookie.ts'
import {
  createUserToken,
  DISABLED_ACCOUNT_LINK,
  listUsers,
  readPasswordLink,
  setUserDisabled,
  setUserRole,
} from '../../../api/accounts/users.ts'
import { outbox, sessions, userTokens } from '../../../api/db/schema.ts'
import {
  addUser,
  EMAIL_ADDRESS,
  form,
  json,
  ORIGIN,
  setupTestApp,
  signedInAs,
  signInCookie,
} from '../../helpers.ts'
import { mailboxTransport, testWorker } from '../email/outbox-fixtures.ts'

const ctx = await setupTestApp()

describe('/api/users (admin only)', () => {
  it.each(['rep', 'sdr'] as const)(
    'refuses a %s with 403 and an anonymous caller with 401',
    async (role) => {
      const { cookie } = await signedInAs(ctx, role)
      expect((await ctx.app.request('/api/users', { headers: { cookie } })).status).toBe(403)
      expect(
        (
          await ctx.app.request(
            '/api/users',
            json({ email: 'x@example.com', name: 'X', role: 'rep' }, { cookie }),
          )
        ).status,
      ).toBe(403)
      expect((await ctx.app.request('/api/users')).status).toBe(401)
    },
  )

  it('lets an admin add a user with a password, who can then sign in', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/users',
      json(
        {
          email: 'Rita@Example.com',
          name: 'Rita Rep',
          role: 'rep',
          password: 'a good long password',
        },
        { cookie },
      ),
    )
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.user).toMatchObject({ email: 'rita@example.com', role: 'rep', invited: false })
    expect(body.inviteLink).toBeNull()
    await signInCookie(ctx, 'rita@example.com', 'a good long password')
  })

  it('adds a user whose address has a Unicode domain, who signs in typing either spelling', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/users',
      json(
        { email: 'Ann@Bücher.example', name: 'Ann', role: 'rep', password: 'a good long password' },
        { cookie },
      ),
    )
    expect(res.status).toBe(201)
    expect((await res.json()).user.email).toBe('ann@xn--bcher-kva.example')
    await signInCookie(ctx, 'ann@bücher.example', 'a good long password')
    await signInCookie(ctx, 'ANN@xn--bcher-kva.example', 'a good long password')
  })

  it('invites a user without a password: the link sets it once, then signs them in', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/users',
      json({ email: 'ivan@example.com', name: 'Ivan', role: 'sdr' }, { cookie }),
    )
    const { inviteLink } = await res.json()
    const token = new URL(inviteLink).searchParams.get('token')!
    const weak = await ctx.app.request('/api/setup/password', json({ token, password: 'short' }))
    expect(weak.status).toBe(422)
    const set = await ctx.app.request(
      '/api/setup/password',
      json({ token, password: 'a private passphrase' }),
    )
    expect(set.status).toBe(201)
    expect(set.headers.get('set-cookie')).toContain('fd_session=')
    const again = await ctx.app.request(
      '/api/setup/password',
      json({ token, password: 'another passphrase!' }),
    )
    expect(again.status).toBe(410)
    await signInCookie(ctx, 'ivan@example.com', 'a private passphrase')
  })

  it('invites a person whose address lowercases to a combining mark (İnci), and mails them', async () => {
    // "İ" lowercases to "i" + U+0307: the stored (canonical) address is what the mail goes to.
    // It used to be refused by the mail headers' check: a 500, and nobody was added.
    const { cookie } = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/users',
      json({ email: 'İnci@example.com', name: 'İnci', role: 'rep' }, { cookie }),
    )
    expect(res.status).toBe(201)
    const { user } = (await res.json()) as { user: { id: string; email: string } }
    expect(user.email).toBe('i\u0307nci@example.com')
    const reset = await ctx.app.request(
      `/api/users/${user.id}/reset-password`,
      json({}, { cookie }),
    )
    expect(reset.status).toBe(200)
    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    const sent = await ctx.deps.db
      .select({ template: sql<string>`${outbox.payload}->>'template'`, status: outbox.status })
      .from(outbox)
      .where(eq(outbox.recipient, user.email))
    expect(sent).toEqual(
      expect.arrayContaining([
        { template: 'user-invitation', status: 'sent' },
        { template: 'password-reset', status: 'sent' },
      ]),
    )
  })

  it('answers a duplicate email with 409, a bad role and a weak password with 422', async () => {
    const { cookie, user } = await signedInAs(ctx, 'admin')
    const dup = await ctx.app.request(
      '/api/users',
      json(
        { email: user.email, name: 'Again', role: 'rep', password: 'long enough password' },
        { cookie },
      ),
    )
    expect(dup.status).toBe(409)
    const role = await ctx.app.request(
      '/api/users',
      json({ email: 'r@example.com', name: 'R', role: 'boss' }, { cookie }),
    )
    expect(role.status).toBe(422)
    expect((await role.json()).error.message).toContain('Role')
    const weak = await ctx.app.request(
      '/api/users',
      json({ email: 'w@example.com', name: 'W', role: 'rep', password: '123' }, { cookie }),
    )
    expect(weak.status).toBe(422)
  })

  it('answers the users page’s plain forms with notices that name no address', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    const noticeOf = async (path: string, body: Record<string, string>) => {
      const res = await ctx.app.request(path, form(body, { cookie }))
      expect(res.status, path).toBe(303)
      return new URL(res.headers.get('location')!, ORIGIN).searchParams.get('notice')
    }
    const notices = [
      await noticeOf(`/api/users/${rep.id}/role`, { role: 'sdr' }),
      await noticeOf(`/api/users/${rep.id}/reset-password`, {}),
      await noticeOf(`/api/users/${rep.id}/disable`, {}),
      await noticeOf(`/api/users/${rep.id}/enable`, {}),
    ]
    expect(notices).toEqual([
      'Role changed to sdr.',
      'Password reset link created.',
      'Account disabled.',
      'Account enabled.',
    ])
    for (const notice of notices) expect(notice).not.toMatch(EMAIL_ADDRESS)
  })

  it('disabling a user ends their sessions; enabling lets them back in', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    const repCookie = await signInCookie(ctx, rep.email)
    const off = await ctx.app.request(`/api/users/${rep.id}/disable`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(off.status).toBe(200)
    expect(
      (
        await ctx.app.request('/api/sessions/current', {
          method: 'DELETE',
          headers: { cookie: repCookie, origin: ORIGIN },
        })
      ).headers.get('set-cookie'),
    ).toContain('Max-Age=0')
    await expect(signInCookie(ctx, rep.email)).rejects.toThrow()
    await ctx.app.request(`/api/users/${rep.id}/enable`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, accept: 'application/json' },
    })
    await signInCookie(ctx, rep.email)
  })

  it('does not let an admin disable themselves or drop their own admin role', async () => {
    const { cookie, user } = await signedInAs(ctx, 'admin')
    expect(
      (
        await ctx.app.request(`/api/users/${user.id}/disable`, {
          method: 'POST',
          headers: { cookie, origin: ORIGIN },
        })
      ).status,
    ).toBe(409)
    expect(
      (await ctx.app.request(`/api/users/${user.id}/role`, json({ role: 'rep' }, { cookie })))
        .status,
    ).toBe(409)
  })

  it('creates a password reset link that revokes existing sessions when used', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    const repCookie = await signInCookie(ctx, rep.email)
    const res = await ctx.app.request(`/api/users/${rep.id}/reset-password`, json({}, { cookie }))
    const token = new URL((await res.json()).link).searchParams.get('token')!
    await ctx.app.request('/api/setup/password', json({ token, password: 'brand new passphrase' }))
    const adminCookie = await signInCookie(ctx, (await signedInAs(ctx, 'admin')).user.email)
    expect(adminCookie).toBeTruthy()
    const probe = await ctx.app.request('/api/sessions/current', {
      method: 'DELETE',
      headers: { cookie: repCookie, origin: ORIGIN },
    })
    expect(probe.headers.get('set-cookie')).toContain('Max-Age=0') // the old cookie was invalid
    await signInCookie(ctx, rep.email, 'brand new passphrase')
  })

  it('a new reset link ends the earlier one and the invitation', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const invited = await ctx.app.request(
      '/api/users',
      json({ email: 'irene@example.com', name: 'Irene', role: 'rep' }, { cookie }),
    )
    const body = (await invited.json()) as { user: { id: string }; inviteLink: string }
    const reset = async () => {
      const res = await ctx.app.request(
        `/api/users/${body.user.id}/reset-password`,
        json({}, { cookie }),
      )
      return new URL((await res.json()).link).searchParams.get('token')!
    }
    const first = await reset()
    const second = await reset()
    const setWith = (token: string, password: string) =>
      ctx.app.request('/api/setup/password', json({ token, password }))
    // Whoever holds an earlier link (a mail sent to the wrong place, a screen someone saw)
    // cannot set the password with it.
    const invitation = new URL(body.inviteLink).searchParams.get('token')!
    expect((await setWith(invitation, 'someone else entirely')).status).toBe(410)
    expect((await setWith(first, 'someone else entirely')).status).toBe(410)
    expect((await setWith(second, 'brand new passphrase')).status).toBe(201)
    await signInCookie(ctx, 'irene@example.com', 'brand new passphrase')
  })

  it('a password set with one link ends every other link the user still had', async () => {
    const rep = await addUser(ctx, 'rep')
    const now = ctx.deps.now()
    const older = await createUserToken(ctx.deps.db, 'reset', rep.id, now)
    const invitation = await createUserToken(ctx.deps.db, 'invite', rep.id, now)
    const used = await createUserToken(ctx.deps.db, 'reset', rep.id, now)
    const setWith = (token: string, password: string) =>
      ctx.app.request('/api/setup/password', json({ token, password }))
    expect((await setWith(used.token, 'brand new passphrase')).status).toBe(201)
    expect((await setWith(older.token, 'someone else entirely')).status).toBe(410)
    expect((await setWith(invitation.token, 'someone else entirely')).status).toBe(410)
    await signInCookie(ctx, rep.email, 'brand new passphrase')
  })

  it('a disabled user’s links stop working, also once they are enabled again', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    const res = await ctx.app.request(`/api/users/${rep.id}/reset-password`, json({}, { cookie }))
    const token = new URL((await res.json()).link).searchParams.get('token')!
    const toggle = (act: 'disable' | 'enable') =>
      ctx.app.request(`/api/users/${rep.id}/${act}`, {
        method: 'POST',
        headers: { cookie, origin: ORIGIN, accept: 'application/json' },
      })
    expect((await toggle('disable')).status).toBe(200)
    // Made while disabled (an admin's click), a link still does not set the password.
    const late = await createUserToken(ctx.deps.db, 'reset', rep.id, ctx.deps.now())
    const setWith = (t: string) =>
      ctx.app.request('/api/setup/password', json({ token: t, password: 'chosen by another' }))
    const refused = await setWith(late.token)
    expect(refused.status).toBe(403)
    expect(refused.headers.get('set-cookie')).toBeNull()
    expect((await toggle('enable')).status).toBe(200)
    expect((await setWith(token)).status).toBe(410)
    await expect(signInCookie(ctx, rep.email, 'chosen by another')).rejects.toThrow()
    await signInCookie(ctx, rep.email)
  })

  it('disabling and ending the user’s links and sessions are one change: when one fails, nothing is', async () => {
    // The links were ended after the disable had committed: a failure there left a disabled
    // account whose reset link still worked.
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    await signInCookie(ctx, rep.email)
    const sessionsOf = (userId: string) =>
      ctx.deps.db.select().from(sessions).where(eq(sessions.userId, userId))
    const link = await createUserToken(ctx.deps.db, 'reset', rep.id, ctx.deps.now())
    await ctx.deps.db.execute(
      sql.raw(`
      create or replace function refuse_link_change() returns trigger language plpgsql as $$
      begin raise exception 'link change refused by the test'; end $$`),
    )
    await ctx.deps.db.execute(
      sql`create trigger refuse_link_change before update on user_tokens for each statement execute function refuse_link_change()`,
    )
    try {
      const res = await ctx.app.request(`/api/users/${rep.id}/disable`, json({}, { cookie }))
      expect(res.status).toBe(500)
    } finally {
      await ctx.deps.db.execute(sql`drop trigger refuse_link_change on user_tokens`)
      await ctx.deps.db.execute(sql`drop function refuse_link_change()`)
    }
    expect((await listUsers(ctx.deps.db)).find((u) => u.id === rep.id)?.disabledAt).toBeNull()
    expect((await readPasswordLink(ctx.deps.db, link.token, ctx.deps.now())).state).toBe('live')
    expect(await sessionsOf(rep.id)).toHaveLength(1)
    // Once it can, the disable ends the link with it.
    const res = await ctx.app.request(`/api/users/${rep.id}/disable`, json({}, { cookie }))
    expect(res.status).toBe(200)
    expect((await readPasswordLink(ctx.deps.db, link.token, ctx.deps.now())).state).toBe('disabled')
    expect(await sessionsOf(rep.id)).toEqual([])
  })

  it('refuses a reset link for a disabled account, says why, and mails nothing', async () => {
    // It used to make the link and mail the disabled person an invitation to a reset that
    // /password then refused.
    const { cookie } = await signedInAs(ctx, 'admin')
    const rep = await addUser(ctx, 'rep')
    expect((await setUserDisabled(ctx.deps.db, rep.id, true, ctx.deps.now())).ok).toBe(true)
    const links = () =>
      ctx.deps.db
        .select({ id: userTokens.id })
        .from(userTokens)
        .where(eq(userTokens.userId, rep.id))
    const asked = await ctx.app.request(`/api/users/${rep.id}/reset-password`, json({}, { cookie }))
    expect(asked.status).toBe(409)
    const { error } = (await asked.json()) as { error: { code: string; message: string } }
    expect(error.code).toBe('account_disabled')
    expect(error.message).toContain('That account is disabled: enable it first')
    // The admin page's plain form goes back to the page with the message, and no link.
    const fromPage = await ctx.app.request(
      `/api/users/${rep.id}/reset-password`,
      form({}, { cookie }),
    )
    expect(fromPage.status).toBe(303)
    const back = new URL(fromPage.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe('/app/admin/users')
    expect(back.searchParams.get('error')).toContain('is disabled: enable it first')
    expect(fromPage.headers.getSetCookie().some((c) => c.startsWith('fd_link='))).toBe(false)
    expect(await links()).toEqual([])
    const mail = await ctx.deps.db.select().from(outbox).where(eq(outbox.recipient, rep.email))
    expect(mail).toEqual([])
  })

  it('a link of an account disabled since tells its holder the account is disabled, with no form', async () => {
    // The link was used up and refused, and its page then said "expired or already used", or
    // (a link still live) offered a form that could not work: no word that an admin must act.
    const rep = await addUser(ctx, 'rep')
    const now = ctx.deps.now()
    const before = await createUserToken(ctx.deps.db, 'reset', rep.id, now)
    const invitation = await createUserToken(ctx.deps.db, 'invite', rep.id, now)
    expect(await readPasswordLink(ctx.deps.db, before.token, now)).toMatchObject({
      state: 'live',
      purpose: 'reset',
      user: { id: rep.id },
    })
    const { cookie } = await signedInAs(ctx, 'admin')
    const disable = await ctx.app.request(`/api/users/${rep.id}/disable`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(disable.status).toBe(200)
    // A link the disable ended, and one still live (made by a script while disabled): the page
    // (src/pages/password.astro) reads this, and says DISABLED_ACCOUNT_LINK instead of a form.
    const late = await createUserToken(ctx.deps.db, 'reset', rep.id, ctx.deps.now())
    for (const token of [before.token, invitation.token, late.token])
      expect((await readPasswordLink(ctx.deps.db, token, ctx.deps.now())).state).toBe('disabled')
    const setWith = (token: string) =>
      ctx.app.request('/api/setup/password', json({ token, password: 'a private passphrase' }))
    for (const token of [before.token, late.token]) {
      const res = await setWith(token)
      expect(res.status).toBe(403)
      expect((await res.json()).error).toEqual({
        code: 'account_disabled',
        message: DISABLED_ACCOUNT_LINK,
      })
    }
    // A plain form goes back to the link's page with the same words.
    const fromPage = await ctx.app.request(
      '/api/setup/password',
      form({ token: invitation.token, password: 'a private passphrase' }),
    )
    expect(fromPage.status).toBe(303)
    const back = new URL(fromPage.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe('/password')
    expect(back.searchParams.get('error')).toBe(DISABLED_ACCOUNT_LINK)
    // Enabled again, the links stay spent: the person asks for a new one.
    await ctx.app.request(`/api/users/${rep.id}/enable`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN, accept: 'application/json' },
    })
    for (const token of [before.token, invitation.token, late.token]) {
      expect((await readPasswordLink(ctx.deps.db, token, ctx.deps.now())).state).toBe('spent')
      expect((await setWith(token)).status).toBe(410)
    }
    await signInCookie(ctx, rep.email)
  })

  it('never leaves no active admin, even when two admins demote or disable each other at once', async () => {
    const solo = await setupTestApp()
    const a = await signedInAs(solo, 'admin')
    const b = await signedInAs(solo, 'admin')
    const [ab, ba] = await Promise.all([
      solo.app.request(`/api/users/${b.user.id}/role`, json({ role: 'rep' }, { cookie: a.cookie })),
      solo.app.request(`/api/users/${a.user.id}/role`, json({ role: 'rep' }, { cookie: b.cookie })),
    ])
    // One wins; the other is refused: as the last admin (both checked in at once) or, when it
    // came second, as no longer an admin.
    const refused = ab.status === 200 ? ba : ab
    expect([ab.status, ba.status]).toContain(200)
    expect((await refused.json()).error.code).toMatch(/^(last_admin|forbidden)$/)
    // The one admin left cannot be disabled or demoted either (by a script, say).
    const left = ab.status === 200 ? a.user : b.user
    const now = solo.deps.now()
    expect(await setUserDisabled(solo.deps.db, left.id, true, now)).toMatchObject({
      ok: false,
      code: 'last_admin',
    })
    expect(await setUserRole(solo.deps.db, left.id, 'sdr', now)).toMatchObject({
      ok: false,
      code: 'last_admin',
    })
    const admins = (await listUsers(solo.deps.db)).filter(
      (u) => u.role === 'admin' && !u.disabledAt,
    )
    expect(admins.map((u) => u.id)).toEqual([left.id])
  })

  it('answers an unknown or malformed user id with 404/422', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    expect(
      (
        await ctx.app.request('/api/users/not-a-uuid/disable', {
          method: 'POST',
          headers: { cookie, origin: ORIGIN },
        })
      ).status,
    ).toBe(422)
    expect(
      (
        await ctx.app.request('/api/users/01900000-0000-7000-8000-000000000000/disable', {
          method: 'POST',
          headers: { cookie, origin: ORIGIN },
        })
      ).status,
    ).toBe(404)
  })

  it('answers each refusal of the users page as JSON to an API client, and 303 back to a plain form', async () => {
    // Some refusals used to answer JSON whatever asked: with JavaScript off, the admin got a
    // JSON page instead of the users page saying why.
    const { cookie, user } = await signedInAs(ctx, 'admin')
    const disabled = await addUser(ctx, 'rep')
    expect((await setUserDisabled(ctx.deps.db, disabled.id, true, ctx.deps.now())).ok).toBe(true)
    const unknown = '01900000-0000-7000-8000-000000000000'
    // Path, body, JSON status and code, and what the message says (both ways).
    type Case = [string, Record<string, string>, number, string, string]
    const cases: Case[] = [
      [
        '/api/users',
        { email: user.email, name: 'Again', role: 'rep', password: 'long enough password' },
        409,
        'duplicate_email',
        'exists',
      ],
      ['/api/users/not-a-uuid/role', { role: 'rep' }, 422, 'invalid_input', 'Unknown user.'],
      [
        `/api/users/${user.id}/role`,
        { role: 'rep' },
        409,
        'own_role',
        'You cannot remove your own admin role.',
      ],
      [`/api/users/${unknown}/role`, { role: 'rep' }, 404, 'not_found', 'Unknown user.'],
      ...['disable', 'enable'].flatMap((act): Case[] => [
        [`/api/users/not-a-uuid/${act}`, {}, 422, 'invalid_input', 'Unknown user.'],
        [
          `/api/users/${user.id}/${act}`,
          {},
          409,
          'own_account',
          act === 'disable'
            ? 'You cannot disable your own account.'
            : 'Your own account is enabled: another admin enables or disables it.',
        ],
        [`/api/users/${unknown}/${act}`, {}, 404, 'not_found', 'Unknown user.'],
      ]),
      ['/api/users/not-a-uuid/reset-password', {}, 422, 'invalid_input', 'Unknown user.'],
      [`/api/users/${unknown}/reset-password`, {}, 404, 'not_found', 'Unknown user.'],
      [`/api/users/${disabled.id}/reset-password`, {}, 409, 'account_disabled', 'is disabled'],
    ]
    for (const [path, body, status, code, message] of cases) {
      const api = await ctx.app.request(path, json(body, { cookie }))
      expect(api.status, path).toBe(status)
      const { error } = (await api.json()) as { error: { code: string; message: string } }
      expect(error.code, path).toBe(code)
      expect(error.message, path).toContain(message)
      const page = await ctx.app.request(path, form(body, { cookie }))
      expect(page.status, path).toBe(303)
      const back = new URL(page.headers.get('location')!, ORIGIN)
      expect(back.pathname, path).toBe('/app/admin/users')
      expect(back.searchParams.get('error'), path).toContain(message)
      // No address travels in the URL, the caller's or the one the case is about.
      expect(back.searchParams.get('error'), path).not.toMatch(EMAIL_ADDRESS)
    }
    // A bare POST (no body) is an API call: JSON, as before.
    const bare = await ctx.app.request(`/api/users/${user.id}/disable`, {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
    })
    expect(bare.status).toBe(409)
    expect((await bare.json()).error.code).toBe('own_account')
    expect((await listUsers(ctx.deps.db)).find((u) => u.id === user.id)).toMatchObject({
      role: 'admin',
      disabledAt: null,
    })
  })

  it('the add-user form works without JavaScript', async () => {
    const { cookie } = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/users',
      form({ email: 'formy@example.com', name: 'Formy', role: 'rep', password: '' }, { cookie }),
    )
    expect(res.status).toBe(303)
    const location = new URL(res.headers.get('location')!, 'http://x')
    expect(location.pathname).toBe('/app/admin/users')
    // The one-time link never rides in the URL (browser history, issue 15): the users page gets
    // it once from a short-lived HttpOnly cookie only that page receives.
    expect(res.headers.get('location')).not.toContain('token')
    expect(decodeURIComponent(res.headers.get('location')!)).not.toContain('formy@')
    expect(location.searchParams.has('link')).toBe(false)
    const linkCookie = res.headers.getSetCookie().find((c) => c.startsWith('fd_link='))!
    expect(linkCookie).toMatch(
      /^fd_link=[a-z2-7]{39}; Path=\/app\/admin\/users; Max-Age=600; HttpOnly; SameSite=Strict/,
    )
    const token = linkCookie.match(/^fd_link=([a-z2-7]+)/)![1]!
    const link = accountLinkFromCookie(token, ORIGIN)!
    expect(link).toBe(`${ORIGIN}/password?token=${token}`)
    // …and it is a real invitation: it sets the password once.
    const set = await ctx.app.request(
      '/api/setup/password',
      json({ token, password: 'a private passphrase' }),
    )
    expect(set.status).toBe(201)
  })
  it('a plain form with a spent link goes back to the link’s page, which says so', async () => {
    // The sign-in page shows only its own texts: sent there, the person saw a bare sign-in form
    // and no word that their password was not set.
    const rep = await addUser(ctx, 'rep')
    const now = ctx.deps.now()
    const used = await createUserToken(ctx.deps.db, 'reset', rep.id, now)
    const expired = await createUserToken(ctx.deps.db, 'reset', rep.id, now)
    expect(
      (
        await ctx.app.request(
          '/api/setup/password',
          json({ token: used.token, password: 'brand new passphrase' }),
        )
      ).status,
    ).toBe(201)
    ctx.clock.advance(61 * 60 * 1000)
    for (const token of [used.token, expired.token]) {
      const res = await ctx.app.request(
        '/api/setup/password',
        form({ token, password: 'another passphrase' }),
      )
      expect(res.status).toBe(303)
      const location = new URL(res.headers.get('location')!, ORIGIN)
      expect(location.pathname).toBe('/password')
      expect(location.searchParams.get('token')).toBe(token)
    }
  })
})

describe('first admin setup', () => {
  it('creates the first admin once with the setup link', async () => {
    const fresh = await setupTestApp()
    const { announceFirstRun } = await import('../../../api/accounts/first-run.ts')
    const write = process.stdout.write
    process.stdout.write = () => true
    const link = await announceFirstRun(fresh.deps).finally(() => (process.stdout.write = write))
    const token = new URL(link!).searchParams.get('token')!
    const body = {
      token,
      email: 'owner@example.com',
      name: 'Owner',
      password: 'a secret passphrase 1',
    }
    const [a, b] = await Promise.all([
      fresh.app.request('/api/setup', json(body)),
      fresh.app.request('/api/setup', json({ ...body, email: 'other@example.com' })),
    ])
    expect([a.status, b.status].sort()).toEqual([201, 410])
    expect(await announceFirstRun(fresh.deps)).toBeNull()
    // Without JavaScript, the spent link's page says it is spent (the sign-in page would not).
    const again = await fresh.app.request(
      '/api/setup',
      form({ ...body, email: 'third@example.com' }),
    )
    expect(again.status).toBe(303)
    const location = new URL(again.headers.get('location')!, ORIGIN)
    expect(location.pathname).toBe('/setup')
    expect(location.searchParams.get('token')).toBe(token)
  })
})
