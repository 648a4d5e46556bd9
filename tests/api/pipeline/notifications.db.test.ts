import { describe, expect, it } from 'vitest'
import { outbox } from '../../../api/db/schema.ts'
import { claimDeal } from '../../../api/pipeline/deals.ts'
import { notifyNewLeads, startLeadNotifier } from '../../../api/pipeline/notifications.ts'
import { savePipelineSettings } from '../../../api/pipeline/settings.ts'
import { setUserDisabled } from '../../../api/accounts/users.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { makeDeal } from './fixtures.ts'
import { eventually } from '../../eventually.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db
const run = () => notifyNewLeads(db, ctx.deps.env, ctx.clock.now())
const mails = async () =>
  (await db.select().from(outbox)).filter(
    (m) => (m.payload as { template: string }).template === 'new-qualified-leads',
  )
const minutes = (n: number) => ctx.clock.advance(n * 60_000)

describe('emailing reps about new qualified leads', () => {
  it('mails each active rep once per batch, at most every N minutes, listing the evidence', async () => {
    const [ana, ben] = [
      await addUser(ctx, 'rep', 'ana@team.example'),
      await addUser(ctx, 'rep', 'ben@team.example'),
    ]
    await addUser(ctx, 'sdr')
    await addUser(ctx, 'admin')
    const gone = await addUser(ctx, 'rep')
    await setUserDisabled(db, gone.id, true, ctx.clock.now())
    await savePipelineSettings(db, { notifyEveryMinutes: 30 }, null, ctx.clock.now())

    expect(await run()).toEqual({ status: 'nothing_new' })
    minutes(1)
    await makeDeal(db, {
      stage: 'target',
      stageEnteredAt: ctx.clock.now(),
      companyName: 'Northwind',
      evidence: { kind: 'form', form: 'whitepaper', title: 'The Benchmark' },
    })
    minutes(1)
    await makeDeal(db, {
      stage: 'target',
      stageEnteredAt: ctx.clock.now(),
      source: 'grader',
      evidence: { kind: 'grader_unlock', score: 61, band: 'D', host: 'acme.example' },
    })
    minutes(1)
    expect(await run()).toEqual({ status: 'sent', leads: 2, emails: 2 })
    const first = await mails()
    expect(first.map((m) => m.recipient).sort()).toEqual([ana.email, ben.email])
    const payload = first[0]!.payload as { subject: string; text: string; to: { address: string } }
    expect(payload.subject).toBe('2 new qualified leads waiting')
    expect(payload.text).toContain('Requested “The Benchmark”')
    expect(payload.text).toContain('Graded acme.example: 61/100 (D)')
    expect(payload.text).toContain(`${ctx.deps.env.APP_ORIGIN}/app/leads`)

    // A lead 5 minutes later waits for the interval; one claimed meanwhile is never mailed.
    minutes(5)
    const waiting = await makeDeal(db, {
      stage: 'target',
      stageEnteredAt: ctx.clock.now(),
      companyName: 'Contoso',
    })
    const taken = await makeDeal(db, {
      stage: 'target',
      stageEnteredAt: ctx.clock.now(),
      companyName: 'Taken Ltd',
    })
    expect(await claimDeal(db, taken.id, ana.id, ctx.clock.now())).toMatchObject({ ok: true })
    minutes(1)
    expect(await run()).toMatchObject({ status: 'too_soon' })
    expect(await mails()).toHaveLength(2)
    minutes(30)
    expect(await run()).toEqual({ status: 'sent', leads: 1, emails: 2 })
    const latest = (await mails()).slice(2)
    expect((latest[0]!.payload as { subject: string }).subject).toMatch(
      /^New qualified lead: Pat Person \d+ \(Contoso\)$/,
    )
    expect((latest[0]!.payload as { text: string }).text).not.toContain('Taken Ltd')
    expect(waiting.title).toBe('Contoso')
    expect(await run()).toMatchObject({ status: 'too_soon' })
    minutes(31)
    expect(await run()).toEqual({ status: 'nothing_new' })
  })

  it('sends a batch once even when several processes run the job at the same moment', async () => {
    minutes(60)
    await makeDeal(db, { stage: 'target', stageEnteredAt: ctx.clock.now() })
    minutes(1)
    const before = (await mails()).length
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => run()))
    expect(outcomes.filter((o) => o.status === 'sent')).toHaveLength(1)
    expect((await mails()).length - before).toBe(2)
  })
})

describe('the periodic job the server starts', () => {
  it('queues the email on its own, and stops cleanly', async () => {
    const fresh = await setupTestApp()
    await addUser(fresh, 'rep', 'solo@team.example')
    await notifyNewLeads(fresh.deps.db, fresh.deps.env, fresh.clock.now()) // sets the cursor
    fresh.clock.advance(60_000)
    await makeDeal(fresh.deps.db, {
      stage: 'target',
      stageEnteredAt: fresh.clock.now(),
      companyName: 'Tick Tock',
    })
    fresh.clock.advance(60_000)
    const job = startLeadNotifier(fresh.deps, 20)
    const rows = await eventually(async () => {
      const found = await fresh.deps.db.select().from(outbox)
      return found.length > 0 ? found : null
    })
    await job.stop()
    expect(rows.map((r) => r.recipient)).toEqual(['solo@team.example'])
    expect((rows[0]!.payload as { subject: string }).subject).toContain('Tick Tock')
  })
})

describe('a batch cut at its limit among leads that qualified at the same instant', () => {
  it('mails the rest in the next batch, not never', async () => {
    // An import or a tick of clicks qualifies many leads with one `now`: the batch (200 leads)
    // may end in the middle of them. The cursor is (instant, id), so the rest still follow.
    const fresh = await setupTestApp()
    const fdb = fresh.deps.db
    await addUser(fresh, 'rep', 'many@team.example')
    await notifyNewLeads(fdb, fresh.deps.env, fresh.clock.now()) // sets the cursor
    fresh.clock.advance(60_000)
    const at = fresh.clock.now()
    for (let i = 0; i < 201; i++) await makeDeal(fdb, { stage: 'target', stageEnteredAt: at })
    fresh.clock.advance(60_000)
    expect(await notifyNewLeads(fdb, fresh.deps.env, fresh.clock.now())).toEqual({
      status: 'sent',
      leads: 200,
      emails: 1,
    })
    fresh.clock.advance(24 * 60 * 60_000)
    expect(await notifyNewLeads(fdb, fresh.deps.env, fresh.clock.now())).toEqual({
      status: 'sent',
      leads: 1,
      emails: 1,
    })
    expect((await fdb.select().from(outbox)).map((m) => m.recipient)).toEqual([
      'many@team.example',
      'many@team.example',
    ])
  })
})
