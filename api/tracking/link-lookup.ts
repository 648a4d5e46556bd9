import { eq } from 'drizzle-orm'
import { LRUCache } from 'lru-cache'
import type { Db } from '../db/client.ts'
import { trackedLinks } from '../db/schema.ts'

export interface TrackedLink {
  recipientId: string
  campaignId: string
  url: string
}

export async function findTrackedLink(db: Db, token: string): Promise<TrackedLink | null> {
  const [row] = await db
    .select({
      recipientId: trackedLinks.recipientId,
      campaignId: trackedLinks.campaignId,
      url: trackedLinks.url,
    })
    .from(trackedLinks)
    .where(eq(trackedLinks.token, token))
    .limit(1)
  return row ?? null
}

export interface LinkLookup {
  /** A link from memory: the link, `null` when the token was recently found unknown, `undefined` when not cached. */
  cached(token: string): TrackedLink | null | undefined
  /** From the database, remembered either way. Throws when the database does. */
  find(token: string): Promise<TrackedLink | null>
}

export interface LinkLookupOptions {
  /** Known links kept in memory (a link's row is a few hundred bytes). */
  size?: number
  /** Unknown tokens remembered, and for how long (a token could be created after a guess at it). */
  unknownSize?: number
  unknownTtlMs?: number
}

/**
 * Tracked links are immutable once written, so a known token is cached with no expiry (bounded
 * LRU, one per app instance). Unknown tokens are remembered briefly so a client repeating one
 * costs no query; the per-IP limit on unknown lookups (unknown-token-limit.ts) bounds the rest.
 */
export function createLinkLookup(db: Db, options: LinkLookupOptions = {}): LinkLookup {
  const known = new LRUCache<string, TrackedLink>({ max: options.size ?? 50_000 })
  const unknown = new LRUCache<string, true>({
    max: options.unknownSize ?? 10_000,
    ttl: options.unknownTtlMs ?? 60_000,
  })
  return {
    cached(token) {
      const link = known.get(token)
      if (link) return link
      return unknown.has(token) ? null : undefined
    },
    async find(token) {
      const link = await findTrackedLink(db, token)
      if (link) known.set(token, link)
      else unknown.set(token, true)
      return link
    },
  }
}
