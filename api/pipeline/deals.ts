import { and, asc, desc, eq, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { companies, contacts, dealEvents, deals, dealStakeholders, users } from '../db/schema.ts'
import { newId } from '../ids.ts'
import { parseEmailAddress } from '../email-address.ts'
import { can } from '../accounts/permissions.ts'
import { changeDeal } from './deal-changes.ts'
import { stageOf, stagesBack, stageWithProbability, type StageKey } from './stages.ts'
import { localDay } from '../accounts/time-zones.ts'
import { zoneOf, type Role } from '../accounts/users.ts'

// Deals as reps work them: take one over from the queue, move it through the stages (any
// direction, always recorded with who and when), set its amount, close date, notes and the
// people who decide. Every change is a transaction through changeDeal (deal-changes.ts), which
// stamps updatedAt and appends to deal_events.

export type Deal = typeof deals.$inferSelect
export type Stakeholder = typeof dealStakeholders.$inferSelect
export type StakeholderRole = Stakeholder['role']
export type Stance = Stakeholder['stance']

export const STAKEHOLDER_ROLES: readonly StakeholderRole[] = [
  'decision_maker',
  'economic_buyer',
  'influencer',
  'champion',
  'user',
  'blocker',
]
export const STANCES: readonly Stance[] = ['supportive', 'neutral', 'opposed']
export const ROLE_NAMES: Record<StakeholderRole, string> = {
  decision_maker: 'Decision-maker',
  economic_buyer: 'Economic buyer',
  influencer: 'Influencer',
  champion: 'Champion',
  user: 'User',
  blocker: 'Blocker',
}

export interface Actor {
  id: string
  role: Role
}

export type DealFailure = {
  ok: false
  status: 403 | 404 | 409 | 422
  code: string
  message: string
  /** The problem by field name, for forms that show it beside the field (and API clients). */
  fields?: Record<string, string>
}
export type DealResult<T> = ({ ok: true } & T) | DealFailure

export const failure = (
  status: DealFailure['status'],
  code: string,
  message: string,
): DealFailure => ({
  ok: false,
  status,
  code,
  message,
})
export const NOT_FOUND = failure(404, 'not_found', 'There is no such deal.')

// ── Rules (pure) ─────────────────────────────────────────────────────────────────────────────

/**
 * Who may do what with one deal: admins everything; reps read and change their own deals and
 * read and take over the unclaimed queue; SDRs read everything and change nothing.
 */
export function dealAccess(user: Actor | null | undefined, deal: Pick<Deal, 'ownerId' | 'stage'>) {
  const unclaimed = deal.ownerId === null
  const own = !!user && deal.ownerId === user.id
  const read = can(user, 'pipeline:read_team') || (can(user, 'pipeline:read') && (own || unclaimed))
  const edit = can(user, 'deals:edit_any') || (can(user, 'deals:edit_own') && own)
  const claim = can(user, 'deals:claim') && unclaimed && deal.stage === 'target'
  return { read, edit, claim }
}

/**
 * dealAccess's `read` as a condition on `deals`, for lists: the team's pipeline (undefined: no
 * condition), or the viewer's own deals and the unclaimed ones.
 */
export function readableDeals(user: Actor): SQL | undefined {
  return can(user, 'pipeline:read_team')
    ? undefined
    : or(eq(deals.ownerId, user.id), isNull(deals.ownerId))
}

/** A decision-maker (or the economic buyer) is on the deal and not against it. */
export function decisionMakerEngaged(
  stakeholders: ReadonlyArray<Pick<Stakeholder, 'role' | 'stance'>>,
): boolean {
  return stakeholders.some(
    (s) => (s.role === 'decision_maker' || s.role === 'economic_buyer') && s.stance !== 'opposed',
  )
}

export const MIN_DATE = '2000-01-01'
export const MAX_DATE = '2100-12-31'

/** A month written YYYY-MM whose first day is a calendar date: 2000-01 to 2100-12. */
export function isCalendarMonth(value: string): boolean {
  return /^\d{4}-\d{2}$/.test(value) && isCalendarDate(`${value}-01`)
}

/** A real calendar date written YYYY-MM-DD, within 2000–2100. */
export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || value < MIN_DATE || value > MAX_DATE) return false
  const d = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value
}

