import type { Context } from 'hono'
import { getConnInfo } from '@hono/node-server/conninfo'
import { rawHeader } from './raw-header.ts'

/** The client's IP: X-Forwarded-For's first entry only when TRUST_PROXY is on, else the socket's. */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = rawHeader(c, 'x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown' // app.request() in tests has no socket
  }
}
