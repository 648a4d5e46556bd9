import { describe, expect, it } from 'vitest'
import {
  contactRetention,
  inactiveBefore,
  monthsBefore,
  type RetentionFacts,
} from '../../../api/pipeline/contact-retention.ts'

// The privacy policy's retention of contacts: 24 calendar months after the last activity.

const NOW = new Date('2026-12-06T10:00:00Z')
const contact = (seed: Partial<RetentionFacts> = {}): RetentionFacts => ({
  erasedAt: null,
  lastActivityAt: new Date('2024-12-05T10:00:00Z'),
  deals: [],
  ...seed,
})

describe('calendar months', () => {
  it('go back month by month, a day the month lacks becoming its last', () => {
    expect(monthsBefore(new Date('2026-12-06T10:00:00Z'), 24)).toEqual(
      new Date('2024-12-06T10:00:00Z'),
    )
    expect(monthsBefore(new Date('2026-03-31T08:00:00Z'), 1)).toEqual(
      new Date('2026-02-28T08:00:00Z'),
    )
    expect(monthsBefore(new Date('2024-02-29T00:00:00Z'), 12)).toEqual(
      new Date('2023-02-28T00:00:00Z'),
    )
    expect(monthsBefore(new Date('2026-02-28T00:00:00Z'), 24)).toEqual(
      new Date('2024-02-28T00:00:00Z'),
    )
    expect(monthsBefore(new Date('2026-01-15T00:00:00Z'), 13)).toEqual(
      new Date('2024-12-15T00:00:00Z'),
    )
    expect(inactiveBefore(NOW)).toEqual(new Date('2024-12-06T10:00:00Z'))
  })
})

describe('a contact is due for erasure', () => {
  it('24 months and a day after their last activity, not at 23 months nor at exactly 24', () => {
    expect(contactRetention(contact(), NOW)).toEqual({ due: true })
    expect(
      contactRetention(contact({ lastActivityAt: new Date('2025-01-06T10:00:00Z') }), NOW),
    ).toEqual({ due: false, reason: 'active' })
    expect(
      contactRetention(contact({ lastActivityAt: new Date('2024-12-06T10:00:00Z') }), NOW),
    ).toEqual({ due: false, reason: 'active' })
  })

  it('with an unowned open deal, or a lost one', () => {
    expect(
      contactRetention(
        contact({
          deals: [
            { stage: 'opportunity', ownerId: null },
            { stage: 'lost', ownerId: 'rep-1' },
          ],
        }),
        NOW,
      ),
    ).toEqual({ due: true })
  })

  it('never while a rep owns an open deal of theirs', () => {
    expect(
      contactRetention(contact({ deals: [{ stage: 'demo', ownerId: 'rep-1' }] }), NOW),
    ).toEqual({ due: false, reason: 'being_worked' })
  })

  it('never with a won deal (a customer), owned or not', () => {
    expect(contactRetention(contact({ deals: [{ stage: 'won', ownerId: null }] }), NOW)).toEqual({
      due: false,
      reason: 'customer',
    })
  })

  it('never once erased', () => {
    expect(contactRetention(contact({ erasedAt: new Date('2025-01-01T00:00:00Z') }), NOW)).toEqual({
      due: false,
      reason: 'erased',
    })
  })
})