/**
 * Why a contract-signed date is refused for a deal created at `createdAt`, or null: a contract
 * cannot come back before the deal existed. A day of slack for people west of UTC. Pure.
 */
export function signedDateProblem(
  createdAt: Date,
  contractSignedOn: string | null | undefined,
): DealFailure | null {
  if (!contractSignedOn) return null
  const earliest = new Date(createdAt.getTime() - 86_400_000).toISOString().slice(0, 10)
  if (contractSignedOn >= earliest) return null
  return failure(
    422,
    'signed_before_created',
    `The contract-signed date cannot be before the deal was created (${createdAt.toISOString().slice(0, 10)}).`,
  )
}

/** A contract or payment date after `today` (the recorder's, in their zone), refused. */
function futureDateProblem(
  dates: {
    contractSignedOn?: string | null | undefined
    paymentReceivedOn?: string | null | undefined
  },
  today: string,
): DealFailure | null {
  for (const [field, label] of [
    ['contractSignedOn', 'contract-signed'],
    ['paymentReceivedOn', 'payment-received'],
  ] as const) {
    const value = dates[field]
    if (value && value > today) {
      const message = `The ${label} date cannot be in the future.`
      return { ...failure(422, 'future_date', message), fields: { [field]: message } }
    }
  }
  return null
}

export interface StageMove {
  stage: StageKey
  contractSignedOn?: string | null | undefined
  paymentReceivedOn?: string | null | undefined
  lostReason?: string | null | undefined
  /**
   * Set for a person at a plain form who has not yet said yes to a move more than one stage back:
   * such a move is refused with `move_back_unconfirmed`, for the page to ask first (the
   * confirmation the app promises, which the form's script asks only with JavaScript on). API
   * callers leave it unset: an integration moving a deal back means it.
   */
  unconfirmedBack?: boolean
}

/** A move more than one stage back is asked about before it is made (one back is routine). */
export const CONFIRM_BACK_AFTER = 1

/** "Move this deal back 3 stages, from Contract signed (90%) to Demo (30%)?" */
export function moveBackQuestion(from: StageKey, to: StageKey): string {
  return `Move this deal back ${stagesBack(from, to)} stages, from ${stageWithProbability(from)} to ${stageWithProbability(to)}?`
}

/**
 * Why this move is refused, or null. `won` needs the stamped contract and the payment both
 * recorded (on the deal already or in this request); `lost` needs a reason; recorded dates cannot
 * be after today in the zone of the person recording them.
 */
export function stageMoveProblem(
  deal: Pick<Deal, 'stage' | 'contractSignedOn' | 'paymentReceivedOn'>,
  move: StageMove,
  now: Date,
  timeZone: string,
): DealFailure | null {
  if (move.stage === deal.stage)
    return failure(409, 'same_stage', `The deal is already at “${stageOf(deal.stage).name}”.`)
  if (move.unconfirmedBack && stagesBack(deal.stage, move.stage) > CONFIRM_BACK_AFTER)
    return failure(409, 'move_back_unconfirmed', moveBackQuestion(deal.stage, move.stage))
  const future = futureDateProblem(move, localDay(now, timeZone))
  if (future) return future
  if (move.stage === 'won') {
    const signed = move.contractSignedOn || deal.contractSignedOn
    const paid = move.paymentReceivedOn || deal.paymentReceivedOn
    if (!signed || !paid) {
      const missing = [
        !signed && 'the date the stamped contract came back',
        !paid && 'the date payment was received',
      ]
        .filter(Boolean)
        .join(' and ')
      return {
        ...failure(
          422,
          'won_needs_signed_and_paid',
          `A deal is won only when the stamped contract is back and paid: record ${missing}.`,
        ),
        fields: {
          ...(signed ? {} : { contractSignedOn: 'When did the stamped contract come back?' }),
          ...(paid ? {} : { paymentReceivedOn: 'When was the payment received?' }),
        },
      }
    }
  }
  if (move.stage === 'lost' && !move.lostReason?.trim())
    return {
      ...failure(422, 'lost_needs_reason', 'Say why the deal was lost.'),
      fields: { lostReason: 'Say why the deal was lost.' },
    }
  return null
}

