// The landing-page beacon (api/tracking/beacon.ts): a tracked link to a page of this site lands
// with `#fdr=<ref>`. The fragment is dropped from the address at once (a reload, bookmark or
// shared link must not carry it), and the reference goes back with navigator.sendBeacon only
// after real interaction: a pointer, a key, a scroll, or the page visible for 2 s. Automated
// browsers (navigator.webdriver) send nothing. Without this script every page works the same.

export const BEACON_PARAM = 'fdr'
export const VISIBLE_MS = 2_000

const REF = /^[A-Za-z0-9_-]{22}$/

/** The reference in a location hash, or null. */
export function readBeaconRef(hash: string): string | null {
  const ref = new URLSearchParams(hash.replace(/^#/, '')).get(BEACON_PARAM)
  return ref && REF.test(ref) ? ref : null
}

/** What the beacon needs of the browser (a test passes its own). */
export interface BeaconHost {
  location: { hash: string; pathname: string; search: string }
  history: { replaceState(data: unknown, unused: string, url: string): void; state: unknown }
  document: {
    visibilityState: string
    addEventListener(type: 'visibilitychange', listener: () => void): void
  }
  navigator: { webdriver?: boolean; sendBeacon?(url: string, data: URLSearchParams): boolean }
  addEventListener(type: string, listener: () => void, options?: AddEventListenerOptions): void
  removeEventListener(type: string, listener: () => void): void
  setTimeout(handler: () => void, ms: number): unknown
  clearTimeout(id: unknown): void
}

const INTERACTIONS = { pointerdown: 'pointer', keydown: 'key', scroll: 'scroll' } as const

export function startBeacon(host: BeaconHost): void {
  const ref = readBeaconRef(host.location.hash)
  if (!ref) return
  host.history.replaceState(host.history.state, '', host.location.pathname + host.location.search)
  if (host.navigator.webdriver || !host.navigator.sendBeacon) return

  let sent = false
  let timer: unknown = null
  const listeners = Object.entries(INTERACTIONS).map(
    ([event, interaction]) => [event, () => send(interaction)] as const,
  )
  const send = (interaction: string, visibleMs?: number) => {
    if (sent) return
    sent = true
    for (const [event, listener] of listeners) host.removeEventListener(event, listener)
    if (timer !== null) host.clearTimeout(timer)
    const body = new URLSearchParams({ ref, interaction })
    if (visibleMs !== undefined) body.set('visibleMs', String(visibleMs))
    host.navigator.sendBeacon!('/api/beacon', body)
  }
  for (const [event, listener] of listeners)
    host.addEventListener(event, listener, { passive: true, once: true })

  // Visible for 2 s in one stretch (a tab opened in the background counts once it is shown).
  const watchVisibility = () => {
    if (timer !== null) host.clearTimeout(timer)
    timer = null
    if (!sent && host.document.visibilityState === 'visible')
      timer = host.setTimeout(() => send('visible', VISIBLE_MS), VISIBLE_MS)
  }
  host.document.addEventListener('visibilitychange', watchVisibility)
  watchVisibility()
}
