import { Hono } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import { okSchemaOf, type Operation } from '../http/openapi.ts'
import { STAGE_KEYS } from '../db/schema.ts'
import { nextField, readInput, respond, type Back, type FieldLabels } from '../http/form-or-json.ts'
import type { BodyKind } from '../http/input.ts'
import { requirePermission } from '../accounts/guards.ts'
import {
  loadPipelineSettings,
  pipelineSettingsSchema,
  savePipelineSettings,
  type PipelineSettings,
} from '../pipeline/settings.ts'
import { OPEN_STAGES, stageOf } from '../pipeline/stages.ts'

// /api/pipeline-settings: stale thresholds per stage and the new-lead email interval. Everyone
// in the app reads them (the pages flag stale deals); only admins change them.

const schema = pipelineSettingsSchema.partial().extend({ next: nextField }).strict()

/** The funnel page's labels: each stage's days under its short name, the interval in words. */
const LABELS: FieldLabels = {
  ...Object.fromEntries(
    OPEN_STAGES.map((s) => [`staleDays.${s}`, `Days before stale, ${stageOf(s).short}`]),
  ),
  notifyEveryMinutes: 'Email reps about new leads at most every (minutes)',
}

/** A plain form goes back to its page (`next`), else the funnel page that holds it. */
const backTo = (next: unknown): Back => ({ next, fallback: '/app/funnel' })

export const pipelineSettingsRoutes = new Hono<AppEnv>()
  .get('/', requirePermission('pipeline:read'), async (c) =>
    c.json({ settings: await loadPipelineSettings(c.var.db) }),
  )
  .post('/', requirePermission('settings:manage'), async (c) => {
    const input = await readInput(c, schema, (data) => backTo(data.next), {
      prepare: fromForm,
      labels: LABELS,
    })
    if (input instanceof Response) return input
    const { next, ...changes } = input
    const saved = await savePipelineSettings(c.var.db, changes, c.var.user.id, c.var.deps.now())
    return respond(c, backTo(next), { notice: 'Pipeline settings saved.' }, () =>
      c.json({ settings: saved }),
    )
  })

/** The form posts flat fields (stale_demo=14 …); JSON posts { staleDays: { demo: 14 } }. */
function fromForm(data: Record<string, unknown>, kind: BodyKind): unknown {
  if (kind === 'json') return data
  const filled = (key: string) => data[key] !== undefined && data[key] !== ''
  return {
    staleDays: Object.fromEntries(
      OPEN_STAGES.filter((s) => filled(`stale_${s}`)).map((s) => [s, data[`stale_${s}`]]),
    ),
    ...(data.notifyEveryMinutes ? { notifyEveryMinutes: data.notifyEveryMinutes } : {}),
    ...(typeof data.next === 'string' ? { next: data.next } : {}),
  }
}

/** What the page's form posts (fromForm gathers it into `schema`'s shape). */
const formSchema = z.object({
  ...Object.fromEntries(
    OPEN_STAGES.map((s) => [
      `stale_${s}`,
      z.string().optional().describe(`Days at ${s}; empty: unchanged.`),
    ]),
  ),
  notifyEveryMinutes: z.string().optional(),
  next: nextField,
})

/** The settings as answered, field by field (held to PipelineSettings by okSchemaOf). */
const settingsAnswer = okSchemaOf<{ settings: PipelineSettings }>()(
  z.strictObject({
    settings: z.strictObject({
      staleDays: z
        .record(z.enum(STAGE_KEYS), z.number().int().nullable())
        .describe('Days before a deal in each stage is stale; null: it never goes stale.'),
      notifyEveryMinutes: z.number().int().describe('How often new leads are emailed, batched.'),
    }),
  }),
)

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/pipeline-settings',
    summary: 'Stale thresholds per stage and the new-lead email interval.',
    auth: 'pipeline:read',
    ok: [200, '{ settings }'],
    okSchema: settingsAnswer,
  },
  {
    method: 'post',
    path: '/api/pipeline-settings',
    summary: 'Change some of the pipeline settings; what is not sent stays.',
    auth: 'settings:manage',
    body: schema,
    formBody: formSchema,
    ok: [200, '{ settings }'],
  },
]
