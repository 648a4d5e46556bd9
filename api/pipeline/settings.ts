import { eq } from 'drizzle-orm'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import { settings } from '../db/schema.ts'
import { defaultStaleThresholds, OPEN_STAGES, type StageKey } from './stages.ts'

// What an admin can tune about the pipeline, kept in the `settings` table: the stale threshold of
// each open stage and how often reps may be emailed about new qualified leads.

export const PIPELINE_SETTINGS_KEY = 'pipeline'

export const MAX_STALE_DAYS = 365
export const DEFAULT_NOTIFY_MINUTES = 15

const days = z.coerce
  .number({ message: 'Enter a number of days.' })
  .int('Enter whole days.')
  .min(1, 'A threshold is at least 1 day.')
  .max(MAX_STALE_DAYS, `A threshold is at most ${MAX_STALE_DAYS} days.`)

export const pipelineSettingsSchema = z.object({
  staleDays: z
    .strictObject(
      Object.fromEntries(OPEN_STAGES.map((s) => [s, days])) as Record<StageKey, typeof days>,
    )
    .partial(),
  notifyEveryMinutes: z.coerce
    .number({ message: 'Enter a number of minutes.' })
    .int('Enter whole minutes.')
    .min(1, 'The interval is at least 1 minute.')
    .max(24 * 60, 'The interval is at most 1,440 minutes (a day).'),
})

export interface PipelineSettings {
  /** Days before a deal in each stage is stale; null for stages that never go stale. */
  staleDays: Record<StageKey, number | null>
  notifyEveryMinutes: number
}

export function defaultPipelineSettings(): PipelineSettings {
  return { staleDays: defaultStaleThresholds(), notifyEveryMinutes: DEFAULT_NOTIFY_MINUTES }
}

/** Stored values over the defaults; a stored value that no longer validates is ignored. */
export async function loadPipelineSettings(db: Db): Promise<PipelineSettings> {
  const [row] = await db
    .select({ value: settings.value })
    .from(settings)
    .where(eq(settings.key, PIPELINE_SETTINGS_KEY))
  return settingsOf(row?.value)
}

function settingsOf(stored: unknown): PipelineSettings {
  const base = defaultPipelineSettings()
  const parsed = pipelineSettingsSchema.partial().safeParse(stored ?? {})
  if (!parsed.success) return base
  return {
    staleDays: { ...base.staleDays, ...parsed.data.staleDays },
    notifyEveryMinutes: parsed.data.notifyEveryMinutes ?? base.notifyEveryMinutes,
  }
}

/**
 * Saves what was given over what is stored: thresholds not sent keep their current value. The
 * stored row is locked while it is read and written, so two admins saving different fields at
 * once both keep their change (each merge reads the other's, instead of one overwriting it).
 */
export async function savePipelineSettings(
  db: Db,
  input: Partial<z.infer<typeof pipelineSettingsSchema>>,
  userId: string | null,
  now: Date,
): Promise<PipelineSettings> {
  return db.transaction(async (tx) => {
    // A row to lock, the first time (an empty one: stored values only override the defaults).
    await tx
      .insert(settings)
      .values({ key: PIPELINE_SETTINGS_KEY, value: {}, updatedAt: now, updatedBy: userId })
      .onConflictDoNothing()
    const [row] = await tx
      .select({ value: settings.value })
      .from(settings)
      .where(eq(settings.key, PIPELINE_SETTINGS_KEY))
      .for('update')
    const current = settingsOf(row?.value)
    const staleDays = Object.fromEntries(
      OPEN_STAGES.map((s) => [s, input.staleDays?.[s] ?? current.staleDays[s]]),
    )
    const value = pipelineSettingsSchema.parse({
      staleDays,
      notifyEveryMinutes: input.notifyEveryMinutes ?? current.notifyEveryMinutes,
    })
    await tx
      .update(settings)
      .set({ value, updatedAt: now, updatedBy: userId })
      .where(eq(settings.key, PIPELINE_SETTINGS_KEY))
    return settingsOf(value)
  })
}
