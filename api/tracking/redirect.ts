import type { Context } from 'hono'
import type { Deps } from '../deps.ts'
import { clientIp } from '../http/client-ip.ts'
import { rawHeader } from '../http/raw-header.ts'
import { fastRedirect } from '../http/redirect.ts'
import { beaconLocation, carriesBeacon, newBeaconRef } from './beacon.ts'
import type { ClickWriter } from './click-writer.ts'
import {
  createLinkLookup,
  type LinkLookup,
  type LinkLookupOptions,
  type TrackedLink,
} from './link-lookup.ts'
import { linkNotFoundPage, linkUnavailablePage, tooManyLinksPage } from './pages.ts'
import { isTrackingToken } from './token.ts'
import { createUnknownTokenLimit, type UnknownTokenRule } from './unknown-token-limit.ts'

/**
 * GET /r/<token>: the tracked-link redirect, a handler for the front app (no middleware, no
 * request context; api/app.ts). A malformed token gets the 404 page without a query. A known
 * link's click is recorded through the group-commit writer and the 302 sent once it is
 * committed (or, per the failure policy, once it is counted as unrecorded); every caller, bot or
 * browser, gets the same bytes: a 302 with only the Location header. HEAD gets the same 302 and
 * records nothing. An unknown token while the database is down gets a 503.
 */

/** Headers the verdict rules (issue 14) read, recorded with each click; the Referer as an origin only. */
export const CLICK_HEADERS = [
  'accept',
  'accept-language',
  'purpose',
  'sec-purpose',
  'x-purpose',
  'x-moz',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'sec-fetch-user',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'from',
  'via',
] as const

const MAX_HEADER = 256
const MAX_USER_AGENT = 512

/** The recorded headers, each capped; the Referer reduced to its origin (its path may carry personal data). */
export function clickHeaders(read: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of CLICK_HEADERS) {
    const value = read(name)
    if (value !== undefined) out[name] = value.slice(0, MAX_HEADER)
  }
  const referer = read('referer')
  if (referer) out['referer-origin'] = refererOrigin(referer)
  return out
}

function refererOrigin(referer: string): string {
  try {
    const origin = new URL(referer).origin
    return origin === 'null' ? 'opaque' : origin.slice(0, MAX_HEADER)
  } catch {
    return 'invalid'
  }
}

export interface TrackedLinkOptions {
  lookup?: LinkLookupOptions
  unknownTokenRule?: UnknownTokenRule
}

export function trackedLinkRedirect(
  deps: Deps,
  clicks: ClickWriter,
  options: TrackedLinkOptions = {},
) {
  const links: LinkLookup = createLinkLookup(deps.db, options.lookup)
  const limit = createUnknownTokenLimit(options.unknownTokenRule)
  const trustProxy = deps.env.TRUST_PROXY
  const appOrigin = deps.env.APP_ORIGIN

  const follow = (c: Context, token: string, link: TrackedLink): Response | Promise<Response> => {
    if (c.req.method === 'HEAD') return fastRedirect(c, link.url)
    const read = (name: string) => rawHeader(c, name)
    // A page of this site gets a single-use reference its beacon sends back after interaction.
    const beaconRef = carriesBeacon(link.url, appOrigin) ? newBeaconRef() : null
    return clicks
      .record({
        token,
        recipientId: link.recipientId,
        campaignId: link.campaignId,
        method: c.req.method,
        ip: clientIp(c, trustProxy),
        userAgent: read('user-agent')?.slice(0, MAX_USER_AGENT) ?? null,
        headers: clickHeaders(read),
        beaconRef,
        at: deps.now(),
      })
      .then(() => fastRedirect(c, beaconRef ? beaconLocation(link.url, beaconRef) : link.url))
  }

  return (c: Context): Response | Promise<Response> => {
    // '/r/' is three characters; the rest, slashes included, is the token.
    const token = c.req.path.slice(3)
    if (!isTrackingToken(token)) return linkNotFoundPage(c)
    const cached = links.cached(token)
    if (cached) return follow(c, token, cached)
    if (cached === null) return linkNotFoundPage(c)
    const ip = clientIp(c, trustProxy)
    const now = deps.now()
    const verdict = limit.check(ip, now)
    if (!verdict.allowed) return tooManyLinksPage(c, verdict.retryAfterSeconds)
    return links.find(token).then(
      (link) => {
        if (link) return follow(c, token, link)
        limit.miss(ip, now)
        return linkNotFoundPage(c)
      },
      (err: unknown) => {
        deps.logger.error('tracked link lookup failed', { err })
        return linkUnavailablePage(c)
      },
    )
  }
}
