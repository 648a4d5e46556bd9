import { describe, expect, it } from 'vitest'
import { saveStakeholder } from '../../../api/pipeline/deals.ts'
import { ORIGIN, json, setupTestApp, signedInAs } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'

const ctx = await setupTestApp()
const db = ctx.deps.db
const owner = await signedInAs(ctx, 'rep')
const people = {
  anonymous: { cookie: '' },
  sdr: await signedInAs(ctx, 'sdr'),
  owner,
  'other rep': await signedInAs(ctx, 'rep'),
  admin: await signedInAs(ctx, 'admin'),
}
type Who = keyof typeof people

type Call = (ids: { deal: string; lead: string; stakeholder: string }) => {
  method: string
  path: string
  body?: unknown
}

const routes: Array<[string, Call, Record<Who, number>]> = [
  [
    'GET the queue',
    () => ({ method: 'GET', path: '/api/deals/queue' }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'GET my board',
    () => ({ method: 'GET', path: '/api/deals/board?owner=me' }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'GET the team board',
    () => ({ method: 'GET', path: '/api/deals/board?owner=team' }),
    { anonymous: 401, sdr: 200, owner: 403, 'other rep': 403, admin: 200 },
  ],
  [
    'GET the team forecast (totals: a rep sees the team’s too)',
    () => ({ method: 'GET', path: '/api/deals/forecast?owner=team' }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'GET a team column',
    () => ({ method: 'GET', path: '/api/deals?stage=demo&owner=team' }),
    { anonymous: 401, sdr: 200, owner: 403, 'other rep': 403, admin: 200 },
  ],
  [
    'GET a deal',
    ({ deal }) => ({ method: 'GET', path: `/api/deals/${deal}` }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'GET a queued lead',
    ({ lead }) => ({ method: 'GET', path: `/api/deals/${lead}` }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'POST claim',
    ({ lead }) => ({ method: 'POST', path: `/api/deals/${lead}/claim` }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'POST stage',
    ({ deal }) => ({
      method: 'POST',
      path: `/api/deals/${deal}/stage`,
      body: { stage: 'negotiation' },
    }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'POST details',
    ({ deal }) => ({ method: 'POST', path: `/api/deals/${deal}`, body: { amountCents: 100 } }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'PATCH details',
    ({ deal }) => ({
      method: 'PATCH',
      path: `/api/deals/${deal}`,
      body: { expectedCloseDate: '2027-01-01' },
    }),
    { anonymous: 401, sdr: 403, owner: 200, 'other rep': 403, admin: 200 },
  ],
  [
    'POST a note',
    ({ deal }) => ({ method: 'POST', path: `/api/deals/${deal}/notes`, body: { body: 'hello' } }),
    { anonymous: 401, sdr: 403, owner: 201, 'other rep': 403, admin: 201 },
  ],
  [
    'POST a stakeholder',
    ({ deal }) => ({
      method: 'POST',
      path: `/api/deals/${deal}/stakeholders`,
      body: {
        email: `x${Math.random()}@buyer.example`,
        name: 'X',
        role: 'user',
        stance: 'neutral',
      },
    }),
    { anonymous: 401, sdr: 403, owner: 201, 'other rep': 403, admin: 201 },
  ],
  [
    'DELETE a stakeholder',
    ({ deal, stakeholder }) => ({
      method: 'DELETE',
      path: `/api/deals/${deal}/stakeholders/${stakeholder}`,
    }),
    { anonymous: 401, sdr: 403, owner: 204, 'other rep': 403, admin: 204 },
  ],
  [
    'POST owner (reassign)',
    ({ deal }) => ({
      method: 'POST',
      path: `/api/deals/${deal}/owner`,
      body: {
        ownerId:
          people['other rep'] && 'user' in people['other rep'] ? people['other rep'].user.id : '',
      },
    }),
    { anonymous: 401, sdr: 403, owner: 403, 'other rep': 403, admin: 200 },
  ],
  [
    'GET pipeline settings',
    () => ({ method: 'GET', path: '/api/pipeline-settings' }),
    { anonymous: 401, sdr: 200, owner: 200, 'other rep': 200, admin: 200 },
  ],
  [
    'POST pipeline settings',
    () => ({ method: 'POST', path: '/api/pipeline-settings', body: { staleDays: { demo: 10 } } }),
    { anonymous: 401, sdr: 403, owner: 403, 'other rep': 403, admin: 200 },
  ],
]

describe('who may call each /api/deals route', () => {
  for (const [name, call, expected] of routes) {
    it.each(Object.keys(expected) as Who[])(`${name}: %s`, async (who) => {
      const deal = await makeDeal(db, { stage: 'demo', ownerId: owner.user.id })
      const lead = await makeDeal(db, { stage: 'target', ownerId: null })
      const saved = await saveStakeholder(
        db,
        deal.id,
        { id: owner.user.id, role: 'rep' },
        {
          email: `s${Math.random()}@buyer.example`,
          name: 'Sam Stake',
          role: 'champion',
          stance: 'supportive',
        },
        ctx.clock.now(),
      )
      if (!saved.ok) throw new Error(saved.message)
      const { method, path, body } = call({
        deal: deal.id,
        lead: lead.id,
        stakeholder: saved.stakeholder.id,
      })
      const headers: Record<string, string> = { origin: ORIGIN, accept: 'application/json' }
      if (people[who].cookie) headers.cookie = people[who].cookie
      const init = body === undefined ? { method, headers } : { ...json(body, headers), method }
      const res = await ctx.app.request(path, init)
      expect(res.status, await res.clone().text()).toBe(expected[who])
    })
  }
})

describe('pipeline settings', () => {
  it('lets an admin change stale thresholds and the email interval, and refuses nonsense', async () => {
    const { cookie } = people.admin
    const ok = await ctx.app.request(
      '/api/pipeline-settings',
      json({ staleDays: { negotiation: 30 }, notifyEveryMinutes: 60 }, { cookie }),
    )
    expect((await ok.json()).settings).toMatchObject({
      staleDays: { negotiation: 30, demo: 10, target: 7 },
      notifyEveryMinutes: 60,
    })
    for (const bad of [
      { staleDays: { negotiation: 0 } },
      { staleDays: { won: 3 } },
      { notifyEveryMinutes: 2000 },
      { staleDays: { demo: 1.5 } },
    ]) {
      expect((await ctx.app.request('/api/pipeline-settings', json(bad, { cookie }))).status).toBe(
        422,
      )
    }
    const read = await (
      await ctx.app.request('/api/pipeline-settings', { headers: { cookie } })
    ).json()
    expect(read.settings.staleDays.negotiation).toBe(30)
  })
})
