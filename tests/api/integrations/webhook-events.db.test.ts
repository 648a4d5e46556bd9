import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  graderReports,
  submissions,
  webhookDeliveries,
  webhookEvents,
} from '../../../api/db/schema.ts'
import { issueUnsubscribeToken, unsubscribe } from '../../../api/email/unsubscribe.ts'
import type { GradeResult, Teaser } from '../../../api/grader/engine/grade.ts'
import { completeReport } from '../../../api/grader/reports.ts'
import { newId } from '../../../api/ids.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { addUser, type TestContext } from '../../helpers.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'

// A lead posted over HTTP queues its webhook events in the same transaction: one lead.captured
// and one deal.qualified per subscription; a replayed post and a quarantined one queue nothing.

let ctx: TestContext
let subscriptionId: string

async function queued() {
  return ctx.deps.db
    .select({ type: webhookEvents.type, data: webhookEvents.data })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.subscriptionId, subscriptionId))
    .orderBy(webhookEvents.id)
}

beforeAll(async () => {
  ctx = await setupLeadApp()
  const admin = await addUser(ctx, 'admin')
  const sub = await createSubscription(
    ctx.deps.db,
    {
      url: 'https://crm.example.com/hooks',
      events: ['lead.captured', 'deal.qualified'],
      createdBy: admin.id,
    },
    ctx.deps.now(),
  )
  subscriptionId = sub.id
})

describe('webhook events from a lead post', () => {
  it('queues lead.captured and deal.qualified with the lead', async () => {
    const form = leadForm(ctx, { email: 'ivy@northwind.example.com' })
    const res = await postLead(ctx, form, { js: true })
    expect(res.status).toBe(201)
    const events = await queued()
    expect(events.map((e) => e.type).sort()).toEqual(['deal.qualified', 'lead.captured'])
    const captured = events.find((e) => e.type === 'lead.captured')!.data as Record<string, unknown>
    expect(captured).toMatchObject({ email: 'ivy@northwind.example.com', newDeal: true })
    // The same post again (a double submit) is one lead: no second event.
    expect((await postLead(ctx, form, { js: true })).status).toBeLessThan(300)
    expect(await queued()).toHaveLength(2)
  })

  it('queues nothing for a post put in quarantine', async () => {
    const before = (await queued()).length
    const res = await postLead(
      ctx,
      leadForm(ctx, { email: 'bot@spam.example.com', fax: 'http://spam.example' }),
      {
        js: true,
      },
    )
    expect(res.status).toBeLessThan(300)
    const [row] = await ctx.deps.db
      .select({ status: submissions.status })
      .from(submissions)
      .where(eq(submissions.email, 'bot@spam.example.com'))
    expect(row?.status).toBe('quarantined')
    expect(await queued()).toHaveLength(before)
  })
})

describe('webhook events from other changes', () => {
  it('an unsubscribe queues contact.unsubscribed once', async () => {
    const admin = await addUser(ctx, 'admin')
    const sub = await createSubscription(
      ctx.deps.db,
      {
        url: 'https://crm.example.com/unsub',
        events: ['contact.unsubscribed'],
        createdBy: admin.id,
      },
      ctx.deps.now(),
    )
    const token = await issueUnsubscribeToken(ctx.deps.db, 'leaving@northwind.example.com')
    await unsubscribe(ctx.deps.db, token, { via: 'one-click' }, ctx.deps.now())
    await unsubscribe(ctx.deps.db, token, { via: 'page' }, ctx.deps.now())
    const rows = await ctx.deps.db
      .select({ data: webhookEvents.data })
      .from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(eq(webhookDeliveries.subscriptionId, sub.id))
    expect(rows.map((r) => r.data)).toEqual([
      {
        email: 'leaving@northwind.example.com',
        contactId: null,
        campaignId: null,
        via: 'one-click',
      },
    ])
  })

  it('a finished grader report queues grader.report_completed', async () => {
    const admin = await addUser(ctx, 'admin')
    const sub = await createSubscription(
      ctx.deps.db,
      {
        url: 'https://crm.example.com/grader',
        events: ['grader.report_completed'],
        createdBy: admin.id,
      },
      ctx.deps.now(),
    )
    const id = newId()
    await ctx.deps.db.insert(graderReports).values({
      id,
      normalizedUrl: 'https://northwind.example.com/',
      host: 'northwind.example.com',
      status: 'running',
    })
    const result = {
      finalUrl: 'https://www.northwind.example.com/',
      total: 71,
      band: 'good',
      platform: null,
      rubricVersion: 'test',
    } as unknown as GradeResult
    await completeReport(ctx.deps.db, id, result, {} as Teaser, ctx.deps.now())
    const rows = await ctx.deps.db
      .select({ data: webhookEvents.data })
      .from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(eq(webhookDeliveries.subscriptionId, sub.id))
    expect(rows.map((r) => r.data)).toEqual([
      {
        reportId: id,
        url: 'https://northwind.example.com/',
        finalUrl: 'https://www.northwind.example.com/',
        total: 71,
        band: 'good',
      },
    ])
  })
})
