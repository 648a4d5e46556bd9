import { existsSync } from 'node:fs'

// Debian's Chromium (`apt-get install chromium`), or CHROMIUM_PATH, started the one way every
// tool here starts it (Playwright, chrome-launcher for Lighthouse): as root, so without the
// sandbox; without a GPU; and quiet on a closed network — without the background flags it keeps
// reaching for Google's hosts, which this machine refuses, many connections at a time.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]
