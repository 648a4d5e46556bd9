import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_SCOPES } from '../../../api/accounts/api-scopes.ts'
import type { User } from '../../../api/accounts/users.ts'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { eq } from 'drizzle-orm'
import { campaignRecipients, contacts } from '../../../api/db/schema.ts'
import type { OpenApiDocument } from '../../../api/http/openapi.ts'
import { createApiToken } from '../../../api/integrations/api-tokens.ts'
import { SYNC_SETTLE_MS } from '../../../api/integrations/sync.ts'
import { OPERATIONS } from '../../../api/routes/openapi.ts'
import { addUser, setupTestApp, type TestContext } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from '../campaigns/fixtures.ts'
import { demoFilesDir, leadForm, postLead } from '../leads/lead-helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'
import { insertLinks } from '../tracking/fixtures.ts'
import { startReceiver, type Receiver } from './receiver.ts'

// Every answer the OpenAPI document describes field by field (an operation's `okSchema`), called
// for real as an integration calls it, with an API token, and its JSON read through that very
// schema. The schemas are strict objects, so a field the route sends and the document does not
// describe fails here, as does one described and not sent, or sent with another type.

let ctx: TestContext
let receiver: Receiver
let token: string
let admin: User
let doc: OpenApiDocument

/** "post /api/deals/{id}/stage" → what the document says it answers with. */
const documented = new Map(
  OPERATIONS.filter((op) => op.okSchema).map((op) => [`${op.method} ${op.path}`, op]),
)

