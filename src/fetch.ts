import { astro, getFetchState } from 'astro/hono'
import { Hono } from 'hono'
import { createApp } from '#api/app.ts'
import { createDeps } from '#api/deps.ts'
import type { Deps } from '#api/deps.ts'
import { loadDotEnv, parseEnv } from '#api/env.ts'
import { announceFirstRun } from '#api/accounts/first-run.ts'
import { offerDemoSeed } from '#api/demo/seed.ts'
import { requestIdOf } from '#api/http/access-log.ts'
import { UNAVAILABLE_RETRY_AFTER_S } from '#api/content/error-pages.ts'

// `astro dev` only: the same Hono routes as production (api/server.ts), in front of the pages.
// In the built server, api/server.ts passes `deps` and the request id in locals itself.

const apiPaths = /^\/(api|r|u|d)(\/|$)/
const g = globalThis as typeof globalThis & { __frontdoorDevDeps?: Promise<Deps> }

function devDeps(): Promise<Deps> {
  g.__frontdoorDevDeps ??= (async () => {
    loadDotEnv()
    const deps = await createDeps(parseEnv(process.env))
    await offerDemoSeed(deps)
    await announceFirstRun(deps)
    // Every background job, as in production (sending goes into the dev mailbox unless SMTP_URL
    // or RESEND_API_KEY is set). Loaded at run time: the grader's engine must run from source (its
    // script matcher is a worker thread loaded by file URL), so it must stay out of the bundle.
    // Relative, not #api/…: Vite's dev runner does not resolve the alias for a computed specifier.
    const background = '../api/background.ts'
    const { startBackground } = (await import(
      /* @vite-ignore */ background
    )) as typeof import('#api/background.ts')
    startBackground(deps)
    return deps
  })()
  return g.__frontdoorDevDeps
}

let api: ReturnType<typeof createApp> | null = null

const app = new Hono()
app.use(async (c, next) => {
  const state = getFetchState(c)
  if (state.locals.deps) return next()
  const deps = await devDeps()
  if (apiPaths.test(c.req.path)) return (api ??= createApp(deps)).fetch(c.req.raw)
  state.locals.deps = deps
  state.locals.requestId = requestIdOf(c.req.header('x-request-id'), deps.env.TRUST_PROXY)
  return next()
})
// A page whose database could not be reached (src/middleware.ts marks it) answers as the API
// does: a 503 with Retry-After. Astro answers a failed page with src/pages/500.astro under the
// status the failure returned, and only a 500 brings that page, so the status is changed here.
app.use(async (c, next) => {
  await next()
  if (getFetchState(c).locals.failed !== 'unavailable' || c.res.status !== 500) return
  const headers = new Headers(c.res.headers)
  headers.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S))
  const answer = new Response(c.res.body, { status: 503, headers })
  c.res = undefined
  c.res = answer
})
app.use(astro())

export default app
