import { describe, expect, it } from 'vitest'
import { companies, contacts, deals } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { COMPANY_LIST_LIMIT, companyDetail } from '../../../api/pipeline/companies.ts'
import { addUser, setupTestDb } from '../../db.ts'

// A company's page lists up to COMPANY_LIST_LIMIT people and deals, and says how many there are:
// the deals a rep may read counted over all of the company's deals, not over those listed.

const ctx = await setupTestDb()
const { db } = ctx.deps

describe('a company’s page', () => {
  it('counts all its people and deals, and the readable deals past the newest 200 others', async () => {
    const rep = await addUser(ctx, 'rep')
    const other = await addUser(ctx, 'rep')
    const companyId = newId()
    await db.insert(companies).values({ id: companyId, domain: 'big.example', name: 'Big Co' })
    const people = Array.from({ length: COMPANY_LIST_LIMIT + 5 }, (_, i) => ({
      id: newId(),
      email: `p${i}@big.example`,
      emailDisplay: `p${i}@big.example`,
      lastName: `Person ${String(i).padStart(3, '0')}`,
      companyId,
      source: 'manual' as const,
    }))
    await db.insert(contacts).values(people)
    // The rep's three deals are the oldest; the other rep's 201 came after.
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000)
    await db.insert(deals).values(
      people.slice(0, COMPANY_LIST_LIMIT + 4).map((p, i) => ({
        id: newId(),
        contactId: p.id,
        companyId,
        title: `Deal ${i}`,
        stage: 'demo' as const,
        source: 'manual' as const,
        ownerId: i < 3 ? rep.id : other.id,
        createdAt: at(i),
      })),
    )

    const asRep = (await companyDetail(db, companyId, { id: rep.id, role: 'rep' }))!
    expect(asRep.deals.map((d) => d.title)).toEqual(['Deal 2', 'Deal 1', 'Deal 0'])
    expect(asRep.dealsTotal).toBe(3)
    expect(asRep.hiddenDeals).toBe(COMPANY_LIST_LIMIT + 1)
    expect(asRep.people).toHaveLength(COMPANY_LIST_LIMIT)
    expect(asRep.peopleTotal).toBe(COMPANY_LIST_LIMIT + 5)

    const asAdmin = (await companyDetail(db, companyId, { id: newId(), role: 'admin' }))!
    expect(asAdmin.deals).toHaveLength(COMPANY_LIST_LIMIT)
    expect(asAdmin.dealsTotal).toBe(COMPANY_LIST_LIMIT + 4)
    expect(asAdmin.hiddenDeals).toBe(0)
  })
})
