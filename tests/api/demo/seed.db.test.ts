import { describe, expect, it } from 'vitest'
import { eq, ne } from 'drizzle-orm'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  dealEvents,
  deals,
  trackedLinks,
} from '../../../api/db/schema.ts'
import { countNonClickers } from '../../../api/campaigns/follow-ups.ts'
import { mergeReport } from '../../../api/campaigns/preview.ts'
import { forecast, funnelFor, leadQueue, stageStatsFor } from '../../../api/pipeline/queries.ts'
import { afterDelivery, DEMO_PASSWORD, DEMO_TEAM, seedDemo } from '../../../api/demo/seed.ts'
import { STAGES } from '../../../api/pipeline/stages.ts'
import { setupTestApp, signInCookie } from '../../helpers.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db

describe('the demo data', () => {
  it('fills every stage, the queue, the forecast and the funnel with believable numbers', async () => {
    const result = await seedDemo(db, ctx.clock.now())
    expect(result).toMatchObject({ status: 'seeded', users: DEMO_TEAM.length })
    const all = await db
      .select({
        stage: deals.stage,
        ownerId: deals.ownerId,
        amountCents: deals.amountCents,
        paid: deals.paymentReceivedOn,
        signed: deals.contractSignedOn,
        lostReason: deals.lostReason,
      })
      .from(deals)
    for (const stage of STAGES)
      expect(all.filter((d) => d.stage === stage.key).length, stage.key).toBeGreaterThan(0)
    expect(all.filter((d) => d.stage === 'won').every((d) => d.paid && d.signed)).toBe(true)
    expect(all.filter((d) => d.stage === 'lost').every((d) => d.lostReason)).toBe(true)

    const queue = await leadQueue(db, {})
    expect(queue.count).toBeGreaterThanOrEqual(10)
    expect(queue.leads.every((l) => l.evidence.length > 0)).toBe(true)

    const now = ctx.clock.now()
    const f = await forecast(db, { team: true }, now)
    expect(f.months.filter((m) => m.count > 0).length).toBeGreaterThanOrEqual(4)
    const quarter = { from: new Date(now.getTime() - 90 * 86_400_000), to: now }
    const stats = await stageStatsFor(db, { team: true }, quarter)
    for (const s of stats.filter((x) =>
      ['target', 'demo', 'decision_maker', 'negotiation'].includes(x.stage),
    )) {
      expect(s.exits, s.stage).toBeGreaterThan(0)
      expect(s.medianDays, s.stage).toBeGreaterThan(0)
    }
    const funnel = await funnelFor(
      db,
      { team: true },
      { from: new Date(now.getTime() - 270 * 86_400_000), to: now },
    )
    expect(funnel[0]!.reached).toBeGreaterThan(funnel.at(-1)!.reached)
    expect(funnel.at(-1)!.reached).toBeGreaterThan(0)
  })

  it('tells one story: each outreach click’s “after delivery” matches when its email was sent (issue 15)', async () => {
    const clicks = await db
      .select({
        at: clickEvents.createdAt,
        reasons: clickEvents.reasons,
        sentAt: campaignRecipients.sentAt,
      })
      .from(clickEvents)
      .innerJoin(campaignRecipients, eq(campaignRecipients.id, clickEvents.recipientId))
      .where(eq(clickEvents.verdict, 'human'))
    expect(clicks.length).toBeGreaterThan(0)
    for (const c of clicks) {
      const said = (c.reasons as string[]).find((r) => r.includes('after delivery'))!
      expect(said).toBe(afterDelivery(c.at.getTime() - c.sentAt!.getTime()))
      expect(c.sentAt!.getTime()).toBeLessThanOrEqual(c.at.getTime())
    }
    const evidence = await db
      .select({ data: dealEvents.data })
      .from(dealEvents)
      .where(eq(dealEvents.type, 'evidence'))
    const clickEvidence = evidence.filter((e) => (e.data as { kind?: string }).kind === 'click')
    expect(clickEvidence.length).toBe(clicks.length)
  })

  it('shows mail scanners beside the people: sweeps judged bot by the verdict rules, qualifying nobody', async () => {
    const scanned = await db
      .select({
        recipientId: clickEvents.recipientId,
        token: clickEvents.token,
        verdict: clickEvents.verdict,
        reasons: clickEvents.reasons,
        madeTargetAt: clickEvents.madeTargetAt,
        at: clickEvents.createdAt,
        sentAt: campaignRecipients.sentAt,
      })
      .from(clickEvents)
      .innerJoin(campaignRecipients, eq(campaignRecipients.id, clickEvents.recipientId))
      .where(ne(clickEvents.verdict, 'human'))
    const recipients = await db.$count(campaignRecipients, eq(campaignRecipients.status, 'sent'))
    // Most messages, not all: a share of the mailboxes has no gateway that opens links.
    const swept = new Set(scanned.map((c) => c.recipientId))
    expect(swept.size).toBeGreaterThan(recipients / 2)
    expect(swept.size).toBeLessThan(recipients)
    for (const c of scanned) {
      expect(c.verdict).toBe('bot')
      expect(c.madeTargetAt).toBeNull()
      const codes = (c.reasons as { code: string }[]).map((r) => r.code)
      expect(codes).toEqual(expect.arrayContaining(['security_network', 'link_sweep']))
      // Seconds after delivery, every link of the message.
      expect(c.at.getTime() - c.sentAt!.getTime()).toBeLessThan(15_000)
    }
    for (const recipientId of swept)
      expect(
        new Set(scanned.filter((c) => c.recipientId === recipientId).map((c) => c.token)).size,
      ).toBe(3)
    // Each token is one recipient × link: a swept link the person clicked too shares its token.
    const links = await db.select({ token: trackedLinks.token }).from(trackedLinks)
    expect(new Set(links.map((l) => l.token)).size).toBe(links.length)
    for (const c of scanned) expect(links.some((l) => l.token === c.token)).toBe(true)
  })

  it('gives the demo campaign a real message whose merge fields work, its links numbered as in it', async () => {
    const [campaign] = await db
      .select()
      .from(campaigns)
      .where(eq(campaigns.name, 'Logistics leaders: stalled pipeline'))
    expect(campaign!.bodyTemplate).toContain('https://frontdoor.example/pricing')
    expect((await mergeReport(db, campaign!)).ok).toBe(true)
    const positions = await db
      .selectDistinct({ url: trackedLinks.url, position: trackedLinks.position })
      .from(trackedLinks)
    for (const { url, position } of positions)
      expect(campaign!.bodyTemplate.split(url)[0]!.match(/https:\/\//g)?.length ?? 0).toBe(
        position - 1,
      )
    expect(new Set(positions.map((p) => p.position))).toEqual(new Set([1, 2, 3]))
  })

  it('gives the SDR a second touch in progress: paused, for the prospects who have not clicked', async () => {
    const [followUp] = await db
      .select()
      .from(campaigns)
      .where(eq(campaigns.name, 'Second touch: no click yet'))
    expect(followUp!.status).toBe('paused')
    expect((await mergeReport(db, followUp!)).ok).toBe(true)
    const recipients = await db
      .select({
        status: campaignRecipients.status,
        stage: deals.stage,
        line: campaignRecipients.line,
      })
      .from(campaignRecipients)
      .innerJoin(deals, eq(deals.contactId, campaignRecipients.contactId))
      .where(eq(campaignRecipients.campaignId, followUp!.id))
    expect(recipients).toHaveLength(12)
    for (const r of recipients) expect(r).toMatchObject({ status: 'pending', stage: 'opportunity' })
    expect(new Set(recipients.map((r) => r.line)).size).toBe(12)
    // Nothing sent yet: no tracked link, no click.
    expect(await db.$count(trackedLinks, eq(trackedLinks.campaignId, followUp!.id))).toBe(0)
    // The first campaign's follow-up, its recipients the ones "Follow up with non-clickers" picks:
    // all still waiting in it, so another follow-up would leave them out.
    const [first] = await db
      .select({ id: campaigns.id })
      .from(campaigns)
      .where(eq(campaigns.name, 'Logistics leaders: stalled pipeline'))
    expect(followUp).toMatchObject({ followUpOf: first!.id, followUpCount: 12 })
    expect(await countNonClickers(db, first!.id)).toEqual({ recipients: 0, inOtherCampaign: 12 })
  })

  it('lets the demo team sign in with the published password', async () => {
    for (const member of DEMO_TEAM.slice(0, 2)) await signInCookie(ctx, member.email, DEMO_PASSWORD)
  })

  it('lets the demo SDR create a campaign at once: their domain is the sending domain', async () => {
    const sdr = DEMO_TEAM.find((m) => m.role === 'sdr')!
    const cookie = await signInCookie(ctx, sdr.email, DEMO_PASSWORD)
    const res = await ctx.app.request('/api/campaigns', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({
        name: 'Demo check',
        senderName: 'Taylor Brooks',
        senderEmail: sdr.email,
        subjectTemplate: 'Hello {{firstName|there}}',
        bodyTemplate: 'Hi {{firstName|there}}',
        ratePerHour: 50,
        windowStartHour: 8,
        windowEndHour: 18,
        timezone: 'UTC',
      }),
    })
    expect(res.status, await res.clone().text()).toBe(201)
  })

  it('refuses to run twice', async () => {
    const before = (await db.select({ id: deals.id }).from(deals)).length
    expect(await seedDemo(db, ctx.clock.now())).toMatchObject({
      status: 'refused',
      reason: expect.stringContaining('already added'),
    })
    expect((await db.select({ id: deals.id }).from(deals)).length).toBe(before)
  })
})

