import { eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, deals, submissions } from '../../../api/db/schema.ts'
import { form, json, ORIGIN, signedInAs, unsigned } from '../../helpers.ts'
import { leadForm, postLead, setupLeadApp } from './lead-helpers.ts'

// Issue 15, item 5 (the admin side): discard quarantined posts, one or many, and release many.

const ctx = await setupLeadApp()
const { db } = ctx.deps
const admin = await signedInAs(ctx, 'admin')

async function quarantine(email: string) {
  await postLead(ctx, leadForm(ctx, { email, fax: 'filled by autofill' }))
  const [row] = await db.select().from(submissions).where(eq(submissions.email, email))
  expect(row!.status).toBe('quarantined')
  return row!.id
}

const statusOf = async (ids: string[]) =>
  Object.fromEntries(
    (await db.select().from(submissions).where(inArray(submissions.id, ids))).map((r) => [
      r.id,
      r.status,
    ]),
  )

describe('discarding quarantined posts', () => {
  it('one: the post is gone, nothing else is written; twice is a 404; reps may not', async () => {
    const id = await quarantine('bot-one@spam.example')
    const rep = await signedInAs(ctx, 'rep')
    const refused = await ctx.app.request(`/api/submissions/${id}/discard`, {
      method: 'POST',
      headers: { cookie: rep.cookie, origin: ORIGIN },
    })
    expect(refused.status).toBe(403)
    const res = await ctx.app.request(`/api/submissions/${id}/discard`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    expect(res.status).toBe(303)
    expect(unsigned(res.headers.get('location'))).toBe('/app/admin/quarantine?notice=Discarded.')
    expect(await statusOf([id])).toEqual({})
    expect(
      await db.select().from(contacts).where(eq(contacts.email, 'bot-one@spam.example')),
    ).toEqual([])
    const again = await ctx.app.request(`/api/submissions/${id}/discard`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(again.status).toBe(404)
  })

  it('in bulk from the page’s checkboxes, leaving unticked and released posts alone', async () => {
    const a = await quarantine('bot-a@spam.example')
    const b = await quarantine('bot-b@spam.example')
    const keep = await quarantine('keep@spam.example')
    const res = await ctx.app.request(
      '/api/submissions/bulk',
      form(
        { action: 'discard', [`select.${a}`]: 'on', [`select.${b}`]: 'on' },
        { cookie: admin.cookie },
      ),
    )
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!, ORIGIN).searchParams.get('notice')).toBe(
      'Discarded 2 of 2.',
    )
    expect(await statusOf([a, b, keep])).toEqual({ [keep]: 'quarantined' })
  })

  it('refuses a bulk action with nothing selected or an unknown action, with a message', async () => {
    const none = await ctx.app.request(
      '/api/submissions/bulk',
      form({ action: 'discard' }, { cookie: admin.cookie }),
    )
    expect(none.status).toBe(303)
    expect(new URL(none.headers.get('location')!, ORIGIN).searchParams.get('error')).toContain(
      'Select at least one',
    )
    const bad = await ctx.app.request(
      '/api/submissions/bulk',
      json(
        { action: 'explode', ids: ['01900000-0000-7000-8000-000000000001'] },
        { cookie: admin.cookie, origin: ORIGIN },
      ),
    )
    expect(bad.status).toBe(422)
  })
})

describe('releasing quarantined posts in bulk', () => {
  it('releases each as the lead it would have been; one no longer in quarantine is skipped', async () => {
    const one = await quarantine('person-one@falsepositive.example')
    const two = await quarantine('person-two@falsepositive.example')
    // Released by another admin meanwhile.
    await ctx.app.request(`/api/submissions/${two}/release`, {
      method: 'POST',
      headers: { cookie: admin.cookie, origin: ORIGIN },
    })
    const res = await ctx.app.request(
      '/api/submissions/bulk',
      json({ action: 'release', ids: [one, two] }, { cookie: admin.cookie, origin: ORIGIN }),
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      released: 1,
      skipped: [{ id: two, code: 'not_quarantined' }],
    })
    expect(await statusOf([one, two])).toEqual({ [one]: 'released', [two]: 'released' })
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'person-one@falsepositive.example'))
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact!.id))
    expect(deal!.stage).toBe('target')
  })
})
