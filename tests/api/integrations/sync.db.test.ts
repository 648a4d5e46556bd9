import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { contacts, deals, submissions } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { encodeCursor, SYNC_SETTLE_MS } from '../../../api/integrations/sync.ts'
import { changeDeal } from '../../../api/pipeline/deal-changes.ts'
import { qualifyContact } from '../../../api/pipeline/qualification.ts'
import { json, ORIGIN, setupTestApp, signedInAs, type TestContext } from '../../helpers.ts'

// Syncing: pages of what changed since a cursor, by keyset on (updated_at, id); a row changed
// again comes again after the cursor; the API token's scopes decide which lists it reads.

let ctx: TestContext
let token: string
let leadsOnly: string
let adminCookie: string
const contactIds: string[] = []
const dealIds: string[] = []

const get = (path: string, t = token) =>
  ctx.app.request(path, { headers: { authorization: `Bearer ${t}` } })

async function makeToken(cookie: string, scopes: string[]) {
  const res = await ctx.app.request(
    '/api/admin/api-tokens',
    json({ name: 'sync', scopes }, { cookie, origin: ORIGIN }),
  )
  return ((await res.json()) as { token: string }).token
}

type Page = {
  data: Array<{ id: string; stage?: string }>
  nextCursor: string | null
  hasMore: boolean
}

