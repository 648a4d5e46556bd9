import ipaddr from 'ipaddr.js'
import { bool } from '../env.ts'

/**
 * What `npm start` (the try-it command) sets DEMO_SEED to when it is not set: `yes` (an empty
 * embedded database gets the demo team and pipeline) unless this is production, a PostgreSQL
 * server, or a server other machines can reach (listening beyond loopback, or behind a proxy:
 * TRUST_PROXY, an APP_ORIGIN not on this machine): the demo accounts' password is in the README,
 * so such a server gets them only when asked (`DEMO_SEED=yes`), and is told why (`note`).
 */
export function demoSeedDefault(env: Record<string, string | undefined>): {
  value: 'yes' | null
  note: string | null
} {
  if (env.DEMO_SEED !== undefined || env.NODE_ENV === 'production' || env.DATABASE_URL)
    return { value: null, note: null }
  const note = (why: string) => ({
    value: null,
    note: `Demo data is not added on its own: ${why}, and the demo accounts' password is published. DEMO_SEED=yes adds it anyway.`,
  })
  const host = env.HOST || 'localhost'
  if (!isLoopback(host)) return note(`HOST=${host} lets other machines reach this server`)
  // On loopback behind a reverse proxy (nginx, Caddy) that the world reaches.
  if (bool.safeParse(env.TRUST_PROXY).data === true)
    return note(`TRUST_PROXY=${env.TRUST_PROXY} says a proxy brings others to this server`)
  const origin = publicHost(env.APP_ORIGIN)
  if (origin !== null && !isLoopback(origin))
    return note(`APP_ORIGIN=${env.APP_ORIGIN} is reached from elsewhere`)
  return { value: 'yes', note: null }
}

/** The host of APP_ORIGIN, or null when it is not set (or not a URL: the env check says so). */
function publicHost(origin: string | undefined): string | null {
  if (!origin?.trim()) return null
  try {
    return new URL(origin.trim()).hostname
  } catch {
    return null
  }
}

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (!ipaddr.isValid(bare)) return false
  return ipaddr.process(bare).range() === 'loopback'
}
