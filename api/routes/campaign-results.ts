import { Hono, type Context } from 'hono'
import { requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import { findCampaign } from '../campaigns/campaigns.ts'
import { fail } from '../http/input.ts'
import type { Permission } from '../accounts/permissions.ts'
import type { Operation } from '../http/openapi.ts'
import { campaignResults, campaignResultsCsv } from '../tracking/results.ts'

// GET /api/campaigns/:id/results (JSON) and /results.csv: a campaign's sending outcomes and its
// clicks by verdict, in total and per link (api/tracking/results.ts). Whoever may read campaigns.

async function resultsOf(c: Context<SignedInEnv>) {
  const campaign = await findCampaign(c.var.db, c.req.param('id') ?? '')
  if (!campaign) fail(404, 'not_found', 'There is no such campaign.')
  return { campaign, results: await campaignResults(c.var.db, campaign.id) }
}

export const campaignResultRoutes = new Hono<SignedInEnv>()
  .use('/:id/*', requirePermission('campaigns:read'))
  .get('/:id/results', async (c) => c.json((await resultsOf(c)).results))
  .get('/:id/results.csv', async (c) => {
    const { campaign, results } = await resultsOf(c)
    return c.body(campaignResultsCsv(results), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="campaign-results-${campaign.id.slice(0, 8)}.csv"`,
      'Cache-Control': 'private, no-store',
    })
  })

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/campaigns/{id}/results',
    summary:
      'A campaign’s results: queued, sent (accepted by the transport; `accepted` is the same count), bounced, failed, unsubscribed, clicks by verdict (human, bot, awaiting), per link.',
    auth: 'campaigns:read',
    ok: [200, 'The results.'],
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}/results.csv',
    summary: 'The same results as CSV.',
    auth: 'campaigns:read',
    ok: [200, 'text/csv, as an attachment.'],
  },
]
