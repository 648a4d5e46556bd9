import { describe, expect, it } from 'vitest'
import { CAMPAIGNS_PAGE_SIZE, listCampaigns } from '../../../api/campaigns/campaigns.ts'
import { clickEvents } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { CAMPAIGN_ENV, makeCampaign } from './fixtures.ts'

// The campaigns list is paged with a total: before, it showed the newest 200 and no way to the
// rest.

const ctx = await setupTestApp(CAMPAIGN_ENV)
const owner = await signedInAs(ctx, 'sdr')

const names: string[] = []
for (let i = 0; i < 52; i++) {
  ctx.clock.advance(1000)
  names.push((await makeCampaign(ctx, owner.user, { name: `Campaign ${i}` })).name)
}
const newestFirst = names.toReversed()

describe('the campaigns list', () => {
  it('reads a page at a time, newest first, with the total', async () => {
    const first = await listCampaigns(ctx.deps.db, { pageSize: 20 })
    expect(first).toMatchObject({ total: names.length, page: 1, pageCount: 3 })
    expect(first.campaigns.map((c) => c.name)).toEqual(newestFirst.slice(0, 20))
    const last = await listCampaigns(ctx.deps.db, { page: 3, pageSize: 20 })
    expect(last.campaigns.map((c) => c.name)).toEqual(newestFirst.slice(40))
    expect(last.campaigns[0]!.progress).toMatchObject({ recipients: 0 })
  })

  it('pages on the route, and refuses a page that is not a number', async () => {
    const res = await ctx.app.request('/api/campaigns', { headers: { cookie: owner.cookie } })
    expect(res.status).toBe(200)
    const first = await res.json()
    expect(first).toMatchObject({ total: names.length, page: 1, pageCount: 2 })
    expect(CAMPAIGNS_PAGE_SIZE).toBe(50)
    expect(first.campaigns).toHaveLength(50)
    const second = await (
      await ctx.app.request('/api/campaigns?page=2', { headers: { cookie: owner.cookie } })
    ).json()
    expect(second.campaigns.map((c: { name: string }) => c.name)).toEqual(
      newestFirst.slice(CAMPAIGNS_PAGE_SIZE),
    )
    const bad = await ctx.app.request('/api/campaigns?page=x', {
      headers: { cookie: owner.cookie },
    })
    expect(bad.status).toBe(422)
  })

  it('counts each campaign’s clicks, human ones apart, as its results do', async () => {
    const [newest] = (await listCampaigns(ctx.deps.db, { pageSize: 1 })).campaigns
    const verdicts = ['human', 'human_confirmed', 'bot', 'likely_bot', 'pending'] as const
    await ctx.deps.db.insert(clickEvents).values(
      verdicts.map((verdict) => ({
        id: newId(),
        token: 'a'.repeat(22),
        campaignId: newest!.id,
        method: 'GET',
        verdict,
      })),
    )
    const [after, other] = (await listCampaigns(ctx.deps.db, { pageSize: 2 })).campaigns
    expect(after).toMatchObject({ humanClicks: 2, progress: { clicks: 5 } })
    expect(other).toMatchObject({ humanClicks: 0, progress: { clicks: 0 } })
  })
})
