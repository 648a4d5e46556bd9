import { and, eq, gt, sql, type SQL } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { pruneExpired } from '../../../api/background.ts'
import { changeCampaignStatus } from '../../../api/campaigns/campaigns.ts'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { enqueueDueRecipients } from '../../../api/campaigns/sending.ts'
import { rowsOf } from '../../../api/db/raw-sql.ts'
import {
  campaignImportErrors,
  campaignImports,
  campaignRecipients,
  clickEvents,
  contacts,
  dealEvents,
  deals,
  graderReports,
  mailboxMessages,
  outbox,
  rateLimitHits,
  suppressions,
  trackedLinks,
  webhookDeliveries,
  webhookEvents,
  webhookSuccesses,
} from '../../../api/db/schema.ts'
import { WEBHOOK_EVENT_TYPES } from '../../../api/db/webhook-outbox.ts'
import { formatAddress } from '../../../api/email-headers.ts'
import { enqueueMarketingEmail } from '../../../api/email/marketing.ts'
import { hashToken } from '../../../api/ids.ts'
import { recordDelivered } from '../../../api/integrations/webhook-delivery.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { judgePendingClicks } from '../../../api/tracking/verdict-jobs.ts'
import { SETTLE_MS } from '../../../api/tracking/verdicts.ts'
import { addUser, form, json, ORIGIN, signInCookie } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from '../campaigns/fixtures.ts'
import { mailboxTransport, testWorker } from '../email/outbox-fixtures.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'
import { unlockForm, postUnlock } from '../routes/grader-helpers.ts'

// Erasing a person on request: one person is put through every path that stores their data —
// an outreach import, a message and a human click from their IP, a form with consent, a grader
// report unlocked with their address, a note on their deal, a webhook subscription recording
// every event — then erased. Every row of every table of the schema is then read as text, so a
// table that nobody thought of fails the test: the person's address, last name, phone number
// and IP address appear nowhere.

const ctx = await setupLeadApp({ ...CAMPAIGN_ENV })
const { db, env } = ctx.deps
const writer = createClickWriter(db, ctx.deps.logger)
const app = createApp(ctx.deps, writer)
afterAll(() => writer.drain())
ctx.clock.set(new Date('2026-11-30T09:00:00Z'))

const admin = await addUser(ctx, 'admin')
const sdr = await addUser(ctx, 'sdr')
const rep = await addUser(ctx, 'rep')
const cookie = {
  admin: await signInCookie(ctx, admin.email),
  sdr: await signInCookie(ctx, sdr.email),
  rep: await signInCookie(ctx, rep.email),
}

const PERSON = {
  typed: 'Ottilie.Quennell@Brightwater-Freight.example',
  email: 'ottilie.quennell@brightwater-freight.example',
  first: 'Ottilie',
  last: 'Quennell',
  phone: '+44 20 7946 0958',
  ip: '203.0.113.77',
}
const REPORT_ID = '0190f5d2-9999-7000-8000-000000000001'
const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  accept: 'text/html',
  'accept-language': 'en-GB,en;q=0.9',
}

