import { describe, expect, it } from 'vitest'
import { readBeaconRef, startBeacon, type BeaconHost } from '../../../src/scripts/beacon.ts'

// The landing page's beacon script against a stand-in browser: it sends the reference once,
// only after interaction, and takes it out of the address bar at once.

const REF = 'AbCdEfGhIjKlMnOpQrStUv'

function fakeBrowser(options: { hash?: string; visibility?: string; webdriver?: boolean } = {}) {
  const listeners = new Map<string, () => void>()
  const timers = new Map<number, () => void>()
  let nextTimer = 0
  const sent: Array<Record<string, string>> = []
  const urls: string[] = []
  let onVisibility: (() => void) | null = null
  const host: BeaconHost = {
    location: { hash: options.hash ?? `#fdr=${REF}`, pathname: '/whitepapers/x', search: '?a=1' },
    history: { state: null, replaceState: (_d, _u, url) => void urls.push(url) },
    document: {
      visibilityState: options.visibility ?? 'hidden',
      addEventListener: (_type, listener) => void (onVisibility = listener),
    },
    navigator: {
      webdriver: options.webdriver ?? false,
      sendBeacon: (url, data) => {
        expect(url).toBe('/api/beacon')
        sent.push(Object.fromEntries(data))
        return true
      },
    },
    addEventListener: (type, listener) => void listeners.set(type, listener),
    removeEventListener: (type) => void listeners.delete(type),
    setTimeout: (handler, ms) => {
      expect(ms).toBe(2_000)
      timers.set(++nextTimer, handler)
      return nextTimer
    },
    clearTimeout: (id) => void timers.delete(id as number),
  }
  return {
    host,
    sent,
    urls,
    fire: (type: string) => listeners.get(type)?.(),
    elapse: () => [...timers.values()].forEach((t) => t()),
    show: () => {
      host.document.visibilityState = 'visible'
      onVisibility?.()
    },
    hide: () => {
      host.document.visibilityState = 'hidden'
      onVisibility?.()
    },
  }
}

describe('the beacon script', () => {
  it('reads only a well-formed reference from the fragment', () => {
    expect(readBeaconRef(`#fdr=${REF}`)).toBe(REF)
    expect(readBeaconRef(`#x=1&fdr=${REF}`)).toBe(REF)
    expect(readBeaconRef('#fdr=short')).toBeNull()
    expect(readBeaconRef('')).toBeNull()
  })

  it('takes the reference out of the address at once and sends nothing without interaction', () => {
    const b = fakeBrowser()
    startBeacon(b.host)
    expect(b.urls).toEqual(['/whitepapers/x?a=1'])
    b.elapse()
    expect(b.sent).toEqual([])
  })

  it.each([
    ['pointerdown', 'pointer'],
    ['keydown', 'key'],
    ['scroll', 'scroll'],
  ])('sends it once after %s', (event, interaction) => {
    const b = fakeBrowser()
    startBeacon(b.host)
    b.fire(event)
    b.fire('pointerdown')
    b.elapse()
    expect(b.sent).toEqual([{ ref: REF, interaction }])
  })

  it('sends it after the page was visible for 2 s in one stretch', () => {
    const b = fakeBrowser()
    startBeacon(b.host)
    b.show()
    b.hide() // hidden again before 2 s: the timer is gone
    b.elapse()
    expect(b.sent).toEqual([])
    b.show()
    b.elapse()
    expect(b.sent).toEqual([{ ref: REF, interaction: 'visible', visibleMs: '2000' }])
  })

  it('sends nothing from an automated browser or without a reference', () => {
    const robot = fakeBrowser({ webdriver: true, visibility: 'visible' })
    startBeacon(robot.host)
    robot.fire('pointerdown')
    robot.elapse()
    expect(robot.sent).toEqual([])
    const plain = fakeBrowser({ hash: '' })
    startBeacon(plain.host)
    plain.fire('pointerdown')
    expect(plain.sent).toEqual([])
    expect(plain.urls).toEqual([])
  })
})
