import { Hono } from 'hono'
import { permissionProblem } from '../accounts/guards.ts'
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
 * Anyone may ask whether things work. The transport's error, which names the mail server (host,
 * port) and quotes it, goes only to those who may manage the outbox: an admin signed in, not an
 * API token (a token is narrowed to its scopes, and none opens the outbox).
 */
export const healthRoutes = (clicks: Pick<ClickWriter, 'stats'>) =>
  new Hono<AppEnv>().get('/', async (c) => {
    const { database, version } = c.var.deps
    const ok = await database.ping()
    const { recorded, unrecorded, pending, flushes, batchSizes } = clicks.stats()
    const showReason = permissionProblem(c, 'outbox:manage') === null
    // The answer differs by who asks: a shared cache must not hand an admin's to anyone else.
    c.header('Cache-Control', 'private, no-store')
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        database: { engine: database.engine, ok },
        ...(ok ? { outbox: await outboxStatus(c.var.deps, showReason) } : {}),
        clicks: { recorded, unrecorded, pending, commits: flushes, commitsBySize: batchSizes },
        version,
      },
      ok ? 200 : 503,
    )
  })

// A paused (credentials rejected) or unreachable transport shows here; it does not make the instance unhealthy,
// because pages and forms keep working while mail waits in the outbox.
async function outboxStatus({ db, env, now }: AppEnv['Variables']['deps'], showReason: boolean) {
  const transport = transportKindFor(env)
  const [backlog, state] = await Promise.all([
    outboxHealth(db, now()),
    readTransportState(db, transport),
  ])
  const reason = showReason ? { transportReason: state.reason } : {}
  return {
    ...backlog,
    transport,
    transportState: state.state,
    ...(state.state === 'paused' ? { ...reason, pausedSince: state.since } : {}),
    // The last attempt could not reach the server: since when it has been so (and, to admins, its error).
    ...(state.state === 'unreachable' ? { ...reason, unreachableSince: state.since } : {}),
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
      "Whether the instance works: the database, the email outbox and its transport, tracked-link clicks recorded by this process, the version. The transport's error (outbox.transportReason) is shown to signed-in admins only.",
    auth: 'none',
    ok: [
      200,
      '{ status: "ok", database, outbox, clicks, version }; a paused or unreachable transport gives outbox.transportState and since when (pausedSince, unreachableSince), and to a signed-in admin also outbox.transportReason, the mail server\'s error.',
    ],
    other: { 503: '{ status: "degraded", … }: the database does not answer.' },
  },
]
