import { urlsIn } from '../../email-templates/outreach.ts'
import type { Db } from '../db/client.ts'
import { trackedLinks } from '../db/schema.ts'
import { newTrackingToken } from './token.ts'

// Tracked links: every http(s) link of an outreach message (after merge, so a URL from a CSV
// column too) becomes `${APP_ORIGIN}/r/<token>`, one token per recipient × link. The destination
// is kept on the server, normalised; the URL carries only the token, so /r is no open redirect.
// A `javascript:` or any other non-http URL never becomes a link, nor does one with credentials.

/** The destination a link may redirect to: `new URL().href`, http(s) only, no credentials. */
export function normalizeDestination(url: string): string | null {
  if (!URL.canParse(url)) return null
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null
  if (parsed.username || parsed.password) return null
  if (parsed.href.length > 2048) return null
  return parsed.href
}

export interface FoundLink {
  /** As written in the message. */
  url: string
  /** Where /r/<token> will send the click, or null when the link is left as text. */
  destination: string | null
}

/** The links of a message, in order, as renderOutreach numbers them. Pure. */
export function findLinks(text: string): FoundLink[] {
  // The same URLs the outreach template makes clickable (one finder for both).
  return [...urlsIn(text)].map(({ url }) => ({ url, destination: normalizeDestination(url) }))
}

export function trackedUrl(origin: string, token: string): string {
  return `${origin}/r/${token}`
}

export interface LinkTracker {
  /** For renderOutreach's `rewriteLink`: the tracked URL, or null (no link) when untrackable. */
  rewrite(url: string, index: number): string | null
  /** The links handed out so far, for trackLinks. */
  readonly links: ReadonlyArray<{ token: string; destination: string; position: number }>
}

/** Issues a token per trackable link while a message renders; nothing is stored yet. */
export function linkTracker(origin: string): LinkTracker {
  const links: Array<{ token: string; destination: string; position: number }> = []
  return {
    rewrite(url, index) {
      const destination = normalizeDestination(url)
      if (!destination) return null
      const token = newTrackingToken()
      links.push({ token, destination, position: index + 1 })
      return trackedUrl(origin, token)
    },
    links,
  }
}

/**
 * Stores a message's links, in the transaction that enqueues the message: a link exists exactly
 * when the message that shows it does.
 */
export async function trackLinks(
  tx: Db,
  input: {
    recipientId: string
    campaignId: string
    links: LinkTracker['links']
    now: Date
  },
): Promise<void> {
  if (input.links.length === 0) return
  await tx.insert(trackedLinks).values(
    input.links.map((l) => ({
      token: l.token,
      recipientId: input.recipientId,
      campaignId: input.campaignId,
      url: l.destination,
      position: l.position,
      createdAt: input.now,
    })),
  )
}
