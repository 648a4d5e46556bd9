import { describe, expect, it } from 'vitest'
import { csvCell } from '../../../api/pipeline/contacts.ts'
import { eq, inArray } from 'drizzle-orm'
import { companies, contacts, deals, outbox } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { signedInAs } from '../../helpers.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'

const ctx = await setupLeadApp()
const { db } = ctx.deps
const rep = await signedInAs(ctx, 'rep')
const admin = await signedInAs(ctx, 'admin')

// Three inbound leads on three days, and a few contacts from other front doors.
ctx.clock.set(new Date('2026-11-01T12:00:00Z'))
await postLead(
  ctx,
  leadForm(ctx, {
    email: 'ada@analytical.example',
    name: 'Ada Lovelace',
    company: 'Analytical Engines',
  }),
)
ctx.clock.set(new Date('2026-11-10T12:00:00Z'))
await postLead(
  ctx,
  leadForm(ctx, { email: 'grace@cobol.example', name: 'Grace Hopper', company: 'Cobol & Co' }),
)
ctx.clock.set(new Date('2026-11-20T12:00:00Z'))
await postLead(
  ctx,
  leadForm(ctx, {
    email: 'evil@sheet.example',
    name: '=HYPERLINK("http://x.example","click")',
    company: '+SUM(A1:A9)',
  }),
)
await db.insert(contacts).values([
  {
    id: newId(),
    email: 'linus@kernel.example',
    emailDisplay: 'linus@kernel.example',
    source: 'outbound',
    companyName: '100%_Kernel',
    createdAt: new Date('2026-11-05T00:00:00Z'),
  },
  {
    id: newId(),
    email: 'tim@web.example',
    emailDisplay: 'tim@web.example',
    source: 'grader',
    createdAt: new Date('2026-11-06T00:00:00Z'),
  },
])

const get = (path: string, cookie = rep.cookie) => ctx.app.request(path, { headers: { cookie } })
const emailsOf = async (res: Response) =>
  ((await res.json()) as { rows: Array<{ email: string }> }).rows.map((r) => r.email)

