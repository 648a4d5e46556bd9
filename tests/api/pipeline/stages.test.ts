import { describe, expect, it } from 'vitest'
import { STAGE_KEYS } from '../../../api/db/schema.ts'
import {
  BOARD_STAGES,
  FUNNEL_PATH,
  isReopening,
  isStageKey,
  nextStage,
  OPEN_STAGES,
  probabilityOf,
  STAGES,
  stageOf,
  stagesBack,
  stageWithProbability,
} from '../../../api/pipeline/stages.ts'

describe('the stage table', () => {
  it('lists every stage the database allows, once, in funnel order with the method’s probabilities', () => {
    expect(STAGES.map((s) => s.key)).toEqual([...STAGE_KEYS])
    expect(STAGES.map((s) => [s.key, s.probability])).toEqual([
      ['opportunity', 0],
      ['target', 10],
      ['demo', 30],
      ['decision_maker', 50],
      ['negotiation', 70],
      ['signed', 90],
      ['won', 100],
      ['lost', 0],
    ])
    expect(STAGES.map((s) => s.order)).toEqual(STAGES.map((_, i) => i))
  })

  it('treats won and lost as closed and never stale; every open stage has a default threshold', () => {
    expect(OPEN_STAGES).toEqual([
      'opportunity',
      'target',
      'demo',
      'decision_maker',
      'negotiation',
      'signed',
    ])
    expect(stageOf('won').staleAfterDays).toBeNull()
    expect(stageOf('lost').staleAfterDays).toBeNull()
    for (const key of OPEN_STAGES) expect(stageOf(key).staleAfterDays).toBeGreaterThan(0)
  })

  it('knows the next stage on the path to won, and that lost has none', () => {
    expect(FUNNEL_PATH.map(nextStage)).toEqual([
      'target',
      'demo',
      'decision_maker',
      'negotiation',
      'signed',
      'won',
      null,
    ])
    expect(nextStage('lost')).toBeNull()
    expect(BOARD_STAGES[0]).toBe('target')
  })

  it('recognises stage keys and nothing else', () => {
    expect(isStageKey('demo')).toBe(true)
    expect(isStageKey('Demo')).toBe(false)
    expect(isStageKey('closed_won')).toBe(false)
    expect(isStageKey(30)).toBe(false)
    expect(probabilityOf('negotiation')).toBe(70)
  })
})

describe('a stage with its probability', () => {
  it('reads "Lost (0%)", not "Lost (with a reason) (0%)": a name’s own aside gives way to the figure', () => {
    expect(stageWithProbability('lost')).toBe('Lost (0%)')
    expect(stageWithProbability('demo')).toBe(`${stageOf('demo').name} (30%)`)
    expect(stageWithProbability('won')).toBe('Won: contract stamped and paid (100%)')
  })
})

describe('how far back a move goes', () => {
  it('counts the stages back by order, and a move out of lost as reopening, not back', () => {
    expect(stagesBack('signed', 'target')).toBe(4)
    expect(stagesBack('won', 'negotiation')).toBe(2)
    expect(stagesBack('demo', 'negotiation')).toBe(0)
    expect(stagesBack('demo', 'lost')).toBe(0)
    for (const to of ['target', 'demo', 'signed', 'won'] as const) {
      expect(stagesBack('lost', to)).toBe(0)
      expect(isReopening('lost', to)).toBe(true)
    }
    expect(isReopening('won', 'signed')).toBe(false)
  })
})
