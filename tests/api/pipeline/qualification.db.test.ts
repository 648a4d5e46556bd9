import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, dealEvents, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { qualifyContact, type QualifyInput } from '../../../api/pipeline/qualification.ts'
import { addUser, setupTestApp } from '../../helpers.ts'

const ctx = await setupTestApp()
const { db } = ctx.deps

async function newContact(email: string) {
  const id = newId()
  await db.insert(contacts).values({ id, email, emailDisplay: email, source: 'outbound' })
  return id
}

function input(contactId: string, extra: Partial<QualifyInput> = {}): QualifyInput {
  return {
    contactId,
    companyId: null,
    source: 'inbound',
    title: 'Initech',
    evidence: { kind: 'form', offer: 'whitepaper:x' },
    now: ctx.clock.now(),
    ...extra,
  }
}

const eventsOf = (dealId: string) =>
  db
    .select()
    .from(dealEvents)
    .where(eq(dealEvents.dealId, dealId))
    .orderBy(dealEvents.createdAt, dealEvents.type)

describe('qualifyContact: one deal at 10% per contact, evidence for every signal', () => {
  it('makes an unclaimed deal at target with a created and an evidence entry', async () => {
    const contactId = await newContact('q1@initech.example')
    const result = await db.transaction((tx) => qualifyContact(tx, input(contactId)))
    expect(result).toMatchObject({ created: true, advanced: false })
    const [deal] = await db.select().from(deals).where(eq(deals.id, result.dealId))
    expect(deal).toMatchObject({
      contactId,
      stage: 'target',
      source: 'inbound',
      ownerId: null,
      title: 'Initech',
    })
    const events = await eventsOf(result.dealId)
    expect(events.map((e) => [e.type, e.toStage])).toEqual([
      ['created', 'target'],
      ['evidence', null],
    ])
    expect(events[1]!.data).toEqual({ source: 'inbound', kind: 'form', offer: 'whitepaper:x' })
  })

  it('adds evidence to the open deal on a second call, from any front door', async () => {
    const contactId = await newContact('q2@initech.example')
    const first = await db.transaction((tx) => qualifyContact(tx, input(contactId)))
    ctx.clock.advance(1000)
    const second = await db.transaction((tx) =>
      qualifyContact(
        tx,
        input(contactId, {
          source: 'grader',
          evidence: { kind: 'grader_unlock', reportId: 'r1' },
          now: ctx.clock.now(),
        }),
      ),
    )
    expect(second).toEqual({ dealId: first.dealId, created: false, advanced: false })
    expect((await eventsOf(first.dealId)).map((e) => e.type)).toEqual([
      'created',
      'evidence',
      'evidence',
    ])
    expect(await db.select().from(deals).where(eq(deals.contactId, contactId))).toHaveLength(1)
  })

  it('moves an outbound prospect at opportunity (0%) up to target, keeping its SDR', async () => {
    const sdr = await addUser(ctx, 'sdr')
    const contactId = await newContact('q3@initech.example')
    const dealId = newId()
    await db.insert(deals).values({
      id: dealId,
      contactId,
      title: 'Initech',
      stage: 'opportunity',
      source: 'outbound',
      sdrId: sdr.id,
    })
    ctx.clock.advance(1000)
    const result = await db.transaction((tx) =>
      qualifyContact(
        tx,
        input(contactId, {
          source: 'outbound',
          evidence: { kind: 'click', verdict: 'human' },
          now: ctx.clock.now(),
        }),
      ),
    )
    expect(result).toEqual({ dealId, created: false, advanced: true })
    const [deal] = await db.select().from(deals).where(eq(deals.id, dealId))
    expect(deal).toMatchObject({ stage: 'target', sdrId: sdr.id, source: 'outbound' })
    expect(deal!.stageEnteredAt.getTime()).toBe(ctx.clock.now().getTime())
    expect((await eventsOf(dealId)).map((e) => [e.type, e.fromStage, e.toStage])).toEqual([
      ['evidence', null, null],
      ['stage_changed', 'opportunity', 'target'],
    ])
  })

  it('leaves a deal further down the funnel where it is and only adds evidence', async () => {
    const contactId = await newContact('q4@initech.example')
    const dealId = newId()
    await db
      .insert(deals)
      .values({ id: dealId, contactId, title: 'Initech', stage: 'negotiation', source: 'inbound' })
    const result = await db.transaction((tx) => qualifyContact(tx, input(contactId)))
    expect(result).toEqual({ dealId, created: false, advanced: false })
    expect((await db.select().from(deals).where(eq(deals.id, dealId)))[0]!.stage).toBe(
      'negotiation',
    )
  })

  it('opens a new deal when the earlier ones are won or lost', async () => {
    const contactId = await newContact('q5@initech.example')
    await db.insert(deals).values({
      id: newId(),
      contactId,
      title: 'Old',
      stage: 'lost',
      source: 'inbound',
      lostReason: 'budget',
    })
    await db
      .insert(deals)
      .values({ id: newId(), contactId, title: 'Older', stage: 'won', source: 'inbound' })
    const result = await db.transaction((tx) => qualifyContact(tx, input(contactId)))
    expect(result.created).toBe(true)
    expect(await db.select().from(deals).where(eq(deals.contactId, contactId))).toHaveLength(3)
  })

  it('records who caused it', async () => {
    const admin = await addUser(ctx, 'admin')
    const contactId = await newContact('q6@initech.example')
    const result = await db.transaction((tx) =>
      qualifyContact(tx, input(contactId, { actorId: admin.id })),
    )
    expect((await eventsOf(result.dealId)).every((e) => e.actorId === admin.id)).toBe(true)
  })

  it('makes exactly one deal when ten signals for one contact arrive at once', async () => {
    const contactId = await newContact('q7@initech.example')
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        db.transaction((tx) =>
          qualifyContact(tx, input(contactId, { evidence: { kind: 'form', n: i } })),
        ),
      ),
    )
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect(new Set(results.map((r) => r.dealId)).size).toBe(1)
    const events = await eventsOf(results[0]!.dealId)
    expect(events.filter((e) => e.type === 'evidence')).toHaveLength(10)
    expect(events.filter((e) => e.type === 'created')).toHaveLength(1)
  })
})
