import type { Db } from '../../../api/db/client.ts'
import { companies, contacts, dealEvents, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import type { StageKey } from '../../../api/pipeline/stages.ts'

// Deals written straight into the database, the way qualification and earlier moves leave them.

let n = 0

export interface DealSeed {
  stage?: StageKey
  ownerId?: string | null
  amountCents?: number | null
  currency?: string
  expectedCloseDate?: string | null
  source?: 'inbound' | 'outbound' | 'grader' | 'manual'
  stageEnteredAt?: Date
  createdAt?: Date
  contractSignedOn?: string | null
  paymentReceivedOn?: string | null
  companyName?: string
  evidence?: Record<string, unknown>
}

export async function makeDeal(db: Db, seed: DealSeed = {}) {
  n++
  const created = seed.createdAt ?? seed.stageEnteredAt ?? new Date('2026-11-01T09:00:00Z')
  const companyId = newId()
  const contactId = newId()
  const dealId = newId()
  const tag = `${n}-${Math.random().toString(36).slice(2, 7)}`
  await db.insert(companies).values({
    id: companyId,
    domain: `co-${tag}.example`,
    name: seed.companyName ?? `Company ${n}`,
  })
  await db.insert(contacts).values({
    id: contactId,
    email: `p-${tag}@co-${tag}.example`,
    emailDisplay: `p-${tag}@co-${tag}.example`,
    firstName: 'Pat',
    lastName: `Person ${n}`,
    companyId,
    source: seed.source ?? 'inbound',
    createdAt: created,
  })
  const stage = seed.stage ?? 'target'
  const [deal] = await db
    .insert(deals)
    .values({
      id: dealId,
      contactId,
      companyId,
      title: seed.companyName ?? `Company ${n}`,
      stage,
      stageEnteredAt: seed.stageEnteredAt ?? created,
      source: seed.source ?? 'inbound',
      ownerId: seed.ownerId ?? null,
      amountCents: seed.amountCents ?? null,
      currency: seed.currency ?? 'EUR',
      expectedCloseDate: seed.expectedCloseDate ?? null,
      contractSignedOn: seed.contractSignedOn ?? null,
      paymentReceivedOn: seed.paymentReceivedOn ?? null,
      claimedAt: seed.ownerId ? created : null,
      createdAt: created,
      updatedAt: created,
    })
    .returning()
  await db.insert(dealEvents).values({
    id: newId(),
    dealId,
    type: 'created',
    toStage: stage,
    data: { source: seed.source ?? 'inbound' },
    createdAt: created,
  })
  if (seed.evidence)
    await db
      .insert(dealEvents)
      .values({ id: newId(), dealId, type: 'evidence', data: seed.evidence, createdAt: created })
  return deal!
}
