import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { consentTextHash, CONSENT_TEXT } from '../../../api/leads/consent.ts'
import {
  companies,
  consentEvents,
  contacts,
  dealEvents,
  deals,
  downloadTokens,
  outbox,
  rateLimitHits,
  submissions,
} from '../../../api/db/schema.ts'
import { issueFormToken } from '../../../api/leads/form-tokens.ts'
import {
  CASE_STUDY,
  difference,
  downloadTokenOf,
  leadForm,
  OTHER_WHITEPAPER,
  postLead,
  rowCounts,
  setupLeadApp,
} from './lead-helpers.ts'

const ctx = await setupLeadApp({ LEADS_PER_IP_PER_HOUR: '5' })
const { db } = ctx.deps

async function statusOf(email: string) {
  const [row] = await db.select().from(submissions).where(eq(submissions.email, email))
  return row?.status
}

async function contactByEmail(email: string) {
  const [row] = await db.select().from(contacts).where(eq(contacts.email, email))
  return row
}

describe('a clean lead form post', () => {
  it('writes exactly the contact, company, submission, consent, deal at 10% with evidence, download link and outbox email', async () => {
    const before = await rowCounts(ctx)
    const res = await postLead(ctx, leadForm(ctx))
    expect(res.status).toBe(303)
    const location = res.headers.get('location')!
    expect(location).toBe('/thanks?offer=whitepaper%3Amid-market-pipeline-benchmark-2026')
    expect(downloadTokenOf(res)).toMatch(/^[a-z2-7]{32}$/)

    expect(difference(await rowCounts(ctx), before)).toEqual({
      contacts: 1,
      companies: 1,
      submissions: 1,
      consent_events: 1,
      deals: 1,
      deal_events: 2, // created + evidence
      download_tokens: 1,
      outbox: 1,
      idempotency_keys: 1,
    })

    const contact = (await contactByEmail('dana.lee@acme-robotics.com'))!
    expect(contact).toMatchObject({
      emailDisplay: 'dana.lee@acme-robotics.com',
      firstName: 'Dana',
      lastName: 'Lee',
      companyName: 'Acme Robotics',
      source: 'inbound',
    })
    const [company] = await db.select().from(companies).where(eq(companies.id, contact.companyId!))
    expect(company).toMatchObject({ domain: 'acme-robotics.com', name: 'Acme Robotics' })

    const [submission] = await db
      .select()
      .from(submissions)
      .where(eq(submissions.contactId, contact.id))
    expect(submission).toMatchObject({
      kind: 'whitepaper',
      offer: 'whitepaper:mid-market-pipeline-benchmark-2026',
      status: 'accepted',
      spamReasons: null,
      utm: { utm_source: 'linkedin', utm_campaign: 'q4' },
      referrer: 'https://www.linkedin.com/',
      userAgent: 'Mozilla/5.0 (test)',
    })
    expect(submission!.pageUrl).toContain('/whitepapers/mid-market-pipeline-benchmark-2026')
    expect(submission!.ip).toMatch(/^10\./)

    const [consent] = await db
      .select()
      .from(consentEvents)
      .where(eq(consentEvents.contactId, contact.id))
    expect(consent).toMatchObject({
      purpose: 'marketing',
      granted: true,
      method: 'checkbox',
      textVersion: CONSENT_TEXT.version,
      textHash: consentTextHash(CONSENT_TEXT),
      submissionId: submission!.id,
      userAgent: 'Mozilla/5.0 (test)',
    })
    expect(consent!.ip).toBe(submission!.ip)

    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact.id))
    expect(deal).toMatchObject({
      stage: 'target',
      source: 'inbound',
      ownerId: null,
      companyId: company!.id,
      title: 'Acme Robotics',
    })
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal!.id))
    expect(events.map((e) => e.type).sort()).toEqual(['created', 'evidence'])
    const evidence = events.find((e) => e.type === 'evidence')!.data as Record<string, unknown>
    expect(evidence).toMatchObject({
      source: 'inbound',
      kind: 'form',
      form: 'whitepaper',
      offer: 'whitepaper:mid-market-pipeline-benchmark-2026',
      title: 'The 2026 Mid-Market Pipeline Benchmark',
      submissionId: submission!.id,
      utm: { utm_source: 'linkedin', utm_campaign: 'q4' },
    })

    const [token] = await db
      .select()
      .from(downloadTokens)
      .where(eq(downloadTokens.contactId, contact.id))
    expect(token!.file).toBe('demo-mid-market-pipeline-benchmark-2026.pdf')
    expect(token!.expiresAt.getTime() - ctx.clock.now().getTime()).toBe(7 * 86_400_000)
    const dl = downloadTokenOf(res)!
    expect(token!.tokenHash).not.toContain(dl) // only the hash is stored

    const [mail] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, 'dana.lee@acme-robotics.com'))
    const payload = mail!.payload as {
      template: string
      subject: string
      text: string
      to: { address: string; name?: string }
    }
    expect(mail).toMatchObject({ kind: 'email', category: 'transactional', status: 'pending' })
    expect(payload.template).toBe('asset-delivery')
    expect(payload.to).toEqual({ name: 'Dana Lee', address: 'dana.lee@acme-robotics.com' })
    expect(payload.subject).toContain('The 2026 Mid-Market Pipeline Benchmark')
    expect(payload.text).toContain(`http://localhost:4321/d/${dl}`)
  })

  it('merges case and Unicode variants of one address into one contact, keeping the first display form', async () => {
    await postLead(
      ctx,
      leadForm(ctx, {
        email: 'Zoë.Müller@Bücher-Haus.de',
        name: 'Zoë Müller',
        company: 'Bücher Haus',
      }),
    )
    // "Zoe" + combining diaeresis (NFD), other case, IDN domain typed in punycode, spaces around.
    await postLead(
      ctx,
      leadForm(ctx, {
        email: '  ZOE\u0308.MÜLLER@xn--bcher-haus-9db.de ',
        name: 'Zoë Müller',
        company: 'Bücher Haus',
        offer: OTHER_WHITEPAPER,
      }),
    )
    const rows = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'zoë.müller@xn--bcher-haus-9db.de'))
    expect(rows).toHaveLength(1)
    expect(rows[0]!.emailDisplay).toBe('Zoë.Müller@Bücher-Haus.de')
    const subs = await db.select().from(submissions).where(eq(submissions.contactId, rows[0]!.id))
    expect(subs.map((s) => s.email).sort()).toEqual(
      ['ZOË.MÜLLER@xn--bcher-haus-9db.de', 'Zoë.Müller@Bücher-Haus.de'].sort(),
    )
    expect(await db.select().from(deals).where(eq(deals.contactId, rows[0]!.id))).toHaveLength(1)
  })

  it('keeps Gmail dots and +tags as typed: they are different contacts', async () => {
    await postLead(ctx, leadForm(ctx, { email: 'ann.lee+pdf@gmail.com' }))
    await postLead(ctx, leadForm(ctx, { email: 'annlee@gmail.com' }))
    expect(await contactByEmail('ann.lee+pdf@gmail.com')).toBeTruthy()
    expect(await contactByEmail('annlee@gmail.com')).toBeTruthy()
  })

  it('makes no company for a free-mail address, but keeps the typed company name on the contact', async () => {
    const before = await rowCounts(ctx)
    await postLead(
      ctx,
      leadForm(ctx, {
        email: 'sam.ortiz@outlook.com',
        name: 'Sam Ortiz',
        company: 'Ortiz Consulting',
      }),
    )
    const diff = difference(await rowCounts(ctx), before)
    expect(diff.companies).toBeUndefined()
    expect(diff.contacts).toBe(1)
    const contact = (await contactByEmail('sam.ortiz@outlook.com'))!
    expect(contact.companyId).toBeNull()
    expect(contact.companyName).toBe('Ortiz Consulting')
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact.id))
    expect(deal).toMatchObject({ companyId: null, title: 'Ortiz Consulting' })
  })

  it('puts two people from one company on one company row', async () => {
    await postLead(ctx, leadForm(ctx, { email: 'lee@globex.io', name: 'Lee', company: 'Globex' }))
    await postLead(
      ctx,
      leadForm(ctx, { email: 'kim@mail.globex.io', name: 'Kim', company: 'Globex Corporation' }),
    )
    const rows = await db.select().from(companies).where(eq(companies.domain, 'globex.io'))
    expect(rows).toHaveLength(1)
    const lee = (await contactByEmail('lee@globex.io'))!
    const kim = (await contactByEmail('kim@mail.globex.io'))!
    expect(kim.companyId).toBe(lee.companyId)
    expect(kim.companyName).toBe('Globex Corporation')
  })

  it('adds evidence to the open deal when the same contact asks for a second asset, instead of a second deal', async () => {
    const email = 'priya@northwind.example.com'
    await postLead(ctx, leadForm(ctx, { email }))
    ctx.clock.advance(60_000)
    const before = await rowCounts(ctx)
    const res = await postLead(
      ctx,
      leadForm(ctx, { email: 'Priya@Northwind.example.com', offer: CASE_STUDY }),
    )
    expect(res.status).toBe(303)
    expect(difference(await rowCounts(ctx), before)).toEqual({
      submissions: 1,
      consent_events: 1,
      deal_events: 1, // evidence only
      download_tokens: 1,
      outbox: 1,
      idempotency_keys: 1,
    })
    const contact = (await contactByEmail(email))!
    const [deal, ...more] = await db.select().from(deals).where(eq(deals.contactId, contact.id))
    expect(more).toHaveLength(0)
    const evidence = await db
      .select()
      .from(dealEvents)
      .where(eq(dealEvents.dealId, deal!.id))
      .orderBy(dealEvents.createdAt)
    expect(
      evidence.filter((e) => e.type === 'evidence').map((e) => (e.data as { offer: string }).offer),
    ).toEqual(['whitepaper:mid-market-pipeline-benchmark-2026', CASE_STUDY])
  })

  it('records no consent event when the box is left unticked, and still delivers the asset', async () => {
    const before = await rowCounts(ctx)
    const res = await postLead(
      ctx,
      leadForm(ctx, { email: 'no.consent@initech.example', consent: '' }),
    )
    expect(res.status).toBe(303)
    const diff = difference(await rowCounts(ctx), before)
    expect(diff.consent_events).toBeUndefined()
    expect(diff.outbox).toBe(1)
  })

  it('takes a trial request: no file, no email, the request itself is the evidence', async () => {
    const before = await rowCounts(ctx)
    const res = await postLead(ctx, {
      ...leadForm(ctx, {
        email: 'cto@hooli.example',
        name: 'Gavin B',
        company: 'Hooli',
        offer: 'trial',
      }),
      companySize: '501-1000',
      message: 'Our forecast misses by 30% every quarter.',
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/thanks?offer=trial')
    const diff = difference(await rowCounts(ctx), before)
    expect(diff).toMatchObject({ contacts: 1, submissions: 1, deals: 1, deal_events: 2 })
    expect(diff.outbox).toBeUndefined()
    expect(diff.download_tokens).toBeUndefined()
    const contact = (await contactByEmail('cto@hooli.example'))!
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact.id))
    const [evidence] = await db
      .select()
      .from(dealEvents)
      .where(eq(dealEvents.dealId, deal!.id))
      .then((rows) => rows.filter((r) => r.type === 'evidence'))
    expect(evidence!.data).toMatchObject({
      form: 'trial',
      message: 'Our forecast misses by 30% every quarter.',
      companySize: '501-1000',
    })
  })
})

