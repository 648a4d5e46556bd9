import type { Deps } from '../deps.ts'
import { brandOf, loadSenderSettings, type SenderSettings } from '../email/sender.ts'
import type { LeadContext } from './lead-post.ts'
import { offerCatalog, type OfferCatalog } from './offers.ts'

const SENDER_TTL_MS = 5_000
const senderCache = new WeakMap<Deps, { at: number; value: Promise<SenderSettings> }>()

/**
 * The sender settings (brand name and postal address for the email), read at most every few
 * seconds per process: a lead post should not pay a settings query, and an admin's change to the
 * brand shows in asset emails within seconds.
 */
function senderFor(deps: Deps): Promise<SenderSettings> {
  const hit = senderCache.get(deps)
  const at = performance.now()
  if (hit && at - hit.at < SENDER_TTL_MS) return hit.value
  const value = loadSenderSettings(deps.db, deps.env)
  senderCache.set(deps, { at, value })
  value.catch(() => senderCache.delete(deps))
  return value
}

/** What lead capture needs from the outside world for one request. */
export async function leadContext(deps: Deps, now: Date = deps.now()): Promise<LeadContext> {
  const sender = await senderFor(deps)
  return {
    now,
    secret: deps.secret,
    origin: deps.env.APP_ORIGIN,
    downloadDays: deps.env.DOWNLOAD_LINK_DAYS,
    brand: brandOf(sender),
  }
}

/** The offers catalog; re-read on every call in development so content edits show at once. */
export function offersFor(deps: Deps): Promise<OfferCatalog> {
  return offerCatalog({ reload: deps.env.NODE_ENV === 'development' })
}
