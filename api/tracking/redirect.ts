import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Context } from 'hono'
import type { Deps } from '../deps.ts'
import { clientIp, nodeClientIp } from '../http/client-ip.ts'
import { nodeHeader, rawHeader } from '../http/raw-header.ts'
import { fastRedirect, writeRedirect } from '../http/redirect.ts'
import { beaconLocation, carriesBeacon, newBeaconRef } from './beacon.ts'
import type { Click, ClickWriter } from './click-writer.ts'
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
 * request context; api/app.ts) and, for cached links, on node:http before it (api/server.ts). A
 * malformed token gets the 404 page without a query. A known link's click is recorded through the
 * group-commit writer and the 302 sent once it is committed (or, per the failure policy, once it
 * is counted as unrecorded); every caller, bot or browser, gets the same bytes: a 302 with only the Location header. HEAD gets the same 302 and
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

export interface TrackedLinkRedirect {
  /** The front app's handler for GET (and HEAD) `/r` and `/r/*`. */
  hono: (c: Context) => Response | Promise<Response>
  /**
   * The same redirect on node:http, before Hono (api/server.ts): a GET or HEAD of `/r/<token>` whose
   * link is cached is answered here, without @hono/node-server's Request, Hono's Context and
   * Response, or the adapter's promises and close listener per request: the server's CPU a click
   * 70 → 63 µs at 32 connections, 108 → 76 at 128, interleaved on a busy machine (load ~5; clicks
   * bench). Anything else returns false untouched and the app answers it, by the same rules: a
   * malformed token, an unknown or uncached one, another method, a query string.
   */
  node: (incoming: IncomingMessage, outgoing: ServerResponse) => boolean
}

export function trackedLinkRedirect(
  deps: Deps,
  clicks: ClickWriter,
  options: TrackedLinkOptions = {},
): TrackedLinkRedirect {
  const links: LinkLookup = createLinkLookup(deps.db, options.lookup)
  const limit = createUnknownTokenLimit(options.unknownTokenRule)
  const trustProxy = deps.env.TRUST_PROXY
  const appOrigin = deps.env.APP_ORIGIN

  /** A GET's click, to record before its 302. */
  const clickOf = (
    token: string,
    link: TrackedLink,
    method: string,
    ip: string,
    read: (name: string) => string | undefined,
    beaconRef: string | null,
  ): Click => ({
    token,
    recipientId: link.recipientId,
    campaignId: link.campaignId,
    method,
    ip,
    userAgent: read('user-agent')?.slice(0, MAX_USER_AGENT) ?? null,
    headers: clickHeaders(read),
    beaconRef,
    at: deps.now(),
  })
  // A page of this site gets a single-use reference its beacon sends back after interaction.
  const beaconFor = (link: TrackedLink) =>
    carriesBeacon(link.url, appOrigin) ? newBeaconRef() : null
  const locationOf = (link: TrackedLink, beaconRef: string | null) =>
    beaconRef ? beaconLocation(link.url, beaconRef) : link.url

  const follow = (c: Context, token: string, link: TrackedLink): Response | Promise<Response> => {
    if (c.req.method === 'HEAD') return fastRedirect(c, link.url)
    const beaconRef = beaconFor(link)
    const read = (name: string) => rawHeader(c, name)
    return clicks
      .record(clickOf(token, link, c.req.method, clientIp(c, trustProxy), read, beaconRef))
      .then(() => fastRedirect(c, locationOf(link, beaconRef)))
  }

  const hono = (c: Context): Response | Promise<Response> => {
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

  const node = (incoming: IncomingMessage, outgoing: ServerResponse): boolean => {
    const method = incoming.method
    if (method !== 'GET' && method !== 'HEAD') return false
    // Exactly '/r/' and 26 token characters: a query, a percent-escape or a longer path is Hono's.
    const url = incoming.url
    if (url?.length !== 29 || !url.startsWith('/r/')) return false
    const token = url.slice(3)
    if (!isTrackingToken(token)) return false
    const link = links.cached(token)
    if (!link) return false
    if (method === 'HEAD') {
      writeRedirect(outgoing, link.url)
      return true
    }
    const headers = incoming.headers
    const read = (name: string) => nodeHeader(headers, name)
    const beaconRef = beaconFor(link)
    const ip = nodeClientIp(incoming, trustProxy)
    clicks.record(clickOf(token, link, method, ip, read, beaconRef)).then(
      () => answer(outgoing, locationOf(link, beaconRef)),
      // The writer does not reject (its failure policy counts the click); if it ever does, the
      // visitor still gets the link.
      (err: unknown) => {
        deps.logger.error('tracked link click failed', { err })
        answer(outgoing, link.url)
      },
    )
    return true
  }

  // Nothing may throw out of a promise callback here: there is no adapter to catch it.
  const answer = (outgoing: ServerResponse, location: string) => {
    try {
      writeRedirect(outgoing, location)
    } catch (err) {
      deps.logger.error('tracked link redirect not written', { err })
      // Never leave the visitor's request open until the socket times out.
      if (outgoing.headersSent) outgoing.destroy()
      else
        outgoing.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Server error')
    }
  }

  return { hono, node }
}
