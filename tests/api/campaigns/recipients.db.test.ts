import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  listRecipients,
  RECIPIENTS_PAGE_SIZE,
  type RecipientStatus,
} from '../../../api/campaigns/recipients.ts'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  companies,
  contacts,
  deals,
  outbox,
  suppressions,
} from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { addUser, setupTestDb } from '../../db.ts'

// The campaign page lists who a campaign went to: each recipient's outcome, clicks (human as the
// results count them) and deal, a page at a time in file order. Before, it showed only totals.

const ctx = await setupTestDb()
const { db } = ctx.deps
const sdr = await addUser(ctx, 'sdr')
const rep = await addUser(ctx, 'rep')
const otherRep = await addUser(ctx, 'rep')

async function addCampaign() {
  const id = newId()
  await db.insert(campaigns).values({
    id,
    name: `Campaign ${id.slice(-6)}`,
    ownerId: sdr.id,
    createdBy: sdr.id,
    senderName: 'Taylor',
    senderEmail: 'taylor@frontdoor.example',
    subjectTemplate: 'Hello',
    bodyTemplate: 'Hello {{firstName}}',
  })
  return id
}

interface RecipientSpec {
  email: string
  line?: number | null
  status?: RecipientStatus
  contact?: { firstName?: string; lastName?: string; companyName?: string; companyId?: string }
  fields?: Record<string, unknown>
  sentAt?: Date
}

async function addRecipient(campaignId: string, spec: RecipientSpec) {
  const contactId = newId()
  await db.insert(contacts).values({
    id: contactId,
    email: spec.email.toLowerCase(),
    emailDisplay: spec.email.toLowerCase(),
    source: 'outbound',
    ...spec.contact,
  })
  const id = newId()
  await db.insert(campaignRecipients).values({
    id,
    campaignId,
    contactId,
    email: spec.email.toLowerCase(),
    fields: spec.fields ?? {},
    line: spec.line ?? null,
    status: spec.status ?? 'pending',
    sentAt: spec.sentAt ?? null,
  })
  return { id, contactId }
}

const clicks = (recipientId: string, campaignId: string, verdicts: string[]) =>
  db.insert(clickEvents).values(
    verdicts.map((verdict) => ({
      id: newId(),
      token: `t-${Math.random().toString(36).slice(2)}`,
      recipientId,
      campaignId,
      method: 'GET',
      verdict: verdict as 'pending',
    })),
  )

const deal = (
  contactId: string,
  stage: 'opportunity' | 'target' | 'demo' | 'won' | 'lost',
  createdAt: Date,
  ownerId: string | null = null,
) =>
  db
    .insert(deals)
    .values({
      id: newId(),
      contactId,
      title: 'Deal',
      stage,
      source: 'outbound',
      ownerId,
      createdAt,
    })
    .returning({ id: deals.id })
    .then((r) => r[0]!.id)

