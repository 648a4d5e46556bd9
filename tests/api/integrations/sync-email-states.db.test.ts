import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, submissions, webhookEvents } from '../../../api/db/schema.ts'
import { suppress } from '../../../api/email/suppressions.ts'
import { issueUnsubscribeToken } from '../../../api/email/unsubscribe.ts'
import { SYNC_SETTLE_MS } from '../../../api/integrations/sync.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import {
  syncedContactSchema,
  syncedDealSchema,
  syncedLeadSchema,
} from '../../../api/routes/sync.ts'
import { json, ORIGIN, signedInAs } from '../../helpers.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'

// What a CRM keeping a copy by polling /api/sync must learn: a person who may no longer be
// mailed (and why, since when) and a person erased, each as a change after its cursor; and
// nothing of the spam trap. Every list paged by cursor refuses a bad one alike, and a route an
// API token may use asks for one as RFC 6750 says.

const ctx = await setupLeadApp()
const admin = await signedInAs(ctx, 'admin')
const made = await ctx.app.request(
  '/api/admin/api-tokens',
  json(
    { name: 'crm', scopes: ['leads:read', 'deals:read', 'webhooks:manage'] },
    { cookie: admin.cookie, origin: ORIGIN },
  ),
)
const { token } = (await made.json()) as { token: string }
const get = (path: string) =>
  ctx.app.request(path, { headers: { authorization: `Bearer ${token}` } })

type Contact = {
  id: string
  email: string
  firstName: string | null
  erasedAt: string | null
  doNotEmail: { reason: string; since: string } | null
}
type Page<T> = { data: T[]; nextCursor: string | null; hasMore: boolean }

