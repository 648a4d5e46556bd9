import { createHash, randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  companies,
  contacts,
  dealEvents,
  deals,
  dealStakeholders,
  graderReports,
  graderUnlocks,
  outbox,
  settings,
  submissions,
  trackedLinks,
  users,
  type LeadSource,
} from '../db/schema.ts'
import type { Deps } from '../deps.ts'
import { countDeals } from '../pipeline/deals.ts'
import { newId } from '../ids.ts'
import { newTrackingToken } from '../tracking/token.ts'
import { judgeClick, type ClickFacts } from '../tracking/verdicts.ts'
import { hashPassword } from '../accounts/passwords.ts'
import { stageOf, type StageKey } from '../pipeline/stages.ts'
import type { Role } from '../accounts/users.ts'
import { SENDER_SETTINGS_KEY, senderSettingsSchema } from '../email/sender.ts'
import { SITE } from '../content/site.ts'

// Demo data: a small sales team, companies, contacts and deals in every stage, with stage
// histories backdated over nine months, so the queue, pipeline, forecast and funnel have
// something true-looking to show on first run. Deterministic (one seeded random sequence),
// written in one transaction, and refused when the database already has deals or was seeded.

export const DEMO_MARKER_KEY = 'demo.seeded'
/** One password for every demo account: printed at seeding and in the README. */
export const DEMO_PASSWORD = 'demo-pipeline-2026'

export const DEMO_TEAM: ReadonlyArray<{ email: string; name: string; role: Role }> = [
  { email: 'morgan@frontdoor.example', name: 'Morgan Lee', role: 'admin' },
  { email: 'riley@frontdoor.example', name: 'Riley Chen', role: 'rep' },
  { email: 'sam@frontdoor.example', name: 'Sam Patel', role: 'rep' },
  { email: 'jordan@frontdoor.example', name: 'Jordan Okafor', role: 'rep' },
  { email: 'alex@frontdoor.example', name: 'Alex Novak', role: 'rep' },
  { email: 'taylor@frontdoor.example', name: 'Taylor Brooks', role: 'sdr' },
]

export type SeedResult =
  | { status: 'seeded'; users: number; companies: number; deals: number }
  | { status: 'refused'; reason: string }

const DAY = 86_400_000
const HOUR = 3_600_000

/** A small deterministic PRNG (mulberry32): the same demo every time. */
function random(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
    chance: (p: number) => next() < p,
  }
}

