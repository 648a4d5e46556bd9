import { Hono } from 'hono'
import type { AppEnv } from '../http/app-env.ts'
import { safeNextPath } from '../http/cookies.ts'
import { requirePermission } from '../http/guards.ts'
import { readBody, validate } from '../http/input.ts'
import {
  loadPipelineSettings,
  pipelineSettingsSchema,
  savePipelineSettings,
} from '../pipeline/settings.ts'
import { OPEN_STAGES } from '../pipeline/stages.ts'

// /api/pipeline-settings: stale thresholds per stage and the new-lead email interval. Everyone
// in the app reads them (the pages flag stale deals); only admins change them.

export const pipelineSettingsRoutes = new Hono<AppEnv>()
  .get('/', requirePermission('pipeline:read'), async (c) =>
    c.json({ settings: await loadPipelineSettings(c.var.db) }),
  )
  .post('/', requirePermission('settings:manage'), async (c) => {
    const { kind, data } = await readBody(c)
    // The form posts flat fields: stale_demo=14 …; JSON posts { staleDays: { demo: 14 } }.
    const input =
      kind === 'json'
        ? data
        : {
            staleDays: Object.fromEntries(
              OPEN_STAGES.filter(
                (s) => data[`stale_${s}`] !== undefined && data[`stale_${s}`] !== '',
              ).map((s) => [s, data[`stale_${s}`]]),
            ),
            ...(data.notifyEveryMinutes ? { notifyEveryMinutes: data.notifyEveryMinutes } : {}),
          }
    const back = safeNextPath(data.next, c.var.deps.env.APP_ORIGIN, '/app/funnel')
    const schema = pipelineSettingsSchema.partial().strict()
    const parsed = schema.safeParse(input)
    if (!parsed.success) {
      if (kind === 'json') validate(schema, input)
      return c.redirect(
        withParam(back, 'error', parsed.error.issues[0]?.message ?? 'Invalid settings.'),
        303,
      )
    }
    const saved = await savePipelineSettings(
      c.var.db,
      parsed.data,
      c.var.user!.id,
      c.var.deps.now(),
    )
    if (kind === 'form')
      return c.redirect(withParam(back, 'notice', 'Pipeline settings saved.'), 303)
    return c.json({ settings: saved })
  })

function withParam(path: string, key: string, value: string): string {
  const url = new URL(path, 'http://x')
  url.searchParams.delete('notice')
  url.searchParams.delete('error')
  url.searchParams.set(key, value)
  return url.pathname + url.search + url.hash
}