/**
 * Why a deal at this stage cannot be without an owner, or null. Only the queue (10%, where reps
 * take leads over), outbound prospects (0%) and lost deals may be unowned: an unowned deal
 * further on (won included) is in nobody's pipeline, not the team's and not the queue, so its
 * amount drops out of every board and forecast and no rep can take it over again.
 */
export function ownerlessProblem(stage: StageKey): DealFailure | null {
  if (stage === 'target' || stage === 'opportunity' || stage === 'lost') return null
  return failure(
    422,
    'owner_needed',
    'Only a 10% lead can be without an owner: take it over or give it to a rep first.',
  )
}

/**
 * Why a deal someone owns cannot be at this stage, or null: `move`, moving an owned deal there;
 * `assign`, giving a deal at this stage an owner (an assignment or a take-over). The 0% stage
 * holds outbound prospects that no rep owns yet (a prospect becomes a 10% target when it
 * qualifies, and reps take deals over from there): the board has no column for it, so a rep's
 * deal there vanished from their board and was still counted among its deals without a next step.
 */
export function ownedProblem(stage: StageKey, act: 'move' | 'assign' = 'move'): DealFailure | null {
  if (stage !== 'opportunity') return null
  return failure(
    422,
    'owned_not_prospect',
    act === 'move'
      ? 'A deal a rep owns goes back as far as 10% (Target identified); 0% is for prospects no rep owns yet. Mark it lost if it went cold.'
      : 'This deal is a 0% prospect, which no rep owns yet: it becomes a 10% target when a human click or a form qualifies it (or when it is moved to 10%), and is taken over from there.',
  )
}

// ── Reads ────────────────────────────────────────────────────────────────────────────────────

export async function findDeal(db: Db, id: string): Promise<Deal | null> {
  const [row] = await db.select().from(deals).where(eq(deals.id, id))
  return row ?? null
}

// ── Take-over ────────────────────────────────────────────────────────────────────────────────

export type ClaimResult = DealResult<{ deal: Deal; alreadyYours: boolean }>

/**
 * Why `userId` cannot take this deal over, or null when they may (an unclaimed 10% lead) or
 * already own it. `ownerName` names whoever took it first. Pure.
 */
