import { and, eq, sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  contacts,
  dealEvents,
  deals,
} from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { erasePerson } from '../../../api/pipeline/erasure.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import {
  judgePendingClicks,
  rescoreClicks,
  RESCORE_RECHECK_MS,
  startVerdictJobs,
} from '../../../api/tracking/verdict-jobs.ts'
import { RULES_VERSION, SETTLE_MS } from '../../../api/tracking/verdicts.ts'
import { eventually } from '../../eventually.ts'
import { addProspect as addSharedProspect, held, insertLinks } from './fixtures.ts'
import { addUser, setupTestApp, signInCookie } from '../../helpers.ts'

// The verdict job against a real database: clicks recorded through GET /r/<token>, judged in the
// background, and a human click turned into a 10% target through qualifyContact, once.

const ctx = await setupTestApp({ TRUST_PROXY: 'true' })
const { db } = ctx.deps
const writer = createClickWriter(db, ctx.deps.logger)
const app = createApp(ctx.deps, writer)
afterAll(() => writer.drain())

const PERSON = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  accept: 'text/html',
  'accept-language': 'en-GB,en;q=0.9',
}
const SCANNER = { 'user-agent': PERSON['user-agent'], accept: '*/*' }

/** A prospect with a sent message of 3 links, owned by a new SDR (tracking/fixtures.ts). */
async function addProspect(options: { deal?: 'opportunity' | 'none'; sdrOnDeal?: boolean } = {}) {
  const sdr = await addUser(ctx, 'sdr')
  const urls = [
    'https://www.example.com/pricing',
    'https://www.example.com/case',
    'https://www.example.com/demo',
  ]
  const prospect = await addSharedProspect(db, {
    sdrId: sdr.id,
    sentAt: ctx.clock.now(),
    urls,
    ...options,
  })
  return { sdr, ...prospect }
}

async function clickAs(token: string, ip: string, headers: Record<string, string>) {
  const res = await app.request(`/r/${token}`, { headers: { ...headers, 'x-forwarded-for': ip } })
  expect(res.status).toBe(302)
}

const openDealOf = async (contactId: string) =>
  db.select().from(deals).where(eq(deals.contactId, contactId))
const evidenceOf = async (dealId: string) =>
  db
    .select()
    .from(dealEvents)
    .where(and(eq(dealEvents.dealId, dealId), eq(dealEvents.type, 'evidence')))
const clicksOf = (recipientId: string) =>
  db
    .select()
    .from(clickEvents)
    .where(eq(clickEvents.recipientId, recipientId))
    .orderBy(clickEvents.createdAt)

/** Runs the job until it has nothing left. */
async function runJob() {
  for (;;) {
    const run = await judgePendingClicks(db, ctx.clock.now(), 100)
    if (run.judged === 0) return
  }
}

