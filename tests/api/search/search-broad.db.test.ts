import { describe, expect, it } from 'vitest'
import { contacts, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { CANDIDATES, GROUP_LIMIT, searchEverything } from '../../../api/search/search.ts'
import { addUser, setupTestDb } from '../../db.ts'
import { addPerson } from './fixtures.ts'

// A query more rows start with than search ranks (CANDIDATES from each lookup): the rows ranked
// are the first in the keys' order, so what the query names exactly still comes first, wherever
// it was written, and equally close matches are shown alphabetically.

const ctx = await setupTestDb()
const { db } = ctx.deps
const rep = await addUser(ctx, 'rep')
const otherRep = await addUser(ctx, 'rep')

const MANY = CANDIDATES + 50
/** Qaaa, Qaab, …: surnames in alphabetical order. */
const surname = (i: number) =>
  'Q' + [26 * 26, 26, 1].map((d) => String.fromCharCode(97 + (Math.floor(i / d) % 26))).join('')

// Written last first, so the order rows were written in is not the order they are ranked in.
const rosalinds = Array.from({ length: MANY }, (_, i) => MANY - 1 - i).map((i) => ({
  id: newId(),
  email: `rosalind.${surname(i).toLowerCase()}@bulk.example`,
  emailDisplay: `rosalind.${surname(i).toLowerCase()}@bulk.example`,
  firstName: 'Rosalind',
  lastName: surname(i),
  source: 'manual' as const,
}))
await db.insert(contacts).values(rosalinds)
// A longer word is a lesser match than the whole word, though it sorts before most of them.
await addPerson(db, 'Rosalinde', 'Aaron', 'rosalinde@bulk.example')
await addPerson(db, 'Rosalind', null, 'rosa@bulk.example')

// Exactly as many as are ranked: all of them, no "200+".
await db.insert(contacts).values(
  Array.from({ length: CANDIDATES }, (_, i) => ({
    id: newId(),
    email: `ottoline.${surname(i).toLowerCase()}@bulk.example`,
    emailDisplay: `ottoline.${surname(i).toLowerCase()}@bulk.example`,
    firstName: 'Ottoline',
    lastName: surname(i),
    source: 'manual' as const,
  })),
)

const harbor = async (titles: string[], ownerId: string | null) => {
  const people = titles.map(() => ({
    id: newId(),
    email: `${newId()}@deals.example`,
    emailDisplay: `${newId()}@deals.example`,
    source: 'manual' as const,
  }))
  await db.insert(contacts).values(people)
  const rows = titles.map((title, i) => ({
    id: newId(),
    contactId: people[i]!.id,
    title,
    ownerId,
    stage: ownerId ? ('demo' as const) : ('target' as const),
    source: 'manual' as const,
  }))
  await db.insert(deals).values(rows)
  return rows.map((r) => r.id)
}
await harbor(
  Array.from({ length: MANY }, (_, i) => `Harbor ${surname(i)}`),
  otherRep.id,
)
const unclaimed = await harbor(['Harbor Zab', 'Harbor Zaa'], null)
const [own] = await harbor(['Harbor'], rep.id)

describe('search with more matches than it ranks', () => {
  it('puts the exact name first, then equally close names alphabetically, and says 200+', async () => {
    const r = await searchEverything(db, rep, 'rosalind')
    expect(r.contacts!.hits.map((h) => h.name)).toEqual([
      'Rosalind',
      ...Array.from({ length: GROUP_LIMIT - 1 }, (_, i) => `Rosalind ${surname(i)}`),
    ])
    expect(r.contacts!.total).toBe(CANDIDATES)
    expect(r.contacts!.capped).toBe(true)
  })

  it('counts exactly as many matches as it ranks without "200+"', async () => {
    const r = await searchEverything(db, rep, 'ottoline')
    expect(r.contacts!.total).toBe(CANDIDATES)
    expect(r.contacts!.capped).toBe(false)
  })

  it('reads past the deals a rep may not see, not stopping at them', async () => {
    const r = await searchEverything(db, rep, 'harbor')
    expect(r.deals!.hits.map((h) => h.id)).toEqual([own, ...unclaimed.reverse()])
    expect(r.deals!.total).toBe(3)
    expect(r.deals!.capped).toBe(false)
  })
})
