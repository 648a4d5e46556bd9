import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { deals, submissions } from '../../../api/db/schema.ts'
import { firstTouchCookie, firstTouchOf } from '../../../api/leads/first-touch.ts'
import { dealTouches, touchesOf, touchLine } from '../../../api/pipeline/timeline.ts'
import { ORIGIN, signedInAs } from '../../helpers.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'

// Issue 15, item 10: first touch was buried in the contact's submissions table. The deal page
// and the leads queue show first and latest touch; the contacts CSV carries them and the owner.

const ctx = await setupLeadApp()
const db = ctx.deps.db
const admin = await signedInAs(ctx, 'admin')

describe('touchesOf', () => {
  const at = (iso: string) => new Date(iso)
  it('first touch is the first-touch cookie of the earliest post that has one; latest is the newest post', () => {
    const touches = touchesOf([
      {
        at: at('2026-11-20T10:00:00Z'),
        utm: { utm_source: 'newsletter', utm_campaign: 'dec' },
        firstTouch: null,
        pageUrl: '/trial',
        referrer: null,
      },
      {
        at: at('2026-11-10T10:00:00Z'),
        utm: { utm_source: 'google', utm_medium: 'cpc' },
        firstTouch: {
          utm: { utm_source: 'linkedin', utm_medium: 'social', utm_campaign: 'q4' },
          landingPage: '/whitepapers/x',
          referrer: 'https://www.linkedin.com/feed',
          ts: '2026-11-01T09:00:00.000Z',
        },
        pageUrl: '/whitepapers/x',
        referrer: null,
      },
    ])
    expect(touches.first).toMatchObject({
      source: 'linkedin',
      medium: 'social',
      campaign: 'q4',
      page: '/whitepapers/x',
      at: at('2026-11-01T09:00:00Z'),
    })
    expect(touchLine(touches.first)).toBe('linkedin / social / q4')
    expect(touchLine(touches.latest)).toBe('newsletter / dec')
  })

  it('without cookie or tags says where they came from, or that nothing is known', () => {
    const only = touchesOf([
      {
        at: at('2026-11-10T10:00:00Z'),
        utm: null,
        firstTouch: null,
        pageUrl: '/trial',
        referrer: 'https://news.example/post',
      },
    ])
    expect(touchLine(only.first)).toBe('referred by news.example')
    expect(touchesOf([])).toEqual({ first: null, latest: null })
  })
})

describe('first touch of a real lead', () => {
  it('is on its deal and in the contacts CSV with the latest tags and the owner', async () => {
    const touch = firstTouchOf(
      new URL(`${ORIGIN}/whitepapers/x?utm_source=linkedin&utm_medium=social&utm_campaign=q4`),
      'https://www.linkedin.com/',
      new Date(ctx.clock.now().getTime() - 86_400_000),
    )!
    const res = await postLead(ctx, leadForm(ctx, { email: 'toucher@acme-robotics.com' }), {
      js: true,
      headers: { cookie: firstTouchCookie(touch, false).split(';')[0]! },
    })
    expect(res.status).toBe(201)
    const [sub] = await db
      .select()
      .from(submissions)
      .where(eq(submissions.email, 'toucher@acme-robotics.com'))
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, sub!.contactId!))
    const touches = (await dealTouches(db, [deal!.id])).get(deal!.id)!
    expect(touchLine(touches.first)).toBe('linkedin / social / q4')
    // The form's own tags (lead-helpers: utm_source=linkedin, utm_campaign=q4).
    expect(touchLine(touches.latest)).toBe('linkedin / q4')

    await db.update(deals).set({ ownerId: admin.user.id }).where(eq(deals.id, deal!.id))
    const csv = await ctx.app.request('/api/contacts/export.csv', {
      headers: { cookie: admin.cookie },
    })
    expect(csv.status).toBe(200)
    const lines = (await csv.text())
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n')
    const header = lines[0]!.split(',').map((h) => h.replace(/"/g, ''))
    expect(header).toEqual(
      expect.arrayContaining([
        'owner',
        'first_touch_source',
        'first_touch_medium',
        'first_touch_campaign',
        'utm_source',
        'utm_campaign',
      ]),
    )
    const row = lines.find((l) => l.includes('toucher@acme-robotics.com'))!
    const cells = row.slice(1, -1).split('","')
    const cell = (name: string) => cells[header.indexOf(name)]
    expect(cell('owner')).toBe(admin.user.name)
    expect(cell('first_touch_source')).toBe('linkedin')
    expect(cell('first_touch_medium')).toBe('social')
    expect(cell('first_touch_campaign')).toBe('q4')
    expect(cell('utm_source')).toBe('linkedin')
    expect(cell('utm_campaign')).toBe('q4')
  })
})