describe('the demo data on a database that has deals', () => {
  it('is refused, and adds nothing', async () => {
    const other = await setupTestApp()
    const { makeDeal } = await import('../pipeline/fixtures.ts')
    await makeDeal(other.deps.db)
    expect(await seedDemo(other.deps.db, other.clock.now())).toMatchObject({
      status: 'refused',
      reason: expect.stringContaining('already has deals'),
    })
    expect(await other.deps.db.select().from(deals)).toHaveLength(1)
  })
})

describe('the demo data offer at start-up', () => {
  async function start(mode: 'ask' | 'yes' | 'no') {
    const ctx = await setupTestApp({ DEMO_SEED: mode })
    const printed: string[] = []
    const write = process.stdout.write
    process.stdout.write = ((chunk: string) =>
      printed.push(String(chunk)) > 0) as typeof process.stdout.write
    try {
      const { offerDemoSeed } = await import('../../../api/demo/seed.ts')
      const result = await offerDemoSeed(ctx.deps)
      return {
        result,
        printed: printed.join(''),
        deals: (await ctx.deps.db.select({ id: deals.id }).from(deals)).length,
      }
    } finally {
      process.stdout.write = write
    }
  }

  it('with DEMO_SEED=ask only says how to add it, and adds nothing', async () => {
    const { result, printed, deals: count } = await start('ask')
    expect(result).toBeNull()
    expect(printed).toContain('npm run seed:demo')
    expect(count).toBe(0)
  })

  it('with DEMO_SEED=yes fills the empty pipeline and prints the accounts', async () => {
    const { result, printed, deals: count } = await start('yes')
    expect(result).toMatchObject({ status: 'seeded' })
    expect(printed).toContain(DEMO_PASSWORD)
    expect(count).toBeGreaterThan(100)
  })

  it('with DEMO_SEED=no stays silent', async () => {
    const { result, printed, deals: count } = await start('no')
    expect([result, printed, count]).toEqual([null, '', 0])
  })
})
