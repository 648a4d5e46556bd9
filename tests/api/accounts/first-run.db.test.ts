import { describe, expect, it } from 'vitest'
import {
  announceFirstRun,
  renewFirstRunLinks,
  SETUP_LINK_LEASE_MS,
} from '../../../api/accounts/first-run.ts'
import type { Deps } from '../../../api/deps.ts'
import { json, setupTestApp, type TestContext } from '../../helpers.ts'

// Issue 19, item 6: each restart without users printed a new setup link and the old ones stayed
// valid for 24 hours. Then each start ended the links printed before, also by the other servers
// sharing the PostgreSQL: a link copied from one server's log could already be dead. Now a link
// lives while its server runs (renewing a lease), and one from a stopped server lapses soon.

async function announce(deps: Deps) {
  const write = process.stdout.write
  process.stdout.write = () => true
  try {
    return new URL((await announceFirstRun(deps))!).searchParams.get('token')!
  } finally {
    process.stdout.write = write
  }
}

const setup = (ctx: TestContext, token: string, email: string) =>
  ctx.app.request(
    '/api/setup',
    json({ token, email, name: 'Owner', password: 'a secret passphrase 1' }),
  )

/** A second server on the same database: its own deps (its own renewals), the same clock. */
const otherServer = (ctx: TestContext): Deps => ({ ...ctx.deps })

describe('the first-run setup link', () => {
  it('printed by each of several servers, works whichever is used, once', async () => {
    const ctx = await setupTestApp()
    const first = await announce(ctx.deps)
    ctx.clock.advance(60_000)
    const second = await announce(otherServer(ctx))
    expect((await setup(ctx, first, 'owner@example.com')).status).toBe(201)
    // An admin exists: the other server's link is spent.
    expect((await setup(ctx, second, 'other@example.com')).status).toBe(410)
  })

  it('lives while its server renews it, up to 24 hours; a stopped server’s lapses', async () => {
    const ctx = await setupTestApp()
    const running = ctx.deps
    const stopped = otherServer(ctx)
    const kept = await announce(running)
    const lapsed = await announce(stopped)
    for (let minute = 0; minute < 10; minute++) {
      ctx.clock.advance(60_000)
      expect(await renewFirstRunLinks(running)).toBe(1)
    }
    expect(10 * 60_000).toBeGreaterThan(SETUP_LINK_LEASE_MS)
    expect((await setup(ctx, lapsed, 'early@example.com')).status).toBe(410)
    // Renewed all day, it still ends when its 24 hours are up.
    // (every 4 minutes, from minute 10 to the last renewal before the end)
    for (let minute = 14; minute < 24 * 60; minute += 4) {
      ctx.clock.advance(4 * 60_000)
      expect(await renewFirstRunLinks(running)).toBe(1)
    }
    ctx.clock.advance(4 * 60_000)
    expect(await renewFirstRunLinks(running)).toBe(0)
    expect((await setup(ctx, kept, 'late@example.com')).status).toBe(410)
  })

  it('creates one admin when two servers’ links are used at the same moment', async () => {
    const ctx = await setupTestApp()
    const a = await announce(ctx.deps)
    const b = await announce(otherServer(ctx))
    const answers = await Promise.all([
      setup(ctx, a, 'ann@example.com'),
      setup(ctx, b, 'bob@example.com'),
    ])
    expect(answers.map((res) => res.status).sort()).toEqual([201, 410])
    const users = await ctx.deps.db.query.users.findMany()
    expect(users).toHaveLength(1)
  })
})
