import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, outbox } from '../../../api/db/schema.ts'
import {
  difference,
  downloadTokenOf,
  leadForm,
  postLead,
  rowCounts,
  setupLeadApp,
} from './lead-helpers.ts'

const ctx = await setupLeadApp()
const { db } = ctx.deps

describe('the idempotency key: a double-click never makes two leads or two emails', () => {
  it('answers the same key twice in a row with the first answer, writing nothing the second time', async () => {
    const post = leadForm(ctx, { email: 'twice@umbrella.example' })
    const first = await postLead(ctx, post)
    const afterFirst = await rowCounts(ctx)
    const second = await postLead(ctx, post)
    expect(first.status).toBe(303)
    expect(second.status).toBe(303)
    expect(second.headers.get('location')).toBe(first.headers.get('location'))
    expect(downloadTokenOf(second)).toBe(downloadTokenOf(first))
    expect(downloadTokenOf(first)).toMatch(/^[a-z2-7]{32}$/)
    expect(difference(await rowCounts(ctx), afterFirst)).toEqual({})
    // The enhanced form retrying after a lost connection gets the same answer as JSON.
    const third = await postLead(ctx, post, { js: true })
    expect(third.status).toBe(201)
    expect(await third.json()).toEqual({ ok: true, redirect: first.headers.get('location') })
    expect(difference(await rowCounts(ctx), afterFirst)).toEqual({})
  })

  it('makes one lead and one email from the same post sent eight times at once', async () => {
    const post = leadForm(ctx, { email: 'stampede@stampede-corp.example' })
    const before = await rowCounts(ctx)
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => postLead(ctx, post, { js: true })),
    )
    const bodies = await Promise.all(answers.map((r) => r.json()))
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(201))
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1)
    expect(new Set(answers.map(downloadTokenOf)).size).toBe(1)
    expect(difference(await rowCounts(ctx), before)).toEqual({
      contacts: 1,
      companies: 1,
      submissions: 1,
      consent_events: 1,
      deals: 1,
      deal_events: 2,
      download_tokens: 1,
      outbox: 1,
      idempotency_keys: 1,
    })
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'stampede@stampede-corp.example'))
    expect(contact).toBeTruthy()
    expect(
      await db.select().from(outbox).where(eq(outbox.recipient, 'stampede@stampede-corp.example')),
    ).toHaveLength(1)
  })

  it('refuses the same key with a different body with 422, and writes nothing', async () => {
    const post = leadForm(ctx, { email: 'original@umbrella.example' })
    await postLead(ctx, post)
    const before = await rowCounts(ctx)
    const changed = { ...post, email: 'changed@umbrella.example' }
    const json = await postLead(ctx, changed, { js: true })
    expect(json.status).toBe(422)
    expect((await json.json()).error.code).toBe('idempotency_conflict')
    const page = await postLead(ctx, changed)
    expect(page.status).toBe(422)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain('This form was already sent')
    expect(difference(await rowCounts(ctx), before)).toEqual({})
    expect(
      await db.select().from(contacts).where(eq(contacts.email, 'changed@umbrella.example')),
    ).toHaveLength(0)
  })

  it('gives a quarantined post its own answer again, too', async () => {
    const post = leadForm(ctx, { email: 'bot@umbrella.example', fax: 'spam' })
    const first = await postLead(ctx, post)
    const before = await rowCounts(ctx)
    const second = await postLead(ctx, post)
    expect(second.headers.get('location')).toBe(first.headers.get('location'))
    expect(difference(await rowCounts(ctx), before)).toEqual({})
  })

  it('treats a post without a key as a new request each time (API clients may leave it out)', async () => {
    const { idempotencyKey: _key, ...post } = leadForm(ctx, { email: 'nokey@umbrella.example' })
    const before = await rowCounts(ctx)
    await postLead(ctx, post)
    await postLead(ctx, post)
    const diff = difference(await rowCounts(ctx), before)
    expect(diff.submissions).toBe(2)
    expect(diff.contacts).toBe(1)
    expect(diff.deals).toBe(1)
    expect(diff.idempotency_keys).toBeUndefined()
  })
})