/** Every change after `cursor`, read once the changes settled; and the cursor to keep. */
async function changesAfter<T>(list: string, cursor: string | null) {
  ctx.clock.advance(SYNC_SETTLE_MS + 1000)
  const res = await get(`/api/sync/${list}?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
  expect(res.status).toBe(200)
  return (await res.json()) as Page<T>
}

async function newContact(email: string) {
  expect((await postLead(ctx, leadForm(ctx, { email, name: 'Pat Poll' }))).status).toBe(303)
  const [row] = await ctx.deps.db.select().from(contacts).where(eq(contacts.email, email))
  return row!
}

const adminPost = (path: string, body: unknown) =>
  ctx.app.request(path, json(body, { cookie: admin.cookie, origin: ORIGIN }))

describe('a contact who may no longer be mailed', () => {
  it('comes again after the cursor when they unsubscribe with one click, saying why and since when', async () => {
    const contact = await newContact('one.click@acme-robotics.com')
    const before = await changesAfter<Contact>('contacts', null)
    expect(before.data.find((c) => c.id === contact.id)?.doNotEmail).toBeNull()

    const unsubscribedAt = ctx.clock.now()
    const unsubscribe = await ctx.app.request(
      `/u/${await issueUnsubscribeToken(ctx.deps.db, contact.email)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      },
    )
    expect(unsubscribe.status).toBe(200)
    const after = await changesAfter<Contact>('contacts', before.nextCursor)
    expect(after.data.map((c) => [c.id, c.doNotEmail])).toEqual([
      [contact.id, { reason: 'unsubscribed', since: unsubscribedAt.toISOString() }],
    ])
  })

  it('comes again when the unsubscribe page is used', async () => {
    const contact = await newContact('by.page@acme-robotics.com')
    const before = await changesAfter<Contact>('contacts', null)
    const token = await issueUnsubscribeToken(ctx.deps.db, contact.email)
    const res = await ctx.app.request(`/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: '',
    })
    expect(res.status).toBeLessThan(400)
    const after = await changesAfter<Contact>('contacts', before.nextCursor)
    expect(after.data.map((c) => [c.id, c.doNotEmail?.reason])).toEqual([
      [contact.id, 'unsubscribed'],
    ])
  })

  it('comes again when their mailbox bounces (as the outbox records it)', async () => {
    const contact = await newContact('bounced@acme-robotics.com')
    const before = await changesAfter<Contact>('contacts', null)
    await ctx.deps.db.transaction((tx) =>
      suppress(
        tx,
        { email: contact.email, reason: 'hard_bounce', source: 'smtp 550' },
        ctx.clock.now(),
      ),
    )
    const after = await changesAfter<Contact>('contacts', before.nextCursor)
    expect(after.data.map((c) => [c.id, c.doNotEmail?.reason])).toEqual([[contact.id, 'bounced']])
  })

  it('comes again on a bounce without the bounce counting as their activity, and again on a later edit', async () => {
    const contact = await newContact('bounced.then.posted@acme-robotics.com')
    const before = await changesAfter<Contact>('contacts', null)
    const posted = ctx.clock.now()
    // The bounce is stamped a minute on, and handed out: its position is ahead of the clock.
    const bouncedAt = new Date(posted.getTime() + 60_000)
    await suppress(ctx.deps.db, { email: contact.email, reason: 'hard_bounce' }, bouncedAt)
    ctx.clock.set(bouncedAt)
    const bounced = await changesAfter<Contact>('contacts', before.nextCursor)
    expect(bounced.data.map((c) => c.id)).toEqual([contact.id])
    // The retention job's last activity (updated_at) stays the person's own.
    const [row] = await ctx.deps.db.select().from(contacts).where(eq(contacts.id, contact.id))
    expect(row!.updatedAt).toEqual(contact.updatedAt)

    // A form post whose `now` was taken before the bounce's still moves them past that cursor.
    const resume = ctx.clock.now()
    ctx.clock.set(new Date(posted.getTime() + 30_000))
    expect(
      (await postLead(ctx, leadForm(ctx, { email: contact.email, name: 'Pat Later' }))).status,
    ).toBe(303)
    ctx.clock.set(resume)
    const edited = await changesAfter<Contact>('contacts', bounced.nextCursor)
    expect(edited.data.map((c) => [c.id, c.firstName])).toEqual([[contact.id, 'Pat']])
  })

  it('comes again when an admin adds them, and again when the admin removes them', async () => {
    const contact = await newContact('by.hand@acme-robotics.com')
    const start = await changesAfter<Contact>('contacts', null)
    expect(
      (await adminPost('/api/admin/email/suppressions', { email: contact.email })).status,
    ).toBe(201)
    const added = await changesAfter<Contact>('contacts', start.nextCursor)
    expect(added.data.map((c) => [c.id, c.doNotEmail?.reason])).toEqual([[contact.id, 'admin']])

    expect(
      (await adminPost('/api/admin/email/suppressions/remove', { email: contact.email })).status,
    ).toBe(200)
    const removed = await changesAfter<Contact>('contacts', added.nextCursor)
    expect(removed.data.map((c) => [c.id, c.doNotEmail])).toEqual([[contact.id, null]])
  })
})

describe('an erased contact', () => {
  it('comes again marked erased, and their leads are gone from the leads list', async () => {
    const contact = await newContact('erase.me@acme-robotics.com')
    const leads = await changesAfter<{ id: string; contactId: string }>('leads', null)
    expect(leads.data.filter((l) => l.contactId === contact.id)).toHaveLength(1)
    const before = await changesAfter<Contact>('contacts', null)

    const erasedAt = ctx.clock.now()
    const res = await adminPost(`/api/contacts/${contact.id}/erase`, { confirm: contact.email })
    expect(res.status).toBe(200)
    const after = await changesAfter<Contact>('contacts', before.nextCursor)
    expect(after.data).toEqual([
      expect.objectContaining({
        id: contact.id,
        erasedAt: erasedAt.toISOString(),
        firstName: null,
        doNotEmail: null,
      }),
    ])
    // As the README says: a contact marked erased takes its leads with it.
    const all = await changesAfter<{ contactId: string }>('leads', null)
    expect(all.data.filter((l) => l.contactId === contact.id)).toEqual([])
  })
})

describe('a lead whose spam trap was filled, then released', () => {
  it('never carries the trap’s value to the sync list, its webhook or its deal', async () => {
    const email = 'trapped@acme-robotics.com'
    await postLead(ctx, leadForm(ctx, { email, fax: 'trap-value-1234' }))
    const [held] = await ctx.deps.db.select().from(submissions).where(eq(submissions.email, email))
    expect(held!.status).toBe('quarantined')
    const release = await ctx.app.request(`/api/submissions/${held!.id}/release`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(release.status).toBe(200)
    const { released } = (await release.json()) as { released: { dealId: string } }
    const dealId = released.dealId

    const leads = await changesAfter<{ id: string; fields: Record<string, unknown> }>('leads', null)
    const lead = leads.data.find((l) => l.id === held!.id)
    expect(lead?.fields).toMatchObject({ name: 'Dana Lee' })
    expect(JSON.stringify(lead)).not.toContain('trap-value-1234')
    const events = await ctx.deps.db.select().from(webhookEvents)
    expect(events.some((e) => e.type === 'lead.captured')).toBe(true)
    expect(JSON.stringify(events)).not.toContain('trap-value-1234')
    const deal = await get(`/api/deals/${dealId}`)
    expect(deal.status).toBe(200)
    expect(await deal.text()).not.toContain('trap-value-1234')
  })
})

describe('a cursor not given out', () => {
  it('is the same 400 invalid_cursor on the sync lists and the webhook delivery log', async () => {
    const subscription = await createSubscription(
      ctx.deps.db,
      { url: 'https://crm.example/hooks', events: ['deal.won'], createdBy: admin.user.id },
      ctx.deps.now(),
    )
    for (const path of [
      '/api/sync/contacts?cursor=bogus',
      `/api/sync/leads?cursor=${'A'.repeat(400)}`,
      `/api/admin/webhooks/${subscription.id}/deliveries?cursor=bogus`,
      `/api/admin/webhooks/${subscription.id}/deliveries?cursor=${'A'.repeat(400)}`,
    ]) {
      const res = await get(path)
      expect([path, res.status]).toEqual([path, 400])
      expect(await res.json()).toMatchObject({
        error: { code: 'invalid_cursor', fields: { cursor: expect.any(String) } },
      })
    }
    // Other bad input stays a 422.
    expect((await get(`/api/admin/webhooks/${subscription.id}/deliveries?status=x`)).status).toBe(
      422,
    )
  })
})

describe('a request without credentials', () => {
  it('is challenged for a bearer token on a route a token may use', async () => {
    const res = await ctx.app.request('/api/sync/deals')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(await res.json()).toMatchObject({
      error: { code: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') },
    })
  })

  it('is asked to sign in on a route only people use, with no bearer challenge', async () => {
    const res = await ctx.app.request('/api/admin/api-tokens')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBeNull()
    expect(await res.json()).toMatchObject({ error: { message: 'Sign in first.' } })
  })
})

describe('what the lists hand out', () => {
  it('is what the OpenAPI document describes, field by field', async () => {
    const lists = [
      ['deals', syncedDealSchema],
      ['contacts', syncedContactSchema],
      ['leads', syncedLeadSchema],
    ] as const
    for (const [list, schema] of lists) {
      const page = await changesAfter<unknown>(list, null)
      expect(page.data.length, list).toBeGreaterThan(0)
      for (const item of page.data) expect(schema.safeParse(item).error, list).toBeUndefined()
    }
    const doc = (await (await ctx.app.request('/api/openapi.json')).json()) as {
      paths: Record<string, { get: { responses: Record<string, unknown> } }>
    }
    const answer = JSON.stringify(doc.paths['/api/sync/contacts']!.get.responses['200'])
    for (const field of ['doNotEmail', 'erasedAt', 'complained']) expect(answer).toContain(field)
  })
})
