import { describe, expect, it } from 'vitest'
import {
  dealAccess,
  decisionMakerEngaged,
  isCalendarDate,
  stageMoveProblem,
} from '../../../api/pipeline/deals.ts'
import { parseAmount } from '../../../api/routes/deals.ts'

const now = new Date('2026-11-29T10:00:00Z')
const open = { stage: 'signed' as const, contractSignedOn: null, paymentReceivedOn: null }

describe('moving a deal: the rules', () => {
  it('refuses won until the stamped contract and the payment are both recorded', () => {
    expect(stageMoveProblem(open, { stage: 'won' }, now)).toMatchObject({
      status: 422,
      code: 'won_needs_signed_and_paid',
    })
    expect(
      stageMoveProblem(open, { stage: 'won', contractSignedOn: '2026-11-20' }, now)?.message,
    ).toContain('the date payment was received')
    expect(
      stageMoveProblem({ ...open, paymentReceivedOn: '2026-11-25' }, { stage: 'won' }, now)
        ?.message,
    ).toContain('the date the stamped contract came back')
    expect(
      stageMoveProblem(
        open,
        { stage: 'won', contractSignedOn: '2026-11-20', paymentReceivedOn: '2026-11-25' },
        now,
      ),
    ).toBeNull()
    expect(
      stageMoveProblem(
        { ...open, contractSignedOn: '2026-11-20', paymentReceivedOn: '2026-11-25' },
        { stage: 'won' },
        now,
      ),
    ).toBeNull()
  })

  it('refuses recorded dates in the future, allowing one day for time zones', () => {
    expect(
      stageMoveProblem(
        open,
        { stage: 'won', contractSignedOn: '2026-11-20', paymentReceivedOn: '2026-12-01' },
        now,
      ),
    ).toMatchObject({ code: 'future_date' })
    expect(
      stageMoveProblem(
        open,
        { stage: 'won', contractSignedOn: '2026-11-20', paymentReceivedOn: '2026-11-30' },
        now,
      ),
    ).toBeNull()
  })

  it('needs a reason to mark a deal lost, and refuses a move to the stage it is at', () => {
    expect(stageMoveProblem(open, { stage: 'lost' }, now)).toMatchObject({
      code: 'lost_needs_reason',
    })
    expect(stageMoveProblem(open, { stage: 'lost', lostReason: '   ' }, now)).toMatchObject({
      code: 'lost_needs_reason',
    })
    expect(
      stageMoveProblem(open, { stage: 'lost', lostReason: 'Chose a competitor' }, now),
    ).toBeNull()
    expect(stageMoveProblem(open, { stage: 'signed' }, now)).toMatchObject({
      status: 409,
      code: 'same_stage',
    })
  })

  it('allows moving backwards', () => {
    expect(stageMoveProblem(open, { stage: 'demo' }, now)).toBeNull()
    expect(stageMoveProblem({ ...open, stage: 'lost' }, { stage: 'negotiation' }, now)).toBeNull()
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
