import { isDeepStrictEqual } from 'node:util'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { changeCampaignStatus } from '../../../api/campaigns/campaigns.ts'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { contacts, graderReports, webhookEvents } from '../../../api/db/schema.ts'
import {
  TEST_EVENT_TYPE,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_EVENTS,
} from '../../../api/db/webhook-outbox.ts'
import { issueUnsubscribeToken, unsubscribe } from '../../../api/email/unsubscribe.ts'
import type { GradeResult, Teaser } from '../../../api/grader/engine/grade.ts'
import { completeReport } from '../../../api/grader/reports.ts'
import { newId } from '../../../api/ids.ts'
import { createSubscription, recordTestEvent } from '../../../api/integrations/webhooks.ts'
import { claimDeal, moveDealStage } from '../../../api/pipeline/deals.ts'
import { erasePerson } from '../../../api/pipeline/erasure.ts'
import { createDeal } from '../../../api/pipeline/manual-deals.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { judgePendingClicks } from '../../../api/tracking/verdict-jobs.ts'
import { SETTLE_MS } from '../../../api/tracking/verdicts.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from '../campaigns/fixtures.ts'
import { demoFilesDir, leadForm, postLead } from '../leads/lead-helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'
import { addProspect } from '../tracking/fixtures.ts'

// Every webhook event type, recorded by the code that sends it, carries `data` that its
// documented schema (WEBHOOK_EVENTS, the OpenAPI document's `webhooks`) accepts and names in
// full: a field added to a payload and not to its schema, or a schema the payload no longer
// meets, fails here. Also after an erasure has scrubbed the stored payloads.

const ctx = await setupTestApp({
  ...CAMPAIGN_ENV,
  TRUST_PROXY: 'true',
  CONTENT_FILES_DIR: await demoFilesDir(),
})
const { db, env } = ctx.deps
const writer = createClickWriter(db, ctx.deps.logger)
const clicks = createApp(ctx.deps, writer)
afterAll(() => writer.drain())
ctx.clock.set(new Date('2026-12-01T10:00:00Z'))
const admin = await addUser(ctx, 'admin')
const rep = await addUser(ctx, 'rep')
const sdr = await addUser(ctx, 'sdr')
const now = () => ctx.clock.now()

type Recorded = { type: string; data: unknown }
const recorded = async (): Promise<Recorded[]> =>
  db
    .select({ type: webhookEvents.type, data: webhookEvents.data })
    .from(webhookEvents)
    .orderBy(webhookEvents.id)

/** What the event's schema does not accept, or the fields it does not name (dropped by parse). */
function undocumented({ type, data }: Recorded): string | null {
  const event = WEBHOOK_EVENTS[type as keyof typeof WEBHOOK_EVENTS]
  if (!event) return `${type}: no schema`
  const parsed = event.data.safeParse(data)
  if (!parsed.success) return `${type}: ${parsed.error.message}`
  // Keys in any order (jsonb keeps its own).
  return isDeepStrictEqual(parsed.data, data)
    ? null
    : `${type}: fields the schema does not name in ${JSON.stringify(data)}`
}

