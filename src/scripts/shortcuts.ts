// Keyboard shortcuts for the app, as an enhancement: every one of them has a link, a field or a
// form that works without JavaScript. `/` search, `g` then l/p/f/d go to leads, pipeline,
// forecast, My day, `n` a new next step on a deal page, `?` the list (a modal dialog). None fires
// while typing in a field or with Ctrl, Alt or Meta held.

const GO: Record<string, string> = {
  l: '/app/leads',
  p: '/app/pipeline',
  f: '/app/forecast',
  d: '/app/my-day',
}

/** A `g` waits this long for its second key. */
const SEQUENCE_MS = 1500

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof Element)) return false
  if (target instanceof HTMLElement && target.isContentEditable) return true
  return (
    target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !==
    null
  )
}

/** The first field of the deal page's "plan a next step" form (NextSteps.astro). */
function nextStepField(doc: Document): HTMLElement | null {
  const form = doc.querySelector<HTMLElement>('#next-steps form.plan-form, #next-step')
  if (!form) return null
  if (form instanceof HTMLDetailsElement) form.open = true
  return form.querySelector<HTMLElement>('input:not([type=hidden]), select, textarea') ?? form
}

export function enableShortcuts(doc: Document = document): void {
  let pendingG: number | null = null
  const clearG = () => {
    if (pendingG !== null) window.clearTimeout(pendingG)
    pendingG = null
  }

  doc.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing) return
    if (event.ctrlKey || event.altKey || event.metaKey) return clearG()
    if (typing(event.target)) return clearG()
    // Another dialog open (or ours): its own keys (Escape closes it) only.
    if (doc.querySelector('dialog[open]')) return clearG()

    const key = event.key
    if (pendingG !== null) {
      clearG()
      const href = GO[key]
      // Only where the nav offers it: a role without My day has no `g d`.
      if (href && doc.querySelector(`a[href="${href}"]`)) {
        event.preventDefault()
        window.location.assign(href)
      }
      return
    }
    if (key === '/') {
      const box = doc.getElementById('app-search')
      if (box instanceof HTMLInputElement) {
        event.preventDefault()
        box.focus()
        box.select()
      }
    } else if (key === 'g') {
      pendingG = window.setTimeout(clearG, SEQUENCE_MS)
    } else if (key === 'n') {
      const field = nextStepField(doc)
      if (field) {
        event.preventDefault()
        field.scrollIntoView({ block: 'center' })
        field.focus()
      }
    } else if (key === '?') {
      const dialog = doc.getElementById('shortcuts')
      if (dialog instanceof HTMLDialogElement) {
        event.preventDefault()
        dialog.showModal()
      }
    }
  })
}