export function claimProblem(
  deal: Pick<Deal, 'ownerId' | 'stage' | 'claimedAt'>,
  userId: string,
  ownerName: string | null,
): DealFailure | null {
  if (deal.ownerId === userId) return null
  if (deal.ownerId)
    return failure(
      409,
      'already_claimed',
      `${ownerName ?? 'Another rep'} took over this lead first${deal.claimedAt ? ` (${deal.claimedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)` : ''}.`,
    )
  if (deal.stage !== 'target')
    return (
      ownedProblem(deal.stage, 'assign') ??
      failure(
        409,
        'not_in_queue',
        `This lead is no longer in the queue: it is at “${stageOf(deal.stage).name}”.`,
      )
    )
  return null
}

/**
 * Takes an unclaimed deal at `target`. One conditional UPDATE decides between concurrent
 * claimants: the database lets exactly one see `owner_id IS NULL`; the others are told who won.
 */
export async function claimDeal(
  db: Db,
  dealId: string,
  userId: string,
  now: Date,
): Promise<ClaimResult> {
  const claimed = await db.transaction((tx) => claimLocked(tx, dealId, userId, now))
  if (claimed) return { ok: true, deal: claimed, alreadyYours: false }
  const [current] = await db
    .select({ deal: deals, ownerName: users.name })
    .from(deals)
    .leftJoin(users, eq(users.id, deals.ownerId))
    .where(eq(deals.id, dealId))
  if (!current) return NOT_FOUND
  if (current.deal.ownerId === userId) return { ok: true, deal: current.deal, alreadyYours: true }
  return (
    claimProblem(current.deal, userId, current.ownerName) ??
    // Back in the queue between the claim and this look: nobody took it, so neither did they.
    failure(409, 'claim_raced', 'This lead changed hands just now; try again.')
  )
}

/** The take-over itself, in the caller's transaction: the deal, or null if it is not claimable. */
export async function claimLocked(
  tx: Db,
  dealId: string,
  userId: string,
  now: Date,
): Promise<Deal | null> {
  const claimed = await changeDeal(tx, dealId, now, {
    set: { ownerId: userId, claimedAt: now },
    onlyIf: and(isNull(deals.ownerId), eq(deals.stage, 'target')),
    events: { type: 'claimed', actorId: userId, data: { ownerId: userId } },
  })
  return claimed?.deal ?? null
}

/** Why `ownerId` cannot own deals (unknown, disabled or an SDR), or null; null owner: none. */
export async function newOwnerProblem(db: Db, ownerId: string | null): Promise<DealFailure | null> {
  if (!ownerId) return null
  // Held (in the caller's transaction) until the deal is theirs: an account being disabled
  // meanwhile waits, and is then not left owning a deal it was handed while it went.
  const [owner] = await db
    .select({ role: users.role, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.id, ownerId))
    .for('share')
  if (!owner || owner.disabledAt || owner.role === 'sdr')
    return failure(422, 'invalid_owner', 'Choose an active rep or admin as the owner.')
  return null
}

/** Why this deal cannot be given to `ownerId` (null: back to the queue), or null. Pure. */
export function assignProblem(
  deal: Pick<Deal, 'ownerId' | 'stage'>,
  ownerId: string | null,
): DealFailure | null {
  if (deal.ownerId === ownerId) return null
  return ownerId === null ? ownerlessProblem(deal.stage) : ownedProblem(deal.stage, 'assign')
}

/**
 * Gives a deal locked in the caller's transaction to `ownerId` (null: back to the queue),
 * recorded as an assignment by `actor`; assignProblem must have said yes.
 */
export async function assignLocked(
  tx: Db,
  deal: Deal,
  actor: Actor,
  ownerId: string | null,
  now: Date,
): Promise<Deal> {
  if (deal.ownerId === ownerId) return deal
  const changed = await changeDeal(tx, deal.id, now, {
    set: { ownerId, claimedAt: ownerId ? now : null },
    events: {
      type: 'claimed',
      actorId: actor.id,
      data: { ownerId, previousOwnerId: deal.ownerId, assigned: true },
    },
  })
  return changed!.deal
}

/** Admins hand a deal to a rep (or back to the queue with null). */
export async function assignDeal(
  db: Db,
  dealId: string,
  actor: Actor,
  ownerId: string | null,
  now: Date,
): Promise<DealResult<{ deal: Deal }>> {
  if (!can(actor, 'deals:edit_any'))
    return failure(403, 'forbidden', 'Only admins can reassign deals.')
  return db.transaction(async (tx) => {
    const invalid = await newOwnerProblem(tx, ownerId)
    if (invalid) return invalid
    const [deal] = await tx.select().from(deals).where(eq(deals.id, dealId)).for('update')
    if (!deal) return NOT_FOUND
    const problem = assignProblem(deal, ownerId)
    if (problem) return problem
    return { ok: true as const, deal: await assignLocked(tx, deal, actor, ownerId, now) }
  })
}

// ── Changes ──────────────────────────────────────────────────────────────────────────────────

/** Locks the deal for a change by this actor, or says why not (in the caller's transaction). */
export async function lockForEdit(
  tx: Db,
  dealId: string,
  actor: Actor,
): Promise<DealResult<{ deal: Deal }>> {
  const [deal] = await tx.select().from(deals).where(eq(deals.id, dealId)).for('update')
  if (!deal) return NOT_FOUND
  if (!dealAccess(actor, deal).edit) {
    if (deal.ownerId === null && can(actor, 'deals:claim'))
      return failure(403, 'claim_first', 'Take over this lead before changing it.')
    return failure(403, 'not_your_deal', 'This deal belongs to another rep.')
  }
  return { ok: true, deal }
}

/** Moves a deal to another stage, in either direction, recorded with who, when and how long it sat. */
export async function moveDealStage(
  db: Db,
  dealId: string,
  actor: Actor,
  move: StageMove,
  now: Date,
): Promise<DealResult<{ deal: Deal; from: StageKey }>> {
  const timeZone = await zoneOf(db, actor.id)
  try {
    return await db.transaction(async (tx) => {
      const locked = await lockForEdit(tx, dealId, actor)
      if (!locked.ok) return locked
      const { deal } = locked
      const problem =
        stageMoveProblem(deal, move, now, timeZone) ??
        signedDateProblem(deal.createdAt, move.contractSignedOn) ??
        (deal.ownerId === null ? ownerlessProblem(move.stage) : ownedProblem(move.stage))
      if (problem) return problem
      const closing = stageOf(move.stage).closed
      const wonDay = move.stage === 'won' ? localDay(now, timeZone) : null
      const closeDate = wonDay
        ? { expectedCloseDate: wonDay }
        : deal.stage === 'won'
          ? { expectedCloseDate: await closeDateBeforeWin(tx, deal) }
          : {}
      const changed = await changeDeal(tx, dealId, now, {
        set: {
          stage: move.stage,
          stageEnteredAt: now,
          closedAt: closing ? now : null,
          lostReason: move.stage === 'lost' ? move.lostReason!.trim() : null,
          ...(move.contractSignedOn ? { contractSignedOn: move.contractSignedOn } : {}),
          ...(move.paymentReceivedOn ? { paymentReceivedOn: move.paymentReceivedOn } : {}),
          // A won deal closed today (on the mover's clock, as its dates are checked), whatever
          // close date was expected: the forecast reads it. Moved out of won, it gets back the
          // date it had before (closeDateBeforeWin).
          ...closeDate,
        },
        events: {
          type: 'stage_changed',
          fromStage: deal.stage,
          toStage: move.stage,
          actorId: actor.id,
          // When the previous stage began, so time-in-stage needs no look-back over the history.
          data: {
            enteredAt: deal.stageEnteredAt.toISOString(),
            secondsInStage: (now.getTime() - deal.stageEnteredAt.getTime()) / 1000,
            ...(move.stage === 'lost' ? { lostReason: move.lostReason!.trim() } : {}),
            ...(move.contractSignedOn ? { contractSignedOn: move.contractSignedOn } : {}),
            ...(move.paymentReceivedOn ? { paymentReceivedOn: move.paymentReceivedOn } : {}),
            // The close date the win replaced, and the day it set, for a move back out of won.
            ...(wonDay ? { closeDate: { before: deal.expectedCloseDate, won: wonDay } } : {}),
          },
        },
      })
      return { ok: true as const, deal: changed!.deal, from: deal.stage }
    })
  } catch (err) {
    // Reopening a closed deal while its contact already has another open one.
    if (isUniqueViolation(err, 'deals_one_open_per_contact'))
      return failure(
        409,
        'open_deal_exists',
        'This contact already has another open deal; reopen or work that one instead.',
      )
    throw err
  }
}

/**
 * The expected close date a won deal goes back to when it is moved out of won. Winning set it to
 * the day won, which a reopened deal must not keep: the forecast would read a day already past as
 * when it is expected to close. The date it had before winning comes back, as the win recorded it;
 * a date someone set after the win is theirs and stays; with no record (a deal entered as won, or
 * won before the win kept it) the date is cleared, so the deal shows as having no close date
 * rather than a wrong one.
 */
async function closeDateBeforeWin(
  tx: Db,
  deal: Pick<Deal, 'id' | 'expectedCloseDate'>,
): Promise<string | null> {
  const [win] = await tx
    .select({ data: dealEvents.data })
    .from(dealEvents)
    .where(
      and(
        eq(dealEvents.dealId, deal.id),
        eq(dealEvents.type, 'stage_changed'),
        eq(dealEvents.toStage, 'won'),
      ),
    )
    .orderBy(desc(dealEvents.createdAt), desc(dealEvents.id))
    .limit(1)
  const recorded = (win?.data as { closeDate?: { before?: unknown; won?: unknown } } | null)
    ?.closeDate
  if (!recorded) return null
  if (deal.expectedCloseDate !== recorded.won) return deal.expectedCloseDate
  return typeof recorded.before === 'string' ? recorded.before : null
}

export interface DealPatch {
  title?: string | undefined
  amountCents?: number | null | undefined
  currency?: string | undefined
  expectedCloseDate?: string | null | undefined
  contractSignedOn?: string | null | undefined
  paymentReceivedOn?: string | null | undefined
  budgetNotes?: string | null | undefined
  decisionProcessNotes?: string | null | undefined
}

const PATCH_FIELDS = [
  'title',
  'amountCents',
  'currency',
  'expectedCloseDate',
  'contractSignedOn',
  'paymentReceivedOn',
  'budgetNotes',
  'decisionProcessNotes',
] as const

/** Sets amount, currency, dates and notes; records what changed (old → new) on the deal. */
export async function updateDeal(
  db: Db,
  dealId: string,
  actor: Actor,
  patch: DealPatch,
  now: Date,
): Promise<DealResult<{ deal: Deal; changed: string[] }>> {
  const future = futureDateProblem(patch, localDay(now, await zoneOf(db, actor.id)))
  if (future) return future
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    const { deal } = locked
    const signed = signedDateProblem(deal.createdAt, patch.contractSignedOn)
    if (signed) return signed
    if (
      deal.stage === 'won' &&
      (patch.contractSignedOn === null || patch.paymentReceivedOn === null)
    )
      return failure(
        422,
        'won_needs_signed_and_paid',
        'A won deal keeps its contract-signed and payment-received dates; move it back first.',
      )
    const changes: Record<string, [unknown, unknown]> = {}
    const set: Partial<Deal> = {}
    for (const field of PATCH_FIELDS) {
      const value = patch[field]
      if (value === undefined || value === deal[field]) continue
      changes[field] = [deal[field], value]
      ;(set as Record<string, unknown>)[field] = value
    }
    const changed = Object.keys(changes)
    if (changed.length === 0) return { ok: true as const, deal, changed }
    const done = await changeDeal(tx, dealId, now, {
      set,
      events: { type: 'updated', actorId: actor.id, data: { changes } },
    })
    return { ok: true as const, deal: done!.deal, changed }
  })
}