async function recordOneOfEach() {
  const sub = await createSubscription(
    db,
    { url: 'https://crm.example.com/hooks', events: [...WEBHOOK_EVENT_TYPES], createdBy: admin.id },
    now(),
  )
  await recordTestEvent(db, sub.id, now())

  // lead.captured, deal.qualified (inbound)
  const lead = await postLead(ctx, leadForm(ctx, { email: 'ivy@northwind.example.com' }), {
    js: true,
  })
  expect(lead.status).toBe(201)

  // deal.claimed, deal.stage_changed, deal.lost
  const queued = await makeDeal(db, { stage: 'target', ownerId: null })
  expect((await claimDeal(db, queued.id, rep.id, now())).ok).toBe(true)
  const lost = { stage: 'lost', lostReason: 'Chose a competitor' } as const
  expect((await moveDealStage(db, queued.id, rep, lost, now())).ok).toBe(true)

  // deal.won, moved there and entered by hand (with deal.qualified, manual)
  const signed = await makeDeal(db, {
    stage: 'signed',
    ownerId: rep.id,
    contractSignedOn: '2026-11-20',
  })
  const win = { stage: 'won', paymentReceivedOn: '2026-11-30' } as const
  expect((await moveDealStage(db, signed.id, rep, win, now())).ok).toBe(true)
  const entered = await createDeal(
    db,
    rep,
    {
      stage: 'won',
      contractSignedOn: '2026-11-28',
      paymentReceivedOn: '2026-11-30',
      reason: 'Referral from Ann at Acme',
      contact: { email: 'won@fabrikam.example' },
    } as never,
    now(),
  )
  expect(entered.ok).toBe(true)

  // contact.unsubscribed
  const token = await issueUnsubscribeToken(db, 'leaving@northwind.example.com')
  await unsubscribe(db, token, { via: 'one-click' }, now())

  // grader.report_completed
  const reportId = newId()
  await db.insert(graderReports).values({
    id: reportId,
    normalizedUrl: 'https://northwind.example.com/',
    host: 'northwind.example.com',
    status: 'running',
  })
  const result = {
    finalUrl: 'https://www.northwind.example.com/',
    total: 71,
    band: 'B',
    platform: null,
    rubricVersion: 'test',
  } as unknown as GradeResult
  await completeReport(db, reportId, result, {} as Teaser, now())

  // campaign.started, campaign.completed
  const campaign = await makeCampaign(ctx, sdr, { name: 'Logistics leaders' })
  const stored = await storeImport(
    db,
    sdr,
    {
      campaignId: campaign.id,
      filename: 'p.csv',
      bytes: new TextEncoder().encode(csv([['email'], ['pat@logistics.example']])),
    },
    now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now, leaseMs: 60_000, worker: 't' })
  expect((await changeCampaignStatus(db, env, sdr, campaign.id, 'start', now())).ok).toBe(true)
  expect((await changeCampaignStatus(db, env, sdr, campaign.id, 'complete', now())).ok).toBe(true)

  // click.human, deal.qualified (outbound)
  const prospect = await addProspect(db, {
    sdrId: sdr.id,
    sentAt: now(),
    urls: ['https://www.example.com/pricing'],
  })
  ctx.clock.advance(180_000)
  const res = await clicks.request(`/r/${prospect.tokens[0]}`, {
    headers: {
      'user-agent':
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
      accept: 'text/html',
      'accept-language': 'en-GB,en;q=0.9',
      'x-forwarded-for': '81.120.7.9',
    },
  })
  expect(res.status).toBe(302)
  await writer.drain()
  ctx.clock.advance(SETTLE_MS)
  while ((await judgePendingClicks(db, now(), 100)).judged > 0);

  // contact.erased
  const [person] = await db
    .select()
    .from(contacts)
    .where(eq(contacts.email, 'ivy@northwind.example.com'))
  const erased = await erasePerson(
    db,
    person!.id,
    { reason: 'request', actor: admin, confirm: person!.email },
    now(),
  )
  expect(erased.ok).toBe(true)
}

let events: Recorded[]
beforeAll(async () => {
  await recordOneOfEach()
  events = await recorded()
})

describe('the documented webhook payloads', () => {
  it('document every type a receiver can get, the test event too', () => {
    expect(Object.keys(WEBHOOK_EVENTS).sort()).toEqual(
      [...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE].sort(),
    )
  })

  it('describe the data of one event of every type, as the code that sends it records it', () => {
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual(
      Object.keys(WEBHOOK_EVENTS).sort(),
    )
    // Including the lead's, scrubbed by the erasure after it was recorded.
    expect(events.map(undocumented).filter((problem) => problem !== null)).toEqual([])
  })

  it('give a lost deal its reason and a won one its contract and payment dates', () => {
    const data = (type: string) => events.filter((e) => e.type === type).map((e) => e.data)
    expect(data('deal.lost')).toEqual([
      expect.objectContaining({ to: 'lost', lostReason: 'Chose a competitor' }),
    ])
    expect(data('deal.won')).toEqual([
      expect.objectContaining({
        from: 'signed',
        contractSignedOn: '2026-11-20',
        paymentReceivedOn: '2026-11-30',
      }),
      expect.objectContaining({
        from: null,
        contractSignedOn: '2026-11-28',
        paymentReceivedOn: '2026-11-30',
      }),
    ])
  })
})
