import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Logger } from '../logger.ts'
import { pathForLog } from './bearer-path.ts'

// The access log: one line per request, the same for the API (api/app.ts) and for the pages and
// files api/server.ts serves itself: `request` with the request id, method, path (a bearer link's
// token left out, never a query: it may carry an address or a token), status and milliseconds.

/** The id of a request: the proxy's X-Request-Id when TRUST_PROXY says it is ours, else a new one. */
export function requestIdOf(header: string | undefined | null, trustProxy: boolean): string {
  return (trustProxy && header?.slice(0, 64)) || randomUUID()
}

/** Writes the access-log line of a request that started at `started` (performance.now()). */
export function logRequest(
  log: Logger,
  level: 'debug' | 'info',
  request: { method: string; path: string; status: number; started: number },
  extra?: Record<string, unknown>,
): void {
  log[level]('request', {
    method: request.method,
    path: pathForLog(request.path),
    status: request.status,
    ms: Math.round((performance.now() - request.started) * 10) / 10,
    ...extra,
  })
}

/**
 * Logs a request answered on node:http (a page Astro renders, a static file) once its response
 * has gone out, or the client went away first (`aborted`).
 */
export function logWhenDone(
  logger: Logger,
  level: 'debug' | 'info',
  request: { method: string; path: string; requestId: string },
  outgoing: ServerResponse,
): void {
  if (!logger.enabled(level)) return
  const started = performance.now()
  outgoing.once('close', () => {
    logRequest(
      logger.child({ requestId: request.requestId }),
      level,
      { method: request.method, path: request.path, status: outgoing.statusCode, started },
      outgoing.writableFinished ? undefined : { aborted: true },
    )
  })
}