export async function addNote(
  db: Db,
  dealId: string,
  actor: Actor,
  body: string,
  now: Date,
): Promise<DealResult<{ id: string }>> {
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    const changed = await changeDeal(tx, dealId, now, {
      events: { type: 'note', actorId: actor.id, data: { body } },
    })
    return { ok: true as const, id: changed!.eventIds[0]! }
  })
}

// ── Stakeholders ─────────────────────────────────────────────────────────────────────────────

export type StakeholderInput = {
  role: StakeholderRole
  stance: Stance
  notes?: string | null | undefined
} & ({ contactId: string } | { email: string; name: string; jobTitle?: string | null | undefined })

/**
 * Whether an existing contact may be a stakeholder of the deal: its own contact, or one at its
 * company. A deal without a company takes no other existing contact (two without a company are
 * not colleagues: that let a rep attach another rep's prospect by typing their address).
 */
function atDealCompany(
  contact: { id: string; companyId: string | null },
  deal: Pick<Deal, 'contactId' | 'companyId'>,
): boolean {
  return (
    contact.id === deal.contactId ||
    (deal.companyId !== null && contact.companyId === deal.companyId)
  )
}

/**
 * Adds (or updates) a person on the deal: one of the deal's company's contacts, or a new
 * contact at that company given by email and name.
 */