describe('GET /api/contacts', () => {
  it('lists everyone, newest first, with the open deal stage', async () => {
    const res = await get('/api/contacts')
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({ total: 5, page: 1, pageCount: 1 })
    expect(body.rows.map((r: { email: string }) => r.email)).toEqual([
      'evil@sheet.example',
      'grace@cobol.example',
      'tim@web.example',
      'linus@kernel.example',
      'ada@analytical.example',
    ])
    expect(body.rows[1]).toMatchObject({
      company: 'Cobol & Co',
      companyDomain: 'cobol.example',
      source: 'inbound',
      openDealStage: 'target',
      submissionCount: 1,
      marketingConsent: true,
    })
  })

  it('searches by email, company name and domain, case-insensitively', async () => {
    expect(await emailsOf(await get('/api/contacts?q=GRACE'))).toEqual(['grace@cobol.example'])
    expect(await emailsOf(await get('/api/contacts?q=analytical%20engines'))).toEqual([
      'ada@analytical.example',
    ])
    expect(await emailsOf(await get('/api/contacts?q=cobol.example'))).toEqual([
      'grace@cobol.example',
    ])
    expect(await emailsOf(await get('/api/contacts?q=lovelace'))).toEqual([
      'ada@analytical.example',
    ])
  })

  it('matches names and companies whatever their accents, as search does', async () => {
    const company = { id: newId(), name: 'Société Générale', domain: 'societe.example' }
    await db.insert(companies).values(company)
    const people = [
      { email: 'hector@lejos.example', first: 'Héctor', last: 'Núñez', companyId: null },
      { email: 'jo@plain.example', first: 'Jo', last: 'Nunez', companyId: null },
      { email: 'zoe@societe.example', first: 'Zoe', last: 'Quill', companyId: company.id },
    ].map((p) => ({
      id: newId(),
      email: p.email,
      emailDisplay: p.email,
      firstName: p.first,
      lastName: p.last,
      companyId: p.companyId,
      source: 'manual' as const,
    }))
    await db.insert(contacts).values([
      ...people,
      {
        id: newId(),
        email: 'luc@bistro.example',
        emailDisplay: 'luc@bistro.example',
        companyName: 'Crème Brûlée Bistro',
        source: 'manual',
      },
    ])
    try {
      const found = async (q: string) =>
        (await emailsOf(await get(`/api/contacts?q=${encodeURIComponent(q)}`))).sort()
      expect(await found('nunez')).toEqual(['hector@lejos.example', 'jo@plain.example'])
      expect(await found('NÚÑEZ')).toEqual(['hector@lejos.example', 'jo@plain.example'])
      expect(await found('hector nunez')).toEqual(['hector@lejos.example'])
      expect(await found('societe generale')).toEqual(['zoe@societe.example'])
      expect(await found('creme brulee')).toEqual(['luc@bistro.example'])
    } finally {
      await db
        .delete(contacts)
        .where(inArray(contacts.email, [...people.map((p) => p.email), 'luc@bistro.example']))
      await db.delete(companies).where(eq(companies.id, company.id))
    }
  })

  it('treats % and _ in a search as plain characters', async () => {
    expect(await emailsOf(await get('/api/contacts?q=%25'))).toEqual(['linus@kernel.example'])
    expect(await emailsOf(await get('/api/contacts?q=0%25_K'))).toEqual(['linus@kernel.example'])
  })

  it('filters by source and by a date range (both days included)', async () => {
    expect(await emailsOf(await get('/api/contacts?source=grader'))).toEqual(['tim@web.example'])
    expect(await emailsOf(await get('/api/contacts?from=2026-11-05&to=2026-11-10'))).toEqual([
      'grace@cobol.example',
      'tim@web.example',
      'linus@kernel.example',
    ])
    expect(await emailsOf(await get('/api/contacts?source=inbound&to=2026-11-09'))).toEqual([
      'ada@analytical.example',
    ])
    expect((await get('/api/contacts?source=spam')).status).toBe(422)
    expect((await get('/api/contacts?from=yesterday')).status).toBe(422)
  })

  it("shows a rep the open deal's stage only when they may read that deal", async () => {
    const other = await signedInAs(ctx, 'rep')
    const [grace] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'grace@cobol.example'))
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, grace!.id))
    await db
      .update(deals)
      .set({ ownerId: other.user.id, stage: 'demo' })
      .where(eq(deals.id, deal!.id))
    try {
      const graceAs = async (cookie: string) =>
        ((await (await get('/api/contacts?q=grace', cookie)).json()).rows as object[])[0]
      expect(await graceAs(rep.cookie)).toMatchObject({ openDealId: null, openDealStage: null })
      expect(await graceAs(other.cookie)).toMatchObject({
        openDealId: deal!.id,
        openDealStage: 'demo',
      })
      expect(await graceAs(admin.cookie)).toMatchObject({ openDealStage: 'demo' })
    } finally {
      await db.update(deals).set({ ownerId: null, stage: 'target' }).where(eq(deals.id, deal!.id))
    }
  })

  it('refuses dates that are no day or out of range as bad input, not a 500', async () => {
    for (const bad of ['from=2026-02-30', 'to=2026-13-01', 'from=0000-01-01', 'to=9999-12-31']) {
      const res = await get(`/api/contacts?${bad}`)
      expect(res.status, bad).toBe(422)
    }
    expect((await get('/api/contacts/export.csv?to=9999-12-31', admin.cookie)).status).toBe(422)
  })

  it('refuses a search with a NUL character (U+0000) as bad input, not a 500', async () => {
    for (const path of ['/api/contacts?q=%00', '/api/contacts?q=ada%00']) {
      const res = await get(path)
      expect(res.status).toBe(422)
      expect((await res.json()).error.fields.q).toMatch(/character/)
    }
    expect((await get('/api/contacts/export.csv?q=%00', admin.cookie)).status).toBe(422)
  })

  it('pages 50 at a time', async () => {
    const many = Array.from({ length: 55 }, (_, i) => ({
      id: newId(),
      email: `bulk${i}@bulk.example`,
      emailDisplay: `bulk${i}@bulk.example`,
      source: 'manual' as const,
      createdAt: new Date(Date.UTC(2026, 9, 1, 0, i)),
    }))
    await db.insert(contacts).values(many)
    const first = await (await get('/api/contacts?source=manual')).json()
    expect(first).toMatchObject({ total: 55, pageCount: 2 })
    expect(first.rows).toHaveLength(50)
    const second = await (await get('/api/contacts?source=manual&page=2')).json()
    expect(second.rows.map((r: { email: string }) => r.email)).toEqual([
      'bulk4@bulk.example',
      'bulk3@bulk.example',
      'bulk2@bulk.example',
      'bulk1@bulk.example',
      'bulk0@bulk.example',
    ])
  })

  it('needs a signed-in user', async () => {
    expect((await ctx.app.request('/api/contacts')).status).toBe(401)
  })
})

