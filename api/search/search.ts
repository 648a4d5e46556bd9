import { and, eq, or, sql, type SQL } from 'drizzle-orm'
import { alias, type AnyPgColumn, type AnyPgTable } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import { can } from '../accounts/permissions.ts'
import type { Db } from '../db/client.ts'
import { containsPattern, escapeLike, isSearchable, UNSEARCHABLE } from '../db/like.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { companies, contacts, deals, searchWords, users } from '../db/schema.ts'
import type { StageKey } from '../pipeline/stages.ts'
import { parseEmailAddress } from '../email-address.ts'
import { readableDeals, type Actor } from '../pipeline/deals.ts'
import {
  companyDocument,
  companyDomainKey,
  companyNameKey,
  contactDocument,
  contactEmailDomainKey,
  contactEmailKey,
  contactLastNameKey,
  contactNameKey,
  dealDocument,
  dealTitleKey,
} from '../db/search-documents.ts'

// Search everywhere: deals, contacts and companies by name, email and domain, each group ranked
// exact match → a word starting with the query → the query inside → a near miss (a typo), then by
// trigram word similarity. Each kind is looked up in up to two steps. First, exact and prefix
// matches on its keys (name, surname, address, domain, title: db/search-documents.ts), btree range
// scans whose cost follows the rows found, not the table. When they find a page (GROUP_LIMIT rows) or a
// row the query identifies (a whole address, a whole domain), that is the answer, and its count
// is theirs. Otherwise the pg_trgm GIN indexes (both engines load the extension) find the query
// inside, then near misses. A long literal query (an address, a domain) thus never reads the
// trigram posting lists nearly every row is on (`exa`, `com`), which grow with the table. A query
// matching more than CANDIDATES rows of one kind ranks the first CANDIDATES of each key in the
// key's order (an ordered index scan, which the LIMIT stops: a key equal to the query comes first,
// then whole words, then longer ones), or, in the trigram pass, the first CANDIDATES the index
// yields; the count then says "200+". A query that broad is refined by typing more, and the cap
// keeps its cost flat as the tables grow: a bare first name, on 5,000 of 300,000 contacts, reads
// 200 rows from each of the name and address indexes. (One scan of all four keys, OR-ed, was a
// sequential scan stopped at the 200th match: ~12,000 rows read, 14 ms on PostgreSQL.) Equally
// ranked rows are shown alphabetically.
//
// Accents count for nothing either way ("hector" finds Héctor Núñez, "núñez" finds Nunez): every
// document, key and word, and the query, is folded by one SQL function, search_fold (migration
// 0031: unaccent's rules, then lowercased), which the indexes are built on. The query is folded
// once, by the database, so what is compared was folded by the same rules on both sides.
//
// Near misses (typos) are a second pass, only when nothing matched literally. The query's words
// are matched against the table of distinct words (search_words: a few tens of thousands at
// 300,000 contacts, kept by triggers, migration 0015), and the rows holding the nearest words are
// read through the trigram indexes like a literal query. Matching the query against every row
// instead read the trigram posting lists of all its trigrams (`  k`, `or `: most rows), which was
// the slowest search at the large size (p99 ratio 3.05 against 1,000 deals).

export const MAX_QUERY_LENGTH = 100

/** The query as a person types it: trimmed, 1–100 characters. */
export const searchQuery = z
  .string({ message: 'Type something to search for.' })
  .trim()
  .min(1, 'Type something to search for.')
  .max(MAX_QUERY_LENGTH, `Search for at most ${MAX_QUERY_LENGTH} characters.`)
  .refine(isSearchable, UNSEARCHABLE)

/** Rows shown per group. */
export const GROUP_LIMIT = 8
/** Rows of one kind ranked at most (see above). */
export const CANDIDATES = 200
/**
 * How close a word must be to count as a near miss (pg_trgm's word similarity, 0–1). Its default,
 * 0.6, misses most single typos: "Robtoics" is 0.38 from "Robotics", "Acne" 0.4 from "Acme".
 * Lower finds more typos and more noise (shown only when nothing matches literally).
 */
export const TYPO_THRESHOLD = 0.35
/** Near words looked for per word of the query, the nearest first. */
export const NEAR_WORDS = 3
/** Words of the query looked at for near misses (a query has at most ~25 words of 3+ letters). */
export const NEAR_QUERY_WORDS = 4

