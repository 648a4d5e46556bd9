import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { SITE } from '../../../api/content/site.ts'
import { consentEvents, contacts, suppressions, unsubscribeTokens } from '../../../api/db/schema.ts'
import { findSuppression, suppress } from '../../../api/email/suppressions.ts'
import { issueUnsubscribeToken } from '../../../api/email/unsubscribe.ts'
import { newId } from '../../../api/ids.ts'
import { json, ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'

// RFC 8058 one-click unsubscribe, each rule of the spec.

const ctx = await setupTestApp({ BRAND_NAME: 'Northwind Sales' })
const db = ctx.deps.db

async function tokenFor(email: string) {
  return issueUnsubscribeToken(db, email, 'camp-1')
}

async function suppressionCount() {
  return (await db.select().from(suppressions)).length
}

describe('POST /u/<token> (one-click)', () => {
  it('unsubscribes at once without Origin, cookie or login, answering 200 with no redirect', async () => {
    const token = await tokenFor('dana@northwind.example')
    const res = await ctx.app.request(`/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    })
    expect([200, 202]).toContain(res.status)
    expect(res.headers.get('location')).toBeNull()
    expect(await res.text()).toContain('You are unsubscribed')
    expect(await findSuppression(db, 'dana@northwind.example')).toMatchObject({
      reason: 'unsubscribe',
      source: 'campaign camp-1, one-click (List-Unsubscribe-Post)',
    })
  })

  it('works from another site too: a cross-site Origin is not refused here', async () => {
    const token = await tokenFor('cross@northwind.example')
    const res = await ctx.app.request(`/u/${token}`, {
      method: 'POST',
      headers: {
        origin: 'https://mail.provider.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'List-Unsubscribe=One-Click',
    })
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'cross@northwind.example')).not.toBeNull()
  })

  it('reads the one-click field in both encodings RFC 8058 allows, multipart/form-data first', async () => {
    const multipart = new FormData()
    multipart.set('List-Unsubscribe', 'One-Click')
    const boundary = '----=_Part_8058'
    const posts: Array<[string, { headers?: Record<string, string>; body: BodyInit }]> = [
      // As a Request builds it (the content type with its boundary set by fetch).
      ['multipart@northwind.example', { body: multipart }],
      // As a provider writes it by hand.
      [
        'multipart-raw@northwind.example',
        {
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          body: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
        },
      ],
      [
        'urlencoded@northwind.example',
        {
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body: 'List-Unsubscribe=One-Click',
        },
      ],
    ]
    for (const [email, init] of posts) {
      const res = await ctx.app.request(`/u/${await tokenFor(email)}`, { method: 'POST', ...init })
      expect(res.status).toBe(200)
      expect(await findSuppression(db, email)).toMatchObject({
        source: 'campaign camp-1, one-click (List-Unsubscribe-Post)',
      })
    }
  })

  it('records the withdrawal of marketing consent for a known contact, once', async () => {
    const contactId = newId()
    await db.insert(contacts).values({
      id: contactId,
      email: 'lee@contoso.example',
      emailDisplay: 'Lee@Contoso.example',
      source: 'inbound',
    })
    const token = await tokenFor('lee@contoso.example')
    for (let i = 0; i < 2; i++) {
      const res = await ctx.app.request(`/u/${token}`, {
        method: 'POST',
        headers: { 'user-agent': 'MailProvider/1.0' },
      })
      expect(res.status).toBe(200)
    }
    const events = await db
      .select()
      .from(consentEvents)
      .where(eq(consentEvents.contactId, contactId))
    expect(events).toEqual([
      expect.objectContaining({
        purpose: 'marketing',
        granted: false,
        method: 'unsubscribe',
        userAgent: 'MailProvider/1.0',
      }),
    ])
  })

  it('answers a repeated POST with 200 and leaves the first suppression as it was', async () => {
    const token = await tokenFor('twice@northwind.example')
    await ctx.app.request(`/u/${token}`, { method: 'POST' })
    const first = await findSuppression(db, 'twice@northwind.example')
    ctx.clock.advance(60_000)
    const res = await ctx.app.request(`/u/${token}`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('already unsubscribed')
    expect(await findSuppression(db, 'twice@northwind.example')).toEqual(first)
  })

  it('still works years later: tokens never expire', async () => {
    const token = await tokenFor('old@northwind.example')
    ctx.clock.advance(10 * 365 * 24 * 3_600_000)
    const res = await ctx.app.request(`/u/${token}`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'old@northwind.example')).toMatchObject({
      reason: 'unsubscribe',
    })
  })

  it('is the same for a signed-in user: no session needed, none used', async () => {
    const { cookie } = await signedInAs(ctx, 'rep')
    const token = await tokenFor('session@northwind.example')
    const res = await ctx.app.request(`/u/${token}`, { method: 'POST', headers: { cookie } })
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'session@northwind.example')).toMatchObject({
      createdBy: null,
    })
  })
})

describe('an address already suppressed for another reason', () => {
  it('still records the person’s unsubscribe, once, and keeps it when the admin’s entry is removed', async () => {
    const admin = await signedInAs(ctx, 'admin')
    const contactId = newId()
    await db.insert(contacts).values({
      id: contactId,
      email: 'held@contoso.example',
      emailDisplay: 'held@contoso.example',
      source: 'outbound',
    })
    const token = await tokenFor('held@contoso.example')
    // An admin stops all mail to the address for a while (removable, unlike an unsubscribe).
    await suppress(db, { email: 'held@contoso.example', reason: 'manual' }, ctx.clock.now())

    for (let i = 0; i < 2; i++) {
      const res = await ctx.app.request(`/u/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain(
        i === 0 ? 'You are unsubscribed' : 'You are already unsubscribed',
      )
    }
    const events = await db
      .select()
      .from(consentEvents)
      .where(eq(consentEvents.contactId, contactId))
    expect(events).toEqual([
      expect.objectContaining({ purpose: 'marketing', granted: false, method: 'unsubscribe' }),
    ])

    // Removing the admin's entry must not put the person back on the mailing list.
    const removed = await ctx.app.request(
      '/api/admin/email/suppressions/remove',
      json({ email: 'held@contoso.example' }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    expect(removed.status).toBe(200)
    expect((await removed.json()).message).toContain('they unsubscribed themselves')
    expect(await findSuppression(db, 'held@contoso.example')).toMatchObject({
      reason: 'unsubscribe',
    })
  })
})

describe('GET, HEAD and OPTIONS /u/<token>', () => {
  it('GET shows a confirm page with a button and changes nothing', async () => {
    const token = await tokenFor('confirm@northwind.example')
    const before = await suppressionCount()
    const res = await ctx.app.request(`/u/${token}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const body = await res.text()
    expect(body).toContain('<html lang="en">')
    expect(body).toContain('Unsubscribe from Northwind Sales emails?')
    expect(body).toContain(`<form method="post" action="/u/${token}">`)
    expect(body).toContain('<button type="submit">Unsubscribe</button>')
    // The address is recognisable but not spelled out on a page anyone holding the link can open.
    expect(body).toContain('c•••@northwind.example')
    expect(body).not.toContain('confirm@northwind.example')
    expect(await suppressionCount()).toBe(before)
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('the page’s own form unsubscribes, recorded as from the page', async () => {
    const token = await tokenFor('form@northwind.example')
    const res = await ctx.app.request(`/u/${token}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost:4321',
      },
      body: '',
    })
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'form@northwind.example')).toMatchObject({
      source: 'campaign camp-1, unsubscribe page',
    })
  })

  it('HEAD and OPTIONS change nothing', async () => {
    const token = await tokenFor('probe@northwind.example')
    const before = await suppressionCount()
    const head = await ctx.app.request(`/u/${token}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const options = await ctx.app.request(`/u/${token}`, { method: 'OPTIONS' })
    expect(options.status).toBe(204)
    expect(options.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS')
    expect(await suppressionCount()).toBe(before)
    expect(await findSuppression(db, 'probe@northwind.example')).toBeNull()
  })

  it('refuses other methods with 405 and changes nothing', async () => {
    const token = await tokenFor('put@northwind.example')
    const res = await ctx.app.request(`/u/${token}`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(await findSuppression(db, 'put@northwind.example')).toBeNull()
  })
})

describe('a tampered token', () => {
  it('gets one generic answer for every kind of wrong token, with no redirect and nothing suppressed', async () => {
    const token = await tokenFor('real@northwind.example')
    const flipped = token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a')
    const before = await suppressionCount()
    const bodies = new Set<string>()
    for (const bad of [
      flipped,
      token.slice(0, -1),
      `${token}x`,
      'AAAAAAAAAAAAAAAAAAAAAAAAAA',
      '%3Cscript%3E',
    ]) {
      for (const method of ['GET', 'POST']) {
        const res = await ctx.app.request(`/u/${bad}`, { method })
        expect(res.status).toBe(404)
        expect(res.headers.get('location')).toBeNull()
        const body = await res.text()
        expect(body).toContain('This unsubscribe link is not recognised')
        expect(body).not.toContain('<script>')
        bodies.add(body)
      }
    }
    expect(bodies.size).toBe(1)
    expect(await suppressionCount()).toBe(before)
  })

  it('points at the privacy address, not at a reply to mail that may come from a no-reply sender', async () => {
    const res = await ctx.app.request('/u/aaaaaaaaaaaaaaaaaaaaaaaaaa')
    expect(res.status).toBe(404)
    const body = await res.text()
    expect(body).toContain(
      `<a href="mailto:${SITE.email.privacy}">${SITE.email.privacy}</a> from the address you want`,
    )
    expect(body).not.toMatch(/reply/i)
  })
})

describe('what the database keeps', () => {
  it('holds no token that works as a link: only the mail has it', async () => {
    const token = await tokenFor('stored@northwind.example')
    const rows = await db.select().from(unsubscribeTokens)
    expect(rows.length).toBeGreaterThan(0)
    expect(JSON.stringify(rows)).not.toContain(token)
    for (const row of rows) {
      for (const value of Object.values(row)) {
        if (typeof value !== 'string') continue
        expect((await ctx.app.request(`/u/${value}`, { method: 'POST' })).status).toBe(404)
      }
    }
    const res = await ctx.app.request(`/u/${token}`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'stored@northwind.example')).not.toBeNull()
  })
})
