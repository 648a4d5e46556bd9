import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { dealEvents, deals, outbox, submissions, suppressions, users } from '../../api/db/schema.ts'
import { form, json, signedInAs } from '../helpers.ts'
import { leadForm, postLead, setupLeadApp } from '../api/leads/lead-helpers.ts'
import { makeDeal } from '../api/pipeline/fixtures.ts'
import { HOSTILE } from './payloads.ts'

// Issue 19, item 7: the attack run's hostile payloads (NUL, CRLF, 10k characters, RTL, emoji,
// script and javascript: payloads, lone surrogates) posted into every public and signed-in form,
// as a plain form and as JSON. Each answer is a 4xx, or the value is stored as sent (as a browser
// would have encoded it) and every HTML answer shows it escaped. Never a 500.

const ctx = await setupLeadApp()
const db = ctx.deps.db
const admin = await signedInAs(ctx, 'admin')

/** What arrives of `value` once a browser has encoded it: lone surrogates become U+FFFD. */
const sent = (value: string) => value.toWellFormed()

async function expectRefusedOrStored(
  res: Response,
  value: string,
  stored: () => Promise<string | null | undefined>,
) {
  expect(res.status, `${res.status} ${await res.clone().text()}`.slice(0, 300)).toBeLessThan(500)
  const body = await res.text()
  if ((res.headers.get('content-type') ?? '').includes('text/html')) {
    expect(body).not.toContain('<script>alert(1)</script>')
    expect(body).not.toContain('<img src=x onerror')
  }
  // A plain form is refused with a 303 back to its page with ?error=.
  if (res.status >= 400 || /[?&]error=/.test(res.headers.get('location') ?? '')) return 'refused'
  // Stored as sent, up to line breaks flattened into spaces and a long hidden field cut short.
  const flat = (v: string) => v.normalize('NFC').replace(/\s+/g, ' ').trim()
  const kept = await stored()
  expect(kept, 'accepted but not stored').toBeTypeOf('string')
  expect(flat(kept!).length).toBeGreaterThan(0)
  expect(flat(sent(value)).startsWith(flat(kept!))).toBe(true)
  return 'stored'
}

const outcomes = new Map<string, Set<string>>()
const note = (form: string, outcome: string) =>
  outcomes.set(form, (outcomes.get(form) ?? new Set()).add(outcome))

describe.each(HOSTILE)('the payload "%s"', (name, value) => {
  it.each([['name'], ['company'], ['utm_source']])(
    'in %s of the lead form (plain and enhanced)',
    async (field) => {
      for (const js of [false, true]) {
        const email = `hostile-${Math.random().toString(36).slice(2, 8)}@acme-robotics.com`
        const post = leadForm(ctx, { email, [field]: value })
        const res = await postLead(ctx, post, { js })
        const outcome = await expectRefusedOrStored(res, value, async () => {
          const [row] = await db.select().from(submissions).where(eq(submissions.email, email))
          const fields = row?.fields as Record<string, string> | undefined
          const utm = row?.utm as Record<string, string> | null | undefined
          return field === 'utm_source' ? utm?.utm_source : fields?.[field]
        })
        note(`lead form ${field}`, outcome)
        if (outcome === 'stored') {
          // The asset email's To header has no line break in it, whatever the name held.
          const [mail] = await db.select().from(outbox).where(eq(outbox.recipient, email))
          if (mail)
            expect(JSON.stringify((mail.payload as { to: unknown }).to)).not.toMatch(/\\r|\\n/)
        }
      }
    },
  )

  it('in the sign-in form', async () => {
    const res = await ctx.app.request('/api/sessions', json({ email: value, password: value }))
    expect([400, 401, 422, 429]).toContain(res.status)
    const plain = await ctx.app.request('/api/sessions', form({ email: value, password: value }))
    expect(plain.status).toBeLessThan(500)
  })

  it('in the grader’s address field', async () => {
    // Some of them are a host name to the grader ("__proto__" → https://__proto__/): a report
    // that will fail to fetch is a fine answer; a 500 is not.
    for (const send of [json, form]) {
      const res = await ctx.app.request('/api/grader', send({ url: value }))
      expect(res.status).toBeLessThan(500)
      if ((res.headers.get('content-type') ?? '').includes('text/html'))
        expect(await res.text()).not.toContain('<script>alert(1)</script>')
    }
  })

  it('in a deal note, title and budget notes, JSON and plain form', async () => {
    const deal = await makeDeal(db, { ownerId: admin.user.id, stage: 'demo' })
    for (const send of [json, form]) {
      const res = await ctx.app.request(
        `/api/deals/${deal.id}/notes`,
        send({ body: value }, { cookie: admin.cookie }),
      )
      note(
        'deal note',
        await expectRefusedOrStored(res, value, async () => {
          const rows = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal.id))
          const last = rows.filter((r) => r.type === 'note').at(-1)
          return (last?.data as { body?: string } | null)?.body
        }),
      )
    }
    const patched = await ctx.app.request(`/api/deals/${deal.id}`, {
      ...json({ title: value, budgetNotes: value }, { cookie: admin.cookie }),
      method: 'PATCH',
    })
    note(
      'deal title',
      await expectRefusedOrStored(patched, value, async () => {
        const [row] = await db.select().from(deals).where(eq(deals.id, deal.id))
        return row?.title
      }),
    )
  })

  it('in a new stakeholder’s name, job title and notes', async () => {
    const deal = await makeDeal(db, { ownerId: admin.user.id, stage: 'demo' })
    const email = `stake-${Math.random().toString(36).slice(2, 8)}@acme.example`
    const res = await ctx.app.request(
      `/api/deals/${deal.id}/stakeholders`,
      json(
        { email, name: value, jobTitle: value, notes: value, role: 'champion', stance: 'neutral' },
        { cookie: admin.cookie },
      ),
    )
    note(
      'stakeholder',
      await expectRefusedOrStored(res, value, async () => {
        const rows = await db.execute(
          sql`select c.first_name, c.last_name from contacts c where c.email = ${email}`,
        )
        const row = (rows as unknown as { rows: Array<{ first_name: string; last_name: string }> })
          .rows[0]
        return row ? [row.first_name, row.last_name].filter(Boolean).join(' ') : null
      }),
    )
  })

  it('in a new user’s name', async () => {
    const email = `user-${Math.random().toString(36).slice(2, 8)}@frontdoor.example`
    const res = await ctx.app.request(
      '/api/users',
      json({ email, name: value, role: 'rep' }, { cookie: admin.cookie }),
    )
    note(
      'user',
      await expectRefusedOrStored(res, value, async () => {
        const [row] = await db.select().from(users).where(eq(users.email, email))
        return row?.name
      }),
    )
  })

  it('in a suppression’s email and note', async () => {
    const res = await ctx.app.request(
      '/api/admin/email/suppressions',
      json({ email: value, note: value }, { cookie: admin.cookie }),
    )
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    const email = `sup-${Math.random().toString(36).slice(2, 8)}@acme.example`
    const withNote = await ctx.app.request(
      '/api/admin/email/suppressions',
      form({ email, note: value }, { cookie: admin.cookie }),
    )
    note(
      'suppression note',
      await expectRefusedOrStored(withNote, value, async () => {
        const [row] = await db.select().from(suppressions).where(eq(suppressions.email, email))
        return row?.note
      }),
    )
  })
})
