import { describe, expect, it } from 'vitest'
import { createSubscription, findSubscription } from '../../../api/integrations/webhooks.ts'
import { ORIGIN, form, json, setupTestApp, signedInAs } from '../../helpers.ts'

const ctx = await setupTestApp()
const admin = await signedInAs(ctx, 'admin')

describe('/api/admin/webhooks/:id actions', () => {
  it('answers a malformed or unknown id as JSON to an API client, and 303 back to a plain form', async () => {
    // These used to answer JSON whatever asked: with JavaScript off, the admin got a JSON page
    // instead of the webhooks page saying why.
    const sub = await createSubscription(
      ctx.deps.db,
      { url: 'https://hooks.example/in', events: ['deal.won'], createdBy: admin.user.id },
      ctx.deps.now(),
    )
    const unknown = '01900000-0000-7000-8000-000000000000'
    const never = 'This subscription was never sent that event.'
    // Path, JSON status, code and message, and the page a plain form goes back to.
    type Case = [string, number, string, string, string]
    const cases: Case[] = [
      ...['enable', 'disable', 'delete', 'test', 'rotate-secret'].flatMap((act): Case[] => [
        [`not-a-uuid/${act}`, 422, 'invalid_input', 'Unknown subscription.', '/app/admin/webhooks'],
        [`${unknown}/${act}`, 404, 'not_found', 'Unknown subscription.', '/app/admin/webhooks'],
      ]),
      [
        `not-a-uuid/deliveries/${unknown}/resend`,
        422,
        'invalid_input',
        'Unknown subscription.',
        '/app/admin/webhooks',
      ],
      [
        `${sub.id}/deliveries/not-a-uuid/resend`,
        422,
        'invalid_input',
        'Unknown event.',
        `/app/admin/webhooks/${sub.id}`,
      ],
      [
        `${sub.id}/deliveries/${unknown}/resend`,
        404,
        'not_found',
        never,
        `/app/admin/webhooks/${sub.id}`,
      ],
    ]
    const headers = { cookie: admin.cookie, origin: ORIGIN }
    for (const [tail, status, code, message, page] of cases) {
      const path = `/api/admin/webhooks/${tail}`
      // A bare POST (the API's way) and a JSON one both get the JSON error, as before.
      for (const init of [{ method: 'POST', headers }, json({}, headers)]) {
        const api = await ctx.app.request(path, init)
        expect(api.status, path).toBe(status)
        const { error } = (await api.json()) as { error: Record<string, unknown> }
        expect(error, path).toEqual({
          code,
          message,
          ...(status === 422 ? { fields: { _: message } } : {}),
        })
      }
      const back = await ctx.app.request(path, form({}, headers))
      expect(back.status, path).toBe(303)
      const to = new URL(back.headers.get('location')!, ORIGIN)
      expect(to.pathname, path).toBe(page)
      expect(to.searchParams.get('error'), path).toBe(message)
    }
    // DELETE and GET stay JSON.
    for (const method of ['DELETE', 'GET']) {
      const res = await ctx.app.request(`/api/admin/webhooks/not-a-uuid`, { method, headers })
      expect(res.status, method).toBe(422)
      expect((await res.json()).error.code, method).toBe('invalid_input')
    }
    expect(await findSubscription(ctx.deps.db, sub.id)).toMatchObject({ disabledAt: null })
  })
})