/** Calls `path` (for the operation `key`) with the token, and reads its answer as documented. */
async function answered(key: string, path: string, body?: unknown): Promise<unknown> {
  const op = documented.get(key)
  if (!op?.okSchema) throw new Error(`${key} documents no answer schema`)
  const res = await ctx.app.request(path, {
    method: op.method.toUpperCase(),
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  expect(res.status, `${key}: ${text}`).toBe(op.ok[0])
  const json: unknown = JSON.parse(text)
  const parsed = op.okSchema.safeParse(json)
  expect(parsed.error?.issues, key).toBeUndefined()
  // The document carries that schema, as JSON Schema, under the success status.
  const response = (doc.paths[op.path] as Record<string, { responses: Record<string, unknown> }>)[
    op.method
  ]!.responses[String(op.ok[0])] as { content?: Record<string, unknown> }
  expect(Object.keys(response.content ?? {}), key).toEqual(['application/json'])
  called.add(key)
  return json
}

const called = new Set<string>()

beforeAll(async () => {
  receiver = await startReceiver()
  ctx = await setupTestApp({
    ...CAMPAIGN_ENV,
    CONTENT_FILES_DIR: await demoFilesDir(),
    WEBHOOK_ALLOW_ADDRESSES: `127.0.0.1:${receiver.port}`,
  })
  admin = await addUser(ctx, 'admin')
  token = (
    await createApiToken(
      ctx.deps.db,
      admin.id,
      { name: 'integration', scopes: [...API_SCOPES], expiresAt: null },
      ctx.deps.now(),
    )
  ).token
  doc = await (await ctx.app.request('/api/openapi.json')).json()
})

afterAll(() => receiver.close())

describe('the answers the OpenAPI document describes field by field', () => {
  it('are what a deal’s operations send', async () => {
    const rep = await addUser(ctx, 'rep')
    const deal = await makeDeal(ctx.deps.db, {
      stage: 'target',
      ownerId: null,
      evidence: {
        kind: 'form',
        form: 'whitepaper',
        offer: 'whitepaper:benchmark',
        assetTitle: 'The benchmark',
        pageUrl: 'https://frontdoor.example/whitepapers/benchmark',
      },
    })
    const at = `/api/deals/${deal.id}`
    await answered('post /api/deals/{id}/claim', `${at}/claim`)
    await answered('post /api/deals/{id}/stage', `${at}/stage`, { stage: 'demo' })
    await answered('post /api/deals/{id}', at, { amountCents: 120_000 })
    await answered('patch /api/deals/{id}', at, {
      title: 'Benchmark rollout',
      expectedCloseDate: '2026-12-31',
    })
    await answered('post /api/deals/{id}/notes', `${at}/notes`, { body: 'Called; keen.' })
    await answered('post /api/deals/{id}/stakeholders', `${at}/stakeholders`, {
      email: 'cfo@co.example',
      name: 'Casey Finance',
      role: 'economic_buyer',
      stance: 'supportive',
    })
    await answered('post /api/deals/{id}/owner', `${at}/owner`, { ownerId: rep.id })
    await answered('get /api/pipeline-settings', '/api/pipeline-settings')

    const shown = (await answered('get /api/deals/{id}', at)) as {
      owner: { id: string } | null
      company: unknown
      stakeholders: unknown[]
      timeline: Array<{ kind: string; evidence?: unknown }>
    }
    // The optional and nullable parts were there to be read, not only their absence.
    expect(shown.owner?.id).toBe(rep.id)
    expect(shown.company).not.toBeNull()
    expect(shown.stakeholders).toHaveLength(1)
    expect(shown.timeline.find((e) => e.kind === 'evidence')?.evidence).toBeDefined()
  })

  it('are what a deal’s next steps send', async () => {
    const deal = await makeDeal(ctx.deps.db, { stage: 'demo', ownerId: admin.id })
    const plan = { dealId: deal.id, type: 'call', dueOn: '2026-12-01', dueTime: '09:30' }
    const { activity } = (await answered('post /api/activities', '/api/activities', plan)) as {
      activity: { id: string }
    }
    const at = `/api/activities/${activity.id}`
    await answered('get /api/activities/{id}', at)
    await answered('post /api/activities/{id}/reschedule', `${at}/reschedule`, {
      dueOn: '2026-12-02',
    })
    await answered('post /api/activities/{id}/done', `${at}/done`, { outcome: 'Left voicemail' })
    const other = (await answered('post /api/activities', '/api/activities', plan)) as {
      activity: { id: string }
    }
    await answered(
      'post /api/activities/{id}/cancel',
      `/api/activities/${other.activity.id}/cancel`,
      {},
    )
    await answered('post /api/activities/log', '/api/activities/log', {
      dealId: deal.id,
      type: 'meeting',
      note: 'Walked through the benchmark.',
      outcome: 'Wants a proposal',
    })
    const listed = (await answered('get /api/activities', `/api/activities?dealId=${deal.id}`)) as {
      done: unknown[]
    }
    expect(listed.done.length).toBeGreaterThan(0)
  })

  it('are what contacts and companies send', async () => {
    const { contact } = (await answered('post /api/contacts', '/api/contacts', {
      email: 'Dana@Widgets.example',
      firstName: 'Dana',
      companyName: 'Widgets',
    })) as { contact: { id: string; companyId: string | null } }
    const at = `/api/contacts/${contact.id}`
    await answered('post /api/contacts/{id}', at, { jobTitle: 'Head of Ops' })
    await answered('patch /api/contacts/{id}', at, { phone: '+44 20 7946 0000' })
    const list = (await answered('get /api/contacts', '/api/contacts')) as { rows: unknown[] }
    expect(list.rows.length).toBeGreaterThan(0)
    const company = `/api/companies/${contact.companyId}`
    await answered('post /api/companies/{id}', company, { domain: 'widgets.example' })
    await answered('patch /api/companies/{id}', company, { name: 'Widgets Ltd' })
    await answered('post /api/deals', '/api/deals', { stage: 'demo', contactId: contact.id })
    const widgets = (await answered('get /api/companies/{id}', company)) as {
      people: unknown[]
      deals: unknown[]
      history: Array<{ changes: unknown }>
    }
    expect(widgets.people).toHaveLength(1)
    expect(widgets.deals).toHaveLength(1)
    expect(widgets.history.some((h) => h.changes !== null)).toBe(true)
    await answered('get /api/contacts/{id}', at)

    // A person who came in through a form: submissions, consent, evidence, email, a download.
    const posted = await postLead(ctx, leadForm(ctx), { js: true })
    expect(posted.status, await posted.text()).toBe(201)
    const [lead] = await ctx.deps.db
      .select({ id: contacts.id })
      .from(contacts)
      .where(eq(contacts.email, 'dana.lee@acme-robotics.com'))
    const person = (await answered('get /api/contacts/{id}', `/api/contacts/${lead!.id}`)) as {
      submissions: Array<{ fields: Record<string, unknown>; utm: unknown; firstTouch: unknown }>
      consents: Array<{ source: unknown }>
      deals: Array<{ events: Array<{ type: string; data: { kind?: string } | null }> }>
      emails: unknown[]
      downloads: unknown[]
    }
    expect(person.submissions[0]?.fields.consent).toBe(true)
    expect(person.submissions[0]?.utm).not.toBeNull()
    expect(person.consents[0]?.source).not.toBeNull()
    expect(person.deals[0]?.events.find((e) => e.type === 'evidence')?.data?.kind).toBe('form')
    expect(person.emails.length).toBeGreaterThan(0)
    expect(person.downloads.length).toBeGreaterThan(0)
  })

  it('are what a campaign’s reads send', async () => {
    const sdr = await addUser(ctx, 'sdr')
    const campaign = await makeCampaign(ctx, sdr)
    const stored = await storeImport(
      ctx.deps.db,
      sdr,
      {
        campaignId: campaign.id,
        filename: 'people.csv',
        bytes: new TextEncoder().encode(
          csv([
            ['email', 'first name', 'company'],
            ['ann@prospect.example', 'Ann', 'Prospect'],
            ['not an address', 'Bo', 'Nowhere'],
          ]),
        ),
      },
      ctx.clock.now(),
    )
    if (!stored.ok) throw new Error(stored.message)
    const job = await claimImport(ctx.deps.db, {
      now: ctx.clock.now(),
      leaseMs: 60_000,
      worker: 'test',
    })
    expect(
      await runImport(ctx.deps.db, job!, { now: ctx.clock.now, leaseMs: 60_000, worker: 'test' }),
    ).toBe('done')
    const [recipient] = await ctx.deps.db.select().from(campaignRecipients)
    await insertLinks(ctx.deps.db, recipient!.id, campaign.id, ['https://www.example.com/pricing'])

    const list = (await answered('get /api/campaigns', '/api/campaigns')) as {
      campaigns: unknown[]
    }
    expect(list.campaigns).toHaveLength(1)
    const one = (await answered('get /api/campaigns/{id}', `/api/campaigns/${campaign.id}`)) as {
      imports: Array<{ columns: unknown }>
    }
    expect(one.imports[0]?.columns).not.toBeNull()
    const recipients = (await answered(
      'get /api/campaigns/{id}/recipients',
      `/api/campaigns/${campaign.id}/recipients`,
    )) as { rows: unknown[] }
    expect(recipients.rows).toHaveLength(1)
    const imported = (await answered(
      'get /api/campaigns/{id}/imports/{importId}',
      `/api/campaigns/${campaign.id}/imports/${stored.importId}`,
    )) as { errors: unknown[] }
    expect(imported.errors).toHaveLength(1)
    const preview = (await answered(
      'get /api/campaigns/{id}/preview',
      `/api/campaigns/${campaign.id}/preview`,
    )) as {
      messages: Array<{ subject: string; links: unknown[] }>
      mergeFields: { fields: unknown[] }
    }
    expect(preview.messages).toHaveLength(1)
    expect(preview.messages[0]?.subject).not.toBe('')
    expect(preview.messages[0]?.links).toHaveLength(1)
    expect(preview.mergeFields.fields.length).toBeGreaterThan(0)
    const results = (await answered(
      'get /api/campaigns/{id}/results',
      `/api/campaigns/${campaign.id}/results`,
    )) as { links: unknown[] }
    expect(results.links).toHaveLength(1)
  })

  it('are what managing a webhook subscription sends', async () => {
    const base = '/api/admin/webhooks'
    const { subscription } = (await answered('post /api/admin/webhooks', base, {
      url: receiver.url(),
      events: ['deal.won', 'lead.captured'],
    })) as { subscription: { id: string } }
    const at = `${base}/${subscription.id}`
    const { eventId } = (await answered('post /api/admin/webhooks/{id}/test', `${at}/test`)) as {
      eventId: string
    }
    await answered(
      'post /api/admin/webhooks/{id}/deliveries/{eventId}/resend',
      `${at}/deliveries/${eventId}/resend`,
    )
    await answered('patch /api/admin/webhooks/{id}', at, { events: ['deal.won'] })
    await answered('post /api/admin/webhooks/{id}', at, { url: receiver.url('/other') })
    await answered('post /api/admin/webhooks/{id}/rotate-secret', `${at}/rotate-secret`)
    await answered('post /api/admin/webhooks/{id}/disable', `${at}/disable`)
    await answered('post /api/admin/webhooks/{id}/enable', `${at}/enable`)

    const list = (await answered('get /api/admin/webhooks', base)) as {
      subscriptions: Array<{ lastAttempt: unknown; previousSecretExpiresAt: unknown }>
    }
    expect(list.subscriptions[0]?.lastAttempt).not.toBeNull()
    expect(list.subscriptions[0]?.previousSecretExpiresAt).not.toBeNull()
    const secrets = (await answered('get /api/admin/webhooks/{id}/secret', `${at}/secret`)) as {
      previousSecret: unknown
    }
    expect(secrets.previousSecret).not.toBeNull()
    await answered('post /api/admin/webhooks/{id}/secret', `${at}/secret`)
    const one = (await answered('get /api/admin/webhooks/{id}', at)) as { attempts: unknown[] }
    expect(one.attempts.length).toBeGreaterThan(0)
    const log = (await answered('get /api/admin/webhooks/{id}/deliveries', `${at}/deliveries`)) as {
      data: unknown[]
    }
    expect(log.data.length).toBeGreaterThan(0)
    const event = (await answered(
      'get /api/admin/webhooks/{id}/events/{eventId}',
      `${at}/events/${eventId}`,
    )) as { body: string | null; attempts: unknown[] }
    expect(event.body).not.toBeNull()
    expect(event.attempts.length).toBeGreaterThan(0)

    await answered('post /api/admin/webhooks/{id}/delete', `${at}/delete`)
    const again = (await answered('post /api/admin/webhooks', base, {
      url: receiver.url(),
      events: ['deal.won'],
    })) as { subscription: { id: string } }
    await answered('delete /api/admin/webhooks/{id}', `${base}/${again.subscription.id}`)
  })

  it('are what adding deals and taking them over in bulk send', async () => {
    await answered('post /api/deals', '/api/deals', {
      stage: 'target',
      title: 'Acme rollout',
      email: 'buyer@acme.example',
      companyName: 'Acme',
    })
    const queued = [
      await makeDeal(ctx.deps.db, { stage: 'target', ownerId: null }),
      await makeDeal(ctx.deps.db, { stage: 'target', ownerId: null }),
    ]
    await answered('post /api/deals/claim', '/api/deals/claim', { ids: queued.map((d) => d.id) })
    const rep = await addUser(ctx, 'rep')
    const moved = (await answered('post /api/deals/reassign', '/api/deals/reassign', {
      fromOwnerId: admin.id,
      toOwnerId: rep.id,
    })) as { moved: number }
    expect(moved.moved).toBeGreaterThanOrEqual(3)
  })

  it('are what the pipeline’s lists send', async () => {
    await makeDeal(ctx.deps.db, {
      stage: 'target',
      ownerId: null,
      evidence: { kind: 'form', form: 'trial', pageUrl: 'https://frontdoor.example/trial' },
    })
    await makeDeal(ctx.deps.db, {
      stage: 'demo',
      ownerId: admin.id,
      amountCents: 50_000,
      expectedCloseDate: '2026-12-20',
    })
    const queue = (await answered('get /api/deals/queue', '/api/deals/queue')) as {
      leads: Array<{ evidence: Array<{ data: { kind: string } }> }>
    }
    expect(queue.leads.flatMap((l) => l.evidence.map((e) => e.data.kind))).toContain('form')
    const board = (await answered('get /api/deals/board', '/api/deals/board')) as {
      columns: Array<{ money: unknown[] }>
    }
    expect(board.columns.some((c) => c.money.length > 0)).toBe(true)
    const list = (await answered('get /api/deals/list', '/api/deals/list')) as { cards: unknown[] }
    expect(list.cards.length).toBeGreaterThan(0)
    const column = (await answered('get /api/deals', '/api/deals?stage=demo')) as {
      cards: unknown[]
    }
    expect(column.cards.length).toBeGreaterThan(0)
    const { forecast } = (await answered('get /api/deals/forecast', '/api/deals/forecast')) as {
      forecast: { months: Array<{ money: unknown[] }> }
    }
    expect(forecast.months.some((m) => m.money.length > 0)).toBe(true)
  })

  it('are what My day and the search send', async () => {
    const deal = await makeDeal(ctx.deps.db, {
      stage: 'demo',
      ownerId: admin.id,
      companyName: 'Zephyr Analytics',
      stageEnteredAt: new Date('2026-06-01T09:00:00Z'),
    })
    // Planned for today, tomorrow and later; a day on, the first is overdue.
    const day0 = ctx.clock.now()
    for (const days of [0, 1, 4])
      await answered('post /api/activities', '/api/activities', {
        dealId: deal.id,
        type: 'call',
        dueOn: new Date(day0.getTime() + days * 86_400_000).toISOString().slice(0, 10),
      })
    ctx.clock.advance(86_400_000)
    const day = (await answered('get /api/activities/my-day', '/api/activities/my-day')) as {
      overdue: unknown[]
      today: unknown[]
      upcoming: unknown[]
      withoutNextStep: { deals: unknown[] }
      stale: { deals: unknown[] }
    }
    expect(day.overdue.length).toBeGreaterThan(0)
    expect(day.today.length).toBeGreaterThan(0)
    expect(day.upcoming.length).toBeGreaterThan(0)
    expect(day.withoutNextStep.deals.length).toBeGreaterThan(0)
    expect(day.stale.deals.length).toBeGreaterThan(0)

    await answered('post /api/contacts', '/api/contacts', {
      email: 'ops@zephyr.example',
      firstName: 'Zoe',
      companyName: 'Zephyr Analytics',
    })
    const found = (await answered('get /api/search', '/api/search?q=zephyr')) as Record<
      'deals' | 'contacts' | 'companies',
      { hits: unknown[] }
    >
    for (const group of ['deals', 'contacts', 'companies'] as const)
      expect(found[group].hits.length, group).toBeGreaterThan(0)
  })

  it('are what the sync lists send', async () => {
    // A change is listed once it is settled.
    ctx.clock.advance(SYNC_SETTLE_MS + 1_000)
    for (const list of ['deals', 'contacts', 'leads'])
      await answered(`get /api/sync/${list}`, `/api/sync/${list}`)
  })

  it('has been read here for every operation that documents one', () => {
    expect([...documented.keys()].filter((key) => !called.has(key))).toEqual([])
  })
})
