import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  MAX_BACK_MESSAGE_ENCODED,
  readInput,
  refuse,
  respond,
  type Back,
} from '../../../api/http/form-or-json.ts'

// One edge for every action: JSON in, JSON out for API clients; a plain HTML form gets a 303
// back to its page with ?notice= or ?error=, never to another site.

const schema = z.strictObject({
  amountCents: z.coerce.number().int().min(0, 'The amount cannot be negative.'),
  expectedCloseDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  next: z.string().optional(),
})
const backTo = (next: unknown): Back => ({ next, fallback: '/app/pipeline', within: '/app' })

const app = new Hono()
  .post('/save', async (c) => {
    const input = await readInput(c, schema, (data) => backTo(data.next))
    if (input instanceof Response) return input
    if (input.amountCents === 13)
      return refuse(
        c,
        backTo(input.next),
        {
          status: 409,
          code: 'unlucky',
          message: 'Not that amount.',
          fields: { amountCents: 'No.' },
        },
        { params: { typed: '13' } },
      )
    return respond(
      c,
      backTo(input.next),
      { notice: 'Saved.', amount: String(input.amountCents) },
      () => c.json({ saved: input.amountCents }, 201),
    )
  })
  .post('/claim', (c) =>
    respond(c, '/app/leads#queue', { notice: 'Taken.' }, () => c.json({ ok: true }), {
      bodyless: 'json',
    }),
  )
  .post('/long', (c) =>
    refuse(c, '/app/campaigns/1', {
      status: 422,
      code: 'bad_header',
      message: `No email column in: ${'日本語の見出し,'.repeat(500)}`,
    }),
  )
  .post('/release', (c) =>
    respond(c, '/app/admin/quarantine', { notice: 'Released.' }, () => c.json({ ok: true })),
  )

const post = (path: string, body: string, headers: Record<string, string>) =>
  app.request(path, { method: 'POST', body, headers })
const asForm = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  post('/save', new URLSearchParams(fields).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    ...headers,
  })
const asJson = (body: unknown) =>
  post('/save', JSON.stringify(body), { 'content-type': 'application/json' })
const location = (res: Response) => res.headers.get('location')

describe('readInput', () => {
  it('answers an API client 422 with every field’s problem', async () => {
    const res = await asJson({ amountCents: -1, expectedCloseDate: 'soon' })
    expect(res.status).toBe(422)
    const { error } = await res.json()
    expect(error.code).toBe('invalid_input')
    expect(Object.keys(error.fields).sort()).toEqual(['amountCents', 'expectedCloseDate'])
  })

  it('sends a plain form back to its page with the first problem, naming the field', async () => {
    const res = await asForm({ amountCents: '5', expectedCloseDate: 'soon', next: '/app/deals/1' })
    expect(res.status).toBe(303)
    const url = new URL(location(res)!, 'http://x')
    expect(url.pathname).toBe('/app/deals/1')
    expect(url.searchParams.get('error')).toMatch(/^Expected Close Date: /)
    // A message that says what is wrong in its own words is passed on as it is.
    const negative = await asForm({ amountCents: '-1', next: '/app/deals/1' })
    expect(new URL(location(negative)!, 'http://x').searchParams.get('error')).toBe(
      'Amount Cents: The amount cannot be negative.',
    )
  })

  it('answers an enhanced form (Accept: application/json) like an API client', async () => {
    const res = await asForm({ amountCents: 'x' }, { accept: 'application/json' })
    expect(res.status).toBe(422)
  })

  it('refuses other body types (415) and repeated fields (400)', async () => {
    expect((await post('/save', 'amountCents=1', { 'content-type': 'text/plain' })).status).toBe(
      415,
    )
    expect(
      (
        await post('/save', 'amountCents=1&amountCents=2', {
          'content-type': 'application/x-www-form-urlencoded',
        })
      ).status,
    ).toBe(400)
  })
})

describe('respond and refuse', () => {
  it('gives JSON to API clients', async () => {
    const ok = await asJson({ amountCents: 5 })
    expect(ok.status).toBe(201)
    expect(await ok.json()).toEqual({ saved: 5 })
    const no = await asJson({ amountCents: 13 })
    expect(no.status).toBe(409)
    expect(await no.json()).toEqual({
      error: { code: 'unlucky', message: 'Not that amount.', fields: { amountCents: 'No.' } },
    })
  })

  it('sends a plain form back with a notice, or an error, in place of the last round’s', async () => {
    const ok = await asForm({ amountCents: '5', next: '/app/deals/1?tab=x&error=Old#stake' })
    expect(location(ok)).toBe('/app/deals/1?tab=x&notice=Saved.&amount=5#stake')
    const no = await asForm({ amountCents: '13', next: '/app/deals/1?notice=Saved.&tab=x' })
    expect(location(no)).toBe('/app/deals/1?tab=x&error=Not+that+amount.&typed=13')
  })

  it.each([
    ['another site', 'https://evil.example/app'],
    ['a scheme-relative path', '//evil.example/app'],
    ['a path outside the app', '/login'],
    ['a path that only starts like the app', '/application'],
  ])('never follows `next` to %s', async (_what, next) => {
    const res = await asForm({ amountCents: '5', next })
    expect(location(res)).toBe('/app/pipeline?notice=Saved.&amount=5')
  })

  it('cuts a long message short, so the Location stays small enough for any proxy', async () => {
    const res = await post('/long', '', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(res.status).toBe(303)
    expect(location(res)!.length).toBeLessThan(4096)
    const error = new URL(location(res)!, 'https://x.example').searchParams.get('error')!
    expect(encodeURIComponent(error).length).toBeLessThanOrEqual(MAX_BACK_MESSAGE_ENCODED)
    expect(error.length).toBeGreaterThan(100)
    expect(error.startsWith('No email column in: 日本語の見出し,')).toBe(true)
    expect(error.endsWith('…')).toBe(true)
  })

  it('answers a request without a body as the route says: an API call, or a page’s button', async () => {
    const bare = { method: 'POST' }
    expect(await (await app.request('/claim', bare)).json()).toEqual({ ok: true })
    const button = await app.request('/claim', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(location(button)).toBe('/app/leads?notice=Taken.#queue')
    expect(location(await app.request('/release', bare))).toBe(
      '/app/admin/quarantine?notice=Released.',
    )
    const asked = await app.request('/release', {
      ...bare,
      headers: { accept: 'application/json' },
    })
    expect(await asked.json()).toEqual({ ok: true })
  })

  it('answers a bearer request in JSON, whatever body type it sends', async () => {
    const token = { authorization: 'Bearer fdt_x' }
    const ok = await asForm({ amountCents: '5', next: '/app/deals/1' }, token)
    expect(ok.status).toBe(201)
    expect(await ok.json()).toEqual({ saved: 5 })
    const invalid = await asForm({ amountCents: '-1' }, token)
    expect(invalid.status).toBe(422)
    expect((await invalid.json()).error.fields).toEqual({
      amountCents: 'The amount cannot be negative.',
    })
    const refused = await asForm({ amountCents: '13' }, token)
    expect(refused.status).toBe(409)
    expect((await refused.json()).error.code).toBe('unlucky')
    const bare = await app.request('/release', { method: 'POST', headers: token })
    expect(await bare.json()).toEqual({ ok: true })
  })
})
