import { astro, getFetchState } from 'astro/hono'
import { Hono } from 'hono'
import { createApp } from '../api/app.ts'
import { createDeps } from '../api/deps.ts'
import { startOutboxWorker } from '../api/email/outbox-worker.ts'
import type { Deps } from '../api/deps.ts'
import { loadDotEnv, parseEnv } from '../api/env.ts'
import { announceFirstRun } from '../api/accounts/first-run.ts'
import { startLeadNotifier } from '../api/pipeline/notifications.ts'
import { offerDemoSeed } from '../api/demo/seed.ts'

// `astro dev` only: the same Hono routes as production (server.ts), in front of the pages.
// In the built server, server.ts is the entry and passes `deps` in locals itself.

const apiPaths = /^\/(api|r|u|d)(\/|$)/
const g = globalThis as typeof globalThis & { __frontdoorDevDeps?: Promise<Deps> }

function devDeps(): Promise<Deps> {
  g.__frontdoorDevDeps ??= (async () => {
    loadDotEnv()
    const deps = await createDeps(parseEnv(process.env))
    await offerDemoSeed(deps)
    await announceFirstRun(deps)
    startLeadNotifier(deps)
    // Dev sends too (into the dev mailbox unless SMTP_URL or RESEND_API_KEY is set).
    if (deps.env.OUTBOX_WORKER) startOutboxWorker(deps)
    // Grader jobs, loaded at run time: the engine must run from source (its script matcher is a
    // worker thread loaded by file URL), so it must not end up in the build's bundle.
    const graderJobs = '../api/grader/jobs.ts'
    const { startGraderJobs } = (await import(/* @vite-ignore */ graderJobs)) as typeof import('../api/grader/jobs.ts')
    startGraderJobs(deps)
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
  return next()
})
app.use(astro())

export default app