async function importInto(campaignId: string, rows: string[][]) {
  const stored = await storeImport(
    db,
    sdr,
    { campaignId, filename: 'people.csv', bytes: new TextEncoder().encode(csv(rows)) },
    ctx.clock.now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  const [done] = await db.select().from(campaignImports).where(eq(campaignImports.id, job.id))
  return done!
}

async function sendAll() {
  const worker = testWorker(ctx, mailboxTransport(ctx))
  while ((await worker.drainOnce()).claimed > 0);
}

/** Every table of the schema, each row as text (bytea columns decoded): table → rows. */
async function everyRow(): Promise<Map<string, string>> {
  const tables = rowsOf<{ name: string }>(
    await db.execute(sql`
      select table_name as name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`),
  )
  const dump = new Map<string, string>()
  for (const { name } of tables) {
    const binary = rowsOf<{ column: string }>(
      await db.execute(sql`
        select column_name as column from information_schema.columns
        where table_schema = current_schema() and table_name = ${name} and data_type = 'bytea'`),
    ).map((c) => `, encode(t."${c.column}", 'escape')`)
    const rows = rowsOf<{ row: string }>(
      await db.execute(
        sql.raw(`select concat_ws(' ', t::text${binary.join('')}) as row from "${name}" t`),
      ),
    )
    dump.set(
      name,
      rows
        .map((r) => r.row)
        .join('\n')
        .toLowerCase(),
    )
  }
  return dump
}

function tablesHolding(dump: Map<string, string>, needles: string[]): string[] {
  const found: string[] = []
  for (const [table, text] of dump)
    for (const needle of needles)
      if (text.includes(needle.toLowerCase())) found.push(`${table}: ${needle}`)
  return found
}

const erase = (id: string, confirm: string, who: string = cookie.admin) =>
  app.request(`/api/contacts/${id}/erase`, json({ confirm }, { cookie: who, origin: ORIGIN }))

describe('erasing a person', () => {
  let contactId: string
  let dealId: string

  it('puts the person through every path that stores their data', async () => {
    await createSubscription(
      db,
      {
        url: 'https://crm.example.com/hooks',
        events: [...WEBHOOK_EVENT_TYPES],
        createdBy: admin.id,
      },
      ctx.clock.now(),
    )
    // Outreach: imported with a phone column (a merge field), sent, clicked by a person.
    const campaign = await makeCampaign(ctx, sdr, { name: 'Freight leaders' })
    const imported = await importInto(campaign.id, [
      ['email', 'first name', 'last name', 'company', 'phone'],
      [PERSON.typed, PERSON.first, PERSON.last, 'Brightwater Freight', PERSON.phone],
      ['someone.else@other-freight.example', 'Sam', 'Other', 'Other Freight', '+1 555 0100'],
      // Refused rows keep their values (for the file of refused rows): theirs, and a stranger's.
      [PERSON.typed, PERSON.first, PERSON.last, 'Brightwater', 'Freight', PERSON.phone],
      // Theirs too, though its email column holds no address of theirs: columns shifted.
      [PERSON.first, PERSON.last, 'Brightwater Freight', PERSON.phone, PERSON.typed],
      ['kim at other-freight', 'Kim', 'Stranger', 'Other Freight', '+1 555 0101'],
    ])
    expect(imported).toMatchObject({ imported: 2, invalid: 3 })
    expect(
      (await changeCampaignStatus(db, env, sdr, campaign.id, 'start', ctx.clock.now())).ok,
    ).toBe(true)
    await enqueueDueRecipients(db, env, { now: ctx.clock.now(), horizonMs: 60_000 })
    ctx.clock.advance(60_000)
    await sendAll()
    const [recipient] = await db
      .select()
      .from(campaignRecipients)
      .where(eq(campaignRecipients.email, PERSON.email))
    expect(recipient!.status).toBe('queued')
    contactId = recipient!.contactId
    const [link] = await db
      .select()
      .from(trackedLinks)
      .where(eq(trackedLinks.recipientId, recipient!.id))
    ctx.clock.advance(180_000)
    const click = await app.request(`/r/${link!.token}`, {
      headers: { ...BROWSER, 'x-forwarded-for': PERSON.ip },
    })
    expect(click.status).toBe(302)
    await writer.drain()
    ctx.clock.advance(SETTLE_MS)
    while ((await judgePendingClicks(db, ctx.clock.now(), 100)).judged > 0);

    // A form with consent, from the same IP: evidence on the deal the click made.
    const lead = await postLead(
      ctx,
      leadForm(ctx, {
        email: PERSON.typed,
        name: `${PERSON.first} ${PERSON.last}`,
        company: 'Brightwater Freight',
        message: `Please call me on ${PERSON.phone}`,
      }),
      { ip: PERSON.ip },
    )
    expect(lead.status).toBe(303)

    // A grader report requested from their IP and unlocked with their address.
    const [report] = await db
      .insert(graderReports)
      .values({
        id: REPORT_ID,
        normalizedUrl: 'https://brightwater-freight.example/',
        host: 'brightwater-freight.example',
        status: 'done',
        total: 71,
        band: 'fair',
        result: { checks: [], categories: [] },
        teaser: { checks: [], categories: [] },
        requesterIp: PERSON.ip,
        createdAt: ctx.clock.now(),
        completedAt: ctx.clock.now(),
      })
      .returning()
    const unlocked = await postUnlock(
      ctx,
      report!.id,
      unlockForm(ctx, report!.id, {
        email: PERSON.typed,
        name: `${PERSON.first} ${PERSON.last}`,
        company: 'Brightwater Freight',
      }),
      { ip: PERSON.ip },
    )
    expect(unlocked.status).toBeLessThan(400)

    // A rep's note naming them, and their phone number on the contact, typed by an admin.
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, contactId))
    dealId = deal!.id
    const note = await app.request(
      `/api/deals/${dealId}/notes`,
      json(
        { body: `Spoke to ${PERSON.first} ${PERSON.last} (${PERSON.phone}), keen on a demo.` },
        { cookie: cookie.admin, origin: ORIGIN },
      ),
    )
    expect(note.status).toBe(201)
    const edit = await app.request(
      `/api/contacts/${contactId}`,
      json(
        { phone: PERSON.phone, jobTitle: 'Head of Logistics' },
        { cookie: cookie.admin, origin: ORIGIN },
      ),
    )
    expect(edit.status).toBe(200)
    await sendAll()

    // A file uploaded for another campaign, not imported yet when they are erased.
    const waiting = await makeCampaign(ctx, sdr, { name: 'Waiting import' })
    const stored = await storeImport(
      db,
      sdr,
      {
        campaignId: waiting.id,
        filename: 'later.csv',
        bytes: new TextEncoder().encode(
          csv([
            ['email', 'first name', 'last name', 'phone', 'title'],
            [PERSON.typed, PERSON.first, PERSON.last, PERSON.phone, 'Head of Cold Chain'],
          ]),
        ),
      },
      ctx.clock.now(),
    )
    expect(stored.ok).toBe(true)

    // What CRMs answered: the worker's successes (one quoting them, one not) and a failure.
    const queued = await db
      .select({
        eventId: webhookDeliveries.eventId,
        subscriptionId: webhookDeliveries.subscriptionId,
      })
      .from(webhookDeliveries)
      .orderBy(webhookDeliveries.eventId)
    expect(queued.length).toBeGreaterThanOrEqual(3)
    const answered = (excerpt: string, i: number) => ({
      delivery: { ...queued[i]!, attempts: 1 },
      result: { ok: true, statusCode: 200, latencyMs: 4, error: null, responseExcerpt: excerpt },
      at: ctx.clock.now(),
    })
    await recordDelivered(db, [
      answered(`{"matched":"${PERSON.typed}","name":"${PERSON.first} ${PERSON.last}"}`, 0),
      answered('{"matched":null}', 1),
    ])
    await db
      .update(webhookDeliveries)
      .set({ lastError: `HTTP 409: ${PERSON.email} exists`, attempts: 1 })
      .where(eq(webhookDeliveries.eventId, queued[2]!.eventId))

    // The person is everywhere now (the test below is only worth something if so).
    const before = await everyRow()
    for (const table of [
      'contacts',
      'submissions',
      'consent_events',
      'campaign_recipients',
      'campaign_imports',
      'campaign_import_errors',
      'click_events',
      'outbox',
      'mailbox_messages',
      'unsubscribe_tokens',
      'webhook_events',
      'webhook_successes',
      'webhook_deliveries',
      'deal_events',
      'grader_reports',
      'record_changes',
      'rate_limit_hits',
      'search_words',
    ])
      expect(
        tablesHolding(new Map([[table, before.get(table) ?? '']]), [
          PERSON.email,
          PERSON.last,
          PERSON.phone,
          PERSON.ip,
        ]),
        table,
      ).not.toEqual([])
  })

  it('is refused to reps and SDRs, and for a confirmation that is not the address; nothing changes', async () => {
    expect((await erase(contactId, PERSON.email, cookie.rep)).status).toBe(403)
    expect((await erase(contactId, PERSON.email, cookie.sdr)).status).toBe(403)
    const wrong = await erase(contactId, 'ottilie@brightwater-freight.example')
    expect(wrong.status).toBe(422)
    expect(await wrong.json()).toMatchObject({ error: { code: 'confirmation_mismatch' } })
    const [contact] = await db.select().from(contacts).where(eq(contacts.id, contactId))
    expect(contact).toMatchObject({ email: PERSON.email, lastName: PERSON.last, erasedAt: null })
  })

  it('leaves the address, name, phone and IP in no table; the deal stays, with a note of it', async () => {
    // A message waiting in the outbox (not yet handed to the transport) when they are erased.
    const waiting = await db.transaction((tx) =>
      enqueueMarketingEmail(tx, env, {
        category: 'marketing',
        to: formatAddress(`${PERSON.first} ${PERSON.last}`, PERSON.typed),
        template: 'newsletter',
        render: ({ unsubscribeUrl }) => ({
          subject: `News for ${PERSON.first}`,
          html: `<p>Hi ${PERSON.first}</p><p><a href="${unsubscribeUrl}">Unsubscribe</a></p>`,
          text: `Hi ${PERSON.first}\n${unsubscribeUrl}`,
        }),
        now: ctx.clock.now(),
      }),
    )

    // Typed as the person wrote it: the confirmation is compared canonically.
    const res = await erase(contactId, PERSON.typed)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ erased: { contactId, dealIds: [dealId] } })
    await sendAll()

    const dump = await everyRow()
    expect(tablesHolding(dump, [PERSON.email, PERSON.last, PERSON.phone, PERSON.ip])).toEqual([])
    // Their refused row keeps its line and reason, without its values; a stranger's keeps them.
    const refused = await db
      .select({ email: campaignImportErrors.email, cells: campaignImportErrors.cells })
      .from(campaignImportErrors)
      .orderBy(campaignImportErrors.line)
    expect(refused).toEqual([
      { email: null, cells: null },
      { email: null, cells: null },
      {
        email: 'kim at other-freight',
        cells: ['kim at other-freight', 'Kim', 'Stranger', 'Other Freight', '+1 555 0101'],
      },
    ])
    // The receivers' answers are kept, scrubbed: the delivery log still shows them.
    const [answers] = await db.select().from(webhookSuccesses)
    expect(answers!.deliveries.map(([, , , , , excerpt]) => excerpt)).toEqual([
      '{"matched":"[erased]","name":"[erased]"}',
      '{"matched":null}',
    ])

    const [contact] = await db.select().from(contacts).where(eq(contacts.id, contactId))
    expect(contact).toMatchObject({
      email: `erased-${contactId}@erased.invalid`,
      firstName: null,
      lastName: null,
      phone: null,
      jobTitle: null,
      erasedAt: ctx.clock.now(),
    })
    const [deal] = await db.select().from(deals).where(eq(deals.id, dealId))
    expect(deal).toMatchObject({ contactId, stage: 'target', title: 'Brightwater Freight' })
    const [last] = await db
      .select()
      .from(dealEvents)
      .where(and(eq(dealEvents.dealId, dealId), eq(dealEvents.type, 'note')))
      .orderBy(sql`${dealEvents.createdAt} desc, ${dealEvents.id} desc`)
      .limit(1)
    expect(last).toMatchObject({ actorId: admin.id, data: { body: 'Person erased on request.' } })

    // The grader report only they unlocked went with them: the deal's evidence says so, no dead link.
    const page = await app.request(`/api/deals/${dealId}`, { headers: { cookie: cookie.admin } })
    expect(page.status).toBe(200)
    type Evidence = { source: string; details: { label: string; value: string; href?: string }[] }
    const { timeline } = (await page.json()) as { timeline: { evidence?: Evidence }[] }
    const evidence = timeline.flatMap((t) => (t.evidence ? [t.evidence] : []))
    const graded = evidence.filter((e) => e.source === 'Website grader')
    expect(graded.length).toBeGreaterThan(0)
    for (const e of graded)
      expect(e.details.filter((d) => d.label === 'Report')).toEqual([
        { label: 'Report', value: 'Erased with the person who unlocked it' },
      ])
    expect(await db.select().from(graderReports).where(eq(graderReports.id, REPORT_ID))).toEqual([])

    // The waiting message never went; the fingerprint is on the do-not-email list.
    const [held] = await db.select().from(outbox).where(eq(outbox.id, waiting.outboxId!))
    expect(held!.status).toBe('suppressed')
    expect(
      await db.select().from(mailboxMessages).where(eq(mailboxMessages.outboxId, held!.id)),
    ).toEqual([])
    expect(
      await db
        .select()
        .from(suppressions)
        .where(eq(suppressions.email, hashToken(PERSON.email))),
    ).toMatchObject([{ reason: 'erased' }])

    // Connected CRMs are told, with the id only.
    const erased = await db
      .select({ data: webhookEvents.data })
      .from(webhookEvents)
      .innerJoin(webhookDeliveries, eq(webhookDeliveries.eventId, webhookEvents.id))
      .where(eq(webhookEvents.type, 'contact.erased'))
    expect(erased).toEqual([{ data: { contactId } }])
  })

  it('answers 409 for a person already erased, and to an edit putting their details back', async () => {
    const again = await erase(contactId, `erased-${contactId}@erased.invalid`)
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({ error: { code: 'already_erased' } })
    const edit = await app.request(
      `/api/contacts/${contactId}`,
      json(
        { email: PERSON.email, lastName: PERSON.last },
        { cookie: cookie.admin, origin: ORIGIN },
      ),
    )
    expect(edit.status).toBe(409)
    expect(await edit.json()).toMatchObject({ error: { code: 'erased' } })
  })

  it('takes the IP address, user agent and headers of a later click on a link they were sent at the next housekeeping run', async () => {
    const linkOf = async (contact: SQL) => {
      const [link] = await db
        .select({ token: trackedLinks.token, recipientId: trackedLinks.recipientId })
        .from(trackedLinks)
        .innerJoin(campaignRecipients, eq(campaignRecipients.id, trackedLinks.recipientId))
        .where(contact)
        .limit(1)
      return link!
    }
    const theirs = await linkOf(eq(campaignRecipients.contactId, contactId))
    const other = await linkOf(sql`${campaignRecipients.contactId} <> ${contactId}`)
    const since = ctx.clock.now()
    ctx.clock.advance(60_000)
    for (const link of [theirs, other]) {
      const click = await app.request(`/r/${link.token}`, {
        headers: { ...BROWSER, 'x-forwarded-for': PERSON.ip },
      })
      expect(click.status).toBe(302)
    }
    await writer.drain()
    const network = (recipientId: string) =>
      db
        .select({
          ip: clickEvents.ip,
          userAgent: clickEvents.userAgent,
          headers: clickEvents.headers,
        })
        .from(clickEvents)
        .where(and(eq(clickEvents.recipientId, recipientId), gt(clickEvents.createdAt, since)))
    // Recorded as it came: the erasure is over, and the click writer looks nothing up.
    expect(await network(theirs.recipientId!)).toMatchObject([{ ip: PERSON.ip }])

    expect((await pruneExpired(ctx.deps, ctx.clock.now())).erasedClicksForgotten).toBe(1)
    expect(await network(theirs.recipientId!)).toEqual([
      { ip: null, userAgent: null, headers: null },
    ])
    expect(await network(other.recipientId!)).toMatchObject([
      { ip: PERSON.ip, userAgent: BROWSER['user-agent'] },
    ])
    expect((await pruneExpired(ctx.deps, ctx.clock.now())).erasedClicksForgotten).toBe(0)
  })

  it('keeps them out of later imports (counted as suppressed) and marketing mail after a new form', async () => {
    // The file that waited: their line is refused, having no address any more.
    const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
    await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
    const [waited] = await db.select().from(campaignImports).where(eq(campaignImports.id, job.id))
    expect(waited).toMatchObject({ filename: 'later.csv', imported: 0, invalid: 1 })
    // Refused, it keeps none of the line's values: what was not scrubbed is theirs too.
    expect(
      await db
        .select({ cells: campaignImportErrors.cells })
        .from(campaignImportErrors)
        .where(eq(campaignImportErrors.importId, waited!.id)),
    ).toEqual([{ cells: null }])

    const campaign = await makeCampaign(ctx, sdr, { name: 'Second touch' })
    const later = await importInto(campaign.id, [
      ['email', 'first name'],
      [PERSON.email.toUpperCase(), PERSON.first],
    ])
    expect(later).toMatchObject({ imported: 0, suppressed: 1 })

    // They ask for a whitepaper again: the asset they asked for goes, marketing does not.
    const lead = await postLead(ctx, leadForm(ctx, { email: PERSON.typed }), { ip: '192.0.2.9' })
    expect(lead.status).toBe(303)
    const marketing = await db.transaction((tx) =>
      enqueueMarketingEmail(tx, env, {
        category: 'marketing',
        to: formatAddress(null, PERSON.typed),
        template: 'newsletter',
        render: ({ unsubscribeUrl }) => ({
          subject: 'News',
          html: `<a href="${unsubscribeUrl}">Unsubscribe</a>`,
          text: unsubscribeUrl,
        }),
        now: ctx.clock.now(),
      }),
    )
    await sendAll()
    const sent = await db
      .select({ category: outbox.category, status: outbox.status, id: outbox.id })
      .from(outbox)
      .where(eq(outbox.recipient, PERSON.email))
    expect(sent).toEqual(
      expect.arrayContaining([
        { category: 'transactional', status: 'sent', id: expect.any(String) },
        { category: 'marketing', status: 'suppressed', id: marketing.outboxId },
      ]),
    )
  })

  it('clears the rate-limit windows of their IPv6 network, which count its /64, not their address', async () => {
    const email = 'ines.varga@quayside-ports.example'
    const ip = '2001:db8:7:9:a1b2:c3d4:e5f6:15'
    expect((await postLead(ctx, leadForm(ctx, { email, name: 'Ines Varga' }), { ip })).status).toBe(
      303,
    )
    const windows = () =>
      db
        .select({ key: rateLimitHits.key })
        .from(rateLimitHits)
        .where(sql`${rateLimitHits.key} like '%2001:db8:7:9::/64%'`)
    expect(await windows()).not.toEqual([])
    const [person] = await db.select().from(contacts).where(eq(contacts.email, email))
    expect((await erase(person!.id, email)).status).toBe(200)
    expect(await windows()).toEqual([])
  })

  it('works from the contact page’s form without JavaScript: 303 to the contacts list with a notice', async () => {
    const [other] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'someone.else@other-freight.example'))
    const wrong = await app.request(
      `/api/contacts/${other!.id}/erase`,
      form({ confirm: 'nope', next: `/app/contacts/${other!.id}` }, { cookie: cookie.admin }),
    )
    expect(wrong.status).toBe(303)
    expect(wrong.headers.get('location')).toMatch(
      new RegExp(`^/app/contacts/${other!.id}\\?error=`),
    )
    const res = await app.request(
      `/api/contacts/${other!.id}/erase`,
      form({ confirm: other!.email, next: `/app/contacts/${other!.id}` }, { cookie: cookie.admin }),
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/app\/contacts\?notice=/)
  })
})
