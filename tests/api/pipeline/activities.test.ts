import { describe, expect, it } from 'vitest'
import { addDays, instantOf, localDay } from '../../../api/accounts/time-zones.ts'
import {
  describeActivityEvent,
  dueProblem,
  dueStatus,
  lacksNextStep,
} from '../../../api/pipeline/activities.ts'
import { sortSteps } from '../../../api/pipeline/my-day.ts'

// When a next step is due, with `now` passed in, on the clock of the zone it was planned in.

const at = (iso: string) => new Date(iso)

describe('dueStatus', () => {
  it('reads the day on the planner’s clock, not UTC', () => {
    // 23:30 UTC on 1 Dec is already 2 Dec in Tokyo and still 1 Dec in New York.
    const now = at('2026-12-01T23:30:00Z')
    const step = { dueOn: '2026-12-01', dueTime: null }
    expect(dueStatus({ ...step, timeZone: 'Asia/Tokyo' }, now)).toBe('overdue')
    expect(dueStatus({ ...step, timeZone: 'America/New_York' }, now)).toBe('today')
    expect(dueStatus({ ...step, timeZone: 'UTC' }, now)).toBe('today')
    const tomorrow = { dueOn: '2026-12-02', dueTime: null }
    expect(dueStatus({ ...tomorrow, timeZone: 'Asia/Tokyo' }, now)).toBe('today')
    expect(dueStatus({ ...tomorrow, timeZone: 'America/New_York' }, now)).toBe('upcoming')
  })

  it('a step with a time is overdue from that minute on, in its zone', () => {
    const step = { dueOn: '2026-12-01', dueTime: '09:30', timeZone: 'Europe/Berlin' }
    // 09:30 in Berlin (winter, UTC+1) is 08:30 UTC.
    expect(dueStatus(step, at('2026-12-01T08:29:59Z'))).toBe('today')
    expect(dueStatus(step, at('2026-12-01T08:30:00Z'))).toBe('overdue')
    expect(dueStatus(step, at('2026-11-30T22:59:00Z'))).toBe('upcoming')
    expect(dueStatus(step, at('2026-11-30T23:00:00Z'))).toBe('today')
  })

  it('a step without a time stays due today until midnight on its clock', () => {
    const step = { dueOn: '2026-12-01', dueTime: null, timeZone: 'America/Los_Angeles' }
    expect(dueStatus(step, at('2026-12-02T07:59:00Z'))).toBe('today')
    expect(dueStatus(step, at('2026-12-02T08:00:00Z'))).toBe('overdue')
  })

  it('follows daylight saving time', () => {
    // New York: 09:00 is 13:00 UTC in July (EDT) and 14:00 UTC in December (EST).
    const july = { dueOn: '2026-07-01', dueTime: '09:00', timeZone: 'America/New_York' }
    expect(dueStatus(july, at('2026-07-01T12:59:00Z'))).toBe('today')
    expect(dueStatus(july, at('2026-07-01T13:00:00Z'))).toBe('overdue')
    const december = { ...july, dueOn: '2026-12-01' }
    expect(dueStatus(december, at('2026-12-01T13:30:00Z'))).toBe('today')
    expect(dueStatus(december, at('2026-12-01T14:00:00Z'))).toBe('overdue')
  })

  it('works at the edges of the date line', () => {
    const now = at('2026-01-01T10:30:00Z')
    expect(localDay(now, 'Pacific/Kiritimati')).toBe('2026-01-02') // UTC+14
    expect(localDay(now, 'Pacific/Pago_Pago')).toBe('2025-12-31') // UTC−11
    const step = { dueOn: '2026-01-01', dueTime: null }
    expect(dueStatus({ ...step, timeZone: 'Pacific/Kiritimati' }, now)).toBe('overdue')
    expect(dueStatus({ ...step, timeZone: 'Pacific/Pago_Pago' }, now)).toBe('upcoming')
  })
})

describe('instantOf', () => {
  it('turns a day and time on a zone’s clock into the instant, across DST jumps', () => {
    expect(instantOf('2026-07-01', '09:00', 'America/New_York').toISOString()).toBe(
      '2026-07-01T13:00:00.000Z',
    )
    expect(instantOf('2026-01-01', null, 'Asia/Tokyo').toISOString()).toBe(
      '2025-12-31T15:00:00.000Z',
    )
    // Berlin skips 02:00–03:00 on 29 March: 02:30 reads as 03:30 CEST.
    expect(instantOf('2026-03-29', '02:30', 'Europe/Berlin').toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    )
    // …and repeats 02:00–03:00 on 25 October: the first pass.
    expect(instantOf('2026-10-25', '02:30', 'Europe/Berlin').toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    )
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
  })
})

describe('dueProblem', () => {
  const now = at('2026-12-01T23:30:00Z')
  it('accepts today or later on the planner’s clock', () => {
    expect(dueProblem('2026-12-01', null, 'America/New_York', now)).toBeNull()
    expect(dueProblem('2026-12-02', '09:00', 'Asia/Tokyo', now)).toBeNull()
  })
  it('refuses a past day, a bad date and a bad time', () => {
    expect(dueProblem('2026-12-01', null, 'Asia/Tokyo', now)).toMatch(/today or later/)
    expect(dueProblem('2026-02-30', null, 'UTC', now)).toMatch(/YYYY-MM-DD/)
    expect(dueProblem('2026-12-05', '24:00', 'UTC', now)).toMatch(/HH:MM/)
    expect(dueProblem('2026-12-05', '9:00', 'UTC', now)).toMatch(/HH:MM/)
  })
})

