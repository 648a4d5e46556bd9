import { sql, type SQL } from 'drizzle-orm'
import { companies, contacts, deals } from '../db/schema.ts'

// What search matches on, per kind: the very expressions the trigram indexes in api/db/schema.ts
// are built on (the planner uses an expression index only for the same expression).

/** A contact: first and last name and the address as typed. */
export const contactDocument: SQL<string> = sql<string>`(coalesce(${contacts.firstName}, '') || ' ' || coalesce(${contacts.lastName}, '') || ' ' || ${contacts.emailDisplay})`

/** A company: its name and website domain. */
export const companyDocument: SQL<string> = sql<string>`(${companies.name} || ' ' || coalesce(${companies.domain}, ''))`

/** A deal: its title. */
export const dealDocument: SQL<string> = sql<string>`${deals.title}`
