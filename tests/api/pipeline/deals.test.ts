import { describe, expect, it } from 'vitest'
import {
  assignProblem,
  claimProblem,
  dealAccess,
  decisionMakerEngaged,
  isCalendarDate,
  ownedProblem,
  stageMoveProblem,
} from '../../../api/pipeline/deals.ts'
import { parseAmount } from '../../../api/routes/deals.ts'

const now = new Date('2026-11-29T10:00:00Z')
const open = { stage: 'signed' as const, contractSignedOn: null, paymentReceivedOn: null }

describe('moving a deal: the rules', () => {
  it('refuses won until the stamped contract and the payment are both recorded', () => {
    expect(stageMoveProblem(open, { stage: 'won' }, now, 'UTC')).toMatchObject({
      status: 422,
      code: 'won_needs_signed_and_paid',
    })
    expect(
      stageMoveProblem(open, { stage: 'won', contractSignedOn: '2026-11-20' }, now, 'UTC')?.message,
    ).toContain('the date payment was received')
    expect(
      stageMoveProblem({ ...open, paymentReceivedOn: '2026-11-25' }, { stage: 'won' }, now, 'UTC')
        ?.message,
    ).toContain('the date the stamped contract came back')
    expect(
      stageMoveProblem(
        open,
        { stage: 'won', contractSignedOn: '2026-11-20', paymentReceivedOn: '2026-11-25' },
        now,
        'UTC',
      ),
    ).toBeNull()
    expect(
      stageMoveProblem(
        { ...open, contractSignedOn: '2026-11-20', paymentReceivedOn: '2026-11-25' },
        { stage: 'won' },
        now,
        'UTC',
      ),
    ).toBeNull()
  })

  it("refuses recorded dates after today on the recorder's clock, whatever their zone", () => {
    const paidOn = (paymentReceivedOn: string, at: Date, zone: string) =>
      stageMoveProblem(
        open,
        { stage: 'won', contractSignedOn: '2026-11-20', paymentReceivedOn },
        at,
        zone,
      )?.code ?? null
    expect(paidOn('2026-11-29', now, 'UTC')).toBeNull()
    expect(paidOn('2026-11-30', now, 'UTC')).toBe('future_date')
    expect(paidOn('2026-12-01', now, 'UTC')).toBe('future_date')
    // 20:00 UTC is already 09:00 the next morning in Auckland: its today, not UTC's.
    const evening = new Date('2026-11-29T20:00:00Z')
    expect(paidOn('2026-11-30', evening, 'Pacific/Auckland')).toBeNull()
    expect(paidOn('2026-11-30', evening, 'UTC')).toBe('future_date')
    // 04:00 UTC on the 30th is still the 29th in Los Angeles: the 30th is tomorrow there.
    const lateInLa = new Date('2026-11-30T04:00:00Z')
    expect(paidOn('2026-11-29', lateInLa, 'America/Los_Angeles')).toBeNull()
    expect(paidOn('2026-11-30', lateInLa, 'America/Los_Angeles')).toBe('future_date')
  })

  it('needs a reason to mark a deal lost, and refuses a move to the stage it is at', () => {
    expect(stageMoveProblem(open, { stage: 'lost' }, now, 'UTC')).toMatchObject({
      code: 'lost_needs_reason',
    })
    expect(stageMoveProblem(open, { stage: 'lost', lostReason: '   ' }, now, 'UTC')).toMatchObject({
      code: 'lost_needs_reason',
    })
    expect(
      stageMoveProblem(open, { stage: 'lost', lostReason: 'Chose a competitor' }, now, 'UTC'),
    ).toBeNull()
    expect(stageMoveProblem(open, { stage: 'signed' }, now, 'UTC')).toMatchObject({
      status: 409,
      code: 'same_stage',
    })
  })

  it('allows moving backwards', () => {
    expect(stageMoveProblem(open, { stage: 'demo' }, now, 'UTC')).toBeNull()
    expect(
      stageMoveProblem({ ...open, stage: 'lost' }, { stage: 'negotiation' }, now, 'UTC'),
    ).toBeNull()
  })
})

