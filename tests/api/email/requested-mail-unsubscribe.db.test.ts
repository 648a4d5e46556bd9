import { and, desc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { consentEvents, contacts, outbox } from '../../../api/db/schema.ts'
import { formatAddress } from '../../../api/email-headers.ts'
import { headerList } from '../../../api/email/mailbox.ts'
import { enqueueMarketingEmail } from '../../../api/email/marketing.ts'
import { findSuppression } from '../../../api/email/suppressions.ts'
import { findUnsubscribeToken } from '../../../api/email/unsubscribe.ts'
import { renderOutreach } from '../../../email-templates/outreach.ts'
import { ORIGIN } from '../../helpers.ts'
import { CASE_STUDY, demoFilesDir, leadForm, postLead } from '../leads/lead-helpers.ts'
import {
  gradedReport,
  postUnlock,
  secureSiteUrl,
  startGraderTestApp,
  unlockForm,
} from '../routes/grader-helpers.ts'
import { mailboxFor, mailboxTransport, outboxRow, testWorker } from './outbox-fixtures.ts'

// The consent checkbox promises "the unsubscribe link in every email", and the privacy page an
// unsubscribe link at the bottom of every email we send a person. The mail a lead asked for (the
// asset, the grader report) keeps that promise: a visible link in both parts and the RFC 8058
// headers, with a token of its own. Following it unsubscribes from marketing; the asset the
// person asks for next still arrives.

const app = await startGraderTestApp({ env: { CONTENT_FILES_DIR: await demoFilesDir() } })
const { ctx } = app
const { db } = ctx.deps

type Payload = { template: string; html: string; text: string; headers: Record<string, string> }

async function mailTo(email: string, template: string) {
  const [row] = await db
    .select()
    .from(outbox)
    .where(and(eq(outbox.recipient, email), eq(outbox.kind, 'email')))
    .orderBy(desc(outbox.createdAt), desc(outbox.id))
  expect(row, `a mail to ${email}`).toBeDefined()
  const payload = row!.payload as Payload
  expect(payload.template).toBe(template)
  return { row: row!, payload }
}

/** The unsubscribe URL a mail carries, checked the same in its header, text and HTML. */
async function unsubscribeLinkOf(payload: Payload, email: string): Promise<string> {
  const header = payload.headers['List-Unsubscribe']
  expect(header, 'List-Unsubscribe header').toMatch(new RegExp(`^<${ORIGIN}/u/[a-z2-7]{26}>$`))
  expect(payload.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click')
  const url = header!.slice(1, -1)
  expect(payload.text).toContain(`Don’t want our marketing emails? Unsubscribe: ${url}`)
  expect(payload.html).toMatch(
    new RegExp(`Don’t want our marketing emails\\? <a href="${url}"[^>]*>Unsubscribe</a>`),
  )
  // A token we issued, for this person.
  expect(await findUnsubscribeToken(db, url.split('/u/')[1]!)).toEqual({
    email,
    campaignId: null,
  })
  return url
}

async function requestAsset(email: string, offer?: string) {
  const res = await postLead(ctx, leadForm(ctx, { email, ...(offer ? { offer } : {}) }))
  expect(res.status).toBe(303)
  ctx.clock.advance(1_000)
}

async function contactId(email: string) {
  const [row] = await db.select({ id: contacts.id }).from(contacts).where(eq(contacts.email, email))
  return row!.id
}

async function consentOf(email: string) {
  return db
    .select({ granted: consentEvents.granted, method: consentEvents.method })
    .from(consentEvents)
    .where(eq(consentEvents.contactId, await contactId(email)))
    .orderBy(consentEvents.createdAt)
}

describe('the asset a lead asked for', () => {
  it('carries the unsubscribe line in both parts and the one-click headers, as queued and as delivered', async () => {
    const email = 'ines.arbor@acme-robotics.com'
    await requestAsset(email)
    const { row, payload } = await mailTo(email, 'asset-delivery')
    expect(row.category).toBe('transactional')
    const url = await unsubscribeLinkOf(payload, email)

    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect((await outboxRow(db, row.id)).status).toBe('sent')
    const [delivered] = await mailboxFor(db, row.id)
    expect(headerList(delivered!)).toEqual(
      expect.arrayContaining([
        ['List-Unsubscribe', `<${url}>`],
        ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
      ]),
    )
    expect(delivered!.text).toContain(url)
  })

  it('links to the unsubscribe page: GET asks first and changes nothing, its button unsubscribes and withdraws consent', async () => {
    const email = 'omar.quist@acme-robotics.com'
    await requestAsset(email)
    const url = await unsubscribeLinkOf((await mailTo(email, 'asset-delivery')).payload, email)
    const path = new URL(url).pathname

    const page = await ctx.app.request(path)
    expect(page.status).toBe(200)
    const body = await page.text()
    expect(body).toContain(`<form method="post" action="${path}">`)
    expect(await findSuppression(db, email)).toBeNull()

    const confirmed = await ctx.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: '',
    })
    expect(confirmed.status).toBe(200)
    expect(await confirmed.text()).toContain('You are unsubscribed')
    expect(await findSuppression(db, email)).toMatchObject({
      reason: 'unsubscribe',
      source: 'unsubscribe page',
    })
    expect(await consentOf(email)).toEqual([
      { granted: true, method: 'checkbox' },
      { granted: false, method: 'unsubscribe' },
    ])
  })

  it('unsubscribes in one click from the header; marketing then stops and the next asset still arrives', async () => {
    const email = 'lena.voss@acme-robotics.com'
    await requestAsset(email)
    const url = await unsubscribeLinkOf((await mailTo(email, 'asset-delivery')).payload, email)

    // What a mail provider sends for RFC 8058: no cookie, no Origin.
    const oneClick = await ctx.app.request(new URL(url).pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    })
    expect(oneClick.status).toBe(200)
    expect(await findSuppression(db, email)).toMatchObject({
      reason: 'unsubscribe',
      source: 'one-click (List-Unsubscribe-Post)',
    })
    expect(await consentOf(email)).toEqual([
      { granted: true, method: 'checkbox' },
      { granted: false, method: 'unsubscribe' },
    ])

    // They ask for another asset: it goes, with a link of its own. A marketing mail does not.
    await requestAsset(email, CASE_STUDY)
    const next = await mailTo(email, 'asset-delivery')
    const nextUrl = await unsubscribeLinkOf(next.payload, email)
    expect(nextUrl).not.toBe(url)
    const { outboxId: marketingId } = await enqueueMarketingEmail(db, ctx.deps.env, {
      category: 'marketing',
      to: formatAddress('Lena', email),
      template: 'outreach',
      render: ({ brand, unsubscribeUrl }) =>
        renderOutreach(
          { subject: 'News', body: 'Hi {{firstName}}, our spring release is out.' },
          { email, firstName: 'Lena' },
          { brand, unsubscribeUrl },
        ),
      now: ctx.clock.now(),
    })

    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    expect((await outboxRow(db, next.row.id)).status).toBe('sent')
    expect(await mailboxFor(db, next.row.id)).toHaveLength(1)
    expect((await outboxRow(db, marketingId!)).status).toBe('suppressed')
  })
})

describe('the grader report a lead unlocked', () => {
  it('carries the unsubscribe line and headers, and its one-click POST unsubscribes from marketing', async () => {
    const email = 'robin.hale@northwind-tools.com'
    const report = await gradedReport(app, secureSiteUrl(app, 'good'))
    const res = await postUnlock(ctx, report.id, unlockForm(ctx, report.id, { email }))
    expect(res.status).toBe(303)
    const { row, payload } = await mailTo(email, 'grader-report-ready')
    expect(row.category).toBe('transactional')
    const url = await unsubscribeLinkOf(payload, email)

    await testWorker(ctx, mailboxTransport(ctx)).drainOnce()
    const [delivered] = await mailboxFor(db, row.id)
    expect(headerList(delivered!)).toEqual(
      expect.arrayContaining([
        ['List-Unsubscribe', `<${url}>`],
        ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
      ]),
    )

    const oneClick = await ctx.app.request(new URL(url).pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    })
    expect(oneClick.status).toBe(200)
    expect(await findSuppression(db, email)).toMatchObject({ reason: 'unsubscribe' })
    expect(await consentOf(email)).toEqual([
      { granted: true, method: 'checkbox' },
      { granted: false, method: 'unsubscribe' },
    ])
  })
})
