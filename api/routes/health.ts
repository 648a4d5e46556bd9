import { Hono } from 'hono'
import type { AppEnv } from '../http/app-env.ts'

export const health = new Hono<AppEnv>().get('/', async (c) => {
  const { database, version } = c.var.deps
  const ok = await database.ping()
  return c.json(
    { status: ok ? 'ok' : 'degraded', database: { engine: database.engine, ok }, version },
    ok ? 200 : 503,
  )
})
