import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { inArray, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { migrationsFolder } from '../../../api/db/client.ts'
import { companies, deals, searchWords } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import type { SearchResults } from '../../../api/search/search.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'
import { addPerson } from './fixtures.ts'

// Search folds accents away on both sides (search_fold, migration 0031): names are typed without
// them all the time, and with them for a name stored without. No address below holds the name
// it is searched by, so each one is found by the name, not by its address. Beside most of them is
// a row written without accents that holds the query itself: a literal match hides near misses,
// so the accented row is shown only when it matches literally too, not as a typo.

const ctx = await setupTestApp()
const { db } = ctx.deps
const rep = await signedInAs(ctx, 'rep')

const hector = await addPerson(db, 'Héctor', 'Núñez', 'hn@cordillera.example')
await addPerson(db, 'Victor', 'Haddad', 'vh@levant.example')
await addPerson(db, 'Victor', 'Haddad', 'v.h@levant.example')
const zoe = await addPerson(db, 'Zoë', 'Lindqvist', 'zl@fjord.example')
const zoey = await addPerson(db, 'Zoey', 'Park', 'zp@fjord.example')
const jose = await addPerson(db, 'Jose', 'Pena', 'jp@meseta.example')
const jose2 = await addPerson(db, 'José', 'Almeida', 'ja@meseta.example')
const renee = await addPerson(db, null, null, 'Renée.Dubois@maison.example')
const reneeToo = await addPerson(db, null, null, 'renee.duboisson@maison.example')

const company = async (name: string, domain: string) => {
  const id = newId()
  await db.insert(companies).values({ id, name, domain })
  return id
}
await company('Bäckerei Weißbrot', 'bw.example')
await company('Backerei Weissbrot Ost', 'bwo.example')
await company('Søholm Ærø Łódź', 'sal.example')
await company('Soholmen Freight', 'sf.example')
await company('Aerotech', 'at.example')
await company('Lodzia Foods', 'lf.example')

const deal = async (title: string, contactId: string) => {
  const id = newId()
  await db.insert(deals).values({
    id,
    contactId,
    title,
    ownerId: rep.user.id,
    stage: 'demo',
    source: 'manual',
  })
  return id
}
const lodzDeal = await deal('Expansión Łódź', hector)
const lodzNorth = await deal('Expansion Lodz North', zoey)

const results = async (q: string) => {
  const res = await ctx.app.request(`/api/search?${new URLSearchParams({ q })}`, {
    headers: { cookie: rep.cookie },
  })
  expect(res.status).toBe(200)
  return (await res.json()) as SearchResults
}
const contactIds = async (q: string) => (await results(q)).contacts!.hits.map((h) => h.id)

describe('GET /api/search ignores accents', () => {
  it('finds Héctor Núñez by "hector", before the Victors a near miss would bring', async () => {
    expect(await contactIds('hector')).toEqual([hector])
  })

  it.each(['nunez', 'héctor', 'Héctor Núñez', 'HECTOR NUNEZ', 'He\u0301ctor'])(
    '%s finds Héctor Núñez',
    async (q) => {
      expect((await contactIds(q))[0]).toBe(hector)
    },
  )

  it('finds Zoë by "zoe" and by "zoë", as Zoey', async () => {
    expect(await contactIds('zoe')).toEqual([zoe, zoey])
    expect(await contactIds('zoë')).toEqual([zoe, zoey])
  })

  it('finds a name stored without accents by one typed with them, and both by either', async () => {
    expect(await contactIds('josé peña')).toEqual([jose])
    expect((await contactIds('josé')).sort()).toEqual([jose, jose2].sort())
    expect((await contactIds('jose')).sort()).toEqual([jose, jose2].sort())
  })

  it('finds an address by its local part typed without accents', async () => {
    expect(await contactIds('renee.dubois')).toEqual([renee, reneeToo])
  })

  it.each([
    ['backerei weissbrot', ['Bäckerei Weißbrot', 'Backerei Weissbrot Ost']],
    ['weißbrot', ['Bäckerei Weißbrot', 'Backerei Weissbrot Ost']],
    ['soholm', ['Søholm Ærø Łódź', 'Soholmen Freight']],
    ['aero', ['Søholm Ærø Łódź', 'Aerotech']],
    ['lodz', ['Søholm Ærø Łódź', 'Lodzia Foods']],
  ])('finds the companies %s names', async (q, names) => {
    expect((await results(q)).companies!.hits.map((h) => h.name)).toEqual(names)
  })

  it('finds a deal by its title typed without accents', async () => {
    expect((await results('expansion lodz')).deals!.hits.map((h) => h.id)).toEqual([
      lodzDeal,
      lodzNorth,
    ])
  })

  it('forgives a typo in a name written with accents', async () => {
    expect(await contactIds('Nunes')).toEqual([hector])
  })

  it('leaves an ordinary query as it was', async () => {
    const r = await results('victor')
    expect(r.contacts!.hits.map((h) => h.name)).toEqual(['Victor Haddad', 'Victor Haddad'])
    expect(r.contacts!.total).toBe(2)
  })

  it('matches nothing for accents alone, not everything', async () => {
    const r = await results('\u0301\u0308')
    expect([r.deals!.total, r.contacts!.total, r.companies!.total]).toEqual([0, 0, 0])
  })
})

describe('search_words written before accents were folded', () => {
  it('holds the folded words once the migration has run, and typos find them', async () => {
    // As migration 0015 lowercased them, accents kept.
    await db.insert(searchWords).values([{ word: 'núñez' }, { word: 'héctor' }])
    const file = readdirSync(migrationsFolder).find((f) => f.endsWith('_search_accents.sql'))!
    const refill = readFileSync(join(migrationsFolder, file), 'utf8')
      .split('--> statement-breakpoint')
      .filter((statement) => /^\s*(TRUNCATE|INSERT)\b/m.test(statement))
    expect(refill).toHaveLength(2)
    for (const statement of refill) await db.execute(sql.raw(statement))
    const held = await db
      .select()
      .from(searchWords)
      .where(inArray(searchWords.word, ['núñez', 'héctor', 'nunez', 'hector']))
    expect(held.map((r) => r.word).sort()).toEqual(['hector', 'nunez'])
    expect(await contactIds('Nunes')).toEqual([hector])
  })
})
