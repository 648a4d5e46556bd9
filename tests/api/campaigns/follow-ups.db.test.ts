import { setTimeout as sleep } from 'node:timers/promises'
import { eq, inArray, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import {
  countNonClickers,
  createFollowUp,
  listFollowUps,
} from '../../../api/campaigns/follow-ups.ts'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { startProblems } from '../../../api/campaigns/preview.ts'
import { enqueueDueRecipients, recordOutcomes } from '../../../api/campaigns/sending.ts'
import {
  campaignRecipients,
  campaigns,
  clickEvents,
  deals,
  mailboxMessages,
} from '../../../api/db/schema.ts'
import { headerList } from '../../../api/email/mailbox.ts'
import { suppress } from '../../../api/email/suppressions.ts'
import { newId } from '../../../api/ids.ts'
import { testEngine } from '../../db-fixtures.ts'
import { ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'
import { mailboxTransport, testWorker } from '../email/outbox-fixtures.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from './fixtures.ts'

// "Follow up with non-clickers": a sent campaign's recipients who were sent it, made no human
// click, are not suppressed and are still an untaken prospect become a new draft's recipients,
// credited to the same SDR.

const ctx = await setupTestApp(CAMPAIGN_ENV)
const db = ctx.deps.db
const owner = await signedInAs(ctx, 'sdr')
const admin = await signedInAs(ctx, 'admin')
const otherSdr = await signedInAs(ctx, 'sdr')
const rep = await signedInAs(ctx, 'rep')

const recipientsOf = (campaignId: string) =>
  db
    .select()
    .from(campaignRecipients)
    .where(eq(campaignRecipients.campaignId, campaignId))
    .orderBy(campaignRecipients.line, campaignRecipients.id)

/**
 * A campaign of the owner that sent to `tags` (one recipient each, file order), with what
 * happened to each, then `status`.
 */
async function sentCampaign(
  tags: string[],
  status: 'sending' | 'paused' | 'completed' | 'draft' = 'completed',
) {
  const run = newId().slice(-8)
  const campaign = await makeCampaign(ctx, owner.user, {
    name: `Sent ${run}`,
    subjectTemplate: 'Your {{website}} page',
    bodyTemplate: 'Hi {{firstName}}, about {{website}}.',
  })
  const rows = [
    ['email', 'first name', 'website'],
    ...tags.map((tag) => [`${tag}-${run}@acme.example`, `First ${tag}`, `https://${tag}.example`]),
  ]
  // No tags: a campaign with nobody imported (a file of a header alone is refused).
  if (tags.length) {
    const stored = await storeImport(
      db,
      owner.user,
      { campaignId: campaign.id, filename: 'p.csv', bytes: new TextEncoder().encode(csv(rows)) },
      ctx.clock.now(),
    )
    if (!stored.ok) throw new Error(stored.message)
    const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
    await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  }
  await db
    .update(campaignRecipients)
    .set({ status: 'sent', sentAt: ctx.clock.now() })
    .where(eq(campaignRecipients.campaignId, campaign.id))
  await db.update(campaigns).set({ status }).where(eq(campaigns.id, campaign.id))
  const byTag = new Map((await recipientsOf(campaign.id)).map((r, i) => [tags[i]!, r]))
  return { id: campaign.id, byTag }
}

const click = (r: { id: string; campaignId: string }, verdict: string) =>
  db.insert(clickEvents).values({
    id: newId(),
    token: `t-${newId()}`,
    recipientId: r.id,
    campaignId: r.campaignId,
    method: 'GET',
    verdict: verdict as 'pending',
  })

/** Imports `emails` into the campaign, as an SDR's upload does. */
async function importInto(campaignId: string, emails: string[]) {
  const stored = await storeImport(
    db,
    owner.user,
    {
      campaignId,
      filename: 'p.csv',
      bytes: new TextEncoder().encode(csv([['email'], ...emails.map((e) => [e])])),
    },
    ctx.clock.now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
}

/** Enqueues what is due of the sending campaigns, and delivers it to the dev mailbox. */
async function sendDue() {
  await enqueueDueRecipients(db, ctx.deps.env, { now: ctx.clock.now(), horizonMs: 30_000 })
  ctx.clock.advance(60_000)
  await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
  await recordOutcomes(db)
}

const followUp = (id: string, cookie: string, headers: Record<string, string> = {}) =>
  ctx.app.request(`/api/campaigns/${id}/follow-up`, {
    method: 'POST',
    headers: { cookie, origin: ORIGIN, accept: 'application/json', ...headers },
  })

describe('following up with non-clickers', () => {
  it('copies, in file order with their merge fields, only those sent it who made no human click, are not suppressed and are still an untaken prospect', async () => {
    const { id, byTag } = await sentCampaign([
      'quiet',
      'human',
      'scanned',
      'confirmed',
      'unsubscribed',
      'target',
      'taken',
      'waiting',
      'bounced',
      'judging',
      'quiet2',
    ])
    const r = (tag: string) => byTag.get(tag)!
    await click(r('human'), 'human')
    await click(r('scanned'), 'bot')
    await click(r('scanned'), 'likely_bot')
    await click(r('confirmed'), 'human_confirmed')
    await click(r('judging'), 'pending')
    await suppress(db, { email: r('unsubscribed').email, reason: 'unsubscribe' }, ctx.clock.now())
    await db
      .update(deals)
      .set({ stage: 'target' })
      .where(eq(deals.contactId, r('target').contactId))
    await db
      .update(deals)
      .set({ ownerId: rep.user.id })
      .where(eq(deals.contactId, r('taken').contactId))
    await db
      .update(campaignRecipients)
      .set({ status: 'pending', sentAt: null })
      .where(eq(campaignRecipients.id, r('waiting').id))
    await db
      .update(campaignRecipients)
      .set({ status: 'bounced' })
      .where(eq(campaignRecipients.id, r('bounced').id))

    const res = await followUp(id, owner.cookie)
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.recipients).toBe(3)
    const [original] = await db.select().from(campaigns).where(eq(campaigns.id, id))
    expect(body.campaign).toMatchObject({
      status: 'draft',
      ownerId: owner.user.id,
      createdBy: owner.user.id,
      followUpOf: id,
      followUpCount: 3,
      senderEmail: original!.senderEmail,
      senderName: original!.senderName,
      ratePerHour: original!.ratePerHour,
      windowStartHour: original!.windowStartHour,
      windowEndHour: original!.windowEndHour,
      timezone: original!.timezone,
      subjectTemplate: 'Re: Your {{website}} page',
      bodyTemplate: expect.stringContaining('Hi {{firstName}}, about {{website}}.'),
    })
    const copied = await recipientsOf(body.campaign.id)
    const expected = ['quiet', 'scanned', 'quiet2'].map((t) => r(t))
    expect(copied.map((c) => [c.email, c.line, c.contactId, c.fields, c.status])).toEqual(
      expected.map((e) => [e.email, e.line, e.contactId, e.fields, 'pending']),
    )
    // New rows: ids of their own, in file order; the original is unchanged.
    expect(copied.map((c) => c.id).every((cid) => !expected.some((e) => e.id === cid))).toBe(true)
    expect([...copied.map((c) => c.id)].sort()).toEqual(copied.map((c) => c.id))
    expect((await recipientsOf(id)).length).toBe(11)
    // The draft can be checked as it is: each copied row carries its merge fields, blanks too.
    const [draft] = await db.select().from(campaigns).where(eq(campaigns.id, body.campaign.id))
    expect(await startProblems(db, ctx.deps.env, draft!)).toEqual([])
  })

  it('credits an admin’s follow-up to the SDR who ran the campaign, and lets no other SDR or rep make one', async () => {
    const { id } = await sentCampaign(['one'], 'paused')
    expect((await followUp(id, otherSdr.cookie)).status).toBe(403)
    expect((await followUp(id, rep.cookie)).status).toBe(403)
    const res = await followUp(id, admin.cookie)
    expect(res.status).toBe(201)
    const made = (await res.json()).campaign
    expect(made).toMatchObject({ ownerId: owner.user.id, createdBy: admin.user.id, followUpOf: id })
    // The page that makes another lists it, so nobody writes to the same people twice by mistake.
    expect(await listFollowUps(db, id)).toEqual([
      expect.objectContaining({ id: made.id, status: 'draft', recipients: 1 }),
    ])
    expect(await listFollowUps(db, made.id)).toEqual([])
  })

  it('refuses with 409 a campaign that sent nothing yet, and one where nobody qualifies, creating nothing', async () => {
    const draft = await sentCampaign(['early'], 'draft')
    const before = await db.$count(campaigns)
    const notSent = await followUp(draft.id, owner.cookie)
    expect(notSent.status).toBe(409)
    expect((await notSent.json()).error.code).toBe('wrong_status')

    const { id, byTag } = await sentCampaign(['clicker', 'gone'], 'sending')
    await click(byTag.get('clicker')!, 'human')
    await suppress(db, { email: byTag.get('gone')!.email, reason: 'hard_bounce' }, ctx.clock.now())
    const nobody = await followUp(id, owner.cookie)
    expect(nobody.status).toBe(409)
    expect((await nobody.json()).error).toMatchObject({ code: 'nobody_to_follow_up' })
    // The plain form goes back to the page that asked, with the reason.
    const form = await followUp(id, owner.cookie, {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(form.status).toBe(303)
    const back = new URL(form.headers.get('location')!, ORIGIN)
    expect(back.pathname).toBe(`/app/campaigns/${id}/follow-up`)
    expect(back.searchParams.get('error')).toContain('Nobody to follow up')
    expect(await db.$count(campaigns)).toBe(before + 1)
    expect(await db.$count(campaigns, inArray(campaigns.followUpOf, [draft.id, id]))).toBe(0)
  })

  it('copies 50,000 recipients in one statement', async () => {
    const { id } = await sentCampaign([])
    const n = 50_000
    const tag = newId().slice(-8)
    // Made in SQL, as an import of that size would leave them: sent, each an untaken prospect.
    await db.execute(sql`
      insert into contacts (id, email, email_display, source)
      select ${tag} || '-c-' || i, 'p' || i || '-' || ${tag} || '@big.example',
        'p' || i || '-' || ${tag} || '@big.example', 'outbound'
      from generate_series(1, ${n}) i`)
    await db.execute(sql`
      insert into deals (id, contact_id, title, stage, source)
      select ${tag} || '-d-' || i, ${tag} || '-c-' || i, 'Prospect', 'opportunity', 'outbound'
      from generate_series(1, ${n}) i`)
    await db.execute(sql`
      insert into campaign_recipients (id, campaign_id, contact_id, email, fields, line, status)
      select ${tag} || '-r-' || lpad(i::text, 6, '0'), ${id}, ${tag} || '-c-' || i,
        'p' || i || '-' || ${tag} || '@big.example', jsonb_build_object('firstName', 'P' || i),
        i + 1, 'sent'
      from generate_series(1, ${n}) i`)
    // The statistics an import of that size leaves (imports.ts ANALYZEs as its rows double).
    await db.execute(sql`analyze contacts, deals, campaign_recipients`)
    const res = await followUp(id, owner.cookie)
    expect(res.status).toBe(201)
    const { campaign, recipients } = await res.json()
    expect(recipients).toBe(n)
    const copied = await recipientsOf(campaign.id)
    expect(copied).toHaveLength(n)
    expect(new Set(copied.map((c) => c.id)).size).toBe(n)
    expect(copied[0]).toMatchObject({ line: 2, fields: { firstName: 'P1' } })
    expect(copied[n - 1]).toMatchObject({ line: n + 1, fields: { firstName: `P${n}` } })
  }, 60_000)

  it('takes a plain form to the new draft’s page with a notice', async () => {
    const { id } = await sentCampaign(['a', 'b'])
    const res = await followUp(id, owner.cookie, {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(res.status).toBe(303)
    const to = new URL(res.headers.get('location')!, ORIGIN)
    const [made] = await db.select().from(campaigns).where(eq(campaigns.followUpOf, id))
    expect(to.pathname).toBe(`/app/campaigns/${made!.id}`)
    expect(to.searchParams.get('notice')).toBe(
      'Follow-up created with 2 recipients: edit its message, check it and start it.',
    )
  })
})

describe('a follow-up of a campaign whose files had different columns', () => {
  it('knows every column of the original’s imports: a recipient whose file lacked one takes its fallback', async () => {
    const run = newId().slice(-8)
    const original = await makeCampaign(ctx, owner.user, { name: `Columns ${run}` })
    const files = [
      [
        ['email', 'first name'],
        [`ana-${run}@plain.example`, 'Ana'],
      ],
      [
        ['email', 'first name', 'Industry'],
        [`bo-${run}@shipping.example`, 'Bo', 'shipping'],
      ],
    ]
    for (const rows of files) {
      const stored = await storeImport(
        db,
        owner.user,
        { campaignId: original.id, filename: 'p.csv', bytes: new TextEncoder().encode(csv(rows)) },
        ctx.clock.now(),
      )
      if (!stored.ok) throw new Error(stored.message)
      const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
      await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
    }
    await db
      .update(campaignRecipients)
      .set({ status: 'sent', sentAt: ctx.clock.now() })
      .where(eq(campaignRecipients.campaignId, original.id))
    await db.update(campaigns).set({ status: 'completed' }).where(eq(campaigns.id, original.id))

    const res = await followUp(original.id, owner.cookie)
    expect(res.status).toBe(201)
    const { campaign } = await res.json()
    await db
      .update(campaigns)
      .set({ bodyTemplate: 'Hi {{firstName}}, still thinking about {{Industry|logistics}}?' })
      .where(eq(campaigns.id, campaign.id))
    const preview = await (
      await ctx.app.request(`/api/campaigns/${campaign.id}/preview`, {
        headers: { cookie: owner.cookie },
      })
    ).json()
    expect(preview.problems).toEqual([])
    expect(
      preview.messages.map((m: { text: string; problem: string | null }) => [
        m.text.split('\n')[0],
        m.problem,
      ]),
    ).toEqual([
      ['Hi Ana, still thinking about logistics?', null],
      ['Hi Bo, still thinking about shipping?', null],
    ])
  })
})

describe('a follow-up’s messages', () => {
  const sending = (id: string) =>
    db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, id))
  const delivered = async (campaignId: string) => {
    const rows = await db
      .select({ email: campaignRecipients.email, mail: mailboxMessages })
      .from(campaignRecipients)
      .innerJoin(mailboxMessages, eq(mailboxMessages.outboxId, campaignRecipients.outboxId))
      .where(eq(campaignRecipients.campaignId, campaignId))
    return new Map(rows.map((r) => [r.email, new Map(headerList(r.mail))]))
  }

  it('reply to the message each person was sent: In-Reply-To and References name its Message-ID', async () => {
    const run = newId().slice(-8)
    const original = await makeCampaign(ctx, owner.user, {
      name: `Threaded ${run}`,
      senderEmail: `threads-${run}@frontdoor.example`,
    })
    const people = ['ann', 'bob'].map((p) => `${p}-${run}@acme.example`)
    const stored = await storeImport(
      db,
      owner.user,
      {
        campaignId: original.id,
        filename: 'p.csv',
        bytes: new TextEncoder().encode(csv([['email'], ...people.map((p) => [p])])),
      },
      ctx.clock.now(),
    )
    if (!stored.ok) throw new Error(stored.message)
    const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
    await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
    await sending(original.id)
    await sendDue()
    const res = await followUp(original.id, owner.cookie)
    expect(res.status).toBe(201)
    const followUpId = (await res.json()).campaign.id as string
    await sending(followUpId)
    await sendDue()

    const first = await delivered(original.id)
    const second = await delivered(followUpId)
    expect([...second.keys()].sort()).toEqual(people)
    for (const person of people) {
      const messageId = first.get(person)!.get('Message-ID')!
      expect(messageId).toMatch(/^<outbox\.[^@]+@frontdoor\.example>$/)
      expect(second.get(person)!.get('In-Reply-To')).toBe(messageId)
      expect(second.get(person)!.get('References')).toBe(messageId)
    }
    // A second follow-up carries the whole chain, the original's Message-ID first.
    await db.update(campaigns).set({ status: 'completed' }).where(eq(campaigns.id, followUpId))
    const again = await followUp(followUpId, owner.cookie)
    const thirdId = (await again.json()).campaign.id as string
    await sending(thirdId)
    await sendDue()
    const third = await delivered(thirdId)
    for (const person of people) {
      const before = second.get(person)!.get('Message-ID')!
      expect(third.get(person)!.get('In-Reply-To')).toBe(before)
      expect(third.get(person)!.get('References')).toBe(
        `${first.get(person)!.get('Message-ID')} ${before}`,
      )
    }
  })
})

describe('a non-clicker still waiting in another live campaign', () => {
  const form = { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }
  const emailsOf = async (campaignId: string) =>
    (await recipientsOf(campaignId)).map((r) => r.email)
  const statusOf = async (id: string) =>
    (await db.select().from(campaigns).where(eq(campaigns.id, id)))[0]!

  it('is left out of the follow-up and counted apart, as an import leaves them out', async () => {
    const { id, byTag } = await sentCampaign(['quiet', 'busy'])
    const busy = byTag.get('busy')!.email
    const quiet = byTag.get('quiet')!.email
    // Imported into another campaign since (the original is over), and waiting there.
    const other = await makeCampaign(ctx, owner.user, { name: `Other ${newId().slice(-8)}` })
    await importInto(other.id, [busy])
    await db.update(campaigns).set({ status: 'sending' }).where(eq(campaigns.id, other.id))
    expect(await emailsOf(other.id)).toEqual([busy])

    expect(await countNonClickers(db, id)).toEqual({ recipients: 1, inOtherCampaign: 1 })
    const res = await followUp(id, owner.cookie)
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body).toMatchObject({
      recipients: 1,
      inOtherCampaign: 1,
      campaign: { followUpOf: id, followUpCount: 1 },
    })
    expect(await emailsOf(body.campaign.id)).toEqual([quiet])
    expect(await listFollowUps(db, id)).toEqual([
      expect.objectContaining({ id: body.campaign.id, recipients: 1 }),
    ])

    // The follow-up is a live campaign too: now both wait elsewhere, and nobody qualifies.
    expect(await countNonClickers(db, id)).toEqual({ recipients: 0, inOtherCampaign: 2 })
    const again = await followUp(id, owner.cookie, form)
    expect(again.status).toBe(303)
    expect(new URL(again.headers.get('location')!, ORIGIN).searchParams.get('error')).toBe(
      'Nobody to follow up now: 2 recipients who did not click are still waiting in another live campaign, which would write to them too; follow up once it is completed or stopped. Everyone else sent this campaign clicked, was suppressed or unsubscribed, or is in the pipeline now.',
    )
    expect(await db.$count(campaigns, eq(campaigns.followUpOf, id))).toBe(1)
  })

  it('counts a draft as live, and a plain form’s notice says how many were left out', async () => {
    const { id, byTag } = await sentCampaign(['quiet', 'busy'])
    const draft = await makeCampaign(ctx, owner.user, { name: `Not started ${newId().slice(-8)}` })
    await importInto(draft.id, [byTag.get('busy')!.email])
    const res = await followUp(id, owner.cookie, form)
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!, ORIGIN).searchParams.get('notice')).toBe(
      'Follow-up created with 1 recipient (1 non-clicker left out: still waiting in another live campaign): edit its message, check it and start it.',
    )
    const [made] = await db.select().from(campaigns).where(eq(campaigns.followUpOf, id))
    expect(made).toMatchObject({ followUpCount: 1 })
    expect(await emailsOf(made!.id)).toEqual([byTag.get('quiet')!.email])
  })

  it('is followed up again once that campaign is over: stopped, or done sending to them', async () => {
    const { id, byTag } = await sentCampaign(['stopped', 'done'])
    const [stopped, done] = ['stopped', 'done'].map((t) => byTag.get(t)!.email)
    const run = newId().slice(-8)
    const first = await makeCampaign(ctx, owner.user, { name: `To stop ${run}` })
    await importInto(first.id, [stopped!])
    // Its own sender: no other campaign's slots in the way of its one message.
    const second = await makeCampaign(ctx, owner.user, {
      name: `To send ${run}`,
      senderEmail: `live-${run}@frontdoor.example`,
    })
    await importInto(second.id, [done!])
    await db
      .update(campaigns)
      .set({ status: 'sending' })
      .where(inArray(campaigns.id, [first.id, second.id]))
    expect(await countNonClickers(db, id)).toEqual({ recipients: 0, inOtherCampaign: 2 })
    expect((await followUp(id, owner.cookie)).status).toBe(409)

    const stop = await ctx.app.request(`/api/campaigns/${first.id}/complete`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(stop.status).toBe(200)
    expect(await countNonClickers(db, id)).toEqual({ recipients: 1, inOtherCampaign: 1 })

    // Handed to the outbox, not sent yet: still waiting.
    await enqueueDueRecipients(db, ctx.deps.env, { now: ctx.clock.now(), horizonMs: 30_000 })
    expect((await recipientsOf(second.id)).map((r) => r.status)).toEqual(['queued'])
    expect(await countNonClickers(db, id)).toEqual({ recipients: 1, inOtherCampaign: 1 })
    await sendDue()
    await enqueueDueRecipients(db, ctx.deps.env, { now: ctx.clock.now(), horizonMs: 30_000 })
    expect(await statusOf(second.id)).toMatchObject({ status: 'completed', stoppedAt: null })

    expect(await countNonClickers(db, id)).toEqual({ recipients: 2, inOtherCampaign: 0 })
    const res = await followUp(id, owner.cookie, form)
    expect(res.status).toBe(303)
    const to = new URL(res.headers.get('location')!, ORIGIN)
    expect(to.searchParams.get('notice')).toBe(
      'Follow-up created with 2 recipients: edit its message, check it and start it.',
    )
    const [made] = await db.select().from(campaigns).where(eq(campaigns.followUpOf, id))
    expect(made).toMatchObject({ followUpCount: 2 })
    expect(await emailsOf(made!.id)).toEqual([stopped, done])
  })

  // PGlite has one connection: nothing runs beside a transaction there.
  it.skipIf(testEngine() !== 'postgres')(
    'waits for an import adding them to another campaign meanwhile, then leaves them out',
    async () => {
      const { id, byTag } = await sentCampaign(['quiet', 'busy'])
      const busy = byTag.get('busy')!
      const other = await makeCampaign(ctx, owner.user, { name: `Importing ${newId().slice(-8)}` })
      // What an import's chunk does, held open: the contact locked, its row in the other campaign.
      let holding!: () => void
      const held = new Promise<void>((resolve) => (holding = resolve))
      let finish!: () => void
      const finished = new Promise<void>((resolve) => (finish = resolve))
      const importing = db.transaction(async (tx) => {
        await tx.execute(
          sql`select id from contacts where id = ${busy.contactId} for no key update`,
        )
        await tx.insert(campaignRecipients).values({
          id: newId(),
          campaignId: other.id,
          contactId: busy.contactId,
          email: busy.email,
          fields: {},
        })
        holding()
        await finished
      })
      await held
      const making = createFollowUp(db, ctx.deps.env, owner.user, id, ctx.clock.now())
      const first = await Promise.race([making.then(() => 'made'), sleep(500).then(() => 'waits')])
      expect(first).toBe('waits')
      finish()
      await importing
      const made = await making
      if (!made.ok) throw new Error(made.message)
      expect(made).toMatchObject({ recipients: 1, inOtherCampaign: 1 })
      expect(await recipientsOf(made.campaign.id)).toEqual([
        expect.objectContaining({ email: byTag.get('quiet')!.email }),
      ])
    },
  )
})
