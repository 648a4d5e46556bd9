import { eq } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { createApp } from '../../../api/app.ts'
import { campaignRecipients, clickEvents, deals } from '../../../api/db/schema.ts'
import { createClickWriter } from '../../../api/tracking/click-writer.ts'
import { BEACON_LIMIT, BEACON_TTL_MS } from '../../../api/tracking/beacon.ts'
import { judgePendingClicks } from '../../../api/tracking/verdict-jobs.ts'
import { ORIGIN, setupTestApp } from '../../helpers.ts'
import { addTrackedLinks } from './fixtures.ts'

// The beacon round trip: a tracked link to a page of this site lands with a single-use
// reference; the page sends it back after interaction; the click becomes human_confirmed.

const ctx = await setupTestApp({ TRUST_PROXY: 'true' })
const { db } = ctx.deps
const writer = createClickWriter(db, ctx.deps.logger)
const app = createApp(ctx.deps, writer)
afterAll(() => writer.drain())

const BROWSER = {
  'user-agent':
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Version/18.1 Mobile Safari/604.1',
  'accept-language': 'en-US',
}
let ipCounter = 0
const freshIp = () => `81.120.9.${++ipCounter}`

async function landOnOurPage() {
  const link = await addTrackedLinks(db, [
    `${ORIGIN}/whitepapers/mid-market-pipeline-benchmark-2026`,
  ])
  const ip = freshIp()
  const res = await app.request(`/r/${link.tokens[0]}`, {
    headers: { ...BROWSER, 'x-forwarded-for': ip },
  })
  expect(res.status).toBe(302)
  const location = res.headers.get('location')!
  const ref = /#fdr=([A-Za-z0-9_-]{22})$/.exec(location)?.[1]
  expect(ref, location).toBeTruthy()
  return { ...link, ref: ref!, ip, location }
}

function beacon(body: Record<string, string>, options: { ip?: string; origin?: string } = {}) {
  return app.request('/api/beacon', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      origin: options.origin ?? ORIGIN,
      'x-forwarded-for': options.ip ?? freshIp(),
    },
    body: new URLSearchParams(body).toString(),
  })
}

/** The open deal of the recipient's contact. */
async function dealOf(recipientId: string) {
  const [row] = await db
    .select({ deal: deals })
    .from(campaignRecipients)
    .innerJoin(deals, eq(deals.contactId, campaignRecipients.contactId))
    .where(eq(campaignRecipients.id, recipientId))
  return row?.deal ?? null
}

const clickOf = async (token: string) =>
  (await db.select().from(clickEvents).where(eq(clickEvents.token, token)))[0]!

describe('the redirect', () => {
  it('gives a page of this site a fresh reference in the fragment, stored with the click', async () => {
    const a = await landOnOurPage()
    expect(a.location).toBe(`${ORIGIN}/whitepapers/mid-market-pipeline-benchmark-2026#fdr=${a.ref}`)
    expect((await clickOf(a.tokens[0]!)).beaconRef).toBe(a.ref)
    const b = await app.request(`/r/${a.tokens[0]}`, { headers: BROWSER })
    expect(b.headers.get('location')).not.toContain(a.ref)
  })

  it('sends other sites, and HEAD requests, to the bare destination', async () => {
    const { tokens } = await addTrackedLinks(db, ['https://www.example.com/pricing'])
    expect(
      (await app.request(`/r/${tokens[0]}`, { headers: BROWSER })).headers.get('location'),
    ).toBe('https://www.example.com/pricing')
    const ours = await addTrackedLinks(db, [`${ORIGIN}/trial`])
    const head = await app.request(`/r/${ours.tokens[0]}`, { method: 'HEAD' })
    expect(head.headers.get('location')).toBe(`${ORIGIN}/trial`)
  })
})

describe('POST /api/beacon', () => {
  it('confirms the click after interaction, once; the verdict job judges it at once and qualifies', async () => {
    const a = await landOnOurPage()
    const res = await beacon({ ref: a.ref, interaction: 'scroll' })
    expect(res.status).toBe(204)
    const click = await clickOf(a.tokens[0]!)
    expect(click.confirmedAt).toEqual(ctx.clock.now())
    // No waiting out the burst window: the clock has not moved.
    await judgePendingClicks(db, ctx.clock.now())
    expect((await clickOf(a.tokens[0]!)).verdict).toBe('human_confirmed')
    expect(await dealOf(a.recipientId)).toMatchObject({ stage: 'target', source: 'outbound' })
    const again = await beacon({ ref: a.ref, interaction: 'pointer' })
    expect(again.status).toBe(404)
    expect(await again.json()).toEqual({
      error: {
        code: 'unknown_reference',
        message: 'This reference is unknown, expired or already used.',
      },
    })
  })

  it('a beacon without interaction confirms nothing, and leaves the reference for a real one', async () => {
    const a = await landOnOurPage()
    const bodies: Record<string, string>[] = [
      { ref: a.ref },
      { ref: a.ref, interaction: 'load' },
      { ref: a.ref, interaction: 'visible', visibleMs: '500' },
    ]
    for (const body of bodies) {
      const res = await beacon(body)
      expect(res.status).toBe(422)
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
        /interaction|visible/,
      )
    }
    expect((await clickOf(a.tokens[0]!)).confirmedAt).toBeNull()
    ctx.clock.advance(60_000)
    await judgePendingClicks(db, ctx.clock.now())
    expect((await clickOf(a.tokens[0]!)).verdict).toBe('human')
    expect((await beacon({ ref: a.ref, interaction: 'visible', visibleMs: '2000' })).status).toBe(
      204,
    )
    await judgePendingClicks(db, ctx.clock.now())
    expect((await clickOf(a.tokens[0]!)).verdict).toBe('human_confirmed')
    expect((await dealOf(a.recipientId))?.stage).toBe('target')
  })

  it('refuses an expired reference, a malformed one and a cross-site beacon', async () => {
    const a = await landOnOurPage()
    expect(
      (await beacon({ ref: a.ref, interaction: 'key' }, { origin: 'https://evil.example' })).status,
    ).toBe(403)
    expect((await beacon({ ref: 'x', interaction: 'key' })).status).toBe(422)
    ctx.clock.advance(BEACON_TTL_MS + 1)
    expect((await beacon({ ref: a.ref, interaction: 'key' })).status).toBe(404)
    expect((await clickOf(a.tokens[0]!)).confirmedAt).toBeNull()
  })

  it('is rate-limited per address', async () => {
    const ip = freshIp()
    for (let i = 0; i < BEACON_LIMIT.limit; i++)
      expect((await beacon({ ref: 'A'.repeat(22), interaction: 'key' }, { ip })).status).toBe(404)
    const limited = await beacon({ ref: 'A'.repeat(22), interaction: 'key' }, { ip })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await beacon({ ref: 'A'.repeat(22), interaction: 'key' })).status).toBe(404)
  })
})