const PREFIXES = [
  'Northwind',
  'Brightlane',
  'Oakridge',
  'Fieldstack',
  'Bluepeak',
  'Ironbark',
  'Silverline',
  'Redwood',
  'Clearwater',
  'Summit',
  'Harbor',
  'Granite',
  'Lumen',
  'Kestrel',
  'Meridian',
  'Copperleaf',
  'Tidewater',
  'Alder',
  'Pinecrest',
  'Stonebridge',
]
const SUFFIXES = [
  'Logistics',
  'Analytics',
  'Medical Supply',
  'Foods',
  'Robotics',
  'Insurance',
  'Energy',
  'Software',
  'Freight',
  'Manufacturing',
  'Health',
  'Retail',
]
const FIRST = [
  'Dana',
  'Lee',
  'Priya',
  'Marco',
  'Elena',
  'Tomás',
  'Aisha',
  'Noah',
  'Hana',
  'Victor',
  'Grace',
  'Omar',
  'Ines',
  'Felix',
  'Maya',
  'Jonas',
  'Sofia',
  'Ravi',
  'Clara',
  'Ethan',
  'Yuki',
  'Leila',
  'Bruno',
  'Nora',
]
const LAST = [
  'Whitfield',
  'Park',
  'Raman',
  'Rossi',
  'Kovacs',
  'Silva',
  'Bello',
  'Schmidt',
  'Tanaka',
  'Dubois',
  'Okafor',
  'Haddad',
  'Moreau',
  'Lindqvist',
  'Costa',
  'Weber',
  'Nakamura',
  'Ahmed',
  'Novak',
  'Fischer',
]
const TITLES = [
  'Head of Growth',
  'VP Sales',
  'Revenue Operations Lead',
  'CFO',
  'COO',
  'Marketing Director',
  'Head of Operations',
  'CEO',
  'Sales Manager',
  'Director of Finance',
]
const ASSETS = [
  {
    offer: 'whitepaper:mid-market-pipeline-benchmark-2026',
    form: 'whitepaper',
    kind: 'whitepaper' as const,
    title: 'The 2026 Mid-Market Pipeline Benchmark',
    path: '/whitepapers/mid-market-pipeline-benchmark-2026',
  },
  {
    offer: 'whitepaper:net-revenue-retention-playbook',
    form: 'whitepaper',
    kind: 'whitepaper' as const,
    title: 'The Net Revenue Retention Playbook',
    path: '/whitepapers/net-revenue-retention-playbook',
  },
  {
    offer: 'whitepaper:probability-weighted-forecasting',
    form: 'whitepaper',
    kind: 'whitepaper' as const,
    title: 'Forecasting Without Guesswork: A Practical Guide to Probability-Weighted Pipeline',
    path: '/whitepapers/probability-weighted-forecasting',
  },
  {
    offer: 'case-study:brightlane-stalled-pipeline',
    form: 'case-study',
    kind: 'case_study' as const,
    title: 'Brightlane Logistics found $2.4M in stalled pipeline in its first month',
    path: '/case-studies/brightlane-stalled-pipeline',
  },
  {
    offer: 'case-study:fieldstack-forecast-accuracy',
    form: 'case-study',
    kind: 'case_study' as const,
    title: 'How Fieldstack cut forecast error from 31% to 6% in three quarters',
    path: '/case-studies/fieldstack-forecast-accuracy',
  },
  { offer: 'trial', form: 'trial', kind: 'trial' as const, title: 'Trial', path: '/trial' },
]
const UTM_SOURCES = [null, 'linkedin', 'google', 'newsletter', 'g2', null]
const LOST_REASONS = [
  'Chose a competitor',
  'No budget this year',
  'Went silent after the demo',
  'Built it in-house',
  'Project cancelled by new leadership',
  'Too early: revisit next year',
  'Price above their ceiling',
]
const NOTES = [
  'Demo went well; IT wants SSO before they commit.',
  'Champion is the RevOps lead; CFO signs above €50k.',
  'Asked for a reference customer in logistics.',
  'Security questionnaire sent back on Monday.',
  'They compare us with their current spreadsheet process.',
  'Procurement wants annual billing.',
]
/** The demo campaign message's links, in the order it has them (a tracked link's position). */
const CAMPAIGN_LINKS = [
  'https://frontdoor.example/case-studies/brightlane-stalled-pipeline',
  'https://frontdoor.example/whitepapers/mid-market-pipeline-benchmark-2026',
  'https://frontdoor.example/pricing',
]
const campaignBody = (senderName: string) => `Hi {{firstName}},

Most logistics pipelines stall between the first call and the demo. Brightlane's did too, until
they changed who follows up and when:
${CAMPAIGN_LINKS[0]}

Our benchmark of mid-market pipelines shows where deals wait longest, stage by stage:
${CAMPAIGN_LINKS[1]}

If it is worth a look for {{company|your team}}, our pricing is public:
${CAMPAIGN_LINKS[2]}

Best,
${senderName}`
const followUpBody = (senderName: string) => `Hi {{firstName}},

One more thought on where pipelines stall: the deals that wait longest are the ones nobody owns
after the first call. The benchmark has the numbers by stage:
${CAMPAIGN_LINKS[1]}

Worth 15 minutes for {{company|your team}}?

Best,
${senderName}`
const PLATFORMS = ['WordPress', 'Webflow', 'Shopify', 'HubSpot CMS', null]

/** Transition odds and days spent, per stage, for the simulated histories. */
const FLOW: Partial<Record<StageKey, { advance: number; back: number; days: [number, number] }>> = {
  target: { advance: 0.8, back: 0, days: [1, 6] },
  demo: { advance: 0.7, back: 0.06, days: [5, 20] },
  decision_maker: { advance: 0.68, back: 0.1, days: [7, 26] },
  negotiation: { advance: 0.75, back: 0.08, days: [7, 30] },
  signed: { advance: 0.97, back: 0, days: [4, 20] },
}
const PATH: StageKey[] = ['target', 'demo', 'decision_maker', 'negotiation', 'signed', 'won']