/** Trigram matching needs three characters; shorter queries match word starts only. */
const SUBSTRING_MIN = 3

export interface DealHit {
  id: string
  title: string
  stage: StageKey
  ownerName: string | null
  contactName: string | null
  contactEmail: string | null
  companyName: string | null
}

export interface ContactHit {
  id: string
  name: string | null
  email: string
  jobTitle: string | null
  companyName: string | null
}

export interface CompanyHit {
  id: string
  name: string
  domain: string | null
  contacts: number
}

export interface Group<T> {
  hits: T[]
  /** How many matched, up to CANDIDATES. */
  total: number
  /** More matched than were ranked (total is CANDIDATES). */
  capped: boolean
}

export interface SearchResults {
  query: string
  /** Groups the viewer may not read are absent. */
  deals?: Group<DealHit>
  contacts?: Group<ContactHit>
  companies?: Group<CompanyHit>
}

interface Needle {
  /** The query as typed (a whole address is parsed from it). */
  text: string
  /** The query folded as the documents are (search_fold): what every comparison uses. */
  folded: string
  contains: string
  wordStart: string
  substring: boolean
  /** The second pass (see searchEverything): the words near the query's, whose rows are read. */
  near: string[] | null
}

function needleOf(text: string, folded: string): Needle {
  return {
    text,
    folded,
    contains: containsPattern(folded),
    // A word of the document starts with the query (the document is prefixed with a space).
    wordStart: `% ${escapeLike(folded)}%`,
    substring: folded.length >= SUBSTRING_MIN,
    near: null,
  }
}

/**
 * The rows of one kind that match. First pass: the query inside (all its trigrams, which the GIN
 * index intersects starting from the rarest, so the cost follows the rarest trigram, not the
 * table). Second pass: a near word inside (the same kind of lookup, per word), and the whole query
 * within the typo threshold of the row, checked on those rows only (as a function call, so the
 * planner cannot read every posting list of the query's trigrams through the index). Queries
 * shorter than three characters have no trigram to intersect and match word starts.
 */
function matches(doc: SQL, needle: Needle, also: SQL[] = []): SQL {
  if (needle.near)
    return and(
      or(...needle.near.map((word) => sql`${doc} like ${containsPattern(word)}`)),
      sql`${scoreOf(doc, needle)} >= ${TYPO_THRESHOLD}`,
    )!
  return or(
    ...also,
    needle.substring ? sql`${doc} like ${needle.contains}` : sql`${needle.folded} <% ${doc}`,
  )!
}

/** One index lookup: the rows it finds, and the index order it reads them in (when it has one). */
interface Lookup {
  where: SQL
  order?: SQL
}

/**
 * One way of finding a kind's rows: the lookups whose rows it ranks (up to CANDIDATES from each),
 * and whether the query identifies a row (a whole address, a whole domain).
 */
interface Pass {
  lookups: Lookup[]
  keyed: SQL
}

/**
 * Rows whose key starts with the query, in the key's order: a btree range scan on the key's
 * `text_pattern_ops` index (whose order is `~<~`), which a LIMIT stops after the first rows. A
 * key equal to the query sorts first, then keys going on with a space (a whole word), then longer
 * words, so the rows read first are the ones ranked first.
 */
const startsWith = (needle: Needle, key: SQL): Lookup => ({
  where: sql`${key} like ${`${escapeLike(needle.folded)}%`}`,
  order: sql`${key} using ~<~`,
})

/** 0 exact, 1 a word starts with the query, 2 the query inside, 3 (NEAR_MISS) a near miss. */
function tierOf(doc: SQL, needle: Needle, exact: SQL): SQL<number> {
  return sql<number>`case when ${exact} then 0 when (' ' || ${doc}) like ${needle.wordStart} then 1 when ${doc} like ${needle.contains} then 2 else 3 end`
}

const scoreOf = (doc: SQL, needle: Needle) =>
  sql<number>`word_similarity(${needle.folded}, ${doc})`.mapWith(Number)

const NEAR_MISS = 3

/** How one kind's rows are found (see the top of this file). */
interface Kind {
  table: AnyPgTable
  id: AnyPgColumn
  doc: SQL
  /** Tier 0: the row is what the query names. */
  exact: SQL
  /** The first pass: exact and prefix matches on the kind's keys. */
  prefix: Pass
  /** What the trigram pass finds besides the query inside (a whole address). */
  also?: SQL[]
  /** The rows the viewer may read, when not all. */
  scope?: SQL | undefined
}

