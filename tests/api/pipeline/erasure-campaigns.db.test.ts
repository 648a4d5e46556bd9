import { and, eq, like } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { changeCampaignStatus } from '../../../api/campaigns/campaigns.ts'
import { countNonClickers, createFollowUp } from '../../../api/campaigns/follow-ups.ts'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { enqueueDueRecipients, recordOutcomes } from '../../../api/campaigns/sending.ts'
import { campaignRecipients, contacts, mailboxMessages, outbox } from '../../../api/db/schema.ts'
import { erasePerson } from '../../../api/pipeline/erasure.ts'
import { addUser } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from '../campaigns/fixtures.ts'
import { mailboxTransport, testWorker } from '../email/outbox-fixtures.ts'
import { setupLeadApp } from '../leads/lead-helpers.ts'

// A person erased while outreach to them is still waiting for its turn (in a campaign not
// started) is never written to: the waiting row counts as suppressed, nothing reaches the outbox
// for the placeholder address, and a follow-up made afterwards leaves them out (their anonymised
// deal is still an untaken 0% prospect).

const ctx = await setupLeadApp({ ...CAMPAIGN_ENV })
const { db, env } = ctx.deps
ctx.clock.set(new Date('2026-11-30T09:00:00Z'))
const admin = await addUser(ctx, 'admin')
const sdr = await addUser(ctx, 'sdr')

const ERASED = 'wren.halloway@quayside-freight.example'
const OTHER = 'milo.ashdown@quayside-freight.example'
const THIRD = 'ines.partridge@quayside-freight.example'

async function importInto(campaignId: string, emails: string[]) {
  const stored = await storeImport(
    db,
    sdr,
    {
      campaignId,
      filename: 'people.csv',
      bytes: new TextEncoder().encode(
        csv([['email', 'first name'], ...emails.map((e) => [e, e.split('.')[0]!])]),
      ),
    },
    ctx.clock.now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
}

async function start(campaignId: string) {
  for (const action of ['ready', 'start'] as const) {
    const changed = await changeCampaignStatus(db, env, sdr, campaignId, action, ctx.clock.now())
    if (!changed.ok && !(action === 'ready' && changed.code === 'wrong_status'))
      throw new Error(`${action}: ${changed.message}`)
  }
}

async function sendDue() {
  await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 3_600_000 })
  ctx.clock.advance(3_600_000)
  const worker = testWorker(ctx, mailboxTransport(ctx))
  while ((await worker.drainOnce()).claimed > 0);
  await recordOutcomes(db)
}

const statusOf = async (campaignId: string) =>
  Object.fromEntries(
    (
      await db
        .select({ contactId: campaignRecipients.contactId, status: campaignRecipients.status })
        .from(campaignRecipients)
        .where(eq(campaignRecipients.campaignId, campaignId))
    ).map((r) => [r.contactId, r.status]),
  )

describe('erasing a person with outreach still waiting', () => {
  it('never sends them what waited, and leaves them out of a later follow-up', async () => {
    const first = await makeCampaign(ctx, sdr, { name: 'Quayside first touch' })
    await importInto(first.id, [ERASED, OTHER])
    await start(first.id)
    await sendDue()
    expect(Object.values(await statusOf(first.id))).toEqual(['sent', 'sent'])

    // Made before the erasure: waiting in a campaign not started, and so left out of the
    // follow-up made after it (one live campaign at a time), which waits for the other one.
    const notStarted = await makeCampaign(ctx, sdr, { name: 'Quayside, later' })
    await importInto(notStarted.id, [ERASED, THIRD])
    const followUp = await createFollowUp(db, env, sdr, first.id, ctx.clock.now())
    if (!followUp.ok) throw new Error(followUp.message)
    expect(followUp).toMatchObject({ recipients: 1, inOtherCampaign: 1 })

    const [person] = await db.select().from(contacts).where(eq(contacts.email, ERASED))
    const erased = await erasePerson(
      db,
      person!.id,
      { reason: 'request', actor: admin, confirm: ERASED },
      ctx.clock.now(),
    )
    expect(erased.ok).toBe(true)

    const [other] = await db.select().from(contacts).where(eq(contacts.email, OTHER))
    const [third] = await db.select().from(contacts).where(eq(contacts.email, THIRD))
    expect(await statusOf(followUp.campaign.id)).toEqual({ [other!.id]: 'pending' })
    expect(await statusOf(notStarted.id)).toEqual({
      [person!.id]: 'suppressed',
      [third!.id]: 'pending',
    })
    // What was sent stays counted as sent.
    expect((await statusOf(first.id))[person!.id]).toBe('sent')

    // Both go out: only to the people who were not erased.
    await start(followUp.campaign.id)
    await start(notStarted.id)
    await sendDue()
    expect(await statusOf(followUp.campaign.id)).toEqual({ [other!.id]: 'sent' })
    expect((await statusOf(notStarted.id))[third!.id]).toBe('sent')
    expect(
      await db.select().from(outbox).where(like(outbox.recipient, '%@erased.invalid')),
    ).toEqual([])
    expect(
      await db
        .select()
        .from(mailboxMessages)
        .where(and(like(mailboxMessages.to, '%erased.invalid%'))),
    ).toEqual([])

    // A follow-up made now: the other one only.
    expect(await countNonClickers(db, first.id)).toEqual({ recipients: 1, inOtherCampaign: 0 })
    const later = await createFollowUp(db, env, sdr, first.id, ctx.clock.now())
    if (!later.ok) throw new Error(later.message)
    expect(await statusOf(later.campaign.id)).toEqual({ [other!.id]: 'pending' })
  })
})
