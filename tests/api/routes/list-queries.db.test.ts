import { describe, expect, it } from 'vitest'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { CAMPAIGN_ENV, makeCampaign } from '../campaigns/fixtures.ts'

// A GET form sends a filter left at "all" as `status=`, and a link or a client may carry `page=`
// or `cursor=` with nothing in it: every list answers an empty parameter as one not given
// (http/input.ts's givenParams), the way the webhook delivery log always has, never with a 422.

const ctx = await setupTestApp(CAMPAIGN_ENV)
const admin = await signedInAs(ctx, 'admin')
const sdr = await signedInAs(ctx, 'sdr')
const campaign = await makeCampaign(ctx, sdr.user)

const lists: Array<[path: string, empty: string]> = [
  ['/api/campaigns', 'page='],
  [`/api/campaigns/${campaign.id}/recipients`, 'status=&page='],
  ['/api/submissions/quarantined', 'page='],
  ['/api/admin/email/outbox', 'status=&limit=&offset='],
  ['/api/admin/email/suppressions', 'q=&limit=&offset='],
  ['/api/sync/deals', 'cursor=&limit='],
  ['/api/sync/contacts', 'cursor=&limit='],
  ['/api/sync/leads', 'cursor=&limit='],
  ['/api/deals/board', 'owner=&source=&stale=&noNextStep=&closeMonth='],
  ['/api/deals?stage=target', 'owner=&source=&closeMonth='],
  ['/api/deals/list', 'owner=&source=&sort=&dir=&page='],
  ['/api/contacts', 'q=&source=&from=&to=&page='],
  ['/api/contacts/export.csv', 'q=&source=&from=&to=&page='],
]

describe('a list given an empty query parameter', () => {
  it.each(lists)('%s answers ?%s as if none were given', async (path, empty) => {
    const get = (url: string) => ctx.app.request(url, { headers: { cookie: admin.cookie } })
    const plain = await get(path)
    expect(plain.status, await plain.clone().text()).toBe(200)
    const emptied = await get(`${path}${path.includes('?') ? '&' : '?'}${empty}`)
    expect(emptied.status, await emptied.clone().text()).toBe(200)
    expect(await emptied.text()).toBe(await plain.text())
  })
})
