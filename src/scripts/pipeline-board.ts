import { stagesBack } from './stage-moves.ts'

// Drag-and-drop on the pipeline board, as an enhancement: every card also has a Move form that
// works without JavaScript. A drop posts the same JSON the API documents, then reloads the board
// so counts and sums come from the server. Won and lost need dates or a reason: those drops open
// a dialog whose form asks for them (or the deal page, where dialogs are not supported).

export function enhanceBoard(): void {
  const board = document.querySelector<HTMLElement>('[data-board]')
  if (!board) return
  const status = document.getElementById('board-status')
  const say = (text: string) => {
    if (status) status.textContent = text
  }
  let dragged: HTMLElement | null = null

  for (const card of board.querySelectorAll<HTMLElement>('.deal-card[data-editable]')) {
    card.draggable = true
    card.addEventListener('dragstart', (event) => {
      dragged = card
      card.classList.add('dragging')
      event.dataTransfer?.setData('text/plain', card.dataset.deal ?? '')
      if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move'
    })
    card.addEventListener('dragend', () => {
      card.classList.remove('dragging')
      dragged = null
      for (const c of board.querySelectorAll('.drop-target')) c.classList.remove('drop-target')
    })
  }

  for (const column of board.querySelectorAll<HTMLElement>('[data-column]')) {
    column.addEventListener('dragover', (event) => {
      if (!dragged || dragged.dataset.stage === column.dataset.column) return
      event.preventDefault()
      column.classList.add('drop-target')
    })
    column.addEventListener('dragleave', (event) => {
      if (!column.contains(event.relatedTarget as Node | null))
        column.classList.remove('drop-target')
    })
    column.addEventListener('drop', async (event) => {
      event.preventDefault()
      column.classList.remove('drop-target')
      const card = dragged
      const stage = column.dataset.column
      if (!card || !stage || card.dataset.stage === stage) return
      const id = card.dataset.deal!
      const back = stagesBack(Number(card.dataset.backFrom), Number(column.dataset.order))
      if (
        back > 1 &&
        !window.confirm(`Move this deal back ${back} stages, to ${column.dataset.name ?? stage}?`)
      )
        return
      if (column.dataset.closed) {
        // Won asks for the contract and payment dates, lost for a reason: a form in a dialog
        // posts the move like the deal page's, and the server's won gate still decides.
        const dialog = document.querySelector<HTMLDialogElement>(
          `dialog[data-close-stage="${stage}"]`,
        )
        const form = dialog?.querySelector('form')
        if (!dialog || !form || typeof dialog.showModal !== 'function') {
          window.location.assign(`/app/deals/${id}?close=${stage}#close`)
          return
        }
        form.action = `/api/deals/${id}/stage`
        const name = dialog.querySelector('[data-deal-name]')
        if (name) name.textContent = card.querySelector('h3')?.textContent ?? ''
        dialog.showModal()
        return
      }
      say('Moving…')
      try {
        const res = await fetch(`/api/deals/${id}/stage`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ stage }),
          credentials: 'same-origin',
        })
        if (res.ok) {
          window.location.reload()
          return
        }
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null
        say(body?.error?.message ?? `The move failed (${res.status}).`)
      } catch {
        say('The move failed: no connection to the server.')
      }
    })
  }
}
