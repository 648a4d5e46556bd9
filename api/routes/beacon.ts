import { Hono } from 'hono'
import type { AppEnv } from '../http/app-env.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { fail, readBody, validate } from '../http/input.ts'
import { hitRateLimit, limitAddress } from '../rate-limits.ts'
import { BEACON_LIMIT, beaconSchema, confirmBeacon } from '../tracking/beacon.ts'
import type { ClickWriter } from '../tracking/click-writer.ts'

// POST /api/beacon: a landing page of this site confirms that a person opened a tracked link
// (api/tracking/beacon.ts). Same origin only (the CSRF check in app.ts), rate-limited per
// address, each reference accepted once; a beacon that reports no interaction confirms nothing.
// Its click may still be on its way from the journal to click_events: that is awaited first.

export const beaconRoutes = (clicks: Pick<ClickWriter, 'settled'>) =>
  new Hono<AppEnv>().post('/', async (c) => {
    const { deps } = c.var
    const now = deps.now()
    const limit = await hitRateLimit(
      deps.db,
      `beacon:ip:${limitAddress(c.var.ip)}`,
      BEACON_LIMIT,
      now,
    )
    if (!limit.allowed)
      return c.json(
        {
          error: {
            code: 'rate_limited',
            message: 'Too many beacons from this address; try again in a minute.',
          },
        },
        429,
        { 'Retry-After': String(limit.retryAfterSeconds) },
      )
    const { data } = await readBody(c)
    const beacon = validate(beaconSchema, data)
    await clicks.settled()
    const confirmed = await confirmBeacon(deps.db, beacon.ref, now)
    if (!confirmed)
      fail(404, 'unknown_reference', 'This reference is unknown, expired or already used.')
    deps.wakeups.wake('verdicts')
    return c.body(null, 204)
  })

export const operations: Operation<Permission>[] = [
  {
    method: 'post',
    path: '/api/beacon',
    summary:
      'A landing page of this site confirms that a person opened a tracked link (each reference once).',
    auth: 'none',
    body: beaconSchema,
    ok: [204, 'Confirmed.'],
    errors: {
      404: 'The reference is unknown, expired or already used (`unknown_reference`).',
      429: 'Too many beacons from this address; see Retry-After.',
    },
  },
]