describe('posts that look automated go to quarantine: kept, no contact, no deal, no email', () => {
  const expectQuarantined = async (
    res: Response,
    before: Awaited<ReturnType<typeof rowCounts>>,
    reason: string,
    email: string,
  ) => {
    // The visitor sees the usual thank-you page, with a download cookie of the usual shape whose
    // token opens nothing.
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(
      '/thanks?offer=whitepaper%3Amid-market-pipeline-benchmark-2026',
    )
    const token = downloadTokenOf(res)
    expect(token).toMatch(/^[a-z2-7]{32}$/)
    expect((await ctx.app.request(`/d/${token}`)).status).toBe(404)
    expect(difference(await rowCounts(ctx), before)).toEqual({
      submissions: 1,
      idempotency_keys: 1,
    })
    const [row] = await db.select().from(submissions).where(eq(submissions.email, email))
    expect(row!.status).toBe('quarantined')
    expect(row!.contactId).toBeNull()
    expect(row!.spamReasons).toContain(reason)
    return row!
  }

  it('a filled-in honeypot', async () => {
    const before = await rowCounts(ctx)
    const res = await postLead(
      ctx,
      leadForm(ctx, { email: 'bot1@spam.example', fax: 'http://cheap-pills.example' }),
    )
    const row = await expectQuarantined(res, before, 'honeypot', 'bot1@spam.example')
    expect(row.email).toBe('bot1@spam.example')
    expect(row.fields).toMatchObject({ name: 'Dana Lee', honeypot: 'http://cheap-pills.example' })
  })

  it('a form sent back faster than a person could fill it in', async () => {
    const before = await rowCounts(ctx)
    const res = await postLead(
      ctx,
      leadForm(ctx, {
        email: 'bot2@spam.example',
        formToken: issueFormToken(
          ctx.deps.secret,
          new Date(ctx.clock.now().getTime() - 500),
          '/whitepapers/mid-market-pipeline-benchmark-2026',
        ),
      }),
    )
    await expectQuarantined(res, before, 'too_fast', 'bot2@spam.example')
  })

  it('a post without the form token, or with a forged one', async () => {
    let before = await rowCounts(ctx)
    await expectQuarantined(
      await postLead(ctx, leadForm(ctx, { email: 'bot3@spam.example', formToken: '' })),
      before,
      'form_token_missing',
      'bot3@spam.example',
    )
    before = await rowCounts(ctx)
    await expectQuarantined(
      await postLead(
        ctx,
        leadForm(ctx, {
          email: 'bot4@spam.example',
          formToken: 'lx0abc.forgedforgedforgedforgedforgedfo',
        }),
      ),
      before,
      'form_token_invalid',
      'bot4@spam.example',
    )
  })

  it('more posts from one IP in an hour than the limit (5 here)', async () => {
    const ip = '203.0.113.77'
    for (let i = 0; i < 5; i++) {
      await postLead(ctx, leadForm(ctx, { email: `person${i}@busy-office.example` }), { ip })
      expect(await statusOf(`person${i}@busy-office.example`)).toBe('accepted')
    }
    const before = await rowCounts(ctx)
    const res = await postLead(ctx, leadForm(ctx, { email: 'person5@busy-office.example' }), { ip })
    await expectQuarantined(res, before, 'rate_limited', 'person5@busy-office.example')
    // Another IP is not affected; the next hour the office may post again.
    await postLead(ctx, leadForm(ctx, { email: 'elsewhere@busy-office.example' }))
    expect(await statusOf('elsewhere@busy-office.example')).toBe('accepted')
    ctx.clock.advance(3_600_000)
    await postLead(ctx, leadForm(ctx, { email: 'person6@busy-office.example' }), { ip })
    expect(await statusOf('person6@busy-office.example')).toBe('accepted')
  })

  it('more posts for one email address in an hour than its limit (5), from any number of IPs: the file, no email', async () => {
    // Each accepted post emails the address typed: many IPs must not flood one inbox. A person
    // keen on several files is no bot: past the limit the post is a lead as any other and the
    // file is on the thank-you page; only its email is withheld, and the page says so.
    const email = 'someone.else@victim.example'
    const sent = async () =>
      (await db.select().from(outbox).where(eq(outbox.recipient, email))).length
    for (let i = 0; i < 5; i++)
      await postLead(ctx, leadForm(ctx, { email }), { ip: `198.51.100.${10 + i}` })
    const posts = () => db.select().from(submissions).where(eq(submissions.email, email))
    expect((await posts()).map((p) => p.status)).toEqual(Array(5).fill('accepted'))
    expect(await sent()).toBe(5)
    const res = await postLead(ctx, leadForm(ctx, { email }), { ip: '198.51.100.99' })
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!, 'http://x').searchParams.get('copy')).toBe(
      'withheld',
    )
    expect((await posts()).map((p) => p.status)).toEqual(Array(6).fill('accepted'))
    expect(await sent()).toBe(5)
    // Its download link works, as any accepted post's.
    const token = downloadTokenOf(res)
    expect(token).toMatch(/^[a-z2-7]{32}$/)
    expect((await ctx.app.request(`/d/${token}`)).status).toBe(200)
    // Another address from the same IP is not affected; the limits table keeps no address.
    await postLead(ctx, leadForm(ctx, { email: 'colleague@victim.example' }), {
      ip: '198.51.100.99',
    })
    expect(await statusOf('colleague@victim.example')).toBe('accepted')
    const keys = (await db.select().from(rateLimitHits)).map((r) => r.key)
    expect(keys.filter((k) => k.startsWith('leads:to:')).length).toBeGreaterThan(0)
    expect(keys.filter((k) => k.includes('@'))).toEqual([])
    // The next hour the address gets its emails again.
    ctx.clock.advance(3_600_000)
    const later = await postLead(ctx, leadForm(ctx, { email }), { ip: '198.51.100.98' })
    expect(new URL(later.headers.get('location')!, 'http://x').searchParams.get('copy')).toBeNull()
    expect((await posts()).filter((p) => p.status === 'accepted').length).toBe(7)
    expect(await sent()).toBe(6)
  })

  it('does not count trial requests against the address: they email nobody', async () => {
    const email = 'keen.buyer@trials.example'
    const trial = () => ({
      ...leadForm(ctx, { email, offer: 'trial' }),
      companySize: '51-200',
      message: 'A demo, please.',
    })
    for (let i = 0; i < 6; i++) await postLead(ctx, trial(), { ip: `192.0.2.${40 + i}` })
    const res = await postLead(ctx, leadForm(ctx, { email }), { ip: '192.0.2.60' })
    expect(new URL(res.headers.get('location')!, 'http://x').searchParams.get('copy')).toBeNull()
    expect((await db.select().from(outbox).where(eq(outbox.recipient, email))).length).toBe(1)
  })

  it('counts only posts that would email the address: forged ones cannot lock its owner out', async () => {
    const email = 'owner@targeted.example'
    for (let i = 0; i < 6; i++)
      await postLead(ctx, { ...leadForm(ctx, { email }), formToken: '' }, { ip: `192.0.2.${i}` })
    const posts = () => db.select().from(submissions).where(eq(submissions.email, email))
    expect((await posts()).map((p) => p.spamReasons)).toEqual(Array(6).fill(['form_token_missing']))
    await postLead(ctx, leadForm(ctx, { email }), { ip: '192.0.2.100' })
    expect((await posts()).filter((p) => p.status === 'accepted').length).toBe(1)
  })

  it('counts an IPv6 client by its /64: rotating addresses in it does not reset the limit', async () => {
    // Five posts from five addresses of one /64, each spelled its own way: the limit (5) is full.
    const sameNetwork = [
      '2001:db8:77:1::1',
      '2001:db8:77:1::2',
      '2001:0db8:0077:0001:0000:0000:0000:0003',
      '2001:DB8:77:1:A:B:C:D',
      '2001:db8:77:1:ffff:ffff:ffff:ffff',
    ]
    for (const [i, ip] of sameNetwork.entries()) {
      await postLead(ctx, leadForm(ctx, { email: `v6-${i}@rotating.example` }), { ip })
      expect(await statusOf(`v6-${i}@rotating.example`)).toBe('accepted')
    }
    const before = await rowCounts(ctx)
    const res = await postLead(ctx, leadForm(ctx, { email: 'v6-5@rotating.example' }), {
      ip: '2001:db8:77:1::99',
    })
    await expectQuarantined(res, before, 'rate_limited', 'v6-5@rotating.example')
    // The recorded address stays the full one; the next /64 has a limit of its own.
    const [row] = await db
      .select()
      .from(submissions)
      .where(eq(submissions.email, 'v6-5@rotating.example'))
    expect(row!.ip).toBe('2001:db8:77:1::99')
    await postLead(ctx, leadForm(ctx, { email: 'v6-next@rotating.example' }), {
      ip: '2001:db8:77:2::1',
    })
    expect(await statusOf('v6-next@rotating.example')).toBe('accepted')
  })

  it('the enhanced form gets the same JSON answer for a quarantined post as for a clean one', async () => {
    const res = await postLead(ctx, leadForm(ctx, { email: 'bot5@spam.example', fax: 'x' }), {
      js: true,
    })
    expect(res.status).toBe(201)
    expect(await res.json()).toEqual({
      ok: true,
      redirect: '/thanks?offer=whitepaper%3Amid-market-pipeline-benchmark-2026',
    })
  })
})
