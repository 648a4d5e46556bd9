import { and, eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { pruneExpired } from '../../../api/background.ts'
import {
  campaignRecipients,
  clickEvents,
  contacts,
  dealEvents,
  deals,
  submissions,
  suppressions,
  webhookEvents,
} from '../../../api/db/schema.ts'
import {
  addressFingerprint,
  removeManualSuppression,
  suppress,
} from '../../../api/email/suppressions.ts'
import { newId } from '../../../api/ids.ts'
import { dueForErasure } from '../../../api/pipeline/contact-retention.ts'
import { eraseInactiveContacts, erasePerson } from '../../../api/pipeline/erasure.ts'
import type { StageKey } from '../../../api/pipeline/stages.ts'
import { addUser, setupTestApp, type TestContext } from '../../helpers.ts'
import { CAMPAIGN_ENV, makeCampaign } from '../campaigns/fixtures.ts'

// The privacy policy's retention of contacts, run by housekeeping on an injected clock: a contact
// with no activity for 24 months is erased as erasePerson erases on request, except a customer's
// and one whose open deal a rep owns.

const NOW = new Date('2026-12-06T10:00:00Z')
const LONG_AGO = new Date('2024-12-05T10:00:00Z') // 24 months and a day before NOW
const MONTH_AGO = new Date('2026-11-06T10:00:00Z')
const NOTE = 'Person erased after 24 months without activity.'

let n = 0
/** A contact last changed at `at`, with a deal (and its "created" event) at that time if asked. */
async function person(
  ctx: TestContext,
  at: Date,
  deal?: { stage: StageKey; ownerId?: string | null },
) {
  n++
  const id = newId()
  const email = `person${n}@retention${n}.example`
  await ctx.deps.db.insert(contacts).values({
    id,
    email,
    emailDisplay: email,
    firstName: 'Morwenna',
    lastName: `Tregothnan${n}`,
    source: 'inbound',
    createdAt: at,
    updatedAt: at,
  })
  let dealId: string | null = null
  if (deal) {
    dealId = newId()
    await ctx.deps.db.insert(deals).values({
      id: dealId,
      contactId: id,
      title: `Retention ${n}`,
      stage: deal.stage,
      stageEnteredAt: at,
      source: 'inbound',
      ownerId: deal.ownerId ?? null,
      closedAt: deal.stage === 'won' ? at : null,
      createdAt: at,
      updatedAt: at,
    })
    await ctx.deps.db
      .insert(dealEvents)
      .values({ id: newId(), dealId, type: 'created', toStage: deal.stage, createdAt: at })
  }
  return { id, email, dealId }
}

const erasedIds = async (ctx: TestContext, ids: string[]) =>
  (
    await ctx.deps.db
      .select({ id: contacts.id, erasedAt: contacts.erasedAt })
      .from(contacts)
      .where(inArray(contacts.id, ids))
  )
    .filter((c) => c.erasedAt)
    .map((c) => c.id)
    .sort()

describe('erasing contacts inactive for 24 months', () => {
  it('erases the inactive and the unowned prospect; keeps the recent, the clicked, the form, the worked and the customer', async () => {
    const ctx = await setupTestApp(CAMPAIGN_ENV)
    ctx.clock.set(NOW)
    const { db } = ctx.deps
    const rep = await addUser(ctx, 'rep')
    const sdr = await addUser(ctx, 'sdr')

    const stale = await person(ctx, LONG_AGO)
    const recent = await person(ctx, new Date('2025-01-05T10:00:00Z')) // 23 months and a day
    const clicked = await person(ctx, LONG_AGO)
    const formed = await person(ctx, LONG_AGO)
    const worked = await person(ctx, new Date('2020-01-01T00:00:00Z'), {
      stage: 'demo',
      ownerId: rep.id,
    })
    const customer = await person(ctx, new Date('2020-01-01T00:00:00Z'), { stage: 'won' })
    const prospect = await person(ctx, LONG_AGO, { stage: 'opportunity' })
    const all = [stale, recent, clicked, formed, worked, customer, prospect].map((p) => p.id)

    // A click on the link we sent them a month ago; a form posted a month ago.
    const campaign = await makeCampaign(ctx, sdr, { name: 'Retention' })
    const recipientId = newId()
    await db.insert(campaignRecipients).values({
      id: recipientId,
      campaignId: campaign.id,
      contactId: clicked.id,
      email: clicked.email,
      fields: {},
      status: 'sent',
      sentAt: LONG_AGO,
      createdAt: LONG_AGO,
    })
    await db.insert(clickEvents).values({
      id: newId(),
      token: 'tok-retention',
      recipientId,
      campaignId: campaign.id,
      method: 'GET',
      createdAt: MONTH_AGO,
    })
    await db.insert(submissions).values({
      id: newId(),
      contactId: formed.id,
      kind: 'whitepaper',
      offer: 'benchmark',
      email: formed.email,
      fields: {},
      status: 'accepted',
      createdAt: MONTH_AGO,
    })

    // The stale person had unsubscribed (the prospect never asked not to be mailed).
    await db
      .insert(suppressions)
      .values({ email: stale.email, reason: 'unsubscribe', createdAt: LONG_AGO })

    // The candidates: only the due, oldest first, so kept contacts take no place in a batch.
    expect(await dueForErasure(db, NOW, 10)).toEqual([stale.id, prospect.id])

    // The rule holds again under the lock, whoever asks.
    expect(await erasePerson(db, customer.id, { reason: 'inactivity' }, NOW)).toMatchObject({
      ok: false,
      status: 409,
      code: 'not_due',
    })
    expect(await erasePerson(db, worked.id, { reason: 'inactivity' }, NOW)).toMatchObject({
      ok: false,
      code: 'not_due',
    })

    // Housekeeping runs the job and counts what it erased.
    expect((await pruneExpired(ctx.deps, NOW)).contactsErased).toBe(2)
    expect(await erasedIds(ctx, all)).toEqual([stale.id, prospect.id].sort())

    // The prospect's deal stays, with a note of why, by no one; the person is anonymised.
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, prospect.id))
    expect(contact).toMatchObject({
      email: `erased-${prospect.id}@erased.invalid`,
      firstName: null,
      lastName: null,
      erasedAt: NOW,
    })
    const [deal] = await db.select().from(deals).where(eq(deals.id, prospect.dealId!))
    expect(deal).toMatchObject({ contactId: prospect.id, stage: 'opportunity' })
    const notes = await db
      .select({ actorId: dealEvents.actorId, data: dealEvents.data })
      .from(dealEvents)
      .where(and(eq(dealEvents.dealId, prospect.dealId!), eq(dealEvents.type, 'note')))
    expect(notes).toEqual([{ actorId: null, data: { body: NOTE, erased: true } }])

    // Connected CRMs are told, as for an erasure on request.
    const told = await db
      .select({ data: webhookEvents.data })
      .from(webhookEvents)
      .where(eq(webhookEvents.type, 'contact.erased'))
    expect(told.map((e) => (e.data as { contactId: string }).contactId).sort()).toEqual(
      [stale.id, prospect.id].sort(),
    )

    // The unsubscribe still holds, as a fingerprint; nothing is kept of the prospect's address.
    expect(
      await db
        .select({ email: suppressions.email, reason: suppressions.reason })
        .from(suppressions),
    ).toEqual([{ email: addressFingerprint(stale.email), reason: 'erased' }])

    // A second run is harmless: nothing more is erased, noted or told.
    expect(await eraseInactiveContacts(db, NOW)).toBe(0)
    expect(
      await db
        .select()
        .from(dealEvents)
        .where(and(eq(dealEvents.dealId, prospect.dealId!), eq(dealEvents.type, 'note'))),
    ).toHaveLength(1)
    expect(
      await db.select().from(webhookEvents).where(eq(webhookEvents.type, 'contact.erased')),
    ).toHaveLength(2)

    // A month later, the 23-month contact is due in turn; a run with no time left starts nothing.
    expect(await eraseInactiveContacts(db, new Date('2027-01-07T10:00:00Z'), 100, 0)).toBe(0)
    expect(await erasedIds(ctx, [recent.id])).toEqual([])
    expect(await eraseInactiveContacts(db, new Date('2027-01-07T10:00:00Z'))).toBe(1)
    expect(await erasedIds(ctx, [recent.id])).toEqual([recent.id])
  })

  it('erases a contact whose address bounced or was suppressed by an admin since: not their activity', async () => {
    const ctx = await setupTestApp()
    ctx.clock.set(NOW)
    const { db } = ctx.deps
    const bounced = await person(ctx, LONG_AGO)
    const byAdmin = await person(ctx, LONG_AGO)
    const liftedByAdmin = await person(ctx, LONG_AGO)
    const input = (email: string, reason: 'hard_bounce' | 'manual') => ({ email, reason })
    await suppress(db, input(bounced.email, 'hard_bounce'), MONTH_AGO)
    await suppress(db, input(byAdmin.email, 'manual'), MONTH_AGO)
    await suppress(db, input(liftedByAdmin.email, 'manual'), MONTH_AGO)
    expect(await removeManualSuppression(db, liftedByAdmin.email, MONTH_AGO)).toBe('removed')

    const all = [bounced, byAdmin, liftedByAdmin].map((p) => p.id)
    expect(await eraseInactiveContacts(db, NOW)).toBe(3)
    expect(await erasedIds(ctx, all)).toEqual([...all].sort())
  })

  it('erases each contact once when two runs go at the same time, in batches', async () => {
    const ctx = await setupTestApp()
    const { db } = ctx.deps
    const people = []
    for (let i = 0; i < 12; i++) people.push(await person(ctx, LONG_AGO, { stage: 'opportunity' }))
    const [a, b] = await Promise.all([
      eraseInactiveContacts(db, NOW, 10),
      eraseInactiveContacts(db, NOW, 10),
    ])
    const c = await eraseInactiveContacts(db, NOW, 10)
    expect(a! + b! + c).toBe(12)
    expect(
      await erasedIds(
        ctx,
        people.map((p) => p.id),
      ),
    ).toHaveLength(12)
    const notes = await db
      .select({ dealId: dealEvents.dealId })
      .from(dealEvents)
      .where(eq(dealEvents.type, 'note'))
    expect(notes).toHaveLength(12)
    expect(
      await db.select().from(webhookEvents).where(eq(webhookEvents.type, 'contact.erased')),
    ).toHaveLength(12)
  })
})
