import { afterEach, describe, expect, it } from 'vitest'
import { confirmBackwardMoves } from '../../../src/scripts/stage-moves.ts'
import { backFromOrder, stageOf, type StageKey } from '../../../api/pipeline/stages.ts'

// The stage-move form's confirm dialog, with the data attributes the deal page and the board's
// cards render (data-from is backFromOrder of the deal's stage), against a stand-in form.

const asked: string[] = []
afterEach(() => {
  asked.length = 0
  delete (globalThis as { window?: unknown }).window
})

/** Submits a move of a deal at `from` to `to`; whether it went ahead. */
function submitMove(from: StageKey, to: StageKey): boolean {
  ;(globalThis as { window?: unknown }).window = {
    confirm: (question: string) => (asked.push(question), false),
  }
  let onSubmit: ((event: { preventDefault(): void }) => void) | undefined
  const option = { dataset: { order: String(stageOf(to).order) }, textContent: stageOf(to).name }
  const form = {
    dataset: { from: String(backFromOrder(from)), fromName: stageOf(from).name },
    querySelector: () => ({ selectedOptions: [option] }),
    addEventListener: (_type: string, listener: typeof onSubmit) => void (onSubmit = listener),
  }
  confirmBackwardMoves({ querySelectorAll: () => [form] } as unknown as ParentNode)
  let prevented = false
  onSubmit!({ preventDefault: () => void (prevented = true) })
  return !prevented
}

describe('the stage-move confirm dialog', () => {
  it('asks before a deal goes back more than one stage', () => {
    expect(submitMove('signed', 'target')).toBe(false)
    expect(asked).toEqual([
      'Move this deal back 4 stages, from Contract signed to Target identified?',
    ])
  })

  it('asks nothing when a lost deal is reopened, at any stage', () => {
    for (const to of ['target', 'demo', 'signed', 'won'] as const)
      expect(submitMove('lost', to)).toBe(true)
    expect(asked).toEqual([])
  })
})
