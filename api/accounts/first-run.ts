import type { Deps } from '../deps.ts'
import { countUsers, createUserToken, revokeUserTokens } from './users.ts'

/**
 * With no account yet, print a one-time link to create the first admin. One link is live at a
 * time: each start without users prints a new one and ends the ones printed before.
 */
export async function announceFirstRun(deps: Deps): Promise<string | null> {
  if ((await countUsers(deps.db)) > 0) return null
  const now = deps.now()
  const { token } = await deps.db.transaction(async (tx) => {
    await revokeUserTokens(tx, 'setup', now)
    return createUserToken(tx, 'setup', null, now)
  })
  const link = `${deps.env.APP_ORIGIN}/setup?token=${token}`
  const bar = '─'.repeat(Math.min(100, link.length + 4))
  process.stdout.write(
    `\n${bar}\n  No account exists yet. Create the first admin (link valid 24 hours, one use):\n  ${link}\n  Or at any time: npm run user:add -- --email you@example.com --name "You" --role admin\n${bar}\n\n`,
  )
  return link
}
