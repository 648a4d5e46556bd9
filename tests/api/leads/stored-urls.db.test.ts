import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { dealEvents, deals, settings, submissions } from '../../../api/db/schema.ts'
import { scrubStoredUrls, withoutBearerTokens } from '../../../api/leads/stored-urls.ts'
import { describeEvidence } from '../../../api/pipeline/evidence.ts'
import { ORIGIN } from '../../helpers.ts'
import { makeDeal } from '../pipeline/fixtures.ts'
import { leadForm, postLead, setupLeadApp } from './lead-helpers.ts'

// Issue 15, item 6: browsing on from `/thanks?…&dl=<token>` stored the download token as the
// next lead's Referrer, in front of every rep and SDR.

const ctx = await setupLeadApp()
const db = ctx.deps.db
const TOKEN = 'abcdefghijklmnopqrstuvwxyz234567'

describe('withoutBearerTokens', () => {
  it('drops our dl, token and key parameters and the token of /d/, /u/ and /r/ links', () => {
    expect(withoutBearerTokens(`${ORIGIN}/thanks?offer=trial&dl=${TOKEN}`, ORIGIN)).toBe(
      `${ORIGIN}/thanks?offer=trial`,
    )
    expect(withoutBearerTokens(`${ORIGIN}/grader/r1?key=${TOKEN}#x`, ORIGIN)).toBe(
      `${ORIGIN}/grader/r1#x`,
    )
    expect(withoutBearerTokens(`${ORIGIN}/password?token=${TOKEN}`, ORIGIN)).toBe(
      `${ORIGIN}/password`,
    )
    expect(withoutBearerTokens(`${ORIGIN}/d/${TOKEN}`, ORIGIN)).toBe(`${ORIGIN}/d/redacted`)
    expect(withoutBearerTokens(`/u/${TOKEN}`, ORIGIN)).toBe('/u/redacted')
  })

  it('leaves other sites’ URLs, clean URLs and nothing as they are', () => {
    expect(withoutBearerTokens('https://www.reddit.com/r/sales?token=x', ORIGIN)).toBe(
      'https://www.reddit.com/r/sales?token=x',
    )
    expect(withoutBearerTokens(`${ORIGIN}/whitepapers/x?utm_source=a`, ORIGIN)).toBe(
      `${ORIGIN}/whitepapers/x?utm_source=a`,
    )
    expect(withoutBearerTokens(null, ORIGIN)).toBeNull()
    expect(withoutBearerTokens('not a url at all %%', ORIGIN)).toBe('not a url at all %%')
  })
})

describe('a lead post from a page reached through a bearer link', () => {
  it('stores its referrer and page URL without the token, in the submission and the evidence', async () => {
    const res = await postLead(
      ctx,
      leadForm(ctx, {
        email: 'next.visitor@acme-robotics.com',
        referrer: `${ORIGIN}/thanks?offer=whitepaper%3Ax&dl=${TOKEN}`,
        pageUrl: `${ORIGIN}/whitepapers/mid-market-pipeline-benchmark-2026?key=${TOKEN}`,
      }),
      { js: true },
    )
    expect(res.status).toBe(201)
    const [sub] = await db
      .select()
      .from(submissions)
      .where(eq(submissions.email, 'next.visitor@acme-robotics.com'))
    expect(sub!.referrer).toBe(`${ORIGIN}/thanks?offer=whitepaper%3Ax`)
    expect(sub!.pageUrl).toBe(`${ORIGIN}/whitepapers/mid-market-pipeline-benchmark-2026`)
    const [deal] = await db.select().from(deals).where(eq(deals.contactId, sub!.contactId!))
    const evidence = await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal!.id))
    const shown = JSON.stringify(evidence.map((e) => describeEvidence(e.data)))
    expect(shown).toContain('/thanks?offer=whitepaper%3Ax')
    expect(shown).not.toContain(TOKEN)
  })
})

describe('rows stored before', () => {
  it('are rewritten once at start-up: submissions and form evidence', async () => {
    const deal = await makeDeal(db, {
      evidence: {
        kind: 'form',
        offer: 'trial',
        referrer: `${ORIGIN}/thanks?offer=trial&dl=${TOKEN}`,
      },
    })
    await db.insert(submissions).values({
      id: '01900000-0000-7000-8000-0000000000b6',
      kind: 'trial',
      offer: 'trial',
      email: 'old@example.com',
      fields: {},
      referrer: `${ORIGIN}/thanks?offer=trial&dl=${TOKEN}`,
      pageUrl: `${ORIGIN}/d/${TOKEN}`,
      status: 'accepted',
    })
    await db.delete(settings).where(eq(settings.key, 'scrub.bearer-urls.v1'))
    const report = await scrubStoredUrls(db, ORIGIN)
    expect(report.submissions).toBeGreaterThanOrEqual(1)
    expect(report.evidence).toBe(1)
    const [sub] = await db
      .select()
      .from(submissions)
      .where(eq(submissions.id, '01900000-0000-7000-8000-0000000000b6'))
    expect(sub!.referrer).toBe(`${ORIGIN}/thanks?offer=trial`)
    expect(sub!.pageUrl).toBe(`${ORIGIN}/d/redacted`)
    const [event] = await db
      .select()
      .from(dealEvents)
      .where(and(eq(dealEvents.dealId, deal.id), eq(dealEvents.type, 'evidence')))
    expect((event!.data as { referrer: string }).referrer).toBe(`${ORIGIN}/thanks?offer=trial`)
    // Once done, later starts skip it.
    expect(await scrubStoredUrls(db, ORIGIN)).toEqual({ submissions: 0, evidence: 0 })
  })
})
