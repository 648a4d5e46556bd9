import { describe, expect, it } from 'vitest'
import { announceFirstRun } from '../../../api/accounts/first-run.ts'
import { json, setupTestApp } from '../../helpers.ts'

// Issue 19, item 6: each restart without users printed a new setup link and the old ones stayed
// valid. Now one link is live at a time.

async function announce(deps: Parameters<typeof announceFirstRun>[0]) {
  const write = process.stdout.write
  process.stdout.write = () => true
  try {
    return new URL((await announceFirstRun(deps))!).searchParams.get('token')!
  } finally {
    process.stdout.write = write
  }
}

describe('the first-run setup link', () => {
  it('is replaced by the next start’s link: the old one no longer works', async () => {
    const ctx = await setupTestApp()
    const first = await announce(ctx.deps)
    ctx.clock.advance(60_000)
    const second = await announce(ctx.deps)
    const setup = (token: string, email: string) =>
      ctx.app.request(
        '/api/setup',
        json({ token, email, name: 'Owner', password: 'a secret passphrase 1' }),
      )
    const old = await setup(first, 'early@example.com')
    expect(old.status).toBe(410)
    expect((await setup(second, 'owner@example.com')).status).toBe(201)
  })
})
