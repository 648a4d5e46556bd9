import { STAGE_KEYS } from '../db/schema.ts'

// The funnel stages of the sales method, in order: the one table in code. A deal's win
// probability always comes from its stage, never from free text on the deal.

export type StageKey = (typeof STAGE_KEYS)[number]

export interface Stage {
  key: StageKey
  name: string
  /** Short label for narrow columns and charts. */
  short: string
  /** Win probability in percent. */
  probability: number
  order: number
  /** Days a deal may sit in this stage before it is flagged stale; null: never stale. */
  staleAfterDays: number | null
  /** won and lost end a deal. */
  closed: boolean
}

export const STAGES: readonly Stage[] = [
  {
    key: 'opportunity',
    name: 'Opportunity (prospect)',
    short: 'Opportunity',
    probability: 0,
    order: 0,
    staleAfterDays: 30,
    closed: false,
  },
  {
    key: 'target',
    name: 'Target identified',
    short: 'Target',
    probability: 10,
    order: 1,
    staleAfterDays: 7,
    closed: false,
  },
  {
    key: 'demo',
    name: 'Demo & support won',
    short: 'Demo',
    probability: 30,
    order: 2,
    staleAfterDays: 14,
    closed: false,
  },
  {
    key: 'decision_maker',
    name: 'Key decision-maker engaged',
    short: 'Decision-maker',
    probability: 50,
    order: 3,
    staleAfterDays: 21,
    closed: false,
  },
  {
    key: 'negotiation',
    name: 'Negotiating the solution',
    short: 'Negotiation',
    probability: 70,
    order: 4,
    staleAfterDays: 21,
    closed: false,
  },
  {
    key: 'signed',
    name: 'Contract signed',
    short: 'Signed',
    probability: 90,
    order: 5,
    staleAfterDays: 30,
    closed: false,
  },
  {
    key: 'won',
    name: 'Won: contract stamped and paid',
    short: 'Won',
    probability: 100,
    order: 6,
    staleAfterDays: null,
    closed: true,
  },
  {
    key: 'lost',
    name: 'Lost (with a reason)',
    short: 'Lost',
    probability: 0,
    order: 7,
    staleAfterDays: null,
    closed: true,
  },
]

const byKey = new Map(STAGES.map((s) => [s.key, s]))

export function isStageKey(value: unknown): value is StageKey {
  return typeof value === 'string' && byKey.has(value as StageKey)
}

export function stageOf(key: StageKey): Stage {
  return byKey.get(key)!
}

/** "Demo (30%)", "Lost (0%)": a stage's name, its own aside giving way to its probability. */
export function stageWithProbability(key: StageKey): string {
  const stage = stageOf(key)
  return `${stage.name.replace(/ \(.*\)$/, '')} (${stage.probability}%)`
}

export function probabilityOf(key: StageKey): number {
  return stageOf(key).probability
}

/** Stages a deal is worked in (not won or lost). */
export const OPEN_STAGES: readonly StageKey[] = STAGES.filter((s) => !s.closed).map((s) => s.key)

/** The forward path from prospect to won: conversion is measured between neighbours on it. */
export const FUNNEL_PATH: readonly StageKey[] = [
  'opportunity',
  'target',
  'demo',
  'decision_maker',
  'negotiation',
  'signed',
  'won',
]

/** Columns of the pipeline board: a rep's deals from take-over to close. */
export const BOARD_STAGES: readonly StageKey[] = [
  'target',
  'demo',
  'decision_maker',
  'negotiation',
  'signed',
  'won',
  'lost',
]

/** The open stages the board has a column for: every open stage but the 0% prospects. */
export const OPEN_BOARD_STAGES: readonly StageKey[] = BOARD_STAGES.filter((s) => !stageOf(s).closed)

/**
 * The order a move out of this stage is measured from, to tell how far back it goes: the stage's
 * own, but none for lost. Lost is off the funnel path (its order is past won's): a move out of it
 * reopens the deal at the stage it goes to, which the funnel counts as reaching that stage
 * (funnelFrom), not as a move back.
 */
export function backFromOrder(stage: StageKey): number {
  return stage === 'lost' ? -1 : stageOf(stage).order
}

/** How many stages back a move goes: 0 for a move forward, and for one out of lost (reopened). */
export function stagesBack(from: StageKey, to: StageKey): number {
  return Math.max(0, backFromOrder(from) - stageOf(to).order)
}

/** A move out of lost, to an open stage or won: the deal is reopened there. */
export function isReopening(from: StageKey, to: StageKey): boolean {
  return from === 'lost' && to !== 'lost'
}

/** The stage after this one on the forward path; null for won, lost and unknown. */
export function nextStage(key: StageKey): StageKey | null {
  const i = FUNNEL_PATH.indexOf(key)
  return i >= 0 && i < FUNNEL_PATH.length - 1 ? FUNNEL_PATH[i + 1]! : null
}

/** Stale thresholds per stage in days: the defaults, overridden by what an admin saved. */
export type StaleThresholds = Partial<Record<StageKey, number | null>>

export function defaultStaleThresholds(): Record<StageKey, number | null> {
  return Object.fromEntries(STAGES.map((s) => [s.key, s.staleAfterDays])) as Record<
    StageKey,
    number | null
  >
}
