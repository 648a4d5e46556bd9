// The composition root: configuration → dependencies → the Hono app in front, static files,
// and Astro's page renderer behind it. Run by server.ts (`node server.ts`; `npm start` builds
// first, scripts/start.ts), which loads the module hooks before it.
import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import type { HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { createApp } from './app.ts'
import { trackedLinkRedirect } from './tracking/redirect.ts'
import { createDeps } from './deps.ts'
import { openClickWriter } from './tracking/click-journal.ts'
import { startBackground } from './background.ts'
import { maintainEmbedded } from './db/maintenance.ts'
import { DatabaseUnreachableError, DataDirInUseError } from './db/client.ts'
import type { Deps } from './deps.ts'
import { EnvError, parseEnv } from './env.ts'
import { announceFirstRun } from './accounts/first-run.ts'
import { offerDemoSeed } from './demo/seed.ts'
import { staticFiles } from './http/static-files.ts'
import { logWhenDone, requestIdOf } from './http/access-log.ts'
import { generateDemoPdfs } from './demo/pdfs.ts'
import { scrubStoredUrls } from './leads/stored-urls.ts'

export interface RunningServer {
  url: string
  deps: Deps
  close(): Promise<void>
}

export async function startServer(
  envSource: Record<string, string | undefined> = process.env,
  /** A test's clock (tests/e2e/clocked-server.ts); the server's own is the system's. */
  overrides: Pick<Partial<Deps>, 'now'> = {},
): Promise<RunningServer> {
  const env = parseEnv(envSource)
  const deps = await createDeps(env, overrides)
  // PGlite runs no autovacuum: serve from fresh statistics and visibility maps (~2 s at 100k
  // deals, measured; see api/db/maintenance.ts). The CLI scripts skip this.
  await maintainEmbedded(deps.database)
  // Page URLs and referrers stored before our bearer tokens were kept out of them (once).
  await scrubStoredUrls(deps.db, env.APP_ORIGIN, deps.logger)
  // The demo content's gated PDFs are generated, not committed: write any that are missing.
  await generateDemoPdfs(env.CONTENT_FILES_DIR)
  // DEMO_SEED=yes fills an empty pipeline before the first request; ask (default) prints how.
  await offerDemoSeed(deps)
  const clientDir = new URL('../dist/client/', import.meta.url)
  const { handler: astro } = (await import(
    new URL('../dist/server/entry.mjs', import.meta.url).href
  )) as {
    handler: (
      req: unknown,
      res: unknown,
      next: (err?: unknown) => void,
      locals: App.Locals,
    ) => Promise<void>
  }
  const statics = await staticFiles(clientDir)

  // Tracked-link clicks are committed in groups (journaled first on the embedded database, which
  // replays what a crash left); the writer is drained before the database closes.
  const clicks = await openClickWriter(deps)
  const trackedLink = trackedLinkRedirect(deps, clicks)
  const api = createApp(deps, clicks, trackedLink)
  // Only /api and the reserved hot paths (/r tracked links, /u unsubscribe, /d downloads) are
  // Hono's; static files are served next; everything else is rendered by Astro.
  const apiPaths = /^\/(api|r|u|d)(\/|$)/
  const render = async (
    { incoming, outgoing }: HttpBindings,
    requestId: string,
  ): Promise<Response> => {
    await astro(
      incoming,
      outgoing,
      () => {
        // Unreachable while src/pages/[...path].astro answers every unknown URL with the
        // branded 404; never a bare text answer if a route is ever missing.
        outgoing.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' })
        outgoing.end(
          '<!doctype html><html lang="en"><meta charset="utf-8"><title>Page not found</title><h1>We could not find that page</h1><p><a href="/">Go to the home page</a></p></html>',
        )
      },
      // The request id of the access-log line: a failed page logs it and its 500 page shows it.
      { deps, requestId },
    )
    return RESPONSE_ALREADY_SENT
  }
  // Not async: Hono's promise goes back to the adapter as it is, without another tick.
  // The API logs its own requests (api/app.ts). Pages get the same access-log line here; static
  // files only at debug: each page pulls several (CSS, scripts, fonts, images), mostly hashed and
  // immutable, which at info would multiply the log without telling more of a visit than its
  // page's line does; LOG_LEVEL=debug shows them when an asset goes missing.
  const idOf = (bindings: HttpBindings) =>
    requestIdOf(bindings.incoming.headers['x-request-id'] as string | undefined, env.TRUST_PROXY)
  const logged = (
    request: Request,
    path: string,
    bindings: HttpBindings,
    level: 'debug' | 'info',
    requestId?: string,
  ) => {
    // Nothing made (not even a request id) for a line the level leaves out: every static file.
    if (!deps.logger.enabled(level)) return
    logWhenDone(
      deps.logger,
      level,
      { method: request.method, path, requestId: requestId ?? idOf(bindings) },
      bindings.outgoing,
    )
  }
  const fetch = (request: Request, bindings: HttpBindings): Response | Promise<Response> => {
    const path = pathOf(request.url)
    if (apiPaths.test(path)) return api.fetch(request, bindings)
    if (
      (request.method === 'GET' || request.method === 'HEAD') &&
      statics.serve(path, bindings.incoming, bindings.outgoing)
    ) {
      logged(request, path, bindings, 'debug')
      return RESPONSE_ALREADY_SENT
    }
    const requestId = idOf(bindings)
    logged(request, path, bindings, 'info', requestId)
    // What Astro cannot make a Request of answers here, not with a 500 and an error in the log:
    // TRACE (a forbidden method, as CONNECT and TRACK are: Node refuses those itself), and a
    // path whose percent-escapes are not UTF-8.
    if (request.method === 'TRACE')
      return new Response('Method not allowed', {
        status: 405,
        headers: {
          Allow: 'GET, HEAD, POST',
          'Content-Type': 'text/plain; charset=utf-8',
          'X-Content-Type-Options': 'nosniff',
        },
      })
    if (!decodable(path))
      return new Response('Bad request: the address is not valid UTF-8', {
        status: 400,
        headers: {
          'Content-Type': 'text/plain; charset=utf-8',
          'X-Content-Type-Options': 'nosniff',
        },
      })
    return render(bindings, requestId)
  }

  // A click on a cached tracked link is answered on node:http before the adapter builds a Request
  // for it (api/tracking/redirect.ts); everything else goes through the adapter to the apps.
  const adapter = getRequestListener(fetch as never, { hostname: env.HOST })
  const server = createServer((incoming, outgoing) => {
    let answered = false
    try {
      answered = trackedLink.node(incoming, outgoing)
    } catch (err) {
      // Thrown before anything was recorded or written: the app answers it (its onError, if
      // it throws there too), instead of the exception taking the process down.
      deps.logger.error('tracked link fast path failed', { err })
    }
    if (!answered) void adapter(incoming, outgoing)
  })
  await new Promise<void>((resolve) => server.listen(env.PORT, env.HOST, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : env.PORT
  const url = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${port}`
  // The embedded database's lock file names this server, for the refusal a second process prints.
  await deps.database.announce(url)
  // The first-run link comes before "listening", so whoever waits for that line has both.
  await announceFirstRun(deps)
  // Before "listening" too: whoever waits for that line (a supervisor, a test) has the warning.
  if (env.NODE_ENV === 'production' && !envSource.APP_ORIGIN?.trim())
    deps.logger.warn(
      'APP_ORIGIN is not set: links in emails, canonical links and origin checks use this address; set APP_ORIGIN to the public https:// address people reach',
      { origin: env.APP_ORIGIN },
    )
  deps.logger.info('listening', { url, database: deps.database.engine, origin: env.APP_ORIGIN })
  // Outbox worker (unless OUTBOX_WORKER=false leaves sending to `npm run worker` processes), grader
  // jobs (from source: the engine's script matcher is a worker thread), notifier, housekeeping.
  // The verdict job gives clicks pouring in more of the thread (api/tracking/verdict-jobs.ts).
  const background = startBackground(deps, {
    verdicts: { clicksRecorded: () => clicks.stats().recorded },
  })

  let closing: Promise<void> | null = null
  return {
    url,
    deps,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeIdleConnections()
        })
        // Before the database closes: the batch in flight records its outcomes.
        await background.stop()
        await clicks.drain()
        await deps.database.close()
      })()),
  }
}

/** Start, and stop cleanly on SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the database. */
export async function main(overrides: Pick<Partial<Deps>, 'now'> = {}): Promise<void> {
  let running: RunningServer
  try {
    running = await startServer(process.env, overrides)
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(err.message)
      process.exit(78)
    }
    if (err instanceof DataDirInUseError) {
      console.error(err.message)
      process.exit(75)
    }
    if (err instanceof DatabaseUnreachableError) {
      console.error(err.message)
      process.exit(69)
    }
    throw err
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.deps.logger.info('shutting down', { signal })
      const force = setTimeout(() => process.exit(1), 10_000)
      force.unref()
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    })
  }
}

function decodable(path: string): boolean {
  try {
    decodeURI(path)
    return true
  } catch {
    return false
  }
}

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  const end = url.slice(start).search(/[?#]/)
  return end === -1 ? url.slice(start) : url.slice(start, start + end)
}
