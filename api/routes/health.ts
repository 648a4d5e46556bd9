import { Hono } from 'hono'
import { transportKindFor } from '../email/mailer.ts'
import { outboxHealth } from '../email/outbox.ts'
import { readTransportState } from '../email/transport-status.ts'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import type { ClickWriter } from '../tracking/click-writer.ts'

/**
 * GET /api/health. `clicks` counts this process's tracked-link clicks since it started: those
 * committed, and those answered with their 302 although their insert failed twice (the failure
 * policy in the README): any unrecorded click means the database lost writes and was logged.
 * `pending`: journaled (durable) clicks not yet moved into the database (the embedded one only).
 * `commits` and `commitsBySize`: the group commits (journal appends on the embedded database) and
 * how many carried each number of clicks — how much one commit (one fsync) is shared under load.
 */
export const healthRoutes = (clicks: Pick<ClickWriter, 'stats'>) =>
  new Hono<AppEnv>().get('/', async (c) => {
    const { database, version } = c.var.deps
    const ok = await database.ping()
    const { recorded, unrecorded, pending, flushes, batchSizes } = clicks.stats()
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        database: { engine: database.engine, ok },
        ...(ok ? { outbox: await outboxStatus(c.var.deps) } : {}),
        clicks: { recorded, unrecorded, pending, commits: flushes, commitsBySize: batchSizes },
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

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api',
    summary: 'The API root: a redirect to /api/health.',
    auth: 'none',
    ok: [302, 'Location: /api/health.'],
  },
  {
    method: 'get',
    path: '/api/health',
    summary:
      'Whether the instance works: the database, the email outbox and its transport, tracked-link clicks recorded by this process, the version.',
    auth: 'none',
    ok: [200, '{ status: "ok", database, outbox, clicks, version }'],
    other: { 503: '{ status: "degraded", … }: the database does not answer.' },
  },
]
