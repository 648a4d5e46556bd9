import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { getConnInfo } from '@hono/node-server/conninfo'
import ipaddr from 'ipaddr.js'
import { nodeHeader, rawHeader } from './raw-header.ts'

/**
 * The client's IP, the one way every route, rate limit and click reads it. With TRUST_PROXY on,
 * it is the RIGHTMOST X-Forwarded-For entry: the address our own proxy saw and appended. Entries
 * to its left come from the client and can say anything (a forged `X-Forwarded-For: 1.2.3.4`
 * would otherwise dodge per-IP limits and fake a network). A rightmost entry that is no IP
 * address (a misconfigured proxy) is ignored for the socket's address.
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = proxiedAddress(rawHeader(c, 'x-forwarded-for'))
    if (forwarded) return forwarded
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown' // app.request() in tests has no socket
  }
}

/** The same for a request answered on node:http without Hono (the tracked-link redirect's fast path). */
export function nodeClientIp(incoming: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = proxiedAddress(nodeHeader(incoming.headers, 'x-forwarded-for'))
    if (forwarded) return forwarded
  }
  return incoming.socket.remoteAddress ?? 'unknown'
}

/**
 * The last entry of an X-Forwarded-For value when it is an IP address, else null. Some proxies
 * append the client's port too (Azure Application Gateway, IIS ARR: `203.0.113.7:50123`,
 * `[2001:db8::7]:50123`): the port is dropped, or every client would fall back to the proxy's own
 * address and share one per-IP limit.
 */
export function proxiedAddress(header: string | undefined): string | null {
  if (!header) return null
  const entry = header.slice(header.lastIndexOf(',') + 1).trim()
  const last = /^\[([^\]]+)\](?::\d+)?$/.exec(entry)?.[1] ?? entry.replace(/^([\d.]+):\d+$/, '$1')
  return ipaddr.isValid(last) ? last : null
}
