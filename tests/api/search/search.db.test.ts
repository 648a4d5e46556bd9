import { describe, expect, it } from 'vitest'
import { companies, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import type { SearchResults } from '../../../api/search/search.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { addPerson } from './fixtures.ts'

const ctx = await setupTestApp()
const { db } = ctx.deps
const rep = await signedInAs(ctx, 'rep')
const otherRep = await signedInAs(ctx, 'rep')
const sdr = await signedInAs(ctx, 'sdr')
const admin = await signedInAs(ctx, 'admin')

const company = async (name: string, domain: string | null) => {
  const id = newId()
  await db.insert(companies).values({ id, name, domain })
  return id
}
const person = (first: string | null, last: string | null, email: string, companyId?: string) =>
  addPerson(db, first, last, email, companyId)
const deal = async (title: string, ownerId: string | null) => {
  const contactId = await person(null, null, `${newId()}@deals.example`)
  const id = newId()
  await db.insert(deals).values({
    id,
    contactId,
    title,
    ownerId,
    stage: ownerId ? 'demo' : 'target',
    source: 'manual',
  })
  return id
}

const acme = await company('Acme', 'acme.example')
await company('Acme Robotics', 'acmerobotics.example')
await company('Pacme Ltd', 'pacme.example')
await company('Northwind Traders', 'northwind.example')
await company('Globex', 'globex.example')

await person('Ann', 'Smith', 'Ann@Acme.example', acme)
await person('Anna', 'Schmidt', 'anna.schmidt@northwind.example')
await person('Hannah', 'Schmidtke', 'hannah@globex.example')
await person('Joanna', 'Black', 'jo@globex.example')
await person('Zed', null, 'zed+100%_off@percent.example')
await person('Mira', 'Holt', 'mira@veldt.example')
await person('Otto', 'Krane', 'otto@subveldt.example')

const ownExpansion = await deal('Acme expansion', rep.user.id)
const othersPilot = await deal('Acme pilot', otherRep.user.id)
const unclaimedRenewal = await deal('Acme renewal', null)
const percentDeal = await deal('100%_Kernel rollout', rep.user.id)

const search = async (q: string | null, cookie = rep.cookie) =>
  ctx.app.request(q === null ? '/api/search' : `/api/search?${new URLSearchParams({ q })}`, {
    headers: { cookie },
  })
const results = async (q: string, cookie = rep.cookie) => {
  const res = await search(q, cookie)
  expect(res.status).toBe(200)
  return (await res.json()) as SearchResults
}

describe('GET /api/search ranks each group', () => {
  it('puts an exact match first, then a word starting with the query, then the query inside', async () => {
    const r = await results('acme', admin.cookie)
    expect(r.companies!.hits.map((h) => h.name)).toEqual(['Acme', 'Acme Robotics', 'Pacme Ltd'])
    expect(r.companies!.hits[0]).toMatchObject({ domain: 'acme.example', contacts: 1 })
    expect(r.companies!.total).toBe(3)
  })

  it('finds a contact by a whole address however it is typed, before partial matches', async () => {
    const r = await results('ANN@acme.EXAMPLE')
    expect(r.contacts!.hits[0]).toMatchObject({
      name: 'Ann Smith',
      email: 'Ann@Acme.example',
      companyName: 'Acme',
    })
  })

  it('finds the company of a whole address by its domain', async () => {
    const r = await results('ANN@acme.EXAMPLE')
    expect(r.companies!.hits.map((h) => h.name)).toEqual(['Acme'])
    expect(r.contacts!.total).toBe(1)
  })

  it('ranks the closer of two word-start matches first', async () => {
    const r = await results('schmidt')
    expect(r.contacts!.hits.map((h) => h.name)).toEqual(['Anna Schmidt', 'Hannah Schmidtke'])
  })

  it('finds by domain', async () => {
    const r = await results('globex.example')
    // Near misses ("acme.example" shares a word) are left out when something matches literally.
    expect(r.companies!.hits.map((h) => h.name)).toEqual(['Globex'])
    expect(r.companies!.total).toBe(1)
    expect(r.contacts!.hits.map((h) => h.email).sort()).toEqual([
      'hannah@globex.example',
      'jo@globex.example',
    ])
  })

  it('takes a whole domain for the people there, not for every address containing it', async () => {
    const r = await results('veldt.example')
    expect(r.contacts!.hits.map((h) => h.email)).toEqual(['mira@veldt.example'])
    expect(r.contacts!.total).toBe(1)
  })

  it('matches two-letter queries at word starts only', async () => {
    const r = await results('jo')
    expect(r.contacts!.hits.map((h) => h.name)).toContain('Joanna Black')
    expect(r.contacts!.hits.map((h) => h.name)).not.toContain('Ann Smith')
  })
})

describe('GET /api/search forgives typos', () => {
  it.each([
    ['Northwnid', 'companies', 'Northwind Traders'],
    ['Acne', 'companies', 'Acme'],
    ['Robtoics', 'companies', 'Acme Robotics'],
    ['Schmdit', 'contacts', 'Anna Schmidt'],
    ['expansoin', 'deals', 'Acme expansion'],
  ] as const)('%s finds %s: %s', async (q, group, expected) => {
    const r = await results(q)
    const first = r[group]!.hits[0] as { name?: string | null; title?: string }
    expect(first.name ?? first.title).toBe(expected)
  })

  it('does not turn an unrelated word into a match', async () => {
    const r = await results('Zebrafish')
    expect([r.deals!.total, r.contacts!.total, r.companies!.total]).toEqual([0, 0, 0])
  })
})

describe('GET /api/search takes metacharacters literally', () => {
  it('matches % and _ only as themselves', async () => {
    const r = await results('100%_')
    expect(r.deals!.hits.map((h) => h.id)).toEqual([percentDeal])
    expect(r.contacts!.hits.map((h) => h.email)).toEqual(['zed+100%_off@percent.example'])
    expect(r.companies!.total).toBe(0)
  })

  it.each(['%', '_', '%%%', '\\', "'", "'; drop table contacts; --", '.*', '[a-z]+', '(', '?*'])(
    '%s is searched for, not interpreted',
    async (q) => {
      const r = await results(q, admin.cookie)
      // Nothing here contains these characters: a wildcard or a pattern would match everything.
      expect([r.deals!.total, r.contacts!.total, r.companies!.total]).toEqual([0, 0, 0])
    },
  )

  it('leaves the tables as they were', async () => {
    const r = await results('acme', admin.cookie)
    expect(r.companies!.total).toBe(3)
  })
})

describe('GET /api/search refuses bad queries', () => {
  it.each([
    ['missing', null],
    ['empty', ''],
    ['blank', '   '],
    ['101 characters', 'a'.repeat(101)],
  ])('%s → 400', async (_, q) => {
    const res = await search(q)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('invalid_query')
    expect(body.error.message).toMatch(/search/i)
  })

  it('takes 100 characters', async () => {
    expect((await search('a'.repeat(100))).status).toBe(200)
  })

  it('asks who is searching', async () => {
    expect((await ctx.app.request('/api/search?q=acme')).status).toBe(401)
  })
})

describe('GET /api/search shows what the role may read today', () => {
  it('gives a rep their own and unclaimed deals, not another rep’s', async () => {
    const r = await results('acme')
    expect(r.deals!.hits.map((h) => h.id).sort()).toEqual([ownExpansion, unclaimedRenewal].sort())
    expect(r.deals!.total).toBe(2)
  })

  it('gives SDRs and admins every deal, with its owner', async () => {
    for (const who of [sdr, admin]) {
      const r = await results('acme', who.cookie)
      expect(r.deals!.hits.map((h) => h.id).sort()).toEqual(
        [ownExpansion, othersPilot, unclaimedRenewal].sort(),
      )
    }
    const r = await results('acme pilot', admin.cookie)
    expect(r.deals!.hits[0]).toMatchObject({ id: othersPilot, ownerName: 'rep person' })
  })

  it('gives every role the contacts and companies, as the Contacts page does', async () => {
    for (const who of [rep, sdr, admin]) {
      const r = await results('globex', who.cookie)
      expect(r.companies!.hits.map((h) => h.name)).toEqual(['Globex'])
      expect(r.contacts!.total).toBe(2)
    }
  })
})
