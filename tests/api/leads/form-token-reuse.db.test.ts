import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { submissions } from '../../../api/db/schema.ts'
import { RATE_LIMIT_KEEP_MS } from '../../../api/db/maintenance.ts'
import { FORM_TOKEN_MAX_USES, issueFormToken } from '../../../api/leads/form-tokens.ts'
import { pruneRateLimits } from '../../../api/rate-limits.ts'
import {
  leadForm,
  OTHER_WHITEPAPER,
  pageOf,
  postLead,
  setupLeadApp,
  WHITEPAPER,
} from './lead-helpers.ts'

// Issue 19, item 5: a form token used to be valid 24 h for any offer, any number of times.

const ctx = await setupLeadApp()
const db = ctx.deps.db
const submissionOf = async (email: string) =>
  (await db.select().from(submissions).where(eq(submissions.email, email)))[0]!

describe('the spam-trap form token', () => {
  it('from another offer’s page puts the post in quarantine', async () => {
    const token = issueFormToken(
      ctx.deps.secret,
      new Date(ctx.clock.now().getTime() - 10_000),
      pageOf(OTHER_WHITEPAPER),
    )
    const res = await postLead(ctx, leadForm(ctx, { email: 'moved@bot.example', formToken: token }))
    expect(res.status).toBe(303)
    const row = await submissionOf('moved@bot.example')
    expect(row.status).toBe('quarantined')
    expect(row.spamReasons).toEqual(['form_token_other_form'])
  })

  it(`serves ${FORM_TOKEN_MAX_USES} posts; the next one with it goes to quarantine`, async () => {
    const { formToken } = leadForm(ctx)
    for (let i = 0; i < FORM_TOKEN_MAX_USES; i++) {
      const post = leadForm(ctx, { email: `colleague${i}@reuse.example`, formToken: formToken! })
      expect((await postLead(ctx, post)).status).toBe(303)
      // The same post again (a double click) is the same use.
      expect((await postLead(ctx, post)).status).toBe(303)
      expect((await submissionOf(`colleague${i}@reuse.example`)).status).toBe('accepted')
    }
    await postLead(
      ctx,
      leadForm(ctx, { email: 'one-too-many@reuse.example', formToken: formToken! }),
    )
    const row = await submissionOf('one-too-many@reuse.example')
    expect(row.status).toBe('quarantined')
    expect(row.spamReasons).toEqual(['form_token_reused'])
    // A fresh page view is a fresh token.
    await postLead(ctx, leadForm(ctx, { email: 'fresh@reuse.example' }))
    expect((await submissionOf('fresh@reuse.example')).status).toBe('accepted')
  })

  it(`serves an expired one (a page left open for days) for ${FORM_TOKEN_MAX_USES} posts too; a bot replaying it goes to quarantine`, async () => {
    // Old enough that its expiry is older than what the pruning keeps: the uses still count.
    const renderedAt = new Date(ctx.clock.now().getTime() - 7 * 24 * 3_600_000)
    const formToken = issueFormToken(ctx.deps.secret, renderedAt, pageOf(WHITEPAPER))
    const once = leadForm(ctx, { email: 'left-open@stale.example', formToken })
    expect((await postLead(ctx, once)).status).toBe(303)
    expect(await submissionOf('left-open@stale.example')).toMatchObject({
      status: 'accepted',
      spamReasons: null,
    })
    ctx.clock.advance(60_000)
    // The same post again later (a retry) is the same use.
    expect((await postLead(ctx, once)).status).toBe(303)
    for (let i = 1; i < FORM_TOKEN_MAX_USES; i++) {
      await postLead(ctx, leadForm(ctx, { email: `replay${i}@stale.example`, formToken }))
      expect((await submissionOf(`replay${i}@stale.example`)).status).toBe('accepted')
    }
    // The housekeeping's pruning keeps the uses (their mark is not the long-gone expiry).
    await pruneRateLimits(db, new Date(ctx.clock.now().getTime() - RATE_LIMIT_KEEP_MS))
    await postLead(ctx, leadForm(ctx, { email: 'one-too-many@stale.example', formToken }))
    const row = await submissionOf('one-too-many@stale.example')
    expect(row.status).toBe('quarantined')
    expect(row.spamReasons).toEqual(['form_token_reused'])
  })
})
