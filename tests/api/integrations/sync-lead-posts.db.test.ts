import { describe, expect, it } from 'vitest'
import { SYNC_SETTLE_MS } from '../../../api/integrations/sync.ts'
import { json, ORIGIN, signedInAs } from '../../helpers.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'

// A person who posts a form again changes their contact: an integration syncing contacts gets it
// again, even when both posts carry the same instant and it read the first in between.

const ctx = await setupLeadApp()
const admin = await signedInAs(ctx, 'admin')
const made = await ctx.app.request(
  '/api/admin/api-tokens',
  json({ name: 'sync', scopes: ['leads:read'] }, { cookie: admin.cookie, origin: ORIGIN }),
)
const { token } = (await made.json()) as { token: string }

type Page = { data: Array<{ email: string; jobTitle: string | null }>; nextCursor: string }
const contactsAfter = async (cursor: string | null) => {
  const res = await ctx.app.request(`/api/sync/contacts${cursor ? `?cursor=${cursor}` : ''}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.status).toBe(200)
  return (await res.json()) as Page
}

describe('a contact changed by a second form post', () => {
  it('comes again after the cursor, though both posts carry the same instant', async () => {
    const email = 'again@acme-robotics.com'
    const at = ctx.clock.now()
    const settled = new Date(at.getTime() + SYNC_SETTLE_MS + 1000)
    expect((await postLead(ctx, leadForm(ctx, { email, jobTitle: 'CTO' }))).status).toBe(303)
    ctx.clock.set(settled)
    const first = await contactsAfter(null)
    expect(first.data.map((c) => [c.email, c.jobTitle])).toEqual([[email, 'CTO']])
    // The second post's request took its `now` at the same instant as the first.
    ctx.clock.set(at)
    expect((await postLead(ctx, leadForm(ctx, { email, jobTitle: 'CEO' }))).status).toBe(303)
    ctx.clock.set(settled)
    const second = await contactsAfter(first.nextCursor)
    expect(second.data.map((c) => [c.email, c.jobTitle])).toEqual([[email, 'CEO']])
  })
})