describe('the verdict job', () => {
  it('judges a scanner sweep as bots and the person 3 minutes later as human, who becomes a 10% target credited to the SDR', async () => {
    const p = await addProspect()
    ctx.clock.advance(43_000)
    for (const token of p.tokens) {
      await clickAs(token, '148.163.130.7', SCANNER)
      ctx.clock.advance(150)
    }
    // Not judged inside the burst window; then every sweep click is a bot, with its reasons.
    await runJob()
    expect((await clicksOf(p.recipientId)).map((c) => c.verdict)).toEqual([
      'pending',
      'pending',
      'pending',
    ])
    ctx.clock.advance(SETTLE_MS)
    await runJob()
    const sweep = await clicksOf(p.recipientId)
    expect(sweep.map((c) => c.verdict)).toEqual(['bot', 'bot', 'bot'])
    expect(sweep[0]!.rulesVersion).toBe(RULES_VERSION)
    expect(sweep[0]!.reasons).toContainEqual({
      code: 'link_sweep',
      sentence: '3 links of this email opened within 0.3 s from one address',
    })
    expect(sweep[0]!.reasons).toContainEqual({
      code: 'security_network',
      sentence: 'Proofpoint mail-security network',
    })
    expect((await openDealOf(p.contactId))[0]!.stage).toBe('opportunity')

    ctx.clock.advance(180_000)
    await clickAs(p.tokens[1]!, '81.120.7.9', PERSON)
    const clickedAt = ctx.clock.now()
    await runJob()
    expect((await openDealOf(p.contactId))[0]!.stage).toBe('opportunity') // waits out the window
    ctx.clock.advance(SETTLE_MS)
    await runJob()

    const [deal, ...more] = await openDealOf(p.contactId)
    expect(more).toEqual([])
    expect(deal).toMatchObject({
      id: p.dealId,
      stage: 'target',
      source: 'outbound',
      sdrId: p.sdr.id,
      ownerId: null,
    })
    const [evidence, ...moreEvidence] = await evidenceOf(deal!.id)
    expect(moreEvidence).toEqual([])
    expect(evidence!.data).toMatchObject({
      kind: 'click',
      source: 'outbound',
      url: p.urls[1],
      campaign: 'Q4 forecasting outreach',
      subject: 'Forecasts for {{company}}',
      verdict: 'human',
      rulesVersion: RULES_VERSION,
      at: clickedAt.toISOString(),
    })
    expect((evidence!.data as { reasons: unknown[] }).reasons).toContainEqual({
      code: 'no_bot_signal',
      sentence: 'a browser visit with nothing that points to a scanner',
    })
    const person = (await clicksOf(p.recipientId)).at(-1)!
    expect(person).toMatchObject({ verdict: 'human', qualifiedAt: ctx.clock.now() })

    // The deal JSON and its timeline show the SDR, the evidence and each click with its verdict.
    const admin = await addUser(ctx, 'admin')
    const res = await app.request(`/api/deals/${deal!.id}`, {
      headers: { cookie: await signInCookie(ctx, admin.email) },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      deal: { sdrId: string }
      sdr: { id: string; name: string }
      timeline: Array<{
        kind: string
        badge: string | null
        detail: string | null
        evidence?: { summary: string; details: Array<{ label: string; value: string }> }
      }>
    }
    expect(body.deal.sdrId).toBe(p.sdr.id)
    expect(body.sdr).toMatchObject({ id: p.sdr.id, name: 'sdr person' })
    const ev = body.timeline.find((e) => e.kind === 'evidence')!
    expect(ev.evidence!.summary).toBe(
      `Human click on ${p.urls[1]} in campaign “Q4 forecasting outreach”`,
    )
    expect(ev.evidence!.details).toContainEqual({
      label: 'Why human',
      value: 'a browser visit with nothing that points to a scanner',
    })
    const clicks = body.timeline.filter((e) => e.kind === 'click')
    expect(clicks.map((c) => c.badge)).toEqual(['human', 'bot', 'bot', 'bot'])
    expect(clicks[1]!.detail).toContain('Proofpoint mail-security network')
  })

  it('makes exactly one deal and one evidence entry whatever the order of clicks, re-scores and retries', async () => {
    const p = await addProspect({ deal: 'none' })
    ctx.clock.advance(3_600_000)
    await clickAs(p.tokens[2]!, '81.120.7.9', PERSON)
    ctx.clock.advance(40_000)
    await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
    ctx.clock.advance(SETTLE_MS)
    // Two batches at once (concurrent processes on PostgreSQL), then again: one qualification.
    await Promise.all([
      judgePendingClicks(db, ctx.clock.now(), 1),
      judgePendingClicks(db, ctx.clock.now(), 1),
    ])
    await runJob()
    ctx.clock.advance(600_000)
    await clickAs(p.tokens[1]!, '81.120.7.9', PERSON)
    ctx.clock.advance(SETTLE_MS)
    await runJob()
    // New rules: every click is judged again; nothing is added, nothing un-qualified.
    await db
      .update(clickEvents)
      .set({ rulesVersion: 'older' })
      .where(eq(clickEvents.recipientId, p.recipientId))
    for (;;) if ((await rescoreClicks(db, ctx.clock.now())).judged === 0) break
    expect((await clicksOf(p.recipientId)).map((c) => [c.verdict, c.rulesVersion])).toEqual([
      ['human', RULES_VERSION],
      ['human', RULES_VERSION],
      ['human', RULES_VERSION],
    ])
    const [deal, ...more] = await openDealOf(p.contactId)
    expect(more).toEqual([])
    expect(deal).toMatchObject({ stage: 'target', source: 'outbound', sdrId: p.sdr.id })
    expect(await evidenceOf(deal!.id)).toHaveLength(1)
    expect((await clicksOf(p.recipientId)).filter((c) => c.qualifiedAt)).toHaveLength(1)
  })

  it('a re-score that finds a person among clicks judged bots under older rules qualifies once; one that finds a bot never un-qualifies', async () => {
    const p = await addProspect({ sdrOnDeal: true })
    ctx.clock.advance(7_200_000)
    await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
    ctx.clock.advance(SETTLE_MS)
    // Judged under older rules as a bot, not qualified.
    await db
      .update(clickEvents)
      .set({
        verdict: 'bot',
        reasons: ['old rule'],
        rulesVersion: 'older',
        processedAt: ctx.clock.now(),
      })
      .where(eq(clickEvents.recipientId, p.recipientId))
    for (;;) if ((await rescoreClicks(db, ctx.clock.now())).judged === 0) break
    const [deal] = await openDealOf(p.contactId)
    expect(deal!.stage).toBe('target')
    expect(await evidenceOf(deal!.id)).toHaveLength(1)
    // Rules that now call it a bot leave the deal and its evidence alone.
    await db
      .update(clickEvents)
      .set({ rulesVersion: 'older', userAgent: '' })
      .where(eq(clickEvents.recipientId, p.recipientId))
    for (;;) if ((await rescoreClicks(db, ctx.clock.now())).judged === 0) break
    expect((await clicksOf(p.recipientId))[0]!.verdict).toBe('bot')
    expect((await openDealOf(p.contactId))[0]!.stage).toBe('target')
    expect(await evidenceOf(deal!.id)).toHaveLength(1)
  })

  it.each([
    ['whose import made a new prospect deal', true],
    ['sent while no deal was open', false],
  ])(
    'a contact whose target deal was lost becomes a target again by a human click in a later campaign (%s), never by a re-score of the old clicks',
    async (_, imported) => {
      const p = await addProspect()
      ctx.clock.advance(3_600_000)
      await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
      ctx.clock.advance(40_000)
      await clickAs(p.tokens[1]!, '81.120.7.9', PERSON)
      ctx.clock.advance(SETTLE_MS)
      await runJob()
      expect((await openDealOf(p.contactId))[0]!.stage).toBe('target')
      // Clicked again while the target was open: no news then, and none later.
      ctx.clock.advance(600_000)
      await clickAs(p.tokens[2]!, '81.120.7.9', PERSON)
      ctx.clock.advance(SETTLE_MS)
      await runJob()
      ctx.clock.advance(86_400_000)
      await db
        .update(deals)
        .set({ stage: 'lost', lostReason: 'no budget', closedAt: ctx.clock.now() })
        .where(eq(deals.id, p.dealId!))

      // Months later a new campaign: its import makes the contact a prospect again (a deal at
      // 0%), or it was imported while the old deal was open and is sent now that none is.
      ctx.clock.advance(60 * 86_400_000)
      const sdr = await addUser(ctx, 'sdr')
      const campaignId = newId()
      await db.insert(campaigns).values({
        id: campaignId,
        name: 'Spring outreach',
        ownerId: sdr.id,
        createdBy: sdr.id,
        senderName: 'Sam',
        senderEmail: 'sam@frontdoor.example',
        subjectTemplate: 'Spring',
        bodyTemplate: 'Hi {{firstName}}',
        status: 'sending',
      })
      if (imported)
        await db.insert(deals).values({
          id: newId(),
          contactId: p.contactId,
          title: 'Acme again',
          stage: 'opportunity',
          source: 'outbound',
          sdrId: sdr.id,
          createdAt: ctx.clock.now(),
        })
      const [contact] = await db.select().from(contacts).where(eq(contacts.id, p.contactId))
      const recipientId = newId()
      await db.insert(campaignRecipients).values({
        id: recipientId,
        campaignId,
        contactId: p.contactId,
        email: contact!.email,
        fields: {},
        status: 'sent',
        sentAt: ctx.clock.now(),
      })
      const [token] = await insertLinks(db, recipientId, campaignId, [
        'https://www.example.com/spring',
      ])

      // New rules judge the old campaign's clicks again: they belong to the lost deal.
      await db
        .update(clickEvents)
        .set({ rulesVersion: 'older' })
        .where(eq(clickEvents.recipientId, p.recipientId))
      for (;;) if ((await rescoreClicks(db, ctx.clock.now())).judged === 0) break
      expect((await openDealOf(p.contactId)).filter((d) => d.stage !== 'lost')).toMatchObject(
        imported ? [{ stage: 'opportunity' }] : [],
      )

      ctx.clock.advance(3_600_000)
      await clickAs(token!, '81.120.7.9', PERSON)
      ctx.clock.advance(SETTLE_MS)
      await runJob()
      const open = (await openDealOf(p.contactId)).filter((d) => d.stage !== 'lost')
      expect(open).toMatchObject([{ stage: 'target', source: 'outbound', sdrId: sdr.id }])
      const [evidence, ...more] = await evidenceOf(open[0]!.id)
      expect(more).toEqual([])
      expect(evidence!.data).toMatchObject({ kind: 'click', campaign: 'Spring outreach' })
      expect(await evidenceOf(p.dealId!)).toHaveLength(1)
    },
  )

  it.each([
    ['lost', { stage: 'lost' as const, lostReason: 'not interested' }, false],
    ['won', { stage: 'won' as const }, false],
    [
      'lost, and a new campaign’s import made a new prospect deal',
      { stage: 'lost' as const, lostReason: 'not interested' },
      true,
    ],
  ])(
    'a prospect never qualified whose deal was then %s is not made a target again by a re-score of a click from before',
    async (_, closed, imported) => {
      const p = await addProspect()
      ctx.clock.advance(7_200_000)
      await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
      ctx.clock.advance(SETTLE_MS)
      // Judged a bot under older rules: the prospect stayed at 0%, and the deal closed later.
      await db
        .update(clickEvents)
        .set({ verdict: 'bot', reasons: ['old rule'], rulesVersion: 'older' })
        .where(eq(clickEvents.recipientId, p.recipientId))
      await db
        .update(clickEvents)
        .set({ processedAt: ctx.clock.now() })
        .where(eq(clickEvents.recipientId, p.recipientId))
      ctx.clock.advance(86_400_000)
      await db
        .update(deals)
        .set({ ...closed, closedAt: ctx.clock.now(), stageEnteredAt: ctx.clock.now() })
        .where(eq(deals.id, p.dealId!))

      // Weeks later new rules call that click human: it belongs to the closed deal's time, not
      // to a deal a later import opened meanwhile.
      ctx.clock.advance(30 * 86_400_000)
      const newDealId = newId()
      if (imported)
        await db.insert(deals).values({
          id: newDealId,
          contactId: p.contactId,
          title: 'Acme again',
          stage: 'opportunity',
          source: 'outbound',
          createdAt: ctx.clock.now(),
        })
      for (;;) if ((await rescoreClicks(db, ctx.clock.now())).judged === 0) break
      expect((await clicksOf(p.recipientId)).map((c) => c.verdict)).toEqual(['human'])
      const stages = (await openDealOf(p.contactId)).map(
        (d) => `${d.id === newDealId ? 'new' : 'old'} ${d.stage}`,
      )
      expect(stages.sort()).toEqual([
        ...(imported ? ['new opportunity'] : []),
        `old ${closed.stage}`,
      ])
      expect(await evidenceOf(p.dealId!)).toHaveLength(0)
      expect(await evidenceOf(newDealId)).toHaveLength(0)
    },
  )

  it('a lost prospect who clicks and at once fills a form: the new 10% deal gets the click as its evidence', async () => {
    const p = await addProspect()
    await db
      .update(deals)
      .set({
        stage: 'lost',
        lostReason: 'no budget',
        closedAt: ctx.clock.now(),
        stageEnteredAt: ctx.clock.now(),
      })
      .where(eq(deals.id, p.dealId!))
    ctx.clock.advance(86_400_000)
    await clickAs(p.tokens[0]!, '81.120.7.10', PERSON)
    // Seconds later, before the click is judged, the landing page's form makes a new target.
    ctx.clock.advance(20_000)
    const formDeal = newId()
    await db.insert(deals).values({
      id: formDeal,
      contactId: p.contactId,
      title: 'Acme, from the whitepaper',
      stage: 'target',
      source: 'inbound',
      createdAt: ctx.clock.now(),
    })
    ctx.clock.advance(SETTLE_MS)
    await runJob()
    expect((await clicksOf(p.recipientId)).map((c) => c.verdict)).toEqual(['human'])
    expect(await evidenceOf(formDeal)).toHaveLength(1)
    expect(await evidenceOf(p.dealId!)).toHaveLength(0)
  })

  it('a click confirmed by a beacon is judged and qualifies at once, without waiting out the window', async () => {
    const p = await addProspect()
    ctx.clock.advance(5_000)
    await clickAs(p.tokens[0]!, '172.56.20.30', PERSON)
    await db
      .update(clickEvents)
      .set({ confirmedAt: ctx.clock.now() })
      .where(eq(clickEvents.recipientId, p.recipientId))
    await runJob()
    expect((await clicksOf(p.recipientId))[0]!.verdict).toBe('human_confirmed')
    const [deal] = await openDealOf(p.contactId)
    expect(deal!.stage).toBe('target')
    expect((await evidenceOf(deal!.id))[0]!.data).toMatchObject({ verdict: 'human_confirmed' })
  })

  it('judges a link hammered 1,000 times in a second as bots, reading only the clicks near each batch', async () => {
    const p = await addProspect()
    ctx.clock.advance(60_000)
    const at = ctx.clock.now().getTime()
    await db.insert(clickEvents).values(
      Array.from({ length: 1_000 }, (_, i) => ({
        id: newId(at + i),
        token: p.tokens[0]!,
        recipientId: p.recipientId,
        campaignId: p.campaignId,
        method: 'GET',
        ip: '198.51.100.9',
        userAgent: PERSON['user-agent'],
        headers: { accept: 'text/html', 'accept-language': 'en-GB' },
        createdAt: new Date(at + i),
      })),
    )
    ctx.clock.advance(SETTLE_MS + 1_000)
    await runJob()
    const clicks = await clicksOf(p.recipientId)
    expect(clicks).toHaveLength(1_000)
    // Every click had neighbours from its own source within a second: none is taken for a person.
    expect(clicks.filter((c) => c.verdict === 'human' || c.verdict === 'human_confirmed')).toEqual(
      [],
    )
    expect(await openDealOf(p.contactId)).toMatchObject([{ stage: 'opportunity' }])
  })

  it.skipIf(ctx.database.engine !== 'postgres')(
    'locks the contacts of a batch in one order, so batches of two processes cannot deadlock (PostgreSQL)',
    async () => {
      const [a, b] = [await addProspect(), await addProspect()]
      // The batch meets the contact that sorts last first: it must still lock the other first.
      const [first, last] = a.contactId < b.contactId ? [a, b] : [b, a]
      ctx.clock.advance(3_600_000)
      await clickAs(last.tokens[0]!, '81.120.7.9', PERSON)
      ctx.clock.advance(1_000)
      await clickAs(first.tokens[0]!, '81.120.9.4', PERSON)
      ctx.clock.advance(SETTLE_MS)
      // Another process's transaction holds the first contact.
      const release = held()
      const locked = held()
      const holder = db.transaction(async (tx) => {
        await tx.select().from(contacts).where(eq(contacts.id, first.contactId)).for('update')
        locked.release()
        await release.promise
      })
      await locked.promise
      const judging = judgePendingClicks(db, ctx.clock.now(), 10)
      await eventually(async () => {
        const waiting = await db.execute(sql`
          select 1 from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'
            and query ilike '%from "contacts"%for update%'`)
        return (waiting as unknown as { rows: unknown[] }).rows.length > 0
      })
      // While the batch waits for the first contact it holds no other: the last is free.
      const free = await db
        .transaction(async (tx) => {
          await tx.execute(
            sql`select id from contacts where id = ${last.contactId} for update nowait`,
          )
          return true
        })
        .catch(() => false)
      release.release()
      await holder
      expect(await judging).toMatchObject({ judged: 2, qualified: 2 })
      expect(free).toBe(true)
    },
  )

  it('a person erased before their click is judged never becomes a target: no deal moves, no evidence', async () => {
    const p = await addProspect()
    const admin = await addUser(ctx, 'admin')
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, p.contactId))
    const erased = await erasePerson(
      db,
      p.contactId,
      { reason: 'request', actor: admin, confirm: contact!.email },
      ctx.clock.now(),
    )
    expect(erased.ok).toBe(true)
    ctx.clock.advance(180_000)
    await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
    ctx.clock.advance(SETTLE_MS)
    await runJob()
    expect((await clicksOf(p.recipientId)).map((c) => c.verdict)).toEqual(['human'])
    const [deal, ...more] = await openDealOf(p.contactId)
    expect(more).toEqual([])
    expect(deal!.stage).toBe('opportunity')
    expect(await evidenceOf(deal!.id)).toEqual([])
  })

  it('bots alone never qualify', async () => {
    const p = await addProspect()
    await clickAs(p.tokens[0]!, '81.120.7.9', {
      'user-agent': 'python-requests/2.32',
      'sec-purpose': 'prefetch',
    })
    await clickAs(p.tokens[1]!, '40.107.3.4', SCANNER)
    ctx.clock.advance(SETTLE_MS)
    await runJob()
    expect((await clicksOf(p.recipientId)).map((c) => c.verdict).sort()).toEqual(['bot', 'bot'])
    expect((await openDealOf(p.contactId))[0]!.stage).toBe('opportunity')
  })

  it('looks for clicks to re-score an hour after a pass found none: that query reads every judged click', async () => {
    const p = await addProspect()
    await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
    ctx.clock.advance(SETTLE_MS)
    const job = startVerdictJobs(ctx.deps, { pollMs: 3_600_000 })
    try {
      await job.idle() // judged, and nothing to re-score
      expect((await clicksOf(p.recipientId)).map((c) => c.rulesVersion)).toEqual([RULES_VERSION])
      // Judged meanwhile by a process with older rules (a rolling deploy).
      await db
        .update(clickEvents)
        .set({ rulesVersion: 'older' })
        .where(eq(clickEvents.recipientId, p.recipientId))
      job.wake()
      await job.idle()
      expect((await clicksOf(p.recipientId)).map((c) => c.rulesVersion)).toEqual(['older'])
      ctx.clock.advance(RESCORE_RECHECK_MS)
      job.wake()
      await job.idle()
      expect((await clicksOf(p.recipientId)).map((c) => c.rulesVersion)).toEqual([RULES_VERSION])
    } finally {
      await job.stop()
    }
  })

  it('runs in the background, batch after batch, and looks at once when woken', async () => {
    const p = await addProspect()
    // A person's clicks: the first a minute after the message went (sooner is no person).
    ctx.clock.advance(60_000)
    await clickAs(p.tokens[0]!, '81.120.7.9', PERSON)
    ctx.clock.advance(60_000)
    await clickAs(p.tokens[1]!, '81.120.7.9', PERSON)
    ctx.clock.advance(60_000)
    await clickAs(p.tokens[2]!, '81.120.7.9', PERSON)
    ctx.clock.advance(SETTLE_MS)
    // One click a batch: each batch starts where the last one ended.
    const job = startVerdictJobs(ctx.deps, { pollMs: 3_600_000, batch: 1 })
    try {
      ctx.deps.wakeups.wake('verdicts')
      await eventually(async () =>
        (await clicksOf(p.recipientId)).every((c) => c.verdict === 'human'),
      )
      await eventually(async () => (await openDealOf(p.contactId))[0]!.stage === 'target')
    } finally {
      await job.stop()
    }
  })
})
