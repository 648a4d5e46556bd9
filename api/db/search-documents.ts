import { sql, type SQL } from 'drizzle-orm'
import { companies, contacts, deals } from './schema.ts'

// What search matches on, per kind: the very expressions the trigram indexes in api/db/schema.ts
// are built on (the planner uses an expression index only for the same expression). Each is
// folded by search_fold (migration 0031: unaccent's rules, then lowercased), the one normaliser
// of searched text, which folds the query too (search/search.ts, and the Contacts filter's in
// pipeline/contacts.ts), so "hector" finds Héctor and "núñez" finds Nunez. Here, on the ground
// floor, because both of those use them.

/** Searched text as search folds it: the SQL around `text`. */
const folded = (text: SQL): SQL<string> => sql<string>`search_fold(${text})`

/** A contact: first and last name and the address as typed. */
export const contactDocument = folded(
  sql`coalesce(${contacts.firstName}, '') || ' ' || coalesce(${contacts.lastName}, '') || ' ' || ${contacts.emailDisplay}`,
)

/** A company: its name and website domain. */
export const companyDocument = folded(
  sql`${companies.name} || ' ' || coalesce(${companies.domain}, '')`,
)

/** A deal: its title. */
export const dealDocument = folded(sql`${deals.title}`)

// The first pass's keys: folded fields, each under a btree `text_pattern_ops` index in
// api/db/schema.ts (the same expressions), so `key like 'query%'` is a range scan whatever the
// table's size. Every key is part of its kind's document, so a prefix match is also a literal one.

/** A contact's full name as shown, folded. */
export const contactNameKey = folded(
  sql`trim(coalesce(${contacts.firstName}, '') || ' ' || coalesce(${contacts.lastName}, ''))`,
)
export const contactLastNameKey = folded(sql`${contacts.lastName}`)
export const contactEmailKey = folded(sql`${contacts.emailDisplay}`)
/** The domain of the contact's address ("globex.example" finds the people there). */
export const contactEmailDomainKey = folded(sql`split_part(${contacts.emailDisplay}, '@', 2)`)
export const companyNameKey = folded(sql`${companies.name}`)
/** Domains are stored lowercased and ASCII (punycode), which search_fold leaves as they are. */
export const companyDomainKey: SQL<string> = sql<string>`${companies.domain}`
export const dealTitleKey = folded(sql`${deals.title}`)
