import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  consentEvents,
  contacts,
  dealEvents,
  deals,
  outbox,
  submissions,
} from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { ORIGIN, signedInAs } from '../../helpers.ts'
import { difference, leadForm, postLead, rowCounts, setupLeadApp } from './lead-helpers.ts'

const ctx = await setupLeadApp()
const { db } = ctx.deps
const admin = await signedInAs(ctx, 'admin')

async function quarantine(email: string, extra: Record<string, string> = {}) {
  await postLead(ctx, leadForm(ctx, { email, fax: 'filled by autofill', ...extra }))
  const [row] = await db.select().from(submissions).where(eq(submissions.email, email))
  expect(row!.status).toBe('quarantined')
  return row!
}

const release = (id: string, cookie: string, json = false) =>
  ctx.app.request(`/api/submissions/${id}/release`, {
    method: 'POST',
    headers: { cookie, origin: ORIGIN, ...(json ? { accept: 'application/json' } : {}) },
  })

describe('quarantined submissions (admins)', () => {
  it('lists them with their reasons, for admins only', async () => {
    const row = await quarantine('listed@falsepositive.example')
    const res = await ctx.app.request('/api/submissions/quarantined', {
      headers: { cookie: admin.cookie },
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.rows.find((r: { id: string }) => r.id === row.id)).toMatchObject({
      email: 'listed@falsepositive.example',
      spamReasons: ['honeypot'],
    })
    const rep = await signedInAs(ctx, 'rep')
    expect(
      (await ctx.app.request('/api/submissions/quarantined', { headers: { cookie: rep.cookie } }))
        .status,
    ).toBe(403)
    expect((await release(row.id, rep.cookie)).status).toBe(403)
    expect((await ctx.app.request('/api/submissions/quarantined')).status).toBe(401)
  })

  it('releasing one processes it as the lead it would have been: contact, consent, deal at 10%, email', async () => {
    const row = await quarantine('human@falsepositive.example', {
      name: 'Real Person',
      company: 'False Positive Ltd',
    })
    ctx.clock.advance(3_600_000) // the admin looks an hour later
    const before = await rowCounts(ctx)
    const res = await release(row.id, admin.cookie)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/app\/admin\/quarantine\?notice=Released/)
    expect(difference(await rowCounts(ctx), before)).toEqual({
      contacts: 1,
      companies: 1,
      consent_events: 1,
      deals: 1,
      deal_events: 2,
      download_tokens: 1,
      outbox: 1,
    })
    const [sub] = await db.select().from(submissions).where(eq(submissions.id, row.id))
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'human@falsepositive.example'))
    expect(sub).toMatchObject({
      status: 'released',
      contactId: contact!.id,
      spamReasons: ['honeypot'],
    })
    const [consent] = await db
      .select()
      .from(consentEvents)
      .where(eq(consentEvents.contactId, contact!.id))
    expect(consent!.createdAt).toEqual(row.createdAt) // when the box was ticked, not when released
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact!.id))
    expect(deal).toMatchObject({ stage: 'target', ownerId: null })
    const evidence = (
      await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal!.id))
    ).find((e) => e.type === 'evidence')!
    expect(evidence.actorId).toBe(admin.user.id)
    expect(evidence.data).toMatchObject({ submissionId: row.id, releasedBy: admin.user.id })
    expect(
      await db.select().from(outbox).where(eq(outbox.recipient, 'human@falsepositive.example')),
    ).toHaveLength(1)
  })

  it('releases a submission once: the second attempt is refused and writes nothing', async () => {
    const row = await quarantine('once@falsepositive.example')
    expect((await release(row.id, admin.cookie, true)).status).toBe(200)
    const before = await rowCounts(ctx)
    const again = await release(row.id, admin.cookie, true)
    expect(again.status).toBe(409)
    expect((await again.json()).error.code).toBe('not_quarantined')
    const form = await release(row.id, admin.cookie)
    expect(form.status).toBe(303)
    expect(form.headers.get('location')).toContain('error=')
    expect(difference(await rowCounts(ctx), before)).toEqual({})
  })

  it('two admins releasing at once make one lead', async () => {
    const row = await quarantine('race@falsepositive.example')
    const answers = await Promise.all([
      release(row.id, admin.cookie, true),
      release(row.id, admin.cookie, true),
    ])
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409])
    expect(
      await db.select().from(outbox).where(eq(outbox.recipient, 'race@falsepositive.example')),
    ).toHaveLength(1)
  })

  it('answers 404 for an unknown submission', async () => {
    expect((await release(newId(), admin.cookie, true)).status).toBe(404)
    expect((await release('not-a-uuid', admin.cookie, true)).status).toBe(422)
  })
})

describe('releasing a quarantined grader unlock', () => {
  it('qualifies with the grade as evidence and emails the report, not an asset', async () => {
    const { graderReports } = await import('../../../api/db/schema.ts')
    const reportId = newId()
    await db.insert(graderReports).values({
      id: reportId,
      normalizedUrl: 'https://released.example/',
      host: 'released.example',
      status: 'done',
      total: 64,
      band: 'D',
      platform: 'WordPress',
      result: null,
    })
    const submissionId = newId()
    await db.insert(submissions).values({
      id: submissionId,
      kind: 'grader',
      offer: `grader:${reportId}`,
      email: 'Grace@Released.example',
      fields: { name: 'Grace Hopper', consent: true, url: 'https://released.example/' },
      status: 'quarantined',
      spamReasons: ['too_fast'],
    })
    const res = await release(submissionId, admin.cookie, true)
    expect(res.status).toBe(200)
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'grace@released.example'))
    expect(contact!.source).toBe('grader')
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact!.id))
    expect(deal).toMatchObject({ stage: 'target', source: 'grader' })
    const evidence = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal!.id))
    expect(evidence.find((e) => e.type === 'evidence')!.data).toMatchObject({
      kind: 'grader',
      score: 64,
      band: 'D',
      reportId,
    })
    const mails = await db
      .select()
      .from(outbox)
      .where(eq(outbox.recipient, 'grace@released.example'))
    expect(mails.map((m) => (m.payload as { template: string }).template)).toEqual([
      'grader-report-ready',
    ])
    expect(
      await db.select().from(consentEvents).where(eq(consentEvents.contactId, contact!.id)),
    ).toHaveLength(1)
  })

  it('qualifies a released unlock whose report was deleted as a grader lead, without an email', async () => {
    const submissionId = newId()
    await db.insert(submissions).values({
      id: submissionId,
      kind: 'grader',
      offer: `grader:${newId()}`,
      email: 'Gone@Deleted-report.example',
      fields: { name: 'Gone Report', consent: false, url: 'https://deleted-report.example/' },
      status: 'quarantined',
      spamReasons: ['too_fast'],
    })
    const res = await release(submissionId, admin.cookie, true)
    expect(res.status).toBe(200)
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'gone@deleted-report.example'))
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contact!.id))
    expect(deal).toMatchObject({ stage: 'target', source: 'grader' })
    const events = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal!.id))
    expect(events.find((e) => e.type === 'evidence')!.data).toMatchObject({
      submissionId,
      releasedBy: admin.user.id,
    })
    expect(
      await db.select().from(outbox).where(eq(outbox.recipient, 'gone@deleted-report.example')),
    ).toEqual([])
  })
})
