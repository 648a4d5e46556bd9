// Progressive enhancement for the progress page: ask the API for the report's status and reload
// the page the moment it changes (without JavaScript, a <noscript> refresh does it every 2 s).

const POLL_MS = 1_000
const GIVE_UP_MS = 5 * 60_000

export function watchProgress(root: ParentNode): void {
  const box = root.querySelector<HTMLElement>('[data-grader-progress]')
  const id = box?.dataset.reportId
  if (!box || !id) return
  const started = Date.now()
  let stopped = false
  const elapsedAtLoad = Number(box.dataset.elapsed ?? 0)
  const steps = Array.from(box.querySelectorAll<HTMLElement>('[data-at]'))

  // Move the "what is happening" steps along with the time, as the server-rendered page would.
  const advance = () => {
    if (steps.length === 0) return
    const elapsed = elapsedAtLoad + (Date.now() - started) / 1000
    let active = 0
    steps.forEach((step, i) => {
      if (elapsed >= Number(step.dataset.at)) active = i
    })
    steps.forEach((step, i) => {
      step.classList.toggle('gr-step--done', i < active)
      step.classList.toggle('gr-step--active', i === active)
      if (i === active) step.setAttribute('aria-current', 'step')
      else step.removeAttribute('aria-current')
    })
  }

  const tick = async () => {
    if (stopped) return
    advance()
    try {
      const response = await fetch(`/api/grader/${encodeURIComponent(id)}`, {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store',
      })
      if (response.ok) {
        const body = (await response.json()) as { report?: { status?: string } }
        const status = body.report?.status
        // Done, failed, or out of the queue and running: the server renders the new state.
        if (status && status !== box.dataset.status) {
          stopped = true
          window.location.reload()
          return
        }
      }
    } catch {
      // A dropped request is retried at the next tick.
    }
    if (Date.now() - started < GIVE_UP_MS) window.setTimeout(tick, POLL_MS)
    else window.location.reload()
  }
  window.setTimeout(tick, POLL_MS)
}
