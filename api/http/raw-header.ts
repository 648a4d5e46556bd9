import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Context } from 'hono'

/**
 * A request header read from Node's already-parsed IncomingMessage when the app runs on
 * @hono/node-server. `c.req.header()` would materialise a full WHATWG Request and Headers
 * object, which costs hot paths (tracked-link redirects) a measurable share of their throughput.
 * Elsewhere (app.request() in tests, astro dev) it falls back to `c.req.header()`.
 */
export function rawHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (incoming?.headers) return nodeHeader(incoming.headers, name)
  return c.req.header(name)
}

/** A header of Node's parsed request (`name` in lower case); repeated ones joined as Headers would. */
export function nodeHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}