export async function seedDemo(db: Db, now: Date): Promise<SeedResult> {
  const [marker] = await db.select().from(settings).where(eq(settings.key, DEMO_MARKER_KEY))
  if (marker)
    return {
      status: 'refused',
      reason: `The demo data was already added on ${String((marker.value as { at?: string }).at ?? '?').slice(0, 10)}.`,
    }
  if ((await countDeals(db)) > 0)
    return {
      status: 'refused',
      reason: 'The database already has deals: the demo data only goes into an empty pipeline.',
    }
  const existing = await db.select({ email: users.email }).from(users)
  const taken = new Set(existing.map((u) => u.email))
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  const rnd = random(20261129)

  const team = DEMO_TEAM.map((m, i) => ({ id: newId(now.getTime() - 300 * DAY + i), ...m }))
  const reps = team.filter((m) => m.role === 'rep')
  const sdr = team.find((m) => m.role === 'sdr')!

  const rows = {
    companies: [] as Array<typeof companies.$inferInsert>,
    contacts: [] as Array<typeof contacts.$inferInsert>,
    deals: [] as Array<typeof deals.$inferInsert>,
    events: [] as Array<typeof dealEvents.$inferInsert>,
    stakeholders: [] as Array<typeof dealStakeholders.$inferInsert>,
    submissions: [] as Array<typeof submissions.$inferInsert>,
    reports: [] as Array<typeof graderReports.$inferInsert>,
    unlocks: [] as Array<typeof graderUnlocks.$inferInsert>,
    recipients: [] as Array<typeof campaignRecipients.$inferInsert>,
    links: [] as Array<typeof trackedLinks.$inferInsert>,
    clicks: [] as Array<typeof clickEvents.$inferInsert>,
    emails: [] as Array<typeof outbox.$inferInsert>,
  }
  const campaignId = newId(now.getTime() - 200 * DAY)
  const campaign = {
    id: campaignId,
    name: 'Logistics leaders: stalled pipeline',
    senderName: sdr.name,
    senderEmail: sdr.email,
    subjectTemplate: '{{firstName}}, where does your pipeline stall?',
    bodyTemplate: campaignBody(sdr.name),
    status: 'sending' as const,
    ownerId: sdr.id,
    createdBy: sdr.id,
    createdAt: new Date(now.getTime() - 200 * DAY),
    startedAt: new Date(now.getTime() - 199 * DAY),
  }

  // A second touch for the prospects who have not clicked, paused before its first send: the SDR
  // has something in progress, and Resume sends it (through the dev mailbox by default).
  const followUpId = newId(now.getTime() - 2 * DAY)
  const followUp = {
    id: followUpId,
    name: 'Second touch: no click yet',
    senderName: sdr.name,
    senderEmail: sdr.email,
    subjectTemplate: 'Re: {{firstName}}, where does your pipeline stall?',
    bodyTemplate: followUpBody(sdr.name),
    status: 'paused' as const,
    ownerId: sdr.id,
    createdBy: sdr.id,
    createdAt: new Date(now.getTime() - 2 * DAY),
    startedAt: new Date(now.getTime() - DAY),
  }

  const usedNames = new Set<string>()
  const companyFor = (i: number) => {
    let name = `${PREFIXES[i % PREFIXES.length]} ${SUFFIXES[(i * 7 + Math.floor(i / PREFIXES.length)) % SUFFIXES.length]}`
    while (usedNames.has(name)) name = `${rnd.pick(PREFIXES)} ${rnd.pick(SUFFIXES)}`
    usedNames.add(name)
    const domain = `${name.toLowerCase().replace(/[^a-z]+/g, '')}.example`
    return { id: newId(now.getTime() - 280 * DAY), name, domain }
  }
  const person = (
    company: { id: string; name: string; domain: string },
    at: Date,
    source: LeadSource,
  ) => {
    const first = rnd.pick(FIRST)
    const last = rnd.pick(LAST)
    let email = `${first
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z]/g, '')}.${last.toLowerCase()}@${company.domain}`
    while (rows.contacts.some((c) => c.email === email))
      email = email.replace('@', `${rnd.int(1, 9)}@`)
    const row = {
      id: newId(at.getTime()),
      email,
      emailDisplay: email,
      firstName: first,
      lastName: last,
      jobTitle: rnd.pick(TITLES),
      companyId: company.id,
      companyName: company.name,
      source,
      createdAt: at,
      updatedAt: at,
    }
    rows.contacts.push(row)
    return row
  }

  // Most business mailboxes sit behind a mail-security gateway that opens every link of a
  // message seconds after delivery (Microsoft 365's Safe Links here). Those clicks are judged by
  // the verdict rules themselves, as the verdict job judges real ones: bots, so they qualify
  // nobody, and the campaign's results show them apart from the people. Their own generator, so
  // the rest of the demo stays what it was.
  const scan = random(20261206)
  const scannerSweep = (
    recipientId: string,
    sentAt: Date,
    listedAt: Date,
    tokens: ReadonlyMap<string, string>,
  ) => {
    if (scan.next() >= 0.7) return
    const ip = `40.92.${scan.int(0, 255)}.${scan.int(1, 254)}`
    let at = sentAt.getTime() + scan.int(2, 9) * 1000
    const sweep: ClickFacts[] = CAMPAIGN_LINKS.map((url, i) => {
      let token = tokens.get(url)
      if (!token) {
        token = newTrackingToken()
        rows.links.push({
          token,
          recipientId,
          campaignId,
          url,
          position: i + 1,
          createdAt: listedAt,
        })
      }
      at += scan.int(150, 700)
      return {
        id: newId(at),
        token,
        recipientId,
        method: 'GET',
        ip,
        userAgent: SCANNER_USER_AGENT,
        headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
        at: new Date(at),
      }
    })
    for (const click of sweep) {
      const judged = judgeClick(
        click,
        { sentAt, messageClicks: sweep, campaignClicks: [] },
        new Date(click.at.getTime() + DAY),
      )
      rows.clicks.push({
        id: click.id,
        token: click.token,
        recipientId,
        campaignId,
        method: click.method,
        ip: click.ip,
        userAgent: click.userAgent,
        headers: click.headers,
        verdict: judged.verdict,
        reasons: judged.reasons,
        rulesVersion: judged.rulesVersion,
        processedAt: new Date(click.at.getTime() + 60_000),
        createdAt: click.at,
      })
    }
  }

  const DEALS = 220
  for (let i = 0; i < DEALS; i++) {
    const company = companyFor(i)
    rows.companies.push({ ...company, createdAt: new Date(now.getTime() - 280 * DAY) })
    // The last 14 are fresh leads still in the queue; the rest arrive over nine months, more of
    // them recently (the business is growing).
    const queued = i >= DEALS - 14
    const createdAt = queued
      ? new Date(now.getTime() - rnd.int(1, 70) * HOUR - rnd.int(0, 59) * 60_000)
      : new Date(
          now.getTime() - (3 + Math.floor(267 * rnd.next() ** 1.5)) * DAY - rnd.int(0, 23) * HOUR,
        )
    const picked = rnd.pick(['inbound', 'inbound', 'inbound', 'grader', 'outbound'] as const)
    // No click on the SDR's campaign before the campaign existed: those leads came in by a form.
    const source =
      picked === 'outbound' && createdAt.getTime() < campaign.createdAt.getTime() + DAY
        ? 'inbound'
        : picked
    const contact = person(company, createdAt, source)
    const dealId = newId(createdAt.getTime())
    const rep = rnd.pick(reps)
    const ev = (
      type: (typeof dealEvents.$inferInsert)['type'],
      at: Date,
      extra: Partial<typeof dealEvents.$inferInsert> = {},
    ) => rows.events.push({ id: newId(at.getTime()), dealId, type, createdAt: at, ...extra })

    // Evidence, and the records behind it (submission, grader report, click on outreach).
    const targetAt = createdAt
    if (source === 'outbound') {
      // A prospect from the SDR's campaign: an opportunity first, a target once a human clicked.
      const listedAt = new Date(
        Math.max(campaign.createdAt.getTime(), createdAt.getTime() - rnd.int(5, 30) * DAY),
      )
      // Delivered a few hours before the click, and the click's reason says how many.
      const hoursToClick = 1 + (Math.floor(createdAt.getTime() / HOUR) % 47)
      const deliveredAt = new Date(
        Math.max(listedAt.getTime(), createdAt.getTime() - hoursToClick * HOUR),
      )
      const clickReasons = [
        'interactive browser',
        afterDelivery(createdAt.getTime() - deliveredAt.getTime()),
      ]
      const recipientId = newId(listedAt.getTime())
      const token = newTrackingToken()
      const url = rnd.pick(CAMPAIGN_LINKS)
      rows.recipients.push({
        id: recipientId,
        campaignId,
        contactId: contact.id,
        email: contact.email,
        fields: { firstName: contact.firstName, company: company.name },
        status: 'sent',
        sentAt: deliveredAt,
        createdAt: listedAt,
      })
      const position = CAMPAIGN_LINKS.indexOf(url) + 1
      rows.links.push({ token, recipientId, campaignId, url, position, createdAt: listedAt })
      rows.clicks.push({
        id: newId(createdAt.getTime()),
        token,
        recipientId,
        campaignId,
        method: 'GET',
        verdict: 'human',
        reasons: clickReasons,
        rulesVersion: '2026.1',
        processedAt: createdAt,
        // This click made the prospect a target (the campaign's results count it).
        qualifiedAt: createdAt,
        madeTargetAt: createdAt,
        createdAt,
      })
      scannerSweep(recipientId, deliveredAt, listedAt, new Map([[url, token]]))
      rows.emails.push(
        sentEmail(
          contact.email,
          `${contact.firstName}, where does your pipeline stall?`,
          'outreach',
          'outreach',
          deliveredAt,
        ),
      )
      contact.createdAt = listedAt
      rows.deals.push({
        id: dealId,
        contactId: contact.id,
        companyId: company.id,
        title: company.name,
        stage: 'opportunity',
        stageEnteredAt: listedAt,
        source,
        sdrId: sdr.id,
        createdAt: listedAt,
        updatedAt: listedAt,
      })
      ev('created', listedAt, { toStage: 'opportunity', data: { source } })
      ev('stage_changed', createdAt, {
        fromStage: 'opportunity',
        toStage: 'target',
        data: {
          reason: 'qualified',
          source,
          enteredAt: listedAt.toISOString(),
          secondsInStage: (createdAt.getTime() - listedAt.getTime()) / 1000,
        },
      })
      ev('evidence', createdAt, {
        data: {
          source,
          kind: 'click',
          campaignName: campaign.name,
          url,
          subject: `${contact.firstName}, where does your pipeline stall?`,
          verdict: 'human',
          reasons: clickReasons,
        },
      })
    } else {
      rows.deals.push({
        id: dealId,
        contactId: contact.id,
        companyId: company.id,
        title: company.name,
        stage: 'target',
        stageEnteredAt: createdAt,
        source,
        createdAt,
        updatedAt: createdAt,
      })
      ev('created', createdAt, { toStage: 'target', data: { source } })
      if (source === 'grader') {
        const reportId = newId(createdAt.getTime() - 10 * 60_000)
        const score = rnd.int(38, 81)
        const band = score >= 80 ? 'B' : score >= 70 ? 'C' : score >= 55 ? 'D' : 'F'
        const platform = rnd.pick(PLATFORMS)
        rows.reports.push({
          id: reportId,
          normalizedUrl: `https://${company.domain}/`,
          host: company.domain,
          status: 'done',
          finalUrl: `https://${company.domain}/`,
          total: score,
          band,
          platform,
          rubricVersion: 'demo',
          createdAt: new Date(createdAt.getTime() - 10 * 60_000),
          completedAt: new Date(createdAt.getTime() - 9 * 60_000),
        })
        rows.unlocks.push({
          id: newId(createdAt.getTime()),
          reportId,
          contactId: contact.id,
          tokenHash: createHash('sha256').update(randomBytes(16)).digest('hex'),
          createdAt,
        })
        rows.submissions.push({
          id: newId(createdAt.getTime()),
          contactId: contact.id,
          kind: 'grader',
          offer: 'grader',
          email: contact.email,
          fields: { url: company.domain },
          pageUrl: 'https://frontdoor.example/grader',
          status: 'accepted',
          createdAt,
        })
        rows.emails.push(
          sentEmail(
            contact.email,
            `Your website report for ${company.domain}`,
            'grader-report-ready',
            'transactional',
            createdAt,
          ),
        )
        ev('evidence', createdAt, {
          data: {
            source,
            kind: 'grader_unlock',
            reportId,
            host: company.domain,
            score,
            band,
            failing: rnd.int(2, 9),
            platform,
          },
        })
      } else {
        const asset = rnd.pick(ASSETS)
        const utmSource = rnd.pick(UTM_SOURCES)
        const utm = utmSource
          ? {
              utm_source: utmSource,
              utm_medium: utmSource === 'newsletter' ? 'email' : 'cpc',
              utm_campaign: 'pipeline-q' + rnd.int(1, 4),
            }
          : null
        const submissionId = newId(createdAt.getTime())
        rows.submissions.push({
          id: submissionId,
          contactId: contact.id,
          kind: asset.kind,
          offer: asset.offer,
          email: contact.email,
          fields: { name: `${contact.firstName} ${contact.lastName}`, company: company.name },
          pageUrl: `https://frontdoor.example${asset.path}`,
          utm,
          status: 'accepted',
          createdAt,
        })
        if (asset.form !== 'trial')
          rows.emails.push(
            sentEmail(
              contact.email,
              `Your copy: ${asset.title}`,
              'asset-delivery',
              'transactional',
              createdAt,
            ),
          )
        ev('evidence', createdAt, {
          data: {
            source,
            kind: 'form',
            form: asset.form,
            offer: asset.offer,
            title: asset.title,
            submissionId,
            pageUrl: `https://frontdoor.example${asset.path}`,
            utm,
            ...(asset.form === 'trial'
              ? { companySize: rnd.pick(['11-50', '51-200', '201-1000']) }
              : {}),
          },
        })
      }
    }
    const deal = rows.deals[rows.deals.length - 1]!
    deal.stage = 'target'
    deal.stageEnteredAt = targetAt
    if (queued) continue

    // Taken over within a day, then simulated through the stages until now.
    const claimedAt = new Date(targetAt.getTime() + rnd.int(1, 20) * HOUR)
    if (claimedAt > now) continue
    deal.ownerId = rep.id
    deal.claimedAt = claimedAt
    ev('claimed', claimedAt, { actorId: rep.id, data: { ownerId: rep.id } })
    let stage: StageKey = 'target'
    let enteredAt = targetAt
    let t = claimedAt.getTime()
    let amount: number | null = null
    for (let step = 0; step < 12; step++) {
      const flow = FLOW[stage]
      if (!flow) break
      // A heavy tail: one stay in eight takes three times as long (these go stale).
      const days = rnd.int(flow.days[0], flow.days[1]) * (rnd.chance(0.12) ? 3 : 1)
      const at = new Date(
        Math.max(
          t + rnd.int(2, 30) * HOUR,
          enteredAt.getTime() + days * DAY - rnd.int(0, 12) * HOUR,
        ),
      )
      if (at >= now) break
      const roll = rnd.next()
      const index = PATH.indexOf(stage)
      let to: StageKey
      if (roll < flow.advance) to = PATH[index + 1]!
      else if (roll < flow.advance + flow.back && index > 1) to = PATH[index - 1]!
      else to = 'lost'
      if (to === 'demo' && amount === null) amount = rnd.int(8, 120) * 1_000 * 100
      const data: Record<string, unknown> = {
        enteredAt: enteredAt.toISOString(),
        secondsInStage: (at.getTime() - enteredAt.getTime()) / 1000,
      }
      if (to === 'lost') {
        deal.lostReason = rnd.pick(LOST_REASONS)
        data.lostReason = deal.lostReason
      }
      if (to === 'signed') deal.contractSignedOn = at.toISOString().slice(0, 10)
      if (to === 'won') {
        deal.paymentReceivedOn = at.toISOString().slice(0, 10)
        deal.contractSignedOn ??= deal.paymentReceivedOn
        Object.assign(data, {
          contractSignedOn: deal.contractSignedOn,
          paymentReceivedOn: deal.paymentReceivedOn,
        })
      }
      ev('stage_changed', at, { fromStage: stage, toStage: to, actorId: rep.id, data })
      stage = to
      enteredAt = at
      t = at.getTime()
      if (to === 'won' || to === 'lost') {
        deal.closedAt = at
        break
      }
    }
    deal.stage = stage
    deal.stageEnteredAt = enteredAt
    deal.updatedAt = enteredAt
    if (amount !== null) {
      deal.amountCents = amount
      deal.currency = rnd.chance(0.08) ? 'USD' : 'EUR'
      const closeBase = stageOf(stage).closed
        ? enteredAt.getTime()
        : Math.max(now.getTime() - 20 * DAY, enteredAt.getTime()) + rnd.int(5, 150) * DAY
      if (stageOf(stage).closed || rnd.chance(0.85))
        deal.expectedCloseDate = new Date(closeBase).toISOString().slice(0, 10)
      if (deal.expectedCloseDate)
        ev('updated', new Date(Math.min(enteredAt.getTime(), claimedAt.getTime() + 3 * DAY)), {
          actorId: rep.id,
          data: {
            changes: {
              amountCents: [null, amount],
              expectedCloseDate: [null, deal.expectedCloseDate],
            },
          },
        })
    }
    // The people who decide, once a deal got that far.
    if (PATH.indexOf(stage) >= 3 || (stage === 'lost' && rnd.chance(0.3))) {
      const dm = person(company, new Date(enteredAt.getTime() - DAY), 'manual')
      dm.jobTitle = rnd.pick(['CFO', 'CEO', 'COO'])
      rows.stakeholders.push({
        id: newId(enteredAt.getTime()),
        dealId,
        contactId: dm.id,
        role: 'decision_maker',
        stance: rnd.chance(0.8) ? 'supportive' : 'neutral',
        createdAt: enteredAt,
      })
      rows.stakeholders.push({
        id: newId(enteredAt.getTime() + 1),
        dealId,
        contactId: contact.id,
        role: 'champion',
        stance: 'supportive',
        createdAt: enteredAt,
      })
      deal.budgetNotes = rnd.pick([
        'Budget approved for this fiscal year.',
        'Needs CFO sign-off above €50k.',
        'Comes out of the RevOps tooling budget.',
      ])
      deal.decisionProcessNotes = rnd.pick([
        'Champion → CFO → procurement (2 weeks).',
        'CEO decides after a reference call.',
        'Security review, then the COO signs.',
      ])
    }
    if (stage !== 'target' && rnd.chance(0.5))
      ev(
        'note',
        new Date(Math.min(now.getTime() - HOUR, enteredAt.getTime() + rnd.int(1, 48) * HOUR)),
        { actorId: rep.id, data: { body: rnd.pick(NOTES) } },
      )
  }

  // Prospects from the campaign who have not clicked yet: opportunities at 0%.
  for (let i = 0; i < 12; i++) {
    const company = companyFor(DEALS + i)
    rows.companies.push({ ...company, createdAt: new Date(now.getTime() - 280 * DAY) })
    const listedAt = new Date(now.getTime() - rnd.int(2, 40) * DAY)
    const contact = person(company, listedAt, 'outbound')
    const recipientId = newId(listedAt.getTime())
    rows.recipients.push({
      id: recipientId,
      campaignId,
      contactId: contact.id,
      email: contact.email,
      fields: { firstName: contact.firstName, company: company.name },
      status: 'sent',
      sentAt: listedAt,
      createdAt: listedAt,
    })
    scannerSweep(recipientId, listedAt, listedAt, new Map())
    rows.recipients.push({
      id: newId(followUp.createdAt.getTime()),
      campaignId: followUpId,
      contactId: contact.id,
      email: contact.email,
      fields: { firstName: contact.firstName, company: company.name },
      line: i + 2,
      status: 'pending',
      createdAt: followUp.createdAt,
    })
    rows.emails.push(
      sentEmail(
        contact.email,
        `${contact.firstName}, where does your pipeline stall?`,
        'outreach',
        'outreach',
        listedAt,
      ),
    )
    const dealId = newId(listedAt.getTime())
    rows.deals.push({
      id: dealId,
      contactId: contact.id,
      companyId: company.id,
      title: company.name,
      stage: 'opportunity',
      stageEnteredAt: listedAt,
      source: 'outbound',
      sdrId: sdr.id,
      createdAt: listedAt,
      updatedAt: listedAt,
    })
    rows.events.push({
      id: newId(listedAt.getTime()),
      dealId,
      type: 'created',
      toStage: 'opportunity',
      data: { source: 'outbound' },
      createdAt: listedAt,
    })
  }

  await db.transaction(async (tx) => {
    for (const member of team) {
      if (taken.has(member.email)) continue
      await tx.insert(users).values({
        id: member.id,
        email: member.email,
        name: member.name,
        role: member.role,
        passwordHash,
        createdAt: new Date(now.getTime() - 300 * DAY),
        updatedAt: now,
      })
    }
    // Demo members whose email already existed keep their account; reuse its id.
    const ids = new Map(
      (await tx.select({ id: users.id, email: users.email }).from(users)).map((u) => [
        u.email,
        u.id,
      ]),
    )
    const remap = (id: string | null | undefined) => {
      const member = team.find((m) => m.id === id)
      return member ? (ids.get(member.email) ?? id) : id
    }
    await tx.insert(campaigns).values(
      [
        campaign,
        // Recorded as the first one's follow-up, as "Follow up with non-clickers" makes them.
        {
          ...followUp,
          followUpOf: campaignId,
          followUpCount: rows.recipients.filter((r) => r.campaignId === followUpId).length,
        },
      ].map((c) => ({
        ...c,
        ownerId: remap(c.ownerId)!,
        createdBy: remap(c.createdBy)!,
      })),
    )
    await insertAll(tx, companies, rows.companies)
    await insertAll(tx, contacts, rows.contacts)
    await insertAll(
      tx,
      deals,
      rows.deals.map((d) => ({
        ...d,
        ownerId: remap(d.ownerId) ?? null,
        sdrId: remap(d.sdrId) ?? null,
      })),
    )
    await insertAll(
      tx,
      dealEvents,
      rows.events.map((e) => ({ ...e, actorId: remap(e.actorId) ?? null })),
    )
    await insertAll(tx, dealStakeholders, rows.stakeholders)
    await insertAll(tx, submissions, rows.submissions)
    await insertAll(tx, graderReports, rows.reports)
    await insertAll(tx, graderUnlocks, rows.unlocks)
    await insertAll(tx, campaignRecipients, rows.recipients)
    await insertAll(tx, trackedLinks, rows.links)
    await insertAll(tx, clickEvents, rows.clicks)
    await insertAll(tx, outbox, rows.emails)
    // The demo team's domain is the verified sending domain, so the demo SDR can create and send
    // campaigns out of the box (into the dev mailbox); an admin's own settings are kept.
    await tx
      .insert(settings)
      .values({
        key: SENDER_SETTINGS_KEY,
        value: {
          ...senderSettingsSchema.parse({
            brandName: '',
            transactionalFrom: '',
            marketingFrom: `${SITE.name} <hello@${sdr.email.split('@')[1]}>`,
            replyTo: '',
            postalAddress: '',
          }),
        },
        updatedAt: now,
      })
      .onConflictDoNothing()
    await tx.insert(settings).values({
      key: DEMO_MARKER_KEY,
      value: { at: now.toISOString(), deals: rows.deals.length },
      updatedAt: now,
    })
  })
  return {
    status: 'seeded',
    users: team.length,
    companies: rows.companies.length,
    deals: rows.deals.length,
  }
}

