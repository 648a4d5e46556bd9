import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { ORIGIN } from '../../helpers.ts'
import { encodeForm, freshIp, leadForm, postLead, rowCounts, setupLeadApp } from './lead-helpers.ts'

const ctx = await setupLeadApp()

/** Every table lead capture writes to, plus the rate-limit counters: nothing may change. */
async function everything() {
  const rateLimits = await ctx.deps.db.execute(sql`select count(*)::int as n from rate_limit_hits`)
  return {
    ...(await rowCounts(ctx)),
    rate_limit_hits: (rateLimits as unknown as { rows: Array<{ n: number }> }).rows[0]!.n,
  }
}

describe('bad input is refused with a 4xx and writes nothing', () => {
  it.each([
    ['a missing email', { email: '' }, 'email', 'Enter your work email address.'],
    [
      'a malformed email',
      { email: 'dana@' },
      'email',
      'Enter an email address like name@company.com.',
    ],
    ['a required field left out (company)', { company: '' }, 'company', 'Enter your company name.'],
    ['a 10 KB name', { name: 'N'.repeat(10_240) }, 'name', 'Keep this under 120 characters.'],
    [
      'an unknown offer',
      { offer: 'whitepaper:no-such-paper' },
      'offer',
      'This form is not available any more. Please reload the page.',
    ],
    [
      'a field the form does not have',
      { website: 'x' },
      'website',
      'This form does not have this field.',
    ],
    [
      'a company size that is not on the list',
      { offer: 'trial', companySize: 'huge', message: '' },
      'companySize',
      'Choose your company size.',
    ],
  ])('%s → 422 with the field named (enhanced form)', async (_what, change, field, message) => {
    const before = await everything()
    const res = await postLead(ctx, leadForm(ctx, change as Record<string, string>), { js: true })
    expect(res.status).toBe(422)
    const body = await res.json()
    expect(body.error.code).toBe('invalid_input')
    expect(body.error.fields[field]).toBe(message)
    expect(await everything()).toEqual(before)
  })

  it('shows a browser without JavaScript the form again, with its errors and what was typed', async () => {
    const before = await everything()
    const post = leadForm(ctx, { email: 'dana@', name: 'Dana <Lee>', company: '' })
    const res = await postLead(ctx, post)
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    const page = await res.text()
    expect(page).toContain('<a href="#email">Enter an email address like name@company.com.</a>')
    expect(page).toContain('<a href="#company">Enter your company name.</a>')
    expect(page).toMatch(
      /id="email"[^>]*value="dana@"[^>]*aria-invalid="true" aria-describedby="email-error"/,
    )
    expect(page).toContain('value="Dana &lt;Lee&gt;"') // kept and escaped
    expect(page).toContain(`name="idempotencyKey" value="${post.idempotencyKey}"`)
    expect(page).toContain(`name="formToken" value="${post.formToken}"`)
    expect(page).toMatch(/name="consent"\s+type="checkbox"\s+value="yes"\s+checked/)
    expect(await everything()).toEqual(before)
    // Corrected on that page and sent again with the same key: accepted.
    const fixed = await postLead(ctx, { ...post, email: 'dana@acme.example', company: 'Acme' })
    expect(fixed.status).toBe(303)
  })

  it('invalid UTF-8 → 400', async () => {
    const before = await everything()
    const percent = await postLead(
      ctx,
      `${encodeForm(leadForm(ctx))}&name=%FF%FE`.replace(/(^|&)name=[^&]*&/, '$1'),
    )
    expect(percent.status).toBe(400)
    const raw = new Uint8Array([
      ...new TextEncoder().encode('email=a%40b.example&name='),
      0xc3,
      0x28,
    ])
    const bytes = await ctx.app.request('/api/leads', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: ORIGIN,
        'x-forwarded-for': freshIp(),
      },
      body: raw,
    })
    expect(bytes.status).toBe(400)
    expect(await everything()).toEqual(before)
  })

  it('JSON where a form is expected → 415', async () => {
    const before = await everything()
    const res = await ctx.app.request('/api/leads', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN },
      body: JSON.stringify(leadForm(ctx)),
    })
    expect(res.status).toBe(415)
    expect(await everything()).toEqual(before)
  })

  it('a 2 MB body → 413', async () => {
    const before = await everything()
    const res = await postLead(ctx, { ...leadForm(ctx), message: 'x'.repeat(2 * 1024 * 1024) })
    expect(res.status).toBe(413)
    expect(await everything()).toEqual(before)
  })

  it('a form posted from another site → 403', async () => {
    const before = await everything()
    const res = await postLead(ctx, leadForm(ctx), { headers: { origin: 'https://evil.example' } })
    expect(res.status).toBe(403)
    expect(await everything()).toEqual(before)
  })

  it('a repeated field → 400', async () => {
    const before = await everything()
    const res = await postLead(ctx, `${encodeForm(leadForm(ctx))}&email=other%40x.example`)
    expect(res.status).toBe(400)
    expect(await everything()).toEqual(before)
  })
})