/**
 * The rows of a kind one pass finds, with their rank: up to CANDIDATES from each of its lookups
 * (in the lookup's index order where it has one, else as the index yields them), together. The
 * word similarity (~10 µs a row, the dearest part of the rank) is worked out once per row found,
 * after the lookups' rows are merged: a contact found by name and by address is one row. So is the
 * tier, from the document each lookup folded once (search_fold is a function call, ~1 µs a row).
 */
function candidates(db: Db, needle: Needle, kind: Kind, pass: Pass) {
  const lookups = pass.lookups.map((lookup) => {
    const rows = db
      .select({
        // Named apart from every table's columns: the outer query joins tables and Drizzle names
        // a subquery's columns unqualified.
        id: sql<string>`${kind.id}`.as('candidate_id'),
        exact: sql<boolean>`${kind.exact}`.as('candidate_exact'),
        doc: sql<string>`${kind.doc}`.as('candidate_doc'),
        keyed: sql<boolean>`${pass.keyed}`.as('candidate_keyed'),
      })
      .from(kind.table)
      .where(and(lookup.where, kind.scope))
      .$dynamic()
    // One more than ranked: a lookup that finds it says there are more than CANDIDATES (groupOf).
    return (lookup.order ? rows.orderBy(lookup.order) : rows).limit(CANDIDATES + 1)
  })
  const [first, ...rest] = lookups
  const found = rest.reduce((all, rows) => all.union(rows), first!).as('found')
  return db
    .select({
      id: found.id,
      tier: tierOf(sql`${found.doc}`, needle, sql`${found.exact}`).as('candidate_tier'),
      score: scoreOf(sql`${found.doc}`, needle).as('candidate_score'),
      // Equal tier and score: alphabetically, as the prefix lookups read their rows (the
      // document is folded: lowercased, accents off).
      sort: sql<string>`${found.doc}`.as('candidate_sort'),
      keyed: found.keyed,
    })
    .from(found)
    .as('c')
}

/**
 * The GROUP_LIMIT best candidates, ranked before any table is joined for the columns shown, and
 * over all the candidates: how many, how many match literally (not near misses), whether the
 * query identifies one.
 */
function best(db: Db, c: ReturnType<typeof candidates>) {
  return db
    .select({
      id: c.id,
      tier: c.tier,
      score: c.score,
      sort: c.sort,
      total: sql<number>`count(*) over ()`.mapWith(Number).as('candidate_total'),
      literal: sql<number>`count(*) filter (where ${c.tier} < ${NEAR_MISS}) over ()`
        .mapWith(Number)
        .as('candidate_literal'),
      keyed: sql<boolean>`bool_or(${c.keyed}) over ()`.mapWith(Boolean).as('candidate_keyed_any'),
    })
    .from(c)
    .orderBy(...ranking(c))
    .limit(GROUP_LIMIT)
    .as('best')
}

type Best = ReturnType<typeof best>

/** The counts a shown row carries (see `best`). */
const counts = (b: Best) => ({
  total: b.total,
  literal: b.literal,
  tier: sql<number>`${b.tier}`.mapWith(Number),
  keyed: b.keyed,
})

/** The order shown: tier, then word similarity, then alphabetically, then id (stable). */
const ranking = (c: Record<'tier' | 'score' | 'sort' | 'id', SQL.Aliased>) => [
  c.tier,
  sql`${c.score} desc`,
  c.sort,
  c.id,
]

interface Counted {
  total: number
  literal: number
  tier: number
  keyed: boolean
}

/**
 * One kind's group: the prefix pass, and the trigram pass only when the first found less than a
 * page and nothing the query identifies; near misses (the second pass of searchEverything) skip
 * the prefix pass. `show` reads the columns of the best candidates (`best`), `counts` and
 * `ranking` included.
 */
async function rankedGroup<T extends Counted>(
  db: Db,
  needle: Needle,
  kind: Kind,
  show: (b: Best) => Promise<T[]>,
): Promise<Group<Omit<T, keyof Counted>>> {
  const run = (pass: Pass) => show(best(db, candidates(db, needle, kind, pass)))
  if (!needle.near) {
    const rows = await run(kind.prefix)
    const top = rows[0]
    if (top && (top.total >= GROUP_LIMIT || top.keyed)) return groupOf(rows)
  }
  return groupOf(
    await run({ lookups: [{ where: matches(kind.doc, needle, kind.also) }], keyed: sql`false` }),
  )
}