async function readAll(path: string, limit: number, cursor: string | null = null) {
  const seen: string[] = []
  for (let i = 0; i < 50; i++) {
    const res = await get(`${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
    expect(res.status).toBe(200)
    const page = (await res.json()) as Page
    seen.push(...page.data.map((d) => d.id))
    cursor = page.nextCursor
    if (!page.hasMore) break
  }
  return { seen, cursor }
}

beforeAll(async () => {
  ctx = await setupTestApp()
  const admin = await signedInAs(ctx, 'admin')
  adminCookie = admin.cookie
  token = await makeToken(admin.cookie, ['leads:read', 'deals:read', 'campaigns:read'])
  leadsOnly = await makeToken(admin.cookie, ['leads:read'])
  // Five deals written in one millisecond (ties broken by id), and contacts stamped by the
  // database (microseconds).
  const at = new Date('2026-11-29T09:00:00Z')
  for (let i = 0; i < 5; i++) {
    const contactId = newId()
    contactIds.push(contactId)
    await ctx.deps.db.insert(contacts).values({
      id: contactId,
      email: `p${i}@buyer${i}.example`,
      emailDisplay: `p${i}@buyer${i}.example`,
      source: 'inbound',
    })
    const q = await ctx.deps.db.transaction((tx) =>
      qualifyContact(tx, {
        contactId,
        companyId: null,
        source: 'inbound',
        evidence: { kind: 'form', offer: 'whitepaper' },
        title: `Buyer ${i}`,
        now: at,
      }),
    )
    dealIds.push(q.dealId)
    await ctx.deps.db.insert(submissions).values({
      id: newId(),
      contactId,
      kind: 'whitepaper',
      offer: 'guide',
      email: `p${i}@buyer${i}.example`,
      fields: {},
      status: i === 4 ? 'quarantined' : 'accepted',
      createdAt: at,
    })
  }
})

describe('GET /api/sync/*', () => {
  it('pages through every deal once, in (updated_at, id) order', async () => {
    const { seen } = await readAll('/api/sync/deals', 2)
    expect(seen).toEqual([...dealIds].sort())
  })

  it('hands a changed deal out again after the cursor, and nothing else', async () => {
    const { cursor } = await readAll('/api/sync/deals', 2)
    const empty = await readAll('/api/sync/deals', 2, cursor)
    expect(empty.seen).toEqual([])
    expect(empty.cursor).toBe(cursor)
    await ctx.deps.db.transaction((tx) =>
      changeDeal(tx, dealIds[2]!, new Date('2026-11-29T09:05:00Z'), {
        set: { stage: 'demo' },
        events: { type: 'stage_changed', fromStage: 'target', toStage: 'demo' },
      }),
    )
    const res = await get(`/api/sync/deals?cursor=${cursor}`)
    const page = (await res.json()) as Page
    expect(page.data.map((d) => [d.id, d.stage])).toEqual([[dealIds[2], 'demo']])
  })

  it('hands a deal out again when it changes twice in one millisecond, with a read between', async () => {
    const at = new Date('2026-11-29T09:10:00Z')
    const rename = (title: string) =>
      ctx.deps.db.transaction((tx) =>
        changeDeal(tx, dealIds[3]!, at, {
          set: { title },
          events: { type: 'updated', data: { title } },
        }),
      )
    const { cursor: before } = await readAll('/api/sync/deals', 10)
    await rename('First name')
    const first = await readAll('/api/sync/deals', 10, before)
    expect(first.seen).toEqual([dealIds[3]])
    await rename('Second name')
    const res = await get(`/api/sync/deals?cursor=${first.cursor}`)
    const page = (await res.json()) as { data: Array<{ id: string; title: string }> }
    expect(page.data.map((d) => [d.id, d.title])).toEqual([[dealIds[3], 'Second name']])
  })

  it('compares database timestamps to the microsecond (no repeats, no gaps)', async () => {
    // The contacts were stamped by the database's own clock: read once they have settled.
    ctx.clock.set(new Date(Date.now() + SYNC_SETTLE_MS))
    const [row] = await ctx.deps.db.select().from(contacts).where(eq(contacts.id, contactIds[0]!))
    expect(row).toBeDefined()
    const { seen } = await readAll('/api/sync/contacts', 1)
    expect(seen).toEqual([...contactIds].sort())
  })

  it('hands a contact out again when it is edited twice in one millisecond, with a read between', async () => {
    // Both edits are stamped with the same instant: the second request took its `now` then too.
    const at = ctx.clock.now()
    const earlier = new Date(at.getTime() - 1)
    const id = newId(earlier.getTime())
    await ctx.deps.db.insert(contacts).values({
      id,
      email: 'twice@buyer.example',
      emailDisplay: 'twice@buyer.example',
      source: 'inbound',
      createdAt: earlier,
      updatedAt: earlier,
    })
    const edit = async (jobTitle: string) => {
      const res = await ctx.app.request(
        `/api/contacts/${id}`,
        json({ jobTitle }, { cookie: adminCookie, origin: ORIGIN }),
      )
      expect(res.status).toBe(200)
    }
    // One contact a page, from where an integration that had read this one stood.
    const next = async (cursor: string) => {
      const res = await get(`/api/sync/contacts?limit=1&cursor=${cursor}`)
      return (await res.json()) as {
        data: Array<{ id: string; jobTitle: string }>
        nextCursor: string
      }
    }
    const read = encodeCursor('contacts', { at: earlier.toISOString().replace('Z', '000Z'), id })
    const settled = new Date(at.getTime() + SYNC_SETTLE_MS + 1000)
    await edit('CTO')
    ctx.clock.set(settled)
    const first = await next(read)
    expect(first.data.map((c) => [c.id, c.jobTitle])).toEqual([[id, 'CTO']])
    ctx.clock.set(at)
    await edit('CEO')
    ctx.clock.set(settled)
    const second = await next(first.nextCursor)
    expect(second.data.map((c) => [c.id, c.jobTitle])).toEqual([[id, 'CEO']])
  })

  it('lists leads that reached the pipeline, without quarantined posts or network data', async () => {
    const res = await get('/api/sync/leads?limit=10')
    const page = (await res.json()) as { data: Array<Record<string, unknown>> }
    expect(page.data).toHaveLength(4)
    expect(page.data.every((l) => l.status === 'accepted' && !('ip' in l))).toBe(true)
  })

  it('hands out a quarantined post once it is released, after a cursor that had passed it', async () => {
    // Posted before the others, held for review while an integration read every lead.
    const held = newId()
    await ctx.deps.db.insert(submissions).values({
      id: held,
      kind: 'whitepaper',
      offer: 'guide',
      email: 'held@buyer.example',
      fields: { name: 'Hal Held' },
      status: 'quarantined',
      createdAt: new Date('2026-11-29T08:00:00Z'),
    })
    const { cursor } = await readAll('/api/sync/leads', 10)
    const release = await ctx.app.request(`/api/submissions/${held}/release`, {
      method: 'POST',
      headers: { cookie: adminCookie, origin: ORIGIN, accept: 'application/json' },
    })
    expect(release.status).toBe(200)
    ctx.clock.advance(SYNC_SETTLE_MS)
    const { seen } = await readAll('/api/sync/leads', 10, cursor)
    expect(seen).toEqual([held])
  })

  it('hands out a change that committed after a later-stamped one was read', async () => {
    const { cursor } = await readAll('/api/sync/deals', 10)
    const rename = (dealId: string, title: string, at: Date) =>
      ctx.deps.db.transaction((tx) =>
        changeDeal(tx, dealId, at, {
          set: { title },
          events: { type: 'updated', data: { title } },
        }),
      )
    // Request A takes its `now`; request B takes a later one and commits first.
    const a = ctx.clock.now()
    ctx.clock.advance(5)
    await rename(dealIds[1]!, 'B first', ctx.clock.now())
    ctx.clock.advance(1)
    const between = await readAll('/api/sync/deals', 10, cursor)
    await rename(dealIds[0]!, 'A late', a)
    ctx.clock.advance(SYNC_SETTLE_MS)
    const { seen } = await readAll('/api/sync/deals', 10, between.cursor)
    expect([...between.seen, ...seen]).toEqual([dealIds[0], dealIds[1]])
  })

  it('refuses a cursor it did not give out and a bad limit', async () => {
    const bad = await get('/api/sync/deals?cursor=not-a-cursor')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_cursor' } })
    // Another list's cursor is not a position here: read as one, it would skip rows silently.
    const deals = (await (await get('/api/sync/deals?limit=1')).json()) as { nextCursor: string }
    for (const list of ['contacts', 'leads']) {
      const foreign = await get(`/api/sync/${list}?cursor=${deals.nextCursor}`)
      expect(foreign.status, list).toBe(400)
      expect(await foreign.json()).toMatchObject({
        error: { code: 'invalid_cursor', message: expect.stringContaining(`(${list})`) },
      })
    }
    expect((await get(`/api/sync/deals?cursor=${deals.nextCursor}`)).status).toBe(200)
    // One given out before cursors named their list ([at, id]) is still read, by any list.
    const legacy = Buffer.from(JSON.stringify(['2026-11-29T09:00:00.000000Z', 'x'])).toString(
      'base64url',
    )
    expect((await get(`/api/sync/contacts?cursor=${legacy}`)).status).toBe(200)
    expect((await get('/api/sync/deals?limit=0')).status).toBe(422)
    expect((await get('/api/sync/deals?limit=501')).status).toBe(422)
  })

  it.each([
    ['a day the month does not have', ['2026-02-30T09:00:00.000000Z', 'x']],
    ['year 0', ['0000-01-01T00:00:00.000000Z', 'x']],
    ['a NUL in the id', ['2026-11-29T09:00:00.000000Z', 'a\u0000b']],
  ])('refuses a well-formed cursor that names %s, as 400 (not 500)', async (_, position) => {
    const cursor = Buffer.from(JSON.stringify(position)).toString('base64url')
    for (const list of ['deals', 'contacts', 'leads']) {
      const res = await get(`/api/sync/${list}?cursor=${cursor}`)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_cursor' } })
    }
  })

  it('reads only what the token is scoped for', async () => {
    expect((await get('/api/sync/deals', leadsOnly)).status).toBe(403)
    expect((await get('/api/sync/contacts', leadsOnly)).status).toBe(200)
    expect((await get('/api/campaigns', leadsOnly)).status).toBe(403)
  })

  it('serves one deal with its evidence and timeline, and the campaigns, to a token', async () => {
    const res = await get(`/api/deals/${dealIds[1]}`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { timeline: Array<{ kind: string; evidence?: unknown }> }
    expect(body.timeline.find((e) => e.kind === 'evidence')?.evidence).toMatchObject({
      kind: 'form',
    })
    const campaigns = await get('/api/campaigns')
    expect(campaigns.status).toBe(200)
    expect(await campaigns.json()).toEqual({ campaigns: [], total: 0, page: 1, pageCount: 1 })
  })
})