describe('GET /api/contacts/:id', () => {
  it('shows submissions, consents, deals with their evidence, emails sent and downloads', async () => {
    const [row] = (await (await get('/api/contacts?q=grace')).json()).rows
    const res = await get(`/api/contacts/${row.id}`)
    expect(res.status).toBe(200)
    const detail = await res.json()
    expect(detail.contact).toMatchObject({
      email: 'grace@cobol.example',
      firstName: 'Grace',
      lastName: 'Hopper',
    })
    expect(detail.company).toMatchObject({ domain: 'cobol.example' })
    expect(detail.submissions).toHaveLength(1)
    expect(detail.consents).toMatchObject([{ purpose: 'marketing', granted: true }])
    expect(detail.deals).toHaveLength(1)
    expect(detail.deals[0].events.map((e: { type: string }) => e.type)).toEqual([
      'created',
      'evidence',
    ])
    expect(detail.emails).toMatchObject([
      { template: 'asset-delivery', status: 'pending', category: 'transactional' },
    ])
    expect(detail.downloads).toMatchObject([
      { file: 'demo-mid-market-pipeline-benchmark-2026.pdf', downloads: 0 },
    ])
  })

  it('says why an email failed, in words; only an admin reads the server’s own, which name it', async () => {
    const lastError =
      'gave up after 6 attempts in 72 h: ESOCKET: connect ECONNREFUSED 10.20.30.40:2525'
    await db
      .update(outbox)
      .set({ status: 'failed', lastError, lastErrorKind: 'retryable' })
      .where(eq(outbox.recipient, 'ada@analytical.example'))
    const [row] = (await (await get('/api/contacts?q=ada')).json()).rows
    const reason = 'Gave up after 6 attempts: our mail server could not be reached (ask an admin)'
    const asRep = await get(`/api/contacts/${row.id}`)
    expect(asRep.status).toBe(200)
    const text = await asRep.text()
    expect(JSON.parse(text).emails).toMatchObject([{ status: 'failed', reason, lastError: null }])
    expect(text).not.toContain('10.20.30.40')
    const asAdmin = await (await get(`/api/contacts/${row.id}`, admin.cookie)).json()
    expect(asAdmin.emails).toMatchObject([{ status: 'failed', reason, lastError }])
  })

  it('answers 404 for an unknown contact', async () => {
    expect((await get(`/api/contacts/${newId()}`)).status).toBe(404)
  })
})

describe('GET /api/contacts/export.csv (admins)', () => {
  it('exports the filtered contacts as CSV with formula-looking cells defused', async () => {
    const res = await get('/api/contacts/export.csv?source=inbound', admin.cookie)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="contacts-2026-11-20.csv"',
    )
    // res.text() would drop the byte-order mark; decode keeping it.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer())
    expect(text.startsWith('\uFEFF"id","email","first_name"')).toBe(true)
    const lines = text.trim().split('\r\n')
    expect(lines).toHaveLength(4) // header + three inbound contacts, oldest first
    expect(lines[1]).toContain('"ada@analytical.example","Ada","Lovelace"')
    expect(lines[3]).toContain(`"'=HYPERLINK(""http://x.example"",""click"")"`)
    expect(lines[3]).toContain(`"'+SUM(A1:A9)"`)
    expect(lines[3]).not.toMatch(/(^|,)"[=+\-@]/)
  })

  it('streams every row across batches', async () => {
    const all = await (await get('/api/contacts/export.csv', admin.cookie)).text()
    expect(all.trim().split('\r\n')).toHaveLength(1 + 5 + 55)
  })

  it('is refused to reps', async () => {
    expect((await get('/api/contacts/export.csv')).status).toBe(403)
  })
})

describe('csvCell', () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say ""hi"""'],
    ['=1+1', `"'=1+1"`],
    ['+49 30 1234', `"'+49 30 1234"`],
    ['-2', `"'-2"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\t=1', `"'\t=1"`],
    ['  =1', `"'  =1"`],
    ['a=b', '"a=b"'],
    ['line\nbreak', '"line\nbreak"'],
  ])('%j → %s', (value, expected) => {
    expect(csvCell(value)).toBe(expected)
  })
})
