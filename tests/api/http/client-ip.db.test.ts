import { eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { clickEvents, submissions } from '../../../api/db/schema.ts'
import { proxiedAddress } from '../../../api/http/client-ip.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { leadForm, postLead, setupLeadApp } from '../leads/lead-helpers.ts'
import { addTrackedLinks } from '../tracking/fixtures.ts'

// TRUST_PROXY reads the address our own proxy appended (the rightmost X-Forwarded-For entry);
// whatever a client puts to its left is ignored.

const ctx = await setupLeadApp({ LEADS_PER_IP_PER_HOUR: '3' })
const writer = createClickWriter(ctx.deps.db, ctx.deps.logger)
afterAll(() => writer.drain())

describe('proxiedAddress', () => {
  it('takes the last entry when it is an address', () => {
    expect(proxiedAddress('203.0.113.50')).toBe('203.0.113.50')
    expect(proxiedAddress('1.2.3.4, 10.0.0.1,203.0.113.50')).toBe('203.0.113.50')
    expect(proxiedAddress('1.2.3.4, 2001:db8::7')).toBe('2001:db8::7')
    expect(proxiedAddress('1.2.3.4, not-an-ip')).toBeNull()
    expect(proxiedAddress('')).toBeNull()
    expect(proxiedAddress(undefined)).toBeNull()
  })

  it('drops the port some proxies append (Azure Application Gateway, IIS ARR)', () => {
    expect(proxiedAddress('203.0.113.50:50123')).toBe('203.0.113.50')
    expect(proxiedAddress('1.2.3.4:1, [2001:db8::7]:50123')).toBe('2001:db8::7')
    expect(proxiedAddress('[2001:db8::7]')).toBe('2001:db8::7')
    expect(proxiedAddress('203.0.113.50:port')).toBeNull()
  })
})

describe('behind a proxy that appends the client’s port', () => {
  it('each visitor keeps their own per-IP limit instead of sharing the proxy’s', async () => {
    // Four people, each under the limit (3 an hour); none of them is a bot.
    for (let i = 1; i <= 4; i++) {
      const email = `visitor${i}@port-proxy.example`
      await postLead(ctx, leadForm(ctx, { email }), { ip: `198.51.100.${i}:5${i}123` })
      const [row] = await ctx.deps.db.select().from(submissions).where(eq(submissions.email, email))
      expect(row).toMatchObject({ status: 'accepted', ip: `198.51.100.${i}` })
    }
  })
})

describe('a client forging X-Forwarded-For behind our proxy', () => {
  it('cannot dodge the per-IP limit by rotating the entries it controls', async () => {
    const proxySaw = '203.0.113.50'
    const forged = (i: number) => `198.51.100.${i}, 192.0.2.${i}, ${proxySaw}`
    for (let i = 0; i < 3; i++) {
      await postLead(ctx, leadForm(ctx, { email: `forger${i}@acme-robotics.com` }), {
        ip: forged(i),
      })
      const [accepted] = await ctx.deps.db
        .select()
        .from(submissions)
        .where(eq(submissions.email, `forger${i}@acme-robotics.com`))
      expect(accepted!.status).toBe('accepted')
    }
    await postLead(ctx, leadForm(ctx, { email: 'forger3@acme-robotics.com' }), { ip: forged(3) })
    const [row] = await ctx.deps.db
      .select()
      .from(submissions)
      .where(eq(submissions.email, 'forger3@acme-robotics.com'))
    expect(row).toMatchObject({ status: 'quarantined', ip: proxySaw })
    expect(row!.spamReasons).toContain('rate_limited')
  })

  it('a tracked click records the address the proxy saw, not the forged one', async () => {
    const app = createApp(ctx.deps, writer)
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    const res = await app.request(`/r/${tokens[0]}`, {
      headers: { 'user-agent': 'Mozilla/5.0', 'x-forwarded-for': '40.107.1.1, 81.120.7.9' },
    })
    expect(res.status).toBe(302)
    const [click] = await ctx.deps.db
      .select()
      .from(clickEvents)
      .where(eq(clickEvents.token, tokens[0]!))
    expect(click!.ip).toBe('81.120.7.9')
  })

  it('without TRUST_PROXY the header is not read at all', async () => {
    const app = createApp({ ...ctx.deps, env: { ...ctx.deps.env, TRUST_PROXY: false } }, writer)
    const { tokens } = await addTrackedLinks(ctx.deps.db, ['https://www.example.com/'])
    await app.request(`/r/${tokens[0]}`, {
      headers: { 'user-agent': 'Mozilla/5.0', 'x-forwarded-for': '81.120.7.9' },
    })
    const [click] = await ctx.deps.db
      .select()
      .from(clickEvents)
      .where(eq(clickEvents.token, tokens[0]!))
    expect(click!.ip).toBe('unknown')
  })
})