/** A scanner posing as a browser: a browser's user agent, no Accept-Language. */
const SCANNER_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

/** "clicked 3 h after delivery", "clicked 2 days after delivery": what a rep reads. */
export function afterDelivery(ms: number): string {
  const hours = Math.max(1, Math.round(ms / HOUR))
  return hours < 48
    ? `clicked ${hours} h after delivery`
    : `clicked ${Math.round(hours / 24)} days after delivery`
}

function sentEmail(
  to: string,
  subject: string,
  template: string,
  category: 'transactional' | 'outreach',
  at: Date,
): typeof outbox.$inferInsert {
  return {
    id: newId(at.getTime()),
    kind: 'email',
    category,
    recipient: to,
    payload: {
      template,
      to: { address: to },
      from: null,
      replyTo: null,
      subject,
      html: '',
      text: '',
      headers: {},
    },
    status: 'sent',
    attempts: 1,
    runAfter: at,
    createdAt: at,
    sentAt: new Date(at.getTime() + 4_000),
  }
}

async function insertAll<T extends Parameters<Db['insert']>[0]>(
  db: Db,
  table: T,
  values: Array<T['$inferInsert']>,
): Promise<void> {
  for (let i = 0; i < values.length; i += 200) {
    const chunk = values.slice(i, i + 200)
    if (chunk.length) await db.insert(table).values(chunk as never)
  }
}