describe('a campaign’s recipients', () => {
  it('come in file order (line, then id) with the contact’s name and company, else the file’s', async () => {
    const campaignId = await addCampaign()
    const company = newId()
    await db.insert(companies).values({ id: company, name: 'Globex', domain: `${company}.example` })
    const third = await addRecipient(campaignId, { email: 'c@example.com', line: 4 })
    const noLine = await addRecipient(campaignId, { email: 'd@example.com', line: null })
    const first = await addRecipient(campaignId, {
      email: 'a@example.com',
      line: 2,
      contact: { firstName: 'Ann', lastName: 'Lee', companyName: 'Acme' },
      fields: { emailDisplay: 'Ann.Lee@Example.com', firstName: 'Anne', company: 'Other' },
    })
    const second = await addRecipient(campaignId, {
      email: 'b@example.com',
      line: 3,
      contact: { companyId: company },
      fields: { firstName: 'Bo', lastName: 'Ek' },
    })
    // A second upload numbers its lines from 2 again: the id breaks the tie.
    const sameLine = await addRecipient(campaignId, {
      email: 'e@example.com',
      line: 2,
      fields: { company: 'From the file' },
    })
    const other = await addCampaign()
    await addRecipient(other, { email: 'z@example.com', line: 1 })

    const page = await listRecipients(db, campaignId, { viewer: sdr })
    expect(page).toMatchObject({ total: 5, page: 1, pageCount: 1 })
    expect(page.rows.map((r) => r.id)).toEqual([
      first.id,
      sameLine.id,
      second.id,
      third.id,
      noLine.id,
    ])
    expect(page.rows[0]).toMatchObject({
      email: 'Ann.Lee@Example.com',
      name: 'Ann Lee',
      company: 'Acme',
      contactId: first.contactId,
      line: 2,
    })
    expect(page.rows[1]).toMatchObject({
      email: 'e@example.com',
      name: null,
      company: 'From the file',
    })
    expect(page.rows[2]).toMatchObject({ name: 'Bo Ek', company: 'Globex' })
    expect(page.rows[4]).toMatchObject({ line: null, name: null, company: null, deal: null })
  })

  it('filter by status, counting the filter’s recipients', async () => {
    const campaignId = await addCampaign()
    const sentAt = new Date('2026-11-20T09:30:00Z')
    const statuses: RecipientStatus[] = ['sent', 'pending', 'sent', 'bounced', 'sent', 'skipped']
    const ids = []
    for (const [i, status] of statuses.entries())
      ids.push(
        (
          await addRecipient(campaignId, {
            email: `s${i}@example.com`,
            line: i + 2,
            status,
            ...(status === 'sent' ? { sentAt } : {}),
          })
        ).id,
      )

    const sent = await listRecipients(db, campaignId, { viewer: sdr, status: 'sent' })
    expect(sent.total).toBe(3)
    expect(sent.rows.map((r) => r.id)).toEqual([ids[0], ids[2], ids[4]])
    expect(sent.rows[0]!.sentAt).toEqual(sentAt)
    expect(sent.rows[0]!.sentAt).toBeInstanceOf(Date)
    expect((await listRecipients(db, campaignId, { viewer: sdr, status: 'bounced' })).rows).toEqual(
      [expect.objectContaining({ id: ids[3], status: 'bounced', sentAt: null })],
    )
    expect(await listRecipients(db, campaignId, { viewer: sdr, status: 'failed' })).toEqual({
      rows: [],
      total: 0,
      page: 1,
      pageCount: 1,
    })
    expect((await listRecipients(db, campaignId, { viewer: sdr })).total).toBe(6)
  })

  it('count each recipient’s clicks, raw and human (human and human_confirmed)', async () => {
    const campaignId = await addCampaign()
    const a = await addRecipient(campaignId, { email: 'k1@example.com', line: 2, status: 'sent' })
    const b = await addRecipient(campaignId, { email: 'k2@example.com', line: 3, status: 'sent' })
    const c = await addRecipient(campaignId, { email: 'k3@example.com', line: 4, status: 'sent' })
    await clicks(a.id, campaignId, ['bot', 'likely_bot', 'human', 'human_confirmed', 'pending'])
    await clicks(b.id, campaignId, ['bot', 'bot'])

    const rows = (await listRecipients(db, campaignId, { viewer: sdr })).rows
    expect(rows.map((r) => r.clicks)).toEqual([
      { raw: 5, human: 2 },
      { raw: 2, human: 0 },
      { raw: 0, human: 0 },
    ])
    expect(rows[2]!.id).toBe(c.id)
  })

  it('link the contact’s open deal, else the latest closed one, among those the viewer may read', async () => {
    const campaignId = await addCampaign()
    const day = (d: number) => new Date(Date.UTC(2026, 10, d))
    const open = await addRecipient(campaignId, { email: 'd1@example.com', line: 2 })
    await deal(open.contactId, 'won', day(20))
    const openDeal = await deal(open.contactId, 'demo', day(10), rep.id)
    const closed = await addRecipient(campaignId, { email: 'd2@example.com', line: 3 })
    await deal(closed.contactId, 'won', day(5), otherRep.id)
    const latestClosed = await deal(closed.contactId, 'lost', day(12), otherRep.id)
    const others = await addRecipient(campaignId, { email: 'd3@example.com', line: 4 })
    const othersDeal = await deal(others.contactId, 'target', day(15), otherRep.id)
    const unclaimed = await addRecipient(campaignId, { email: 'd4@example.com', line: 5 })
    const unclaimedDeal = await deal(unclaimed.contactId, 'target', day(16))

    const bySdr = (await listRecipients(db, campaignId, { viewer: sdr })).rows
    expect(bySdr.map((r) => r.deal)).toEqual([
      { id: openDeal, stage: 'demo', label: 'Demo', closed: false },
      { id: latestClosed, stage: 'lost', label: 'Lost', closed: true },
      { id: othersDeal, stage: 'target', label: 'Target', closed: false },
      { id: unclaimedDeal, stage: 'target', label: 'Target', closed: false },
    ])
    // A rep reads their own deals and the unclaimed queue, not a colleague's (as on the contacts list).
    const byRep = (await listRecipients(db, campaignId, { viewer: rep })).rows
    expect(byRep.map((r) => r.deal?.id ?? null)).toEqual([openDeal, null, null, unclaimedDeal])
  })

  it('say why one failed or bounced: its message’s last error, or that it could not be merged', async () => {
    const campaignId = await addCampaign()
    const refused = await addRecipient(campaignId, {
      email: 'r1@example.com',
      line: 2,
      status: 'failed',
    })
    const unmerged = await addRecipient(campaignId, {
      email: 'r2@example.com',
      line: 3,
      status: 'failed',
    })
    const sent = await addRecipient(campaignId, {
      email: 'r3@example.com',
      line: 4,
      status: 'sent',
    })
    for (const [r, lastError] of [
      [refused, 'smtp_550: 550 5.1.1 <r1@example.com>: user unknown'],
      [sent, null],
    ] as const) {
      const outboxId = newId()
      await db.insert(outbox).values({
        id: outboxId,
        kind: 'email',
        category: 'outreach',
        recipient: `${r.id}@example.com`,
        payload: { template: 'outreach', subject: 'Hello' },
        status: lastError ? 'failed' : 'sent',
        lastError,
        lastErrorKind: lastError ? 'permanent' : null,
      })
      await db.update(campaignRecipients).set({ outboxId }).where(eq(campaignRecipients.id, r.id))
    }

    const rows = (await listRecipients(db, campaignId, { viewer: rep })).rows
    expect(rows.map((r) => [r.id, r.reason])).toEqual([
      [
        refused.id,
        'Address refused by the receiving server (550 5.1.1 <r1@example.com>: user unknown)',
      ],
      [
        unmerged.id,
        'Not sent: its message could not be filled in (a merge field has no value for this recipient)',
      ],
      [sent.id, null],
    ])
  })

  it('say why one was suppressed: the entry that stopped it while it stands, or that they were erased', async () => {
    const campaignId = await addCampaign()
    const replaced = await addRecipient(campaignId, {
      email: 'x1@example.com',
      line: 2,
      status: 'suppressed',
    })
    const lifted = await addRecipient(campaignId, {
      email: 'x2@example.com',
      line: 3,
      status: 'suppressed',
    })
    // Failed, then sent again by an admin once the person had unsubscribed.
    const retried = await addRecipient(campaignId, {
      email: 'x3@example.com',
      line: 4,
      status: 'failed',
    })
    // Waiting for their turn when erased: no message at all (api/pipeline/erasure.ts).
    const erased = await addRecipient(campaignId, {
      email: 'x4@example.com',
      line: 5,
      status: 'suppressed',
    })
    await db
      .update(contacts)
      .set({ erasedAt: new Date('2026-05-01T10:00:00Z') })
      .where(eq(contacts.id, erased.contactId))
    for (const [r, email, reason] of [
      [replaced, 'x1@example.com', 'unsubscribe'],
      [lifted, 'x2@example.com', 'manual'],
      [retried, 'x3@example.com', 'unsubscribe'],
    ] as const) {
      const outboxId = newId()
      await db.insert(outbox).values({
        id: outboxId,
        kind: 'email',
        category: 'outreach',
        recipient: email,
        payload: { template: 'outreach', subject: 'Hello' },
        status: 'suppressed',
        lastError: `suppressed (${reason})`,
        lastErrorKind: 'suppressed',
      })
      await db.update(campaignRecipients).set({ outboxId }).where(eq(campaignRecipients.id, r.id))
    }
    // The unsubscribe was replaced by a bounce since; the admin's entry was taken off the list.
    await db.insert(suppressions).values([
      { email: 'x1@example.com', reason: 'hard_bounce', createdAt: new Date('2026-04-02T10:00Z') },
      { email: 'x3@example.com', reason: 'unsubscribe', createdAt: new Date('2026-04-03T10:00Z') },
    ])

    const rows = (await listRecipients(db, campaignId, { viewer: rep })).rows
    expect(rows.map((r) => [r.id, r.reason])).toEqual([
      [replaced.id, 'Not sent: unsubscribed'],
      [lifted.id, 'Not sent: an admin put the address on the do-not-mail list'],
      [retried.id, 'Not sent: unsubscribed on Apr 3, 2026'],
      [erased.id, 'Not sent: the person was erased'],
    ])
  })

  it('page 50 at a time; a page past the last is empty and keeps the total', async () => {
    const campaignId = await addCampaign()
    const n = RECIPIENTS_PAGE_SIZE + 3
    const contactRows = Array.from({ length: n }, (_, i) => ({
      id: newId(),
      email: `p${i}@paging.example`,
      emailDisplay: `p${i}@paging.example`,
      source: 'outbound' as const,
    }))
    await db.insert(contacts).values(contactRows)
    await db.insert(campaignRecipients).values(
      contactRows.map((c, i) => ({
        id: newId(),
        campaignId,
        contactId: c.id,
        email: c.email,
        fields: {},
        // The file's order is not the ids' order: the page is cut in file order.
        line: n - i + 1,
      })),
    )
    expect(RECIPIENTS_PAGE_SIZE).toBe(50)
    const first = await listRecipients(db, campaignId, { viewer: sdr })
    expect(first).toMatchObject({ total: n, page: 1, pageCount: 2 })
    expect(first.rows).toHaveLength(50)
    expect(first.rows[0]!.email).toBe('p52@paging.example')
    const second = await listRecipients(db, campaignId, { viewer: sdr, page: 2 })
    expect(second.rows.map((r) => r.email)).toEqual([
      'p2@paging.example',
      'p1@paging.example',
      'p0@paging.example',
    ])
    const past = await listRecipients(db, campaignId, { viewer: sdr, page: 3 })
    expect(past).toMatchObject({ rows: [], total: n, page: 3, pageCount: 2 })
  })
})
