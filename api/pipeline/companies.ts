import { and, asc, desc, eq, ne, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { companies, contacts, deals, users } from '../db/schema.ts'
import { companyDomainOf } from '../email-address.ts'
import { newId } from '../ids.ts'
import { isUniqueViolation, readableDeals, type Actor, type DealFailure } from './deals.ts'
import {
  diffFields,
  recordChange,
  recordEditProblem,
  recordHistory,
  type FieldChanges,
} from './record-changes.ts'

// Companies as reps see and keep them: the company a hand-entered contact belongs to (found by
// its email's domain, by name, or created), a company's page (its people, the deals the viewer
// may read, who changed what) and edits to its name and website domain.

export type Company = typeof companies.$inferSelect
export type CompanyResult<T> = ({ ok: true } & T) | DealFailure

const NOT_FOUND: DealFailure = {
  ok: false,
  status: 404,
  code: 'not_found',
  message: 'There is no such company.',
}

export interface CompanyChoice {
  /** An existing company, picked. */
  companyId?: string | null | undefined
  /** A company by name: an existing one of that name (any case or accents), else a new one. */
  companyName?: string | null | undefined
  /** The ASCII domain of the contact's email: its company, when not free mail, comes first. */
  emailDomain?: string | null | undefined
}

/**
 * The company for a contact entered by hand, created (and recorded as created by `actorId`) when
 * there is none yet: the picked one; else the one of the email's domain (a webmail address says
 * nothing about an employer); else one of the typed name; else none.
 */
export async function resolveCompany(
  tx: Db,
  choice: CompanyChoice,
  actorId: string,
  now: Date,
): Promise<CompanyResult<{ company: Company | null; created: boolean }>> {
  if (choice.companyId) {
    const [company] = await tx.select().from(companies).where(eq(companies.id, choice.companyId))
    if (!company)
      return { ok: false, status: 422, code: 'unknown_company', message: 'Unknown company.' }
    return { ok: true, company, created: false }
  }
  const name = choice.companyName?.trim() || null
  const domain = choice.emailDomain ? companyDomainOf(choice.emailDomain) : null
  if (domain) {
    const [inserted] = await tx
      .insert(companies)
      .values({ id: newId(now.getTime()), domain, name: name ?? domain, createdAt: now })
      .onConflictDoNothing({ target: companies.domain })
      .returning()
    if (inserted) {
      await created(tx, inserted, actorId, now)
      return { ok: true, company: inserted, created: true }
    }
    const [existing] = await tx.select().from(companies).where(eq(companies.domain, domain))
    return { ok: true, company: existing!, created: false }
  }
  if (!name) return { ok: true, company: null, created: false }
  // The name as search folds it (accents off, lowercased): "Cafe Nero" is the Café Nero there
  // is, as search finds it, through search's own index on the folded name.
  const [named] = await tx
    .select()
    .from(companies)
    .where(sql`search_fold(${companies.name}) = search_fold(${name})`)
    .orderBy(asc(companies.createdAt), asc(companies.id))
    .limit(1)
  if (named) return { ok: true, company: named, created: false }
  const [company] = await tx
    .insert(companies)
    .values({ id: newId(now.getTime()), domain: null, name, createdAt: now })
    .returning()
  await created(tx, company!, actorId, now)
  return { ok: true, company: company!, created: true }
}

async function created(tx: Db, company: Company, actorId: string, now: Date) {
  const changes: FieldChanges = { name: [null, company.name] }
  if (company.domain) changes.domain = [null, company.domain]
  await recordChange(
    tx,
    { recordType: 'company', recordId: company.id, action: 'created', actorId, changes },
    now,
  )
}

/** Owners of the company's deals (null for a lead in the queue), for recordEditProblem. */
async function dealOwnersOf(db: Db, companyId: string): Promise<Array<string | null>> {
  const rows = await db
    .selectDistinct({ ownerId: deals.ownerId })
    .from(deals)
    .where(eq(deals.companyId, companyId))
  return rows.map((r) => r.ownerId)
}

export interface CompanyPatch {
  name?: string | undefined
  /** An ASCII host name, lowercase (the route normalises it); null clears it. */
  domain?: string | null | undefined
}

/** Renames a company or sets its website domain, recorded with who and when. */
export async function updateCompany(
  db: Db,
  companyId: string,
  actor: Actor,
  patch: CompanyPatch,
  now: Date,
): Promise<CompanyResult<{ company: Company; changed: string[] }>> {
  try {
    return await db.transaction(async (tx) => {
      const [company] = await tx
        .select()
        .from(companies)
        .where(eq(companies.id, companyId))
        .for('update')
      if (!company) return NOT_FOUND
      const problem = recordEditProblem(actor, await dealOwnersOf(tx, companyId), 'company')
      if (problem) return problem
      const changes = diffFields(company, patch)
      const changed = Object.keys(changes)
      if (changed.length === 0) return { ok: true as const, company, changed }
      if (patch.domain) {
        const [other] = await tx
          .select({ name: companies.name })
          .from(companies)
          .where(and(eq(companies.domain, patch.domain), ne(companies.id, companyId)))
        if (other) return domainTaken(patch.domain, other.name)
      }
      const [updated] = await tx
        .update(companies)
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.domain !== undefined ? { domain: patch.domain } : {}),
        })
        .where(eq(companies.id, companyId))
        .returning()
      await recordChange(
        tx,
        {
          recordType: 'company',
          recordId: companyId,
          action: 'updated',
          actorId: actor.id,
          changes,
        },
        now,
      )
      return { ok: true as const, company: updated!, changed }
    })
  } catch (err) {
    // Another company took the domain between our check and our write.
    if (patch.domain && isUniqueViolation(err, 'companies_domain_unique'))
      return domainTaken(patch.domain, null)
    throw err
  }
}

