import ipaddr from 'ipaddr.js'

/**
 * What `npm start` (the try-it command) sets DEMO_SEED to when it is not set: `yes` (an empty
 * embedded database gets the demo team and pipeline) unless this is production, a PostgreSQL
 * server, or a server other machines can reach: the demo accounts' password is in the README, so
 * a server listening beyond this machine gets them only when asked (`DEMO_SEED=yes`), and is told
 * why (`note`).
 */
export function demoSeedDefault(env: Record<string, string | undefined>): {
  value: 'yes' | null
  note: string | null
} {
  if (env.DEMO_SEED !== undefined || env.NODE_ENV === 'production' || env.DATABASE_URL)
    return { value: null, note: null }
  const host = env.HOST || 'localhost'
  if (isLoopback(host)) return { value: 'yes', note: null }
  return {
    value: null,
    note: `Demo data is not added on its own: HOST=${host} lets other machines reach this server, and the demo accounts' password is published. DEMO_SEED=yes adds it anyway.`,
  }
}

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (!ipaddr.isValid(bare)) return false
  return ipaddr.process(bare).range() === 'loopback'
}
