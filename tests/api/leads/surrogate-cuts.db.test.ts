import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { submissions } from '../../../api/db/schema.ts'
import {
  FIRST_TOUCH_COOKIE,
  firstTouchCookie,
  firstTouchOf,
} from '../../../api/leads/first-touch.ts'
import { leadForm, postLead, setupLeadApp } from './lead-helpers.ts'

// Values the server cuts to size (hidden attribution fields, the honeypot, the first-touch
// cookie's UTM values) must be cut by code point: a cut through an emoji left a lone surrogate,
// which neither database engine stores in jsonb, and the post became a 500 that lost the lead.

const ctx = await setupLeadApp()
const { db } = ctx.deps

/** 199 letters then an emoji: a cut at 200 UTF-16 units falls between its two halves. */
const straddling = `${'a'.repeat(199)}😀 and more`

let posts = 0
/** The lead form from an address of its own, so each test finds its own submission. */
function form(fields: Record<string, string> = {}) {
  posts++
  return leadForm(ctx, { email: `dana.lee+${posts}@acme-robotics.com`, ...fields })
}

async function submissionOf(res: Response) {
  expect(res.status).toBe(201)
  const rows = await db
    .select()
    .from(submissions)
    .where(eq(submissions.email, `dana.lee+${posts}@acme-robotics.com`))
  expect(rows).toHaveLength(1)
  return rows[0]!
}

describe('values cut to size keep whole characters', () => {
  it('a UTM field cut through an emoji is kept, without the half', async () => {
    const res = await postLead(ctx, form({ utm_source: straddling }), { js: true })
    const row = await submissionOf(res)
    expect(row.status).toBe('accepted')
    expect((row.utm as Record<string, string>).utm_source).toBe('a'.repeat(199))
  })

  it('a honeypot cut through an emoji is quarantined, not a 500', async () => {
    const res = await postLead(ctx, form({ fax: straddling }), { js: true })
    const row = await submissionOf(res)
    expect(row.status).toBe('quarantined')
    expect((row.fields as Record<string, string>).honeypot).toBe('a'.repeat(199))
  })

  it('a first-touch cookie from a landing URL with a long emoji campaign does not break the form', async () => {
    const landing = new URL(`https://site.example/?utm_campaign=${encodeURIComponent(straddling)}`)
    const touch = firstTouchOf(landing, null, ctx.clock.now())!
    expect(touch.utm.utm_campaign).toBe('a'.repeat(199))
    const cookie = firstTouchCookie(touch, true).split(';')[0]!
    const res = await postLead(ctx, form(), { js: true, headers: { cookie } })
    const row = await submissionOf(res)
    expect((row.firstTouch as { utm: Record<string, string> }).utm.utm_campaign).toBe(
      'a'.repeat(199),
    )
  })

  it('a first-touch cookie written before the fix (holding a lone surrogate) is mended', async () => {
    const touch = {
      utm: { utm_campaign: `${'a'.repeat(199)}\ud83d` },
      landingPage: '/',
      referrer: null,
      ts: ctx.clock.now().toISOString(),
    }
    const cookie = `${FIRST_TOUCH_COOKIE}=${encodeURIComponent(JSON.stringify(touch))}`
    const res = await postLead(ctx, form(), { js: true, headers: { cookie } })
    const row = await submissionOf(res)
    expect((row.firstTouch as { utm: Record<string, string> }).utm.utm_campaign).toBe(
      `${'a'.repeat(199)}\ufffd`,
    )
  })
})