/** What `npm start` prints about demo data, by DEMO_SEED: ask (default) offers it, yes seeds an empty pipeline. */
export async function offerDemoSeed(deps: Deps): Promise<SeedResult | null> {
  const mode = deps.env.DEMO_SEED
  if (mode === 'no' || (await countDeals(deps.db)) > 0) return null
  if (mode === 'ask') {
    process.stdout.write(
      `\n  The pipeline is empty. To explore Frontdoor with a demo team and nine months of deals:\n    npm run seed:demo        (or start with DEMO_SEED=yes)\n  Never on a database with real customers: the demo accounts share one published password.\n\n`,
    )
    return null
  }
  const result = await seedDemo(deps.db, deps.now())
  if (result.status === 'seeded') {
    deps.logger.info('demo data seeded', { deals: result.deals, companies: result.companies })
    process.stdout.write(demoBanner(deps.env.APP_ORIGIN))
  } else {
    deps.logger.warn('demo data not seeded', { reason: result.reason })
  }
  return result
}

export function demoBanner(origin: string): string {
  const lines = DEMO_TEAM.map((m) => `    ${m.role.padEnd(5)}  ${m.email.padEnd(26)} ${m.name}`)
  return `\n  Demo data added. Sign in at ${origin}/login with any of these (password: ${DEMO_PASSWORD}):\n${lines.join('\n')}\n  These accounts share a published password: never use demo data on a real database.\n\n`
}