/**
 * Near misses are shown only when nothing matches literally: "globex.example" should not list
 * every company whose domain ends in .example, while "Northwnid" still finds Northwind.
 */
function groupOf<T extends Counted>(rows: T[]): Group<Omit<T, keyof Counted>> {
  const literalOnly = rows.length > 0 && rows[0]!.tier < NEAR_MISS
  // Up to CANDIDATES + 1 from each lookup of a pass: more than CANDIDATES together say "200+";
  // exactly CANDIDATES is all there are.
  const found = rows[0]?.total ?? 0
  return {
    hits: rows
      .filter((r) => !literalOnly || r.tier < NEAR_MISS)
      .map(({ total: _t, literal: _l, tier: _r, keyed: _k, ...hit }) => hit),
    total: Math.min(literalOnly ? rows[0]!.literal : found, CANDIDATES),
    capped: found > CANDIDATES,
  }
}

const fullName = sql`trim(coalesce(${contacts.firstName}, '') || ' ' || coalesce(${contacts.lastName}, ''))`

function searchDeals(db: Db, needle: Needle, viewer: Actor): Promise<Group<DealHit>> {
  const owner = alias(users, 'owner')
  const kind: Kind = {
    table: deals,
    id: deals.id,
    doc: dealDocument,
    exact: sql`${dealTitleKey} = ${needle.folded}`,
    prefix: { lookups: [startsWith(needle, dealTitleKey)], keyed: sql`false` },
    // What the viewer may read today (pipeline/deals.ts readableDeals).
    scope: readableDeals(viewer),
  }
  return rankedGroup(db, needle, kind, (b) =>
    db
      .select({
        id: deals.id,
        title: deals.title,
        stage: deals.stage,
        ownerName: owner.name,
        contactName: sql<string | null>`nullif(${fullName}, '')`,
        contactEmail: contacts.emailDisplay,
        companyName: sql<string | null>`coalesce(${companies.name}, ${contacts.companyName})`,
        ...counts(b),
      })
      .from(b)
      .innerJoin(deals, eq(deals.id, b.id))
      .leftJoin(owner, eq(owner.id, deals.ownerId))
      .leftJoin(contacts, eq(contacts.id, deals.contactId))
      .leftJoin(companies, eq(companies.id, deals.companyId))
      .orderBy(...ranking(b)),
  )
}

function searchContacts(db: Db, needle: Needle): Promise<Group<ContactHit>> {
  // A whole address finds its contact however it is typed (the canonical form is unique).
  const address = parseEmailAddress(needle.text)?.canonical ?? null
  const byAddress = address ? [eq(contacts.email, address)] : []
  // Every stored address has an @, and its domain a dot: a query without them cannot equal one,
  // and the comparison, which folds the key of every row ranked (search_fold, ~1 µs a row), is
  // left out (a bare first name ranks ~400 rows).
  const whole = needle.folded.includes('@')
  const byEmail = whole ? [sql`${contactEmailKey} = ${needle.folded}`] : []
  const byDomain =
    !whole && needle.folded.includes('.') ? [sql`${contactEmailDomainKey} = ${needle.folded}`] : []
  const kind: Kind = {
    table: contacts,
    id: contacts.id,
    doc: contactDocument,
    exact: or(...byAddress, ...byEmail, sql`${contactNameKey} = ${needle.folded}`)!,
    prefix: {
      lookups: [
        ...byAddress.map((where) => ({ where })),
        ...[contactNameKey, contactLastNameKey, contactEmailKey, contactEmailDomainKey].map((key) =>
          startsWith(needle, key),
        ),
      ],
      // A whole address, or a whole domain (the people there), is what the query means.
      keyed: or(...byAddress, ...byDomain) ?? sql`false`,
    },
    also: byAddress,
  }
  return rankedGroup(db, needle, kind, (b) =>
    db
      .select({
        id: contacts.id,
        name: sql<string | null>`nullif(${fullName}, '')`,
        email: contacts.emailDisplay,
        jobTitle: contacts.jobTitle,
        companyName: sql<string | null>`coalesce(${contacts.companyName}, ${companies.name})`,
        ...counts(b),
      })
      .from(b)
      .innerJoin(contacts, eq(contacts.id, b.id))
      .leftJoin(companies, eq(companies.id, contacts.companyId))
      .orderBy(...ranking(b)),
  )
}

