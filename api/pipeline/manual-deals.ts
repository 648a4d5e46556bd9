import { and, eq, notInArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { contacts, deals, users } from '../db/schema.ts'
import { newId } from '../ids.ts'
import { can } from '../accounts/permissions.ts'
import { zoneOf } from '../accounts/users.ts'
import { localDay } from '../accounts/time-zones.ts'
import { resolveCompany, type Company, type CompanyChoice } from './companies.ts'
import { findOrInsertContact, type Contact, type NewContact } from './contact-edits.ts'
import { dealSummary, recordDealEvent, wonDates } from './deal-changes.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import { stageMoveProblem, type Actor, type Deal, type DealFailure } from './deals.ts'
import { STAGES, stageOf, type StageKey } from './stages.ts'

// Deals a rep enters by hand (source `manual`): a referral, a call, a conference. At any stage
// from 10% (won with its stamped contract and payment, as ever), for a contact picked or entered
// (an address that is already a contact picks it), with its company picked, found or created.
// The deal is written with its `created` event (and the reason, as its evidence) in one
// transaction; the database's one-open-deal-per-contact rule settles a race. Like every new deal
// (a lead, a judged click) it goes out as deal.qualified, and one entered as won as deal.won too,
// in the same transaction.

/** Stages a deal may be created at: every one from `target` (10%) on, but lost. */
export const CREATABLE_STAGES: readonly StageKey[] = STAGES.filter(
  (s) => s.order >= stageOf('target').order && s.key !== 'lost',
).map((s) => s.key)

export interface NewDeal {
  stage: StageKey
  /** Default: the company's name, else the contact's. */
  title?: string | null | undefined
  amountCents?: number | null | undefined
  currency?: string | undefined
  expectedCloseDate?: string | null | undefined
  contractSignedOn?: string | null | undefined
  paymentReceivedOn?: string | null | undefined
  /** Whose deal: default the actor; another rep or none (the queue, at 10% only) for admins. */
  ownerId?: string | null | undefined
  /** Why it is a deal ("referral from Ann at Acme"), kept as its evidence. */
  reason?: string | null | undefined
  contact: { contactId: string } | NewContact
  /** Overrides the contact's company for this deal. */
  company?: CompanyChoice | undefined
}

export type CreateDealResult =
  | {
      ok: true
      deal: Deal
      contact: Contact
      /** The address was already a contact: the deal is on that contact, left as it was. */
      existingContact: boolean
      company: Company | null
    }
  | DealFailure
  | (DealFailure & { openDealId: string })

const failure = (status: DealFailure['status'], code: string, message: string): DealFailure => ({
  ok: false,
  status,
  code,
  message,
})

export async function createDeal(
  db: Db,
  actor: Actor,
  input: NewDeal,
  now: Date,
): Promise<CreateDealResult> {
  if (!can(actor, 'deals:edit_own'))
    return failure(403, 'forbidden', 'Your role can read the pipeline but not add deals.')
  if (!CREATABLE_STAGES.includes(input.stage))
    return failure(422, 'invalid_stage', 'A deal entered by hand starts at 10% or later.')
  const timeZone = await zoneOf(db, actor.id)
  const gate = stageMoveProblem(
    { stage: 'opportunity', contractSignedOn: null, paymentReceivedOn: null },
    { ...input, lostReason: null },
    now,
    timeZone,
  )
  if (gate) return gate
  const ownerId = input.ownerId === undefined ? actor.id : input.ownerId
  if (ownerId !== actor.id && !can(actor, 'deals:edit_any'))
    return failure(403, 'forbidden', 'Reps add deals to their own pipeline.')
  if (ownerId === null && input.stage !== 'target')
    return failure(422, 'owner_needed', 'Only a 10% lead can go to the queue without an owner.')
  if (ownerId && ownerId !== actor.id) {
    const [owner] = await db
      .select({ role: users.role, disabledAt: users.disabledAt })
      .from(users)
      .where(eq(users.id, ownerId))
    if (!owner || owner.disabledAt || owner.role === 'sdr')
      return failure(422, 'invalid_owner', 'Choose an active rep or admin as the owner.')
  }
  try {
    return await db.transaction(async (tx) => {
      let contact: Contact
      let existingContact = true
      if ('contactId' in input.contact) {
        const [found] = await tx
          .select()
          .from(contacts)
          .where(eq(contacts.id, input.contact.contactId))
        if (!found) throw new Refused(failure(422, 'unknown_contact', 'Unknown contact.'))
        contact = found
      } else {
        const entered = await findOrInsertContact(
          tx,
          { ...input.company, ...input.contact },
          actor.id,
          now,
        )
        if (!entered.ok) throw new Refused(entered)
        contact = entered.contact
        existingContact = entered.existing
      }
      // The deal's company: the one chosen for it, else the contact's.
      const chosen =
        input.company && (input.company.companyId || input.company.companyName) && existingContact
          ? await resolveCompany(tx, input.company, actor.id, now)
          : await resolveCompany(tx, { companyId: contact.companyId }, actor.id, now)
      if (!chosen.ok) throw new Refused(chosen)
      const company = chosen.company
      const name = [contact.firstName, contact.lastName].filter(Boolean).join(' ')
      const title = (input.title?.trim() || company?.name || name || contact.emailDisplay).slice(
        0,
        200,
      )
      const won = input.stage === 'won'
      const dealId = newId(now.getTime())
      const [deal] = await tx
        .insert(deals)
        .values({
          id: dealId,
          contactId: contact.id,
          companyId: company?.id ?? null,
          title,
          stage: input.stage,
          stageEnteredAt: now,
          source: 'manual',
          ownerId,
          claimedAt: ownerId ? now : null,
          amountCents: input.amountCents ?? null,
          ...(input.currency ? { currency: input.currency } : {}),
          // Closed today on the clock of the person recording it, as its dates are checked.
          expectedCloseDate: won ? localDay(now, timeZone) : (input.expectedCloseDate ?? null),
          contractSignedOn: input.contractSignedOn || null,
          paymentReceivedOn: input.paymentReceivedOn || null,
          closedAt: stageOf(input.stage).closed ? now : null,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing({ target: deals.contactId, where: sql`stage not in ('won', 'lost')` })
        .returning()
      if (!deal) {
        const [open] = await tx
          .select({ id: deals.id, stage: deals.stage, owner: users.name })
          .from(deals)
          .leftJoin(users, eq(users.id, deals.ownerId))
          .where(and(eq(deals.contactId, contact.id), notInArray(deals.stage, ['won', 'lost'])))
        // Naming no address: a plain form's ?error= carries the message.
        const message = `This person already has an open deal (${open ? `${stageOf(open.stage).name}, ${open.owner ?? 'in the queue'}` : 'just added'}): work that one instead.`
        throw new Refused({
          ...failure(409, 'open_deal_exists', message),
          ...('email' in input.contact ? { fields: { email: message } } : {}),
          openDealId: open?.id ?? '',
        })
      }
      await recordDealEvent(tx, dealId, now, {
        type: 'created',
        toStage: input.stage,
        actorId: actor.id,
        data: {
          source: 'manual',
          ...(won
            ? {
                contractSignedOn: input.contractSignedOn,
                paymentReceivedOn: input.paymentReceivedOn,
              }
            : {}),
        },
      })
      const reason = input.reason?.trim()
      const evidence = { source: 'manual', kind: 'manual', ...(reason ? { summary: reason } : {}) }
      if (reason)
        await recordDealEvent(tx, dealId, now, {
          type: 'evidence',
          actorId: actor.id,
          data: evidence,
        })
      const by = { actorId: actor.id }
      await recordWebhookEvent(
        tx,
        'deal.qualified',
        {
          dealId,
          contactId: contact.id,
          source: 'manual',
          evidence,
          deal: dealSummary(deal),
          ...by,
        },
        now,
      )
      if (won)
        await recordWebhookEvent(
          tx,
          'deal.won',
          { deal: dealSummary(deal), from: null, to: 'won', ...by, ...wonDates(deal) },
          now,
        )
      return { ok: true as const, deal, contact, existingContact, company }
    })
  } catch (err) {
    if (err instanceof Refused) return err.failure
    throw err
  }
}

/** A refusal found after something was written: thrown, so the transaction rolls it all back. */
class Refused extends Error {
  readonly failure: DealFailure | (DealFailure & { openDealId: string })
  constructor(failure: DealFailure | (DealFailure & { openDealId: string })) {
    super(failure.message)
    this.failure = failure
  }
}
