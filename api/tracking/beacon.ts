import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import { clickEvents } from '../db/schema.ts'
import type { Limit } from '../rate-limits.ts'

/**
 * The beacon that confirms a person. When a tracked link leads to a page of this site, the
 * redirect appends a short-lived, single-use reference to the destination's fragment
 * (`#fdr=<ref>`: a fragment never reaches a server log or a Referer). The landing page's script
 * (src/scripts/beacon.ts) sends it back with navigator.sendBeacon only after real interaction (a
 * pointer, a key, a scroll, or the page visible for 2 s), which upgrades the click to
 * `human_confirmed` at once. Scanners that fetch the page run no script or never interact, so
 * they confirm nothing; pages work the same without the script.
 */

export const BEACON_PARAM = 'fdr'
/** How long after its click a reference is accepted. */
export const BEACON_TTL_MS = 30 * 60_000
/** Beacons per client address per minute. */
export const BEACON_LIMIT: Limit = { limit: 30, windowMs: 60_000 }
/** "Visible" counts as interaction from this long on. */
export const VISIBLE_MS = 2_000

const REF = /^[A-Za-z0-9_-]{22}$/

/** A fresh reference: 128 random bits. */
export function newBeaconRef(): string {
  return randomBytes(16).toString('base64url')
}

/** Whether a destination is a page of this site (without a fragment of its own) that can send a beacon back. */
export function carriesBeacon(url: string, appOrigin: string): boolean {
  return url.startsWith(`${appOrigin}/`) && !url.includes('#')
}

/** The redirect's Location for a click that carries `ref`. */
export function beaconLocation(url: string, ref: string): string {
  return `${url}#${BEACON_PARAM}=${ref}`
}

export const INTERACTIONS = ['pointer', 'key', 'scroll', 'visible'] as const

export const beaconSchema = z
  .strictObject({
    ref: z.string().regex(REF, 'ref is not a beacon reference'),
    interaction: z.enum(INTERACTIONS, {
      error: 'A beacon confirms a visit only after interaction: pointer, key, scroll or visible.',
    }),
    visibleMs: z.coerce.number().int().nonnegative().max(86_400_000).optional(),
  })
  .refine((b) => b.interaction !== 'visible' || (b.visibleMs ?? 0) >= VISIBLE_MS, {
    message: `"visible" counts only after the page was visible for ${VISIBLE_MS / 1000} s.`,
    path: ['visibleMs'],
  })

/**
 * Accepts a reference once: marks its click confirmed and hands it back to the verdict job
 * (processed_at cleared). Null when the reference is unknown, expired or already used.
 */
export async function confirmBeacon(
  db: Db,
  ref: string,
  now: Date,
): Promise<{ clickId: string } | null> {
  const since = new Date(now.getTime() - BEACON_TTL_MS)
  const rows = await db
    .update(clickEvents)
    .set({ confirmedAt: now, processedAt: null, beaconRef: null })
    .where(
      sql`${clickEvents.beaconRef} = ${ref} and ${clickEvents.confirmedAt} is null and ${clickEvents.createdAt} >= ${since}`,
    )
    .returning({ clickId: clickEvents.id })
  return rows[0] ?? null
}
