import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { submissions } from '../../../api/db/schema.ts'
import { firstTouchCookie } from '../../../api/leads/first-touch.ts'
import {
  CASE_STUDY,
  downloadTokenOf,
  leadForm,
  postLead,
  setupLeadApp,
} from '../leads/lead-helpers.ts'

const ctx = await setupLeadApp()
const { db } = ctx.deps

const submissionOf = async (email: string) =>
  (await db.select().from(submissions).where(eq(submissions.email, email)))[0]!

describe('POST /api/leads', () => {
  it('sends a browser without JavaScript to the thank-you page with a 303', async () => {
    const res = await postLead(ctx, leadForm(ctx, { email: 'plain@form.example' }))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(
      '/thanks?offer=whitepaper%3Amid-market-pipeline-benchmark-2026',
    )
    expect(downloadTokenOf(res)).toMatch(/^[a-z2-7]{32}$/)
  })

  it('answers the enhanced form with JSON it can follow', async () => {
    const res = await postLead(
      ctx,
      leadForm(ctx, { email: 'enhanced@form.example', offer: CASE_STUDY }),
      { js: true },
    )
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toContain('application/json')
    const body = await res.json()
    expect(body.ok).toBe(true)
    expect(body.redirect).toBe('/thanks?offer=case-study%3Afieldstack-forecast-accuracy')
    expect(downloadTokenOf(res)).toMatch(/^[a-z2-7]{32}$/)
    expect((await submissionOf('enhanced@form.example')).kind).toBe('case_study')
  })

  it('stores the first-touch cookie with the submission, and the form’s own UTM as the last touch', async () => {
    const touch = {
      utm: { utm_source: 'google', utm_medium: 'cpc' },
      landingPage: '/',
      referrer: 'https://www.google.com/',
      ts: '2026-10-01T08:00:00.000Z',
    }
    const cookie = firstTouchCookie(touch, false).split(';')[0]!
    await postLead(ctx, leadForm(ctx, { email: 'touched@form.example' }), { headers: { cookie } })
    const row = await submissionOf('touched@form.example')
    expect(row.firstTouch).toEqual(touch)
    expect(row.utm).toEqual({ utm_source: 'linkedin', utm_campaign: 'q4' })
  })

  it('ignores a first-touch cookie it did not write', async () => {
    await postLead(ctx, leadForm(ctx, { email: 'forged@form.example' }), {
      headers: { cookie: 'fd_ft=%7B%22utm%22%3A1%7D' },
    })
    expect((await submissionOf('forged@form.example')).firstTouch).toBeNull()
  })

  it('does not expose the API’s pages to caches or other sites', async () => {
    const res = await postLead(ctx, leadForm(ctx, { email: '' }))
    expect(res.status).toBe(422)
    expect(res.headers.get('cache-control')).toBe('private, no-store')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self'")
  })
})
