import { and, eq, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { deals } from '../db/schema.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import { newId } from '../ids.ts'
import { changeDeal, recordDealEvent, type DealEventInput } from './deal-changes.ts'

// Qualification: the one way a contact becomes a target (a deal at 10%), used by every front
// door: lead forms, grader unlocks and human clicks on outreach. Idempotent per contact: a
// contact with an open deal gets a new evidence entry on it, never a second deal. The database
// enforces "one open deal per contact" (partial unique index), which settles concurrent calls.

export type QualificationSource = 'inbound' | 'grader' | 'outbound'

/** Why this contact is a target: shown to reps in the deal's evidence ledger. */
export interface Evidence {
  /** What happened, e.g. 'form', 'grader_unlock', 'click'. */
  kind: string
  [detail: string]: unknown
}

export interface QualifyInput {
  contactId: string
  companyId: string | null
  source: QualificationSource
  evidence: Evidence
  /** A title for a new deal, e.g. the company name. */
  title: string
  /** The user who caused it, when a person did (an admin releasing a quarantined lead). */
  actorId?: string | null
  /** The SDR whose campaign produced it (outbound). */
  sdrId?: string | null
  now: Date
}

export interface Qualification {
  dealId: string
  /** A new deal at `target`. */
  created: boolean
  /** An open deal still at `opportunity` (an outbound prospect) moved up to `target`. */
  advanced: boolean
}

const CLOSED = ['won', 'lost'] as const

/** Call inside the transaction that records the evidence's cause, so both commit or neither. */
export async function qualifyContact(tx: Db, input: QualifyInput): Promise<Qualification> {
  const { now } = input
  const actorId = input.actorId ?? null
  // Two attempts: the second covers an open deal that was closed between our insert and select.
  for (let attempt = 0; attempt < 2; attempt++) {
    const dealId = newId(now.getTime())
    const inserted = await tx
      .insert(deals)
      .values({
        id: dealId,
        contactId: input.contactId,
        companyId: input.companyId,
        title: input.title.slice(0, 200),
        stage: 'target',
        stageEnteredAt: now,
        source: input.source,
        sdrId: input.sdrId ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: deals.contactId, where: sql`stage not in ('won', 'lost')` })
      .returning({ id: deals.id })
    const evidenceData: Evidence = { source: input.source, ...input.evidence }
    const evidence: DealEventInput = { type: 'evidence', actorId, data: evidenceData }
    if (inserted.length === 1) {
      const created: DealEventInput = {
        type: 'created',
        toStage: 'target',
        actorId,
        data: { source: input.source },
      }
      for (const event of [created, evidence]) await recordDealEvent(tx, dealId, now, event)
      await recordWebhookEvent(
        tx,
        'deal.qualified',
        { dealId, contactId: input.contactId, source: input.source, evidence: evidenceData },
        now,
      )
      return { dealId, created: true, advanced: false }
    }
    // An open deal exists (or a concurrent transaction just committed one): lock it and add to it.
    const [open] = await tx
      .select({ id: deals.id, stage: deals.stage })
      .from(deals)
      .where(and(eq(deals.contactId, input.contactId), notInArray(deals.stage, [...CLOSED])))
      .for('update')
    if (!open) continue
    // New evidence is a change to the deal too; an outbound prospect also moves up to target.
    const advanced = open.stage === 'opportunity'
    await changeDeal(
      tx,
      open.id,
      now,
      advanced
        ? {
            set: {
              stage: 'target',
              stageEnteredAt: now,
              ...(input.companyId
                ? { companyId: sql`coalesce(${deals.companyId}, ${input.companyId})` }
                : {}),
              // The campaign's SDR is credited with the target (an imported prospect has one already).
              ...(input.sdrId ? { sdrId: sql`coalesce(${deals.sdrId}, ${input.sdrId})` } : {}),
            },
            events: [
              {
                type: 'stage_changed',
                fromStage: 'opportunity',
                toStage: 'target',
                actorId,
                data: { reason: 'qualified', source: input.source },
              },
              evidence,
            ],
          }
        : { events: evidence },
    )
    if (advanced)
      await recordWebhookEvent(
        tx,
        'deal.qualified',
        {
          dealId: open.id,
          contactId: input.contactId,
          source: input.source,
          evidence: evidenceData,
        },
        now,
      )
    return { dealId: open.id, created: false, advanced }
  }
  throw new Error(`qualifyContact: no open deal for contact ${input.contactId} after a conflict`)
}
