// A move more than one stage backwards asks first: one careless click must not send a signed
// deal back to the start. Here in a dialog, whose yes goes with the form (confirmBack); without
// JavaScript the server asks on a page of its own (/app/deals/:id/move) before it moves the deal.

/**
 * Stages between a deal's stage and the chosen one, going backwards (0: forward or one back).
 * `fromOrder` is what the server renders as the deal's backFromOrder (api/pipeline/stages.ts):
 * a move out of lost reopens the deal and goes back nowhere.
 */
export function stagesBack(fromOrder: number, toOrder: number): number {
  return Math.max(0, fromOrder - toOrder)
}

export function confirmBackwardMoves(root: ParentNode): void {
  for (const form of root.querySelectorAll<HTMLFormElement>('form[data-stage-move]')) {
    form.addEventListener('submit', (event) => {
      const select = form.querySelector<HTMLSelectElement>('select[name="stage"]')
      const option = select?.selectedOptions[0]
      if (!option?.dataset.order || !form.dataset.from) return
      const back = stagesBack(Number(form.dataset.from), Number(option.dataset.order))
      if (back <= 1) return
      const question = `Move this deal back ${back} stages, from ${form.dataset.fromName} to ${option.textContent?.trim()}?`
      if (!window.confirm(question)) {
        event.preventDefault()
        return
      }
      // Asked and answered: the server would otherwise ask again.
      let yes = form.querySelector<HTMLInputElement>('input[name="confirmBack"]')
      if (!yes) {
        yes = document.createElement('input')
        yes.type = 'hidden'
        yes.name = 'confirmBack'
        form.append(yes)
      }
      yes.value = 'yes'
    })
  }
}
