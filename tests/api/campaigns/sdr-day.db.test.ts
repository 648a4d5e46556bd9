import { eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { sdrDay } from '../../../api/campaigns/sdr-day.ts'
import {
  campaignImports,
  campaignRecipients,
  campaigns,
  clickEvents,
  contacts,
  deals,
} from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { claimDeal } from '../../../api/pipeline/deals.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { judgePendingClicks } from '../../../api/tracking/verdict-jobs.ts'
import { SETTLE_MS } from '../../../api/tracking/verdicts.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { addTrackedLinks } from '../tracking/fixtures.ts'

// An SDR's home: the last seven days of their own campaigns (both ends of the window included),
// their campaigns not completed yet with progress and a running or unclean import, and the
// newest targets their clicks made with the rep who took each over.

const ctx = await setupTestApp({ TRUST_PROXY: 'true' })
const { db } = ctx.deps

const DAY = 86_400_000
const NOW = new Date('2026-12-06T12:00:00Z')
const FROM = new Date(NOW.getTime() - 7 * DAY)
const before = (d: Date, ms = 1) => new Date(d.getTime() - ms)

const sdr = await addUser(ctx, 'sdr')
const otherSdr = await addUser(ctx, 'sdr')
const rep = await addUser(ctx, 'rep')

type Status = (typeof campaigns.$inferInsert)['status']
async function addCampaign(ownerId: string, name: string, status: Status, createdAt: Date) {
  const id = newId(createdAt.getTime())
  await db.insert(campaigns).values({
    id,
    name,
    ownerId,
    createdBy: ownerId,
    status,
    senderName: 'SDR',
    senderEmail: 'sdr@frontdoor.example',
    subjectTemplate: 'Hello',
    bodyTemplate: 'Hello {{firstName}}',
    createdAt,
    updatedAt: createdAt,
  })
  return id
}

type RecipientStatus = (typeof campaignRecipients.$inferInsert)['status']
/** A recipient (and its contact, with a company name) of a campaign. */
async function addRecipient(campaignId: string, status: RecipientStatus, sentAt?: Date) {
  const tag = Math.random().toString(36).slice(2, 9)
  const email = `p-${tag}@example.com`
  const contactId = newId()
  await db.insert(contacts).values({
    id: contactId,
    email,
    emailDisplay: email,
    firstName: 'Pat',
    lastName: tag,
    companyName: `Company ${tag}`,
    source: 'outbound',
  })
  const id = newId()
  await db
    .insert(campaignRecipients)
    .values({ id, campaignId, contactId, email, fields: {}, status, sentAt: sentAt ?? null })
  return { id, contactId, companyName: `Company ${tag}` }
}

type Verdict = (typeof clickEvents.$inferInsert)['verdict']
async function addClick(
  campaignId: string,
  recipientId: string,
  verdict: Verdict,
  at: Date,
  madeTargetAt: Date | null = null,
) {
  await db.insert(clickEvents).values({
    id: newId(at.getTime()),
    token: 'x'.repeat(26),
    recipientId,
    campaignId,
    method: 'GET',
    verdict,
    createdAt: at,
    qualifiedAt: madeTargetAt,
    madeTargetAt,
  })
}

type Stage = (typeof deals.$inferInsert)['stage']
async function addDeal(
  contactId: string,
  stage: Stage,
  createdAt: Date,
  ownerId: string | null = null,
) {
  const id = newId(createdAt.getTime())
  await db.insert(deals).values({
    id,
    contactId,
    title: 'Deal',
    stage,
    stageEnteredAt: createdAt,
    source: 'outbound',
    sdrId: sdr.id,
    ownerId,
    createdAt,
    updatedAt: createdAt,
  })
  return id
}

/** A recipient whose human click at `at` made a target of a prospect listed a week earlier. */
async function addTarget(
  campaignId: string,
  at: Date,
  deal: { stage: Stage; ownerId?: string | null },
) {
  const r = await addRecipient(campaignId, 'sent', before(at, 3_600_000))
  await addClick(campaignId, r.id, 'human', before(at, 60_000), at)
  const dealId = await addDeal(r.contactId, deal.stage, before(at, 7 * DAY), deal.ownerId)
  return { ...r, dealId }
}

describe('an SDR’s day', () => {
  it('is empty for a new SDR', async () => {
    const newcomer = await addUser(ctx, 'sdr')
    expect(await sdrDay(db, newcomer.id, NOW)).toEqual({
      week: { from: FROM, to: NOW, sent: 0, humanClicks: 0, targetsCreated: 0, takenOver: 0 },
      campaignCount: 0,
      openCount: 0,
      campaigns: [],
      targets: [],
    })
  })

  it('counts the last seven days of the SDR’s own campaigns, lists the open ones and the newest targets', async () => {
    const running = await addCampaign(
      sdr.id,
      'Running',
      'sending',
      new Date('2026-11-01T00:00:00Z'),
    )
    const draft = await addCampaign(sdr.id, 'Draft', 'draft', new Date('2026-12-01T00:00:00Z'))
    const paused = await addCampaign(sdr.id, 'Paused', 'paused', new Date('2026-11-20T00:00:00Z'))
    const done = await addCampaign(sdr.id, 'Done', 'completed', new Date('2026-12-02T00:00:00Z'))
    const theirs = await addCampaign(
      otherSdr.id,
      'Theirs',
      'sending',
      new Date('2026-12-03T00:00:00Z'),
    )

    // Sent: both ends of the window count, a completed campaign's too; not a millisecond
    // before, not a bounce, not another SDR's, not what is still waiting.
    const atStart = await addRecipient(running, 'sent', FROM)
    await addRecipient(running, 'sent', NOW)
    await addRecipient(done, 'sent', new Date('2026-12-03T00:00:00Z'))
    await addRecipient(running, 'sent', before(FROM))
    await addRecipient(running, 'bounced', new Date('2026-12-04T00:00:00Z'))
    await addRecipient(theirs, 'sent', new Date('2026-12-04T00:00:00Z'))
    await addRecipient(running, 'pending')
    await addRecipient(running, 'queued')
    await addRecipient(paused, 'pending')

    // Human clicks: both verdicts that are people, at the window's ends; not bots, not a click
    // still waiting for its verdict, not one a millisecond too early, not another SDR's.
    await addClick(running, atStart.id, 'human', FROM)
    await addClick(running, atStart.id, 'human_confirmed', NOW)
    await addClick(running, atStart.id, 'bot', NOW)
    await addClick(running, atStart.id, 'likely_bot', NOW)
    await addClick(running, atStart.id, 'pending', NOW)
    await addClick(running, atStart.id, 'human', before(FROM))
    const theirRecipient = await addRecipient(theirs, 'sent', FROM)
    await addClick(theirs, theirRecipient.id, 'human', NOW)

    // Targets made in the window: one waiting for a rep (made at the window's first instant, by
    // the completed campaign), one taken over, one taken over and lost since (its contact has a
    // newer open deal, which is not this target's).
    const waiting = await addTarget(done, FROM, { stage: 'target' })
    const taken = await addTarget(running, new Date('2026-12-04T09:00:00Z'), {
      stage: 'demo',
      ownerId: rep.id,
    })
    const lost = await addTarget(running, new Date('2026-12-05T09:00:00Z'), {
      stage: 'lost',
      ownerId: rep.id,
    })
    await addDeal(lost.contactId, 'target', new Date('2026-12-06T08:00:00Z'))
    // Not in the window: made a millisecond before it; not the SDR's: another SDR's campaign.
    const older = await addTarget(running, before(FROM), { stage: 'target' })
    await addTarget(theirs, new Date('2026-12-05T10:00:00Z'), { stage: 'target' })
    // A human click that only added evidence to a deal already at 10% made no target.
    const evidence = await addRecipient(running, 'sent', new Date('2026-12-05T00:00:00Z'))
    await db.insert(clickEvents).values({
      id: newId(),
      token: 'y'.repeat(26),
      recipientId: evidence.id,
      campaignId: running,
      method: 'GET',
      verdict: 'human',
      createdAt: new Date('2026-12-05T11:00:00Z'),
      qualifiedAt: new Date('2026-12-05T11:00:30Z'),
    })

    // Imports: the draft's latest still running; the paused one refused rows; the running one's
    // latest is clean (an older one's bad rows were fixed by it).
    const addImport = async (
      campaignId: string,
      at: Date,
      values: Partial<typeof campaignImports.$inferInsert>,
    ) => {
      const id = newId(at.getTime())
      await db.insert(campaignImports).values({
        id,
        campaignId,
        filename: 'prospects.csv',
        content: new Uint8Array([0x61]),
        bytes: 1,
        createdAt: at,
        ...values,
      })
      return id
    }
    await addImport(draft, new Date('2026-12-01T10:00:00Z'), { status: 'done', invalid: 2 })
    const runningImport = await addImport(draft, new Date('2026-12-01T11:00:00Z'), {
      status: 'running',
      processedRows: 250,
      totalRows: 1000,
    })
    const badRows = await addImport(paused, new Date('2026-11-20T10:00:00Z'), {
      status: 'done',
      invalid: 3,
    })
    await addImport(running, new Date('2026-11-01T10:00:00Z'), { status: 'done', invalid: 4 })
    await addImport(running, new Date('2026-11-01T11:00:00Z'), { status: 'done' })

    const day = await sdrDay(db, sdr.id, NOW)
    // Sent: at FROM, at NOW, the completed campaign's, and the messages of the taken and lost
    // targets and of the evidence-only click (the waiting target's went out before FROM).
    // Human clicks: at FROM, at NOW, the taken, lost and evidence-only ones.
    expect(day.week).toEqual({
      from: FROM,
      to: NOW,
      sent: 6,
      humanClicks: 5,
      targetsCreated: 3,
      takenOver: 2,
    })
    expect(day.campaignCount).toBe(4)
    expect(day.openCount).toBe(3)
    expect(day.campaigns.map((c) => c.name)).toEqual(['Draft', 'Paused', 'Running'])
    const [draftLine, pausedLine, runningLine] = day.campaigns
    expect(draftLine).toMatchObject({
      id: draft,
      status: 'draft',
      recipients: 0,
      import: { id: runningImport, status: 'running', processedRows: 250, totalRows: 1000 },
    })
    expect(pausedLine).toMatchObject({
      status: 'paused',
      recipients: 1,
      waiting: 1,
      import: { id: badRows, status: 'done', invalid: 3 },
    })
    expect(runningLine).toMatchObject({
      status: 'sending',
      // at FROM, at NOW, before FROM, bounced, pending, queued, taken, lost, older, evidence
      recipients: 10,
      sent: 7,
      waiting: 2,
      // Every human click of the campaign, not only this week's.
      humanClicks: 7,
      import: null,
    })
    expect(
      day.targets.map((t) => ({
        dealId: t.dealId,
        stage: t.stage,
        ownerName: t.ownerName,
        companyName: t.companyName,
        campaignName: t.campaignName,
      })),
    ).toEqual([
      {
        dealId: lost.dealId,
        stage: 'lost',
        ownerName: rep.name,
        companyName: lost.companyName,
        campaignName: 'Running',
      },
      {
        dealId: taken.dealId,
        stage: 'demo',
        ownerName: rep.name,
        companyName: taken.companyName,
        campaignName: 'Running',
      },
      {
        dealId: waiting.dealId,
        stage: 'target',
        ownerName: null,
        companyName: waiting.companyName,
        campaignName: 'Done',
      },
      {
        dealId: older.dealId,
        stage: 'target',
        ownerName: null,
        companyName: older.companyName,
        campaignName: 'Running',
      },
    ])
    expect(day.targets[0]!.at).toEqual(new Date('2026-12-05T09:00:00Z'))
    expect(day.targets[0]!.contactName).toMatch(/^Pat /)
  })

  it('counts a real click once the verdict job made it a target, and a rep’s take-over', async () => {
    const writer = createClickWriter(db, ctx.deps.logger)
    const app = createApp(ctx.deps, writer)
    afterAll(() => writer.drain())
    const link = await addTrackedLinks(db, ['https://www.example.com/pricing'])
    const [row] = await db
      .select({ owner: campaigns.ownerId })
      .from(campaigns)
      .where(eq(campaigns.id, link.campaignId))
    const owner = row!.owner
    await app.request(`/r/${link.tokens[0]}`, {
      headers: {
        'user-agent': 'Mozilla/5.0 (Macintosh) Firefox/132.0',
        'accept-language': 'en',
        'x-forwarded-for': '81.120.7.9',
      },
    })
    ctx.clock.advance(SETTLE_MS)
    await judgePendingClicks(db, ctx.clock.now())

    const made = await sdrDay(db, owner, ctx.clock.now())
    expect(made.week).toMatchObject({ humanClicks: 1, targetsCreated: 1, takenOver: 0 })
    expect(made.targets).toHaveLength(1)
    expect(made.targets[0]).toMatchObject({ stage: 'target', ownerName: null })

    const claimed = await claimDeal(db, made.targets[0]!.dealId, rep.id, ctx.clock.now())
    expect(claimed.ok).toBe(true)
    const after = await sdrDay(db, owner, ctx.clock.now())
    expect(after.week).toMatchObject({ targetsCreated: 1, takenOver: 1 })
    expect(after.targets[0]).toMatchObject({ ownerName: rep.name })
  })
})
