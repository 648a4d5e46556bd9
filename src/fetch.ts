import { astro, getFetchState } from 'astro/hono'
import { Hono } from 'hono'
import { createApp } from '../api/app.ts'
import { createDeps } from '../api/boot.ts'
import type { Deps } from '../api/deps.ts'
import { loadDotEnv, parseEnv } from '../api/env.ts'
import { announceFirstRun } from '../api/first-run.ts'

// `astro dev` only: the same Hono routes as production (server.ts), in front of the pages.
// In the built server, server.ts is the entry and passes `deps` in locals itself.

const apiPaths = /^\/(api|r|u|d)(\/|$)/
const g = globalThis as typeof globalThis & { __frontdoorDevDeps?: Promise<Deps> }

function devDeps(): Promise<Deps> {
  g.__frontdoorDevDeps ??= (async () => {
    loadDotEnv()
    const deps = await createDeps(parseEnv(process.env))
    await announceFirstRun(deps)
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