describe('who may do what with a deal', () => {
  const rep = { id: 'r1', role: 'rep' as const }
  const admin = { id: 'a1', role: 'admin' as const }
  const sdr = { id: 's1', role: 'sdr' as const }
  const mine = { ownerId: 'r1', stage: 'demo' as const }
  const theirs = { ownerId: 'r2', stage: 'demo' as const }
  const queued = { ownerId: null, stage: 'target' as const }

  it('lets a rep read and change their own deals, read and take over the queue, and not touch another rep’s', () => {
    expect(dealAccess(rep, mine)).toEqual({ read: true, edit: true, claim: false })
    expect(dealAccess(rep, queued)).toEqual({ read: true, edit: false, claim: true })
    expect(dealAccess(rep, theirs)).toEqual({ read: false, edit: false, claim: false })
  })

  it('lets admins do everything and SDRs only read', () => {
    expect(dealAccess(admin, theirs)).toEqual({ read: true, edit: true, claim: false })
    expect(dealAccess(admin, queued)).toEqual({ read: true, edit: true, claim: true })
    expect(dealAccess(sdr, theirs)).toEqual({ read: true, edit: false, claim: false })
    expect(dealAccess(sdr, queued)).toEqual({ read: true, edit: false, claim: false })
    expect(dealAccess(null, queued)).toEqual({ read: false, edit: false, claim: false })
  })

  it('only offers unclaimed deals still at target for take-over', () => {
    expect(dealAccess(rep, { ownerId: null, stage: 'lost' }).claim).toBe(false)
  })
})

describe('giving a deal an owner: the rules', () => {
  it('gives nobody a 0% prospect, by assignment or take-over, and says why (the deal page hides the choice on it)', () => {
    const prospect = { stage: 'opportunity' as const, ownerId: null, claimedAt: null }
    expect(ownedProblem('opportunity', 'assign')).toMatchObject({
      status: 422,
      code: 'owned_not_prospect',
    })
    expect(assignProblem(prospect, 'rep-1')).toEqual(ownedProblem('opportunity', 'assign'))
    expect(claimProblem(prospect, 'rep-1', null)).toEqual(ownedProblem('opportunity', 'assign'))
    // Back to nobody is still fine, and a 10% lead is given or taken as before.
    expect(assignProblem(prospect, null)).toBeNull()
    expect(assignProblem({ stage: 'target', ownerId: null }, 'rep-1')).toBeNull()
    expect(claimProblem({ ...prospect, stage: 'target' }, 'rep-1', null)).toBeNull()
    for (const stage of ['target', 'demo', 'won', 'lost'] as const)
      expect(ownedProblem(stage, 'assign')).toBeNull()
  })
})

describe('input rules', () => {
  it('accepts real calendar dates between 2000 and 2100 only', () => {
    expect(isCalendarDate('2026-02-28')).toBe(true)
    expect(isCalendarDate('2028-02-29')).toBe(true)
    for (const bad of [
      '2026-02-29',
      '2026-13-01',
      '2026-1-5',
      '26-01-05',
      '1999-12-31',
      '2101-01-01',
      '2026-02-30T00:00',
      '',
    ])
      expect(isCalendarDate(bad), bad).toBe(false)
  })

  it('reads amounts as typed into a form, in cents, and says what is wrong otherwise', () => {
    expect(parseAmount('12500')).toBe(1_250_000)
    expect(parseAmount('12,500.50')).toBe(1_250_050)
    expect(parseAmount('12500,5')).toBe(1_250_050)
    expect(parseAmount(' 1 000 ')).toBe(100_000)
    expect(parseAmount('')).toBeNull()
    expect(parseAmount('-5')).toBe('The amount cannot be negative.')
    expect(parseAmount('12.345')).toMatch(/Enter the amount/)
    expect(parseAmount('1e9')).toMatch(/Enter the amount/)
    expect(parseAmount('9999999999999')).toMatch(/larger than any deal/)
  })

  it('sees a decision-maker as engaged unless they oppose the deal', () => {
    expect(decisionMakerEngaged([])).toBe(false)
    expect(decisionMakerEngaged([{ role: 'champion', stance: 'supportive' }])).toBe(false)
    expect(decisionMakerEngaged([{ role: 'decision_maker', stance: 'neutral' }])).toBe(true)
    expect(decisionMakerEngaged([{ role: 'economic_buyer', stance: 'supportive' }])).toBe(true)
    expect(decisionMakerEngaged([{ role: 'decision_maker', stance: 'opposed' }])).toBe(false)
  })
})
