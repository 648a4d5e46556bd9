import type { Deps } from '../deps.ts'
import { watchDatabaseOutage } from '../db/unavailable.ts'
import { countUsers, createUserToken, renewUserToken, tokenLifetimeMs } from './users.ts'

// With no account yet, each server start prints a one-time link to create the first admin.
// Several servers may share one PostgreSQL, each printing its own link: none ends another's (a
// link copied from one server's log was dead once another started). A link lives while the
// server that printed it runs, renewing its lease, up to 24 hours: one from a stopped server
// (an old log) lapses within SETUP_LINK_LEASE_MS. Creating the admin ends them all.

/** How long a setup link outlives its server's last renewal. */
export const SETUP_LINK_LEASE_MS = 5 * 60_000
/** How often a running server renews its setup links. */
export const SETUP_LINK_RENEW_EVERY_MS = 60_000

interface Announced {
  id: string
  /** Its 24 hours are up: no renewal goes past it. */
  endsAt: Date
}

// The links this process printed, by the deps it printed them with: only it renews them.
const announced = new WeakMap<Deps, Announced[]>()

export async function announceFirstRun(deps: Deps): Promise<string | null> {
  if ((await countUsers(deps.db)) > 0) return null
  const now = deps.now()
  const endsAt = new Date(now.getTime() + tokenLifetimeMs('setup'))
  const lease = new Date(now.getTime() + SETUP_LINK_LEASE_MS)
  const { id, token } = await createUserToken(deps.db, 'setup', null, now, lease)
  announced.set(deps, [...(announced.get(deps) ?? []), { id, endsAt }])
  const link = `${deps.env.APP_ORIGIN}/setup?token=${token}`
  const bar = '─'.repeat(Math.min(100, link.length + 4))
  process.stdout.write(
    `\n${bar}\n  No account exists yet. Create the first admin (link valid while this server runs, up to 24 hours, one use):\n  ${link}\n  Or at any time: npm run user:add -- --email you@example.com --name "You" --role admin\n${bar}\n\n`,
  )
  return link
}

/**
 * Renews the lease of the setup links this process printed; forgets those used, expired or
 * past their 24 hours. How many are still live.
 */
export async function renewFirstRunLinks(deps: Deps): Promise<number> {
  const mine = announced.get(deps)
  if (!mine?.length) return 0
  const now = deps.now()
  const live: Announced[] = []
  for (const link of mine) {
    const lease = new Date(Math.min(link.endsAt.getTime(), now.getTime() + SETUP_LINK_LEASE_MS))
    if (lease > now && (await renewUserToken(deps.db, link.id, lease, now))) live.push(link)
  }
  announced.set(deps, live)
  return live.length
}

/** Keeps this process's setup links alive while it runs (background.ts). */
export function startFirstRunLease(deps: Deps, everyMs = SETUP_LINK_RENEW_EVERY_MS) {
  let running: Promise<unknown> | null = null
  const outage = watchDatabaseOutage(deps.logger, 'setup link renewal', deps.now)
  const timer = setInterval(() => {
    if (running || !announced.get(deps)?.length || !outage.due()) return
    running = renewFirstRunLinks(deps)
      .then(outage.succeeded, (err: unknown) => {
        if (!outage.failed(err)) deps.logger.error('setup link renewal failed', { err })
      })
      .finally(() => {
        running = null
      })
  }, everyMs)
  timer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      await running
    },
  }
}
