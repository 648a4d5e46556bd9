import { describe, expect, it } from 'vitest'
import { makeDeal } from '../pipeline/fixtures.ts'
import { form, ORIGIN, setupTestApp, signedInAs } from '../../helpers.ts'

// A refused plain form's message names the field as the page labels it (readInput's `labels`),
// never by its internal name: "Messages per hour", not "Rate Per Hour".

const ctx = await setupTestApp()
const error = (res: Response) =>
  new URL(res.headers.get('location')!, ORIGIN).searchParams.get('error')

describe('a refused form names the field by its visible label', () => {
  it('a new campaign sending 0 messages an hour: “Messages per hour”', async () => {
    const sdr = await signedInAs(ctx, 'sdr')
    const res = await ctx.app.request(
      '/api/campaigns',
      form(
        {
          name: 'Q1 robotics',
          senderName: 'Sam',
          senderEmail: 'sam@frontdoor.example',
          subjectTemplate: 'Hello {{firstName}}',
          bodyTemplate: 'Hi {{firstName|there}},\n\nA short note about robots.',
          ratePerHour: '0',
          windowStartHour: '9',
          windowEndHour: '17',
          timezone: 'Europe/Berlin',
        },
        { cookie: sdr.cookie },
      ),
    )
    expect(res.status).toBe(303)
    expect(error(res)).toBe('Messages per hour: Send at least 1 an hour.')
  })

  it('a deal marked lost with a reason of only spaces: the question the form asks', async () => {
    const rep = await signedInAs(ctx, 'rep')
    const deal = await makeDeal(ctx.deps.db, { ownerId: rep.user.id, stage: 'demo' })
    const res = await ctx.app.request(
      `/api/deals/${deal.id}/stage`,
      form(
        { stage: 'lost', lostReason: '   ', next: `/app/deals/${deal.id}` },
        { cookie: rep.cookie },
      ),
    )
    expect(error(res)).toBe('Why was it lost? Say why the deal was lost.')
  })

  it('the stale days of a stage on the funnel page, by the stage’s name', async () => {
    const admin = await signedInAs(ctx, 'admin')
    const res = await ctx.app.request(
      '/api/pipeline-settings',
      form({ stale_demo: '0', next: '/app/funnel' }, { cookie: admin.cookie }),
    )
    expect(error(res)).toMatch(/^Days before stale, Demo: /)
  })

  it('a field the page labels as it is named keeps the humanised name', async () => {
    const rep = await signedInAs(ctx, 'rep')
    const deal = await makeDeal(ctx.deps.db, { ownerId: rep.user.id, stage: 'demo' })
    const res = await ctx.app.request(
      `/api/deals/${deal.id}`,
      form({ currency: 'EURO', next: `/app/deals/${deal.id}` }, { cookie: rep.cookie }),
    )
    expect(error(res)).toBe('Currency must be a 3-letter ISO 4217 code such as EUR or USD.')
    const title = await ctx.app.request(
      `/api/deals/${deal.id}`,
      form({ title: 'x'.repeat(201), next: `/app/deals/${deal.id}` }, { cookie: rep.cookie }),
    )
    expect(error(title)).toMatch(/^Title: /)
  })
})
