import { eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { companies, contacts, deals, searchWords } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { searchEverything } from '../../../api/search/search.ts'
import { addUser, setupTestDb } from '../../db.ts'
import { addPerson } from './fixtures.ts'

// search_words (migration 0015) holds every distinct word of the searched fields; statement
// triggers on contacts, companies and deals keep it in step, and near misses are looked up in it.

const ctx = await setupTestDb()
const { db } = ctx.deps
const admin = await addUser(ctx, 'admin')

/** Which of `words` the table holds, sorted. */
const held = async (...words: string[]) =>
  (await db.select().from(searchWords).where(inArray(searchWords.word, words)))
    .map((r) => r.word)
    .sort()

const contact = (first: string | null, last: string | null, email: string) =>
  addPerson(db, first, last, email)

describe('search_words follows contacts', () => {
  it('takes the words of a new contact: lowercased, split at punctuation and digits, 3+ letters', async () => {
    await contact('Zoltan', "O'Quillery", 'Zoltan.Oquillery42@Vexmoor.example')
    expect(await held('zoltan', 'quillery', 'oquillery', 'vexmoor', 'example', 'o')).toEqual([
      'example',
      'oquillery',
      'quillery',
      'vexmoor',
      'zoltan',
    ])
  })

  it('drops a word an edit takes out of the last row holding it, and adds the new one', async () => {
    const id = await contact('Brindle', 'Harrowgate', 'bh@harrowgate.example')
    await db.update(contacts).set({ lastName: 'Pemberlake' }).where(eq(contacts.id, id))
    // "harrowgate" is still in the address.
    expect(await held('harrowgate', 'pemberlake')).toEqual(['harrowgate', 'pemberlake'])
    await db
      .update(contacts)
      .set({ emailDisplay: 'bh@pemberlake.example', email: 'bh@pemberlake.example' })
      .where(eq(contacts.id, id))
    expect(await held('harrowgate', 'pemberlake', 'brindle')).toEqual(['brindle', 'pemberlake'])
  })

  it('keeps a word while another row holds it, and drops it with the last one', async () => {
    const first = await contact('Quorra', 'Vantablack', 'q1@one.example')
    const second = await contact('Quorra', 'Ellingsworth', 'q2@two.example')
    await db.delete(contacts).where(eq(contacts.id, first))
    expect(await held('quorra', 'vantablack', 'ellingsworth')).toEqual(['ellingsworth', 'quorra'])
    await db.delete(contacts).where(eq(contacts.id, second))
    expect(await held('quorra', 'ellingsworth')).toEqual([])
  })

  it('does not drop a word another word merely contains', async () => {
    const id = await contact('Mortimer', null, 'mort@mortimerville.example')
    await contact('Mortimerville', null, 'x@y.example')
    await db.delete(contacts).where(eq(contacts.id, id))
    expect(await held('mortimer', 'mortimerville')).toEqual(['mortimerville'])
  })
})

describe('search_words follows companies and deals', () => {
  it('takes and drops company names and domains', async () => {
    const id = newId()
    await db
      .insert(companies)
      .values({ id, name: 'Gribblewick Foundry', domain: 'gribble.example' })
    expect(await held('gribblewick', 'foundry', 'gribble')).toEqual([
      'foundry',
      'gribble',
      'gribblewick',
    ])
    await db.update(companies).set({ name: 'Gribblewick Mills' }).where(eq(companies.id, id))
    expect(await held('foundry', 'mills')).toEqual(['mills'])
    await db.delete(companies).where(eq(companies.id, id))
    expect(await held('gribblewick', 'mills', 'gribble')).toEqual([])
  })

  it('takes and drops deal titles', async () => {
    const contactId = await contact(null, null, 'deal@titles.example')
    const id = newId()
    await db
      .insert(deals)
      .values({ id, contactId, title: 'Snorkelquest rollout', stage: 'target', source: 'manual' })
    expect(await held('snorkelquest', 'rollout')).toEqual(['rollout', 'snorkelquest'])
    await db.delete(deals).where(eq(deals.id, id))
    expect(await held('snorkelquest', 'rollout')).toEqual([])
  })
})

describe('near misses come from search_words', () => {
  it('finds a contact added or renamed since by a mistyped word', async () => {
    const id = await contact('Wilhelmina', 'Thistlewood', 'w.t@bramble.example')
    const found = await searchEverything(db, admin, 'Thistelwood')
    expect(found.contacts!.hits.map((h) => h.id)).toEqual([id])
    await db.update(contacts).set({ lastName: 'Brackenridge' }).where(eq(contacts.id, id))
    const renamed = await searchEverything(db, admin, 'Brackenrdige')
    expect(renamed.contacts!.hits.map((h) => h.id)).toEqual([id])
    const gone = await searchEverything(db, admin, 'Thistelwood')
    expect(gone.contacts!.total).toBe(0)
  })
})
