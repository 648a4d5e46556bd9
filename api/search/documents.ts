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

// The first pass's keys: lowercased fields, each under a btree `text_pattern_ops` index in
// api/db/schema.ts (the same expressions), so `key like 'query%'` is a range scan whatever the
// table's size. Every key is part of its kind's document, so a prefix match is also a literal one.

/** A contact's full name as shown, lowercased. */
export const contactNameKey: SQL<string> = sql<string>`lower(trim(coalesce(${contacts.firstName}, '') || ' ' || coalesce(${contacts.lastName}, '')))`
export const contactLastNameKey: SQL<string> = sql<string>`lower(${contacts.lastName})`
export const contactEmailKey: SQL<string> = sql<string>`lower(${contacts.emailDisplay})`
/** The domain of the contact's address ("globex.example" finds the people there). */
export const contactEmailDomainKey: SQL<string> = sql<string>`lower(split_part(${contacts.emailDisplay}, '@', 2))`
export const companyNameKey: SQL<string> = sql<string>`lower(${companies.name})`
/** Domains are stored lowercased. */
export const companyDomainKey: SQL<string> = sql<string>`${companies.domain}`
export const dealTitleKey: SQL<string> = sql<string>`lower(${deals.title})`
