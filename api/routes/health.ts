import { Hono } from 'hono'
import { transportKindFor } from '../email/mailer.ts'
import { outboxHealth } from '../email/outbox.ts'
import { readTransportState } from '../email/transport-status.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { ClickWriter } from '../tracking/click-writer.ts'

/**
 * GET /api/health. `clicks` counts this process's tracked-link clicks since it started: those
 * committed, and those answered with their 302 although their insert failed twice (the failure
 * policy in the README): any unrecorded click means the database lost writes and was logged.
 */
export const healthRoutes = (clicks: Pick<ClickWriter, 'stats'>) =>
  new Hono<AppEnv>().get('/', async (c) => {
    const { database, version } = c.var.deps
    const ok = await database.ping()
    const { recorded, unrecorded } = clicks.stats()
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        database: { engine: database.engine, ok },
        ...(ok ? { outbox: await outboxStatus(c.var.deps) } : {}),
        clicks: { recorded, unrecorded },
        version,
      },
      ok ? 200 : 503,
    )
  })

// A paused (credentials rejected) or unreachable transport shows here; it does not make the instance unhealthy,
// because pages and forms keep working while mail waits in the outbox.
async function outboxStatus({ db, env, now }: AppEnv['Variables']['deps']) {
  const transport = transportKindFor(env)
  const [backlog, state] = await Promise.all([
    outboxHealth(db, now()),
    readTransportState(db, transport),
  ])
  return {
    ...backlog,
    transport,
    transportState: state.state,
    ...(state.state === 'paused'
      ? { transportReason: state.reason, pausedSince: state.since }
      : {}),
    // The last attempt could not reach the server: its error, and since when it has been so.
    ...(state.state === 'unreachable'
      ? { transportReason: state.reason, unreachableSince: state.since }
      : {}),
  }
}
