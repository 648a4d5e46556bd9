import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { requirePermission, type SignedInEnv } from '../accounts/guards.ts'
import { findCampaign } from '../campaigns/campaigns.ts'
import { fail } from '../http/input.ts'
import type { Permission } from '../accounts/permissions.ts'
import { okSchemaOf, type Operation } from '../http/openapi.ts'
import { campaignResults, campaignResultsCsv, type CampaignResults } from '../tracking/results.ts'

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

const count = z.number().int()
const clickCounts = {
  raw: count.describe('Every click.'),
  human: count.describe('Clicks judged a person’s.'),
  bot: count.describe('Clicks judged a bot’s (or likely one).'),
  pending: count.describe('Clicks awaiting a verdict.'),
  uniqueHumans: count.describe('Recipients who clicked as a person.'),
}

/** The answer, field by field (held to CampaignResults by okSchemaOf). */
const resultsJson = okSchemaOf<CampaignResults>()(
  z.strictObject({
    recipients: count,
    queued: count.describe('In the outbox, not sent yet.'),
    sent: count.describe('Accepted by the transport, and not reported bounced since.'),
    accepted: count.describe('The same as `sent`.'),
    delivered: count
      .nullable()
      .describe(
        'Sent and reported delivered by the provider (Resend’s webhook); null while no delivery event of the campaign has arrived (SMTP and the dev mailbox report none).',
      ),
    bounced: count.describe(
      'Refused for good: during the send (SMTP) or reported later as a hard bounce (Resend).',
    ),
    failed: count,
    removed: count.describe('Taken out before they were sent anything (counted in `recipients`).'),
    stopped: count.describe(
      'Still waiting when a person stopped the campaign: never sent (counted in `recipients`).',
    ),
    unsubscribed: count,
    clicks: z.strictObject(clickCounts),
    targets: count.describe('Targets its clicks made (not clicks that only added evidence).'),
    links: z.array(
      z.strictObject({
        url: z.string(),
        position: count.describe('The link’s place in the message (0: first).'),
        ...clickCounts,
      }),
    ),
  }),
)

export const operations: Operation<Permission>[] = [
  {
    method: 'get',
    path: '/api/campaigns/{id}/results',
    summary:
      'A campaign’s results: queued, sent (accepted by the transport and not reported bounced since; `accepted` is the same count), delivered (when the provider reports it), bounced, failed, unsubscribed, clicks by verdict (human, bot, awaiting), per link.',
    auth: 'campaigns:read',
    ok: [200, 'The results.'],
    okSchema: resultsJson,
  },
  {
    method: 'get',
    path: '/api/campaigns/{id}/results.csv',
    summary: 'The same results as CSV.',
    auth: 'campaigns:read',
    ok: [200, 'text/csv, as an attachment.'],
  },
]