function domainTaken(domain: string, other: string | null): DealFailure {
  return {
    ok: false,
    status: 409,
    code: 'domain_taken',
    message: `${domain} is already the domain of ${other ? `“${other}”` : 'another company'}.`,
    fields: { domain: 'Already another company’s domain.' },
  }
}

/** People and deals listed on a company's page at most; the page says when there are more. */
export const COMPANY_LIST_LIMIT = 200

/**
 * A company's page: the company, its people, the deals this viewer may read (others counted),
 * who created or changed it, and whether the viewer may edit it; null when there is none. People
 * and deals are listed up to COMPANY_LIST_LIMIT, with how many there are (`peopleTotal`,
 * `dealsTotal`, the readable ones).
 */
export async function companyDetail(db: Db, companyId: string, viewer: Actor) {
  const [company] = await db.select().from(companies).where(eq(companies.id, companyId))
  if (!company) return null
  const readable = readableDeals(viewer)
  const ofCompany = eq(deals.companyId, companyId)
  const [people, [peopleCount], dealRows, [dealCount], history, owners] = await Promise.all([
    db
      .select({
        id: contacts.id,
        email: contacts.emailDisplay,
        firstName: contacts.firstName,
        lastName: contacts.lastName,
        jobTitle: contacts.jobTitle,
        phone: contacts.phone,
      })
      .from(contacts)
      .where(eq(contacts.companyId, companyId))
      .orderBy(asc(contacts.lastName), asc(contacts.firstName), asc(contacts.id))
      .limit(COMPANY_LIST_LIMIT),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(contacts)
      .where(eq(contacts.companyId, companyId)),
    db
      .select({ deal: deals, ownerName: users.name })
      .from(deals)
      .leftJoin(users, eq(users.id, deals.ownerId))
      .where(and(ofCompany, readable))
      .orderBy(desc(deals.createdAt), desc(deals.id))
      .limit(COMPANY_LIST_LIMIT),
    db
      .select({
        all: sql<number>`count(*)::int`,
        readable: readable
          ? sql<number>`(count(*) filter (where ${readable}))::int`
          : sql<number>`count(*)::int`,
      })
      .from(deals)
      .where(ofCompany),
    recordHistory(db, [{ type: 'company', id: companyId }]),
    dealOwnersOf(db, companyId),
  ])
  return {
    company,
    people,
    peopleTotal: peopleCount?.n ?? 0,
    deals: dealRows.map((d) => ({ ...d.deal, ownerName: d.ownerName })),
    dealsTotal: dealCount?.readable ?? 0,
    hiddenDeals: (dealCount?.all ?? 0) - (dealCount?.readable ?? 0),
    history,
    editProblem: recordEditProblem(viewer, owners, 'company'),
  }
}

export type CompanyDetail = NonNullable<Awaited<ReturnType<typeof companyDetail>>>
