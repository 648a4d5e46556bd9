import type { StageEvent } from '../../../api/pipeline/metrics.ts'

// A stage history with answers worked out by hand; the pure functions and the SQL aggregates
// must both reproduce them.

export const at = (day: string) => new Date(`${day}T00:00:00Z`)

/**
 * A hand-built history. Period: November 2026.
 *   A: target 10-01 → demo 10-11 → decision_maker 11-05 → negotiation 11-15 → signed 11-20 → won 11-25
 *   B: target 11-02 → demo 11-06 → lost 11-16
 *   C: target 11-03 → lost 11-04
 *   D: target 10-20 → demo 11-10 → back to target 11-12 (still there)
 *   E: target 11-20 (still there)
 *   F: opportunity 09-01 → target 11-01 → demo 12-05
 */
export const HISTORY: StageEvent[] = (
  [
    ['A', null, 'target', '2026-10-01'],
    ['A', 'target', 'demo', '2026-10-11'],
    ['A', 'demo', 'decision_maker', '2026-11-05'],
    ['A', 'decision_maker', 'negotiation', '2026-11-15'],
    ['A', 'negotiation', 'signed', '2026-11-20'],
    ['A', 'signed', 'won', '2026-11-25'],
    ['B', null, 'target', '2026-11-02'],
    ['B', 'target', 'demo', '2026-11-06'],
    ['B', 'demo', 'lost', '2026-11-16'],
    ['C', null, 'target', '2026-11-03'],
    ['C', 'target', 'lost', '2026-11-04'],
    ['D', null, 'target', '2026-10-20'],
    ['D', 'target', 'demo', '2026-11-10'],
    ['D', 'demo', 'target', '2026-11-12'],
    ['E', null, 'target', '2026-11-20'],
    ['F', null, 'opportunity', '2026-09-01'],
    ['F', 'opportunity', 'target', '2026-11-01'],
    ['F', 'target', 'demo', '2026-12-05'],
  ] as const
).map(([dealId, fromStage, toStage, day]) => ({
  dealId,
  type: fromStage ? 'stage_changed' : 'created',
  fromStage,
  toStage,
  at: at(day),
}))

export const NOVEMBER = { from: at('2026-11-01'), to: at('2026-12-01') }

export const EXPECTED_STATS = [
  { stage: 'opportunity', exits: 1, advanced: 1, lost: 0, back: 0, conversion: 1, medianDays: 61 },
  { stage: 'target', exits: 3, advanced: 2, lost: 1, back: 0, conversion: 2 / 3, medianDays: 4 },
  { stage: 'demo', exits: 3, advanced: 1, lost: 1, back: 1, conversion: 1 / 3, medianDays: 10 },
  {
    stage: 'decision_maker',
    exits: 1,
    advanced: 1,
    lost: 0,
    back: 0,
    conversion: 1,
    medianDays: 10,
  },
  { stage: 'negotiation', exits: 1, advanced: 1, lost: 0, back: 0, conversion: 1, medianDays: 5 },
  { stage: 'signed', exits: 1, advanced: 1, lost: 0, back: 0, conversion: 1, medianDays: 5 },
]

// Reached in November: target by B, C, E, F (D's return to target is a move back); demo by B, D;
// the rest by A, which was at demo when November began and was won on the 25th.
export const EXPECTED_FUNNEL = [
  { stage: 'target', reached: 4 },
  { stage: 'demo', reached: 2 },
  { stage: 'decision_maker', reached: 1 },
  { stage: 'negotiation', reached: 1 },
  { stage: 'signed', reached: 1 },
  { stage: 'won', reached: 1 },
]