describe('lacksNextStep', () => {
  it('flags open deals without a planned step, never closed ones', () => {
    expect(lacksNextStep({ stage: 'demo', nextStepOn: null })).toBe(true)
    expect(lacksNextStep({ stage: 'target', nextStepOn: null })).toBe(true)
    expect(lacksNextStep({ stage: 'demo', nextStepOn: '2026-12-01' })).toBe(false)
    expect(lacksNextStep({ stage: 'won', nextStepOn: null })).toBe(false)
    expect(lacksNextStep({ stage: 'lost', nextStepOn: null })).toBe(false)
  })
})

describe('sortSteps', () => {
  it('sorts My day’s steps into overdue, today and coming up, each in its own zone', () => {
    const now = at('2026-12-01T23:30:00Z')
    const step = (id: string, dueOn: string, dueTime: string | null, timeZone: string) => ({
      id,
      step: { dueOn, dueTime, timeZone } as never,
    })
    const sorted = sortSteps(
      [
        step('tokyo-yesterday', '2026-12-01', null, 'Asia/Tokyo'),
        step('ny-today', '2026-12-01', '20:00', 'America/New_York'),
        step('ny-past-time', '2026-12-01', '18:00', 'America/New_York'),
        step('tokyo-today', '2026-12-02', '10:00', 'Asia/Tokyo'),
        step('utc-next-week', '2026-12-08', null, 'UTC'),
      ],
      now,
    )
    expect(sorted.overdue.map((s) => s.id)).toEqual(['tokyo-yesterday', 'ny-past-time'])
    expect(sorted.today.map((s) => s.id)).toEqual(['ny-today', 'tokyo-today'])
    expect(sorted.upcoming.map((s) => s.id)).toEqual(['utc-next-week'])
  })

  it('coming up is the week ahead on each step’s clock, not the extra day My day reads', () => {
    // 23:30 UTC on Dec 1: Dec 2 in Tokyo. The week ahead ends Dec 8 in UTC, Dec 9 in Tokyo.
    const now = at('2026-12-01T23:30:00Z')
    const step = (id: string, dueOn: string, timeZone: string) => ({
      id,
      step: { dueOn, dueTime: null, timeZone } as never,
    })
    const sorted = sortSteps(
      [
        step('utc-in-7-days', '2026-12-08', 'UTC'),
        step('utc-in-8-days', '2026-12-09', 'UTC'),
        step('tokyo-in-7-days', '2026-12-09', 'Asia/Tokyo'),
        step('tokyo-in-8-days', '2026-12-10', 'Asia/Tokyo'),
      ],
      now,
    )
    expect(sorted.upcoming.map((s) => s.id)).toEqual(['utc-in-7-days', 'tokyo-in-7-days'])
  })
})

describe('describeActivityEvent', () => {
  it('says what was planned and how a done step went', () => {
    expect(
      describeActivityEvent({
        action: 'planned',
        activityType: 'call',
        dueOn: '2026-12-01',
        dueTime: '09:30',
        timeZone: 'Europe/Berlin',
        note: 'Ask about the budget',
      }),
    ).toEqual({
      title: 'Next step planned: Call, due Tue, Dec 1, 09:30 (Europe/Berlin)',
      detail: 'Ask about the budget',
    })
    expect(
      describeActivityEvent({ action: 'done', activityType: 'call', outcome: 'left voicemail' })
        .title,
    ).toBe('Call — left voicemail')
    expect(
      describeActivityEvent({ action: 'logged', activityType: 'meeting', note: 'Met at the fair' }),
    ).toEqual({ title: 'Meeting (logged)', detail: 'Met at the fair' })
  })

  it('says from when to when a step was moved, each in the zone it was planned in, and what was cancelled', () => {
    expect(
      describeActivityEvent({
        action: 'rescheduled',
        activityType: 'meeting',
        dueOn: '2026-12-08',
        dueTime: null,
        timeZone: 'America/New_York',
        from: { dueOn: '2026-12-01', dueTime: '09:30', timeZone: 'Europe/Berlin' },
      }).title,
    ).toBe('Next step rescheduled: Meeting from Tue, Dec 1, 09:30 (Europe/Berlin) to Tue, Dec 8')
    expect(
      describeActivityEvent({
        action: 'cancelled',
        activityType: 'task',
        dueOn: '2026-12-01',
        dueTime: '16:00',
        timeZone: 'UTC',
        note: 'Send the contract',
      }),
    ).toEqual({
      title: 'Next step cancelled: Task, was due Tue, Dec 1, 16:00 (UTC)',
      detail: 'Send the contract',
    })
    // A malformed "from" (an old or hand-made event) says only where it went.
    expect(
      describeActivityEvent({
        action: 'rescheduled',
        activityType: 'call',
        dueOn: '2026-12-08',
        from: 'x',
      }).title,
    ).toBe('Next step rescheduled: Call to Tue, Dec 8')
  })
})