function searchCompanies(db: Db, needle: Needle): Promise<Group<CompanyHit>> {
  // A whole address finds its company too, by the address's domain.
  const addressDomain = parseEmailAddress(needle.text)?.domain ?? null
  const byAddressDomain = addressDomain ? [sql`${companyDomainKey} = ${addressDomain}`] : []
  const byDomain = [sql`${companyDomainKey} = ${needle.folded}`, ...byAddressDomain]
  const kind: Kind = {
    table: companies,
    id: companies.id,
    doc: companyDocument,
    exact: or(sql`${companyNameKey} = ${needle.folded}`, ...byDomain)!,
    prefix: {
      // A domain equal to the query is the domain lookup's first row.
      lookups: [
        startsWith(needle, companyNameKey),
        startsWith(needle, companyDomainKey),
        ...byAddressDomain.map((where) => ({ where })),
      ],
      keyed: or(...byDomain)!,
    },
  }
  return rankedGroup(db, needle, kind, (b) =>
    db
      .select({
        id: companies.id,
        name: companies.name,
        domain: companies.domain,
        // Only for the few rows shown (contacts_company_idx).
        contacts:
          sql<number>`(select count(*) from ${contacts} where ${contacts.companyId} = ${companies.id})`.mapWith(
            Number,
          ),
        ...counts(b),
      })
      .from(b)
      .innerJoin(companies, eq(companies.id, b.id))
      .orderBy(...ranking(b)),
  )
}

/**
 * The words of search_words nearest to the query's words (NEAR_WORDS each, within the typo
 * threshold), split as the table's words are (search_words_of, migration 0015). The `<%` is
 * answered by the words table's trigram index.
 */
async function nearWords(db: Db, query: string): Promise<string[]> {
  const rows = rowsOf<{ word: string }>(
    await db.execute(sql`select distinct n.word
      from (select w from search_words_of(${query}) w limit ${NEAR_QUERY_WORDS}) q
      cross join lateral (
        select ${searchWords.word} as word from ${searchWords}
        where q.w <% ${searchWords.word}
        order by word_similarity(q.w, ${searchWords.word}) desc, ${searchWords.word}
        limit ${NEAR_WORDS}
      ) n`),
  )
  return rows.map((r) => r.word).sort()
}

/**
 * Deals, contacts and companies matching `query` (already validated by `searchQuery`) that
 * `viewer` may read: deals as on the pipeline pages, contacts and companies for roles that read
 * contacts. One transaction, so the typo threshold is set for these statements only. The query is
 * folded by the documents' own search_fold (db/search-documents.ts), in the statement that sets it.
 */
export async function searchEverything(
  db: Db,
  viewer: Actor,
  query: string,
  readable: { deals: boolean; contacts: boolean } = {
    deals: can(viewer, 'pipeline:read'),
    contacts: can(viewer, 'contacts:read'),
  },
): Promise<SearchResults> {
  return db.transaction(async (tx) => {
    const [setup] = rowsOf<{ folded: string }>(
      await tx.execute(
        sql`select set_config('pg_trgm.word_similarity_threshold', ${String(TYPO_THRESHOLD)}, true), search_fold(${query}) as folded`,
      ),
    )
    const literal = needleOf(query, setup!.folded.trim())
    // Combining marks alone fold to nothing, whose pattern would match every row.
    if (!literal.folded) {
      const none = { hits: [], total: 0, capped: false }
      return {
        query,
        ...(readable.deals ? { deals: none } : {}),
        ...(readable.contacts ? { contacts: none, companies: none } : {}),
      }
    }
    const pass = async (needle: Needle) => {
      const results: SearchResults = { query }
      if (readable.deals) results.deals = await searchDeals(tx, needle, viewer)
      if (readable.contacts) {
        results.contacts = await searchContacts(tx, needle)
        results.companies = await searchCompanies(tx, needle)
      }
      return results
    }
    const results = await pass(literal)
    // Near misses only when nothing at all matches literally, i.e. the query is likely mistyped:
    // "globex.example" should not list every company whose domain ends in .example.
    const found = [results.deals, results.contacts, results.companies].some((g) => g && g.total > 0)
    if (found || !literal.substring) return results
    const near = await nearWords(tx, query)
    if (near.length === 0) return results
    return pass({ ...literal, near })
  })
}