export async function saveStakeholder(
  db: Db,
  dealId: string,
  actor: Actor,
  input: StakeholderInput,
  now: Date,
): Promise<DealResult<{ stakeholder: Stakeholder }>> {
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    const { deal } = locked
    let contactId: string
    if ('contactId' in input) {
      const [contact] = await tx
        .select({ id: contacts.id, companyId: contacts.companyId })
        .from(contacts)
        .where(eq(contacts.id, input.contactId))
      if (!contact || !atDealCompany(contact, deal))
        return failure(422, 'not_at_company', 'Choose a person from this deal’s company.')
      contactId = contact.id
    } else {
      // One contact per address, compared in the one canonical form.
      const address = parseEmailAddress(input.email)
      if (!address) return failure(422, 'invalid_email', 'Enter a valid email address.')
      const email = address.canonical
      const [existing] = await tx
        .select({ id: contacts.id, companyId: contacts.companyId })
        .from(contacts)
        .where(eq(contacts.email, email))
      if (existing) {
        if (!atDealCompany(existing, deal)) {
          const message = 'That address is a contact at another company.'
          return { ...failure(422, 'not_at_company', message), fields: { email: message } }
        }
        contactId = existing.id
      } else {
        const [company] = deal.companyId
          ? await tx
              .select({ name: companies.name })
              .from(companies)
              .where(eq(companies.id, deal.companyId))
          : []
        const [first, ...rest] = input.name.trim().split(/\s+/)
        contactId = newId(now.getTime())
        await tx.insert(contacts).values({
          id: contactId,
          email,
          emailDisplay: address.display,
          firstName: first ?? null,
          lastName: rest.join(' ') || null,
          jobTitle: input.jobTitle?.trim() || null,
          companyId: deal.companyId,
          companyName: company?.name ?? null,
          source: 'manual',
          createdAt: now,
          updatedAt: now,
        })
      }
    }
    const notes = input.notes?.trim() || null
    const [row] = await tx
      .insert(dealStakeholders)
      .values({
        id: newId(now.getTime()),
        dealId,
        contactId,
        role: input.role,
        stance: input.stance,
        notes,
        createdAt: now,
      })
      .onConflictDoUpdate({
        target: [dealStakeholders.dealId, dealStakeholders.contactId],
        set: { role: input.role, stance: input.stance, notes },
      })
      .returning()
    await changeDeal(tx, dealId, now, {
      events: {
        type: 'updated',
        actorId: actor.id,
        data: { stakeholder: { contactId, role: input.role, stance: input.stance } },
      },
    })
    return { ok: true as const, stakeholder: row! }
  })
}

