import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { contacts, dealEvents, submissions } from '../../api/db/schema.ts'
import { newId } from '../../api/ids.ts'
import { createLogger } from '../../api/logger.ts'
import { FIRST_TOUCH_COOKIE } from '../../api/leads/first-touch.ts'
import { ORIGIN, form, json, signedInAs } from '../helpers.ts'
import { leadForm, postLead, rowCounts, setupLeadApp } from '../api/leads/lead-helpers.ts'
import { makeDeal } from '../api/pipeline/fixtures.ts'

// Issue 19, item 1: a U+0000 in any field used to reach the insert, which both engines refuse
// (22021 text, 22P05 jsonb): a 500, the lead lost, and the query's parameters in the error log.

const ctx = await setupLeadApp()
const db = ctx.deps.db

describe('a NUL byte in a form field', () => {
  it.each([['name'], ['company'], ['utm_source'], ['jobTitle']])(
    'in %s of the lead form → 400 for a plain form and the enhanced one, nothing written',
    async (field) => {
      const before = await rowCounts(ctx)
      for (const js of [false, true]) {
        const res = await postLead(ctx, leadForm(ctx, { [field]: 'Dana\u0000Lee' }), { js })
        expect(res.status).toBe(400)
        expect((await res.json()).error).toEqual({
          code: 'invalid_character',
          message: 'The request contains a NUL character (U+0000), which is not accepted.',
        })
      }
      expect(await rowCounts(ctx)).toEqual(before)
    },
  )

  it('in a field name → 400', async () => {
    const res = await postLead(ctx, { ...leadForm(ctx), 'na\u0000me': 'x' })
    expect(res.status).toBe(400)
  })

  it('in a first-touch cookie → the cookie is ignored and the lead is kept', async () => {
    const touch = {
      utm: { utm_source: 'li\u0000nkedin' },
      landingPage: '/',
      referrer: null,
      ts: '2026-11-29T09:00:00.000Z',
    }
    const res = await postLead(ctx, leadForm(ctx, { email: 'cookie.nul@acme-robotics.com' }), {
      headers: { cookie: `${FIRST_TOUCH_COOKIE}=${encodeURIComponent(JSON.stringify(touch))}` },
    })
    expect(res.status).toBe(303)
    const [contact] = await db
      .select()
      .from(contacts)
      .where(eq(contacts.email, 'cookie.nul@acme-robotics.com'))
    const [submission] = await db
      .select()
      .from(submissions)
      .where(eq(submissions.contactId, contact!.id))
    expect(submission!.firstTouch).toBeNull()
  })

  it('in a signed-in form, JSON or plain form, at any depth → 400 and no note', async () => {
    const rep = await signedInAs(ctx, 'rep')
    const deal = await makeDeal(db, { ownerId: rep.user.id, stage: 'demo' })
    const notes = async () =>
      (await db.select().from(dealEvents).where(eq(dealEvents.dealId, deal.id))).length
    const before = await notes()
    const viaJson = await ctx.app.request(
      `/api/deals/${deal.id}/notes`,
      json({ body: 'call back\u0000' }, { cookie: rep.cookie }),
    )
    expect(viaJson.status).toBe(400)
    const viaForm = await ctx.app.request(
      `/api/deals/${deal.id}/notes`,
      form({ body: 'call back\u0000' }, { cookie: rep.cookie }),
    )
    expect(viaForm.status).toBe(400)
    const nested = await ctx.app.request(`/api/deals/${deal.id}`, {
      ...json({ stakeholders: [{ 'x\u0000': 1 }] }, { cookie: rep.cookie }),
      method: 'PATCH',
    })
    expect(nested.status).toBe(400)
    expect(await notes()).toBe(before)
  })
})

describe('a charset other than UTF-8', () => {
  it('is refused with 415; utf-8 in any spelling is accepted', async () => {
    const latin1 = await ctx.app.request('/api/leads', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1',
        origin: ORIGIN,
      },
      body: new URLSearchParams(leadForm(ctx)).toString(),
    })
    expect(latin1.status).toBe(415)
    expect((await latin1.json()).error.code).toBe('unsupported_charset')
    const utf8 = await postLead(ctx, leadForm(ctx, { email: 'charset@acme-robotics.com' }), {
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset="UTF-8"' },
    })
    expect(utf8.status).toBe(303)
  })
})

describe('the log line of a failed query', () => {
  it('names the SQLSTATE and the query but carries none of its parameters', async () => {
    const lines: string[] = []
    for (const format of ['json', 'pretty'] as const) {
      const logger = createLogger({ level: 'error', format, write: (l) => lines.push(l) })
      const err = await db
        .insert(contacts)
        .values({
          id: newId(),
          email: 'secret.person@private-domain.example',
          emailDisplay: 'secret.person@private-domain.example',
          firstName: 'Secret\u0000Person',
          source: 'inbound',
        })
        .then(
          () => null,
          (e: unknown) => e,
        )
      expect(err).toBeInstanceOf(Error)
      logger.error('unhandled error', { err, path: '/api/leads' })
    }
    expect(lines).toHaveLength(2)
    for (const line of lines) {
      expect(line).toMatch(/insert into \\?"contacts\\?"/)
      expect(line).toMatch(/22021|22P05/)
      expect(line).not.toContain('secret.person')
      expect(line).not.toContain('private-domain')
      expect(line).not.toContain('Secret')
    }
  })
})
