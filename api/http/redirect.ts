import type { Context } from 'hono'

/**
 * A redirect for hot GET paths (the API root; tracked links later). Hono's `c.redirect()` builds a
 * WHATWG Headers object that @hono/node-server then walks to write the response; a plain header
 * object goes straight to Node's writeHead. A location with anything but printable ASCII is
 * percent-encoded (c.redirect() lets Latin-1 through); headers set earlier with `c.header()` stay.
 */
export function fastRedirect(
  c: Context,
  location: string,
  status: 301 | 302 | 303 | 307 | 308 = 302,
): Response {
  return c.newResponse(null, status, {
    Location: /[^\x20-\x7E]/.test(location) ? encodeURI(location) : location,
  })
}