export async function removeStakeholder(
  db: Db,
  dealId: string,
  actor: Actor,
  stakeholderId: string,
  now: Date,
): Promise<DealResult<object>> {
  return db.transaction(async (tx) => {
    const locked = await lockForEdit(tx, dealId, actor)
    if (!locked.ok) return locked
    const [row] = await tx
      .delete(dealStakeholders)
      .where(and(eq(dealStakeholders.id, stakeholderId), eq(dealStakeholders.dealId, dealId)))
      .returning()
    if (!row) return failure(404, 'not_found', 'That person is not on this deal.')
    await changeDeal(tx, dealId, now, {
      events: {
        type: 'updated',
        actorId: actor.id,
        data: { stakeholderRemoved: { contactId: row.contactId, role: row.role } },
      },
    })
    return { ok: true as const }
  })
}

export async function listStakeholders(db: Db, dealId: string) {
  return db
    .select({
      id: dealStakeholders.id,
      contactId: dealStakeholders.contactId,
      role: dealStakeholders.role,
      stance: dealStakeholders.stance,
      notes: dealStakeholders.notes,
      firstName: contacts.firstName,
      lastName: contacts.lastName,
      email: contacts.emailDisplay,
      jobTitle: contacts.jobTitle,
    })
    .from(dealStakeholders)
    .innerJoin(contacts, eq(contacts.id, dealStakeholders.contactId))
    .where(eq(dealStakeholders.dealId, dealId))
    .orderBy(asc(dealStakeholders.createdAt))
}

/** The database refused a duplicate on this unique constraint (either engine's error shape). */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  for (
    let e = err as
      { code?: string; constraint?: string; message?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code === '23505' && (e.constraint === constraint || e.message?.includes(constraint)))
      return true
  }
  return false
}

/** The count of rows in `deals`: the demo seed and the start-up offer look at it. */
export async function countDeals(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(deals)
  return row?.n ?? 0
}
