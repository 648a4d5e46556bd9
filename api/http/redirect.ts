import type { ServerResponse } from 'node:http'
import type { Context } from 'hono'

type RedirectStatus = 301 | 302 | 303 | 307 | 308

/**
 * A redirect for hot GET paths (the API root, tracked links). Hono's `c.redirect()` builds a
 * WHATWG Headers object that @hono/node-server then walks to write the response; a plain header
 * object goes straight to Node's writeHead. A location with anything but printable ASCII is
 * percent-encoded (c.redirect() lets Latin-1 through); headers set earlier with `c.header()` stay.
 */
export function fastRedirect(c: Context, location: string, status: RedirectStatus = 302): Response {
  return c.newResponse(null, status, { Location: redirectLocation(location) })
}

/**
 * The same redirect written straight to Node's response, for a path answered without Hono (the
 * tracked-link redirect's fast path): the bytes @hono/node-server writes for `fastRedirect`'s
 * response, `writeHead` with the one Location header, then `end()`.
 */
export function writeRedirect(
  outgoing: ServerResponse,
  location: string,
  status: RedirectStatus = 302,
): void {
  outgoing.writeHead(status, { Location: redirectLocation(location) })
  outgoing.end()
}

const redirectLocation = (location: string) =>
  /[^\x20-\x7E]/.test(location) ? encodeURI(location) : location
