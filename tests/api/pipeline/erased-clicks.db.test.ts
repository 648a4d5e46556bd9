import { asc, eq, isNotNull } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { campaignRecipients, clickEvents, contacts } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { sweepErasedClicks, type ErasedClicksCursor } from '../../../api/pipeline/erasure.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { CAMPAIGN_ENV, makeCampaign } from '../campaigns/fixtures.ts'

// The housekeeping's sweep of clicks that reached an erased person's record after the erasure
// (api/pipeline/erasure.ts sweepErasedClicks): bounded per run, resumed at the next.

describe('the sweep of erased people’s clicks', () => {
  it('works through the erased a chunk at a time, stops when its time is spent and goes on from there at the next run', async () => {
    const ctx = await setupTestApp(CAMPAIGN_ENV)
    const { db } = ctx.deps
    const campaign = await makeCampaign(ctx, await addUser(ctx, 'sdr'), { name: 'Sweep' })
    const at = ctx.clock.now()
    /** A contact (erased or not) with two clicks still carrying their network data. */
    const person = async (erased: boolean) => {
      const id = newId()
      const email = `sweep-${id}@example.com`
      await db.insert(contacts).values({
        id,
        email,
        emailDisplay: email,
        source: 'outbound',
        erasedAt: erased ? at : null,
      })
      const recipientId = newId()
      await db
        .insert(campaignRecipients)
        .values({ id: recipientId, campaignId: campaign.id, contactId: id, email, fields: {} })
      await db.insert(clickEvents).values(
        [1, 2].map(() => ({
          id: newId(),
          token: `tok-${id}`,
          recipientId,
          campaignId: campaign.id,
          method: 'GET',
          ip: '203.0.113.5',
          userAgent: 'Mozilla/5.0 (Test)',
          headers: { accept: 'text/html' },
        })),
      )
      return id
    }
    for (let i = 0; i < 3; i++) await person(true)
    const kept = await person(false)
    // In the database's order of ids, the sweep's.
    const erased = (
      await db
        .select({ id: contacts.id })
        .from(contacts)
        .where(isNotNull(contacts.erasedAt))
        .orderBy(asc(contacts.id))
    ).map((c) => c.id)
    const carrying = async () =>
      (
        await db
          .select({ contactId: campaignRecipients.contactId })
          .from(clickEvents)
          .innerJoin(campaignRecipients, eq(campaignRecipients.id, clickEvents.recipientId))
          .where(eq(clickEvents.ip, '203.0.113.5'))
      )
        .map((c) => c.contactId)
        .sort()

    const cursor: ErasedClicksCursor = { after: null }
    // One statement, full: the first contact's chunk is read again, by the next run.
    expect(await sweepErasedClicks(db, cursor, { contacts: 1, batch: 1, budgetMs: 0 })).toBe(1)
    expect(cursor.after).toBeNull()
    expect(await sweepErasedClicks(db, cursor, { contacts: 1, batch: 10, budgetMs: 0 })).toBe(1)
    expect(cursor.after).toBe(erased[0])
    expect(await carrying()).toEqual(
      [erased[1], erased[1], erased[2], erased[2], kept, kept].sort(),
    )

    // With time, a run goes on from there to the last erased contact, and starts over next time.
    expect(await sweepErasedClicks(db, cursor, { contacts: 1, batch: 10 })).toBe(4)
    expect(cursor.after).toBeNull()
    expect(await carrying()).toEqual([kept, kept])
    expect(await sweepErasedClicks(db, cursor)).toBe(0)
  })
})
