import { dealAccess, isCalendarDate, readableDeals, type Actor } from './deals.ts'
import { and, asc, desc, eq, gt, gte, ilike, lt, or, sql, type SQL } from 'drizzle-orm'
import { z } from 'zod'
import type { Db } from '../db/client.ts'
import {
  companies,
  consentEvents,
  contacts,
  dealEvents,
  deals,
  downloadTokens,
  LEAD_SOURCES,
  outbox,
  submissions,
  users,
  type LeadSource,
} from '../db/schema.ts'
import { containsPattern, isSearchable, UNSEARCHABLE } from '../db/like.ts'
import { parseEmailAddress } from '../email-address.ts'
import { can } from '../accounts/permissions.ts'
import { explainFailure } from '../email/failure-reasons.ts'
import { recordEditProblem, recordHistory } from './record-changes.ts'
import { contactColumns } from './contact-edits.ts'
import { companyDocument, contactDocument } from '../db/search-documents.ts'

// Contacts for reps and admins: a searchable, filterable list, one contact's full story
// (submissions, consents, deals, emails sent, downloads), and a CSV export for admins.

// A real day the database can take: Date.parse rolls 2026-02-30 over to March, and years
// outside the calendar's range (0000, 9999's next day) became a 500 in the query.
const day = z.string().refine(isCalendarDate, 'Use a real date like 2026-11-29 (2000 to 2100).')

/**
 * The list's filters, as they arrive in a query string read through http/input.ts's givenParams
 * (an empty value, a filter left at "any", is one not given).
 */
export const contactFiltersSchema = z.object({
  q: z
    .string()
    .trim()
    .max(200, 'Search for at most 200 characters.')
    .refine(isSearchable, UNSEARCHABLE)
    .optional()
    // Only spaces: no search.
    .transform((v) => v || undefined),
  source: z
    .enum(LEAD_SOURCES, { message: 'Source is inbound, outbound, grader or manual.' })
    .optional(),
  from: day.optional(),
  to: day.optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
})

export type ContactFilters = z.infer<typeof contactFiltersSchema>

export const CONTACTS_PAGE_SIZE = 50

function filterWhere(filters: Omit<ContactFilters, 'page'>): SQL | undefined {
  const conditions: SQL[] = []
  if (filters.q) {
    const pattern = containsPattern(filters.q)
    // Names fold as search folds them (search_fold: accents off, lowercased), so "nunez" finds
    // Núñez: the pattern is folded by the same function (it keeps `%`, `_` and `\` as they are)
    // and matched against search's own documents (db/search-documents.ts: name and address; a
    // company's name and domain), each on its trigram index, the contacts found matched by id.
    // A company typed on the contact alone is folded row by row (no index, as before); the
    // canonical address (its domain in punycode) is matched as before.
    const folded = sql`search_fold(${pattern})`
    // A whole address finds its contact however it is typed ("Ann@Bücher.example").
    const address = parseEmailAddress(filters.q)
    conditions.push(
      or(
        ...(address ? [eq(contacts.email, address.canonical)] : []),
        ilike(contacts.email, pattern),
        sql`search_fold(${contacts.companyName}) like ${folded}`,
        // Inside each subquery its own `contacts` and `companies` are the ones named.
        sql`${contacts.id} in (
          select ${contacts.id} from ${contacts} where ${contactDocument} like ${folded}
          union all
          select ${contacts.id} from ${contacts}
            join ${companies} on ${companies.id} = ${contacts.companyId}
            where ${companyDocument} like ${folded})`,
      )!,
    )
  }
  if (filters.source) conditions.push(eq(contacts.source, filters.source))
  if (filters.from) conditions.push(gte(contacts.createdAt, new Date(`${filters.from}T00:00:00Z`)))
  if (filters.to)
    conditions.push(
      lt(contacts.createdAt, new Date(Date.parse(`${filters.to}T00:00:00Z`) + 86_400_000)),
    )
  return conditions.length > 0 ? and(...conditions) : undefined
}

/**
 * The contact's open deal, among those `scope` allows: a rep's list shows the stage of their own
 * deal or an unclaimed one, never another rep's (pipeline/deals.ts readableDeals).
 */
const openDeal = (scope?: SQL) =>
  and(sql`${deals.contactId} = ${contacts.id} and ${deals.stage} not in ('won', 'lost')`, scope)

const listColumns = (scope?: SQL) => ({
  id: contacts.id,
  email: contacts.emailDisplay,
  canonicalEmail: contacts.email,
  firstName: contacts.firstName,
  lastName: contacts.lastName,
  jobTitle: contacts.jobTitle,
  phone: contacts.phone,
  company: sql<string | null>`coalesce(${contacts.companyName}, ${companies.name})`,
  companyDomain: companies.domain,
  source: contacts.source,
  createdAt: contacts.createdAt,
  openDealId: sql<
    string | null
  >`(select ${deals.id} from ${deals} where ${openDeal(scope)} limit 1)`,
  openDealStage: sql<
    string | null
  >`(select ${deals.stage} from ${deals} where ${openDeal(scope)} limit 1)`,
  submissionCount: sql<number>`(select count(*)::int from ${submissions} where ${submissions.contactId} = ${contacts.id})`,
  marketingConsent: sql<
    boolean | null
  >`(select ${consentEvents.granted} from ${consentEvents} where ${consentEvents.contactId} = ${contacts.id} and ${consentEvents.purpose} = 'marketing' order by ${consentEvents.createdAt} desc limit 1)`,
})

export type ContactListRow = {
  id: string
  email: string
  canonicalEmail: string
  firstName: string | null
  lastName: string | null
  jobTitle: string | null
  phone: string | null
  company: string | null
  companyDomain: string | null
  source: LeadSource
  createdAt: Date
  openDealId: string | null
  openDealStage: string | null
  submissionCount: number
  marketingConsent: boolean | null
}

export async function listContacts(
  db: Db,
  viewer: Actor,
  filters: ContactFilters,
  pageSize = CONTACTS_PAGE_SIZE,
) {
  const where = filterWhere(filters)
  const [rows, [total]] = await Promise.all([
    db
      .select(listColumns(readableDeals(viewer)))
      .from(contacts)
      .leftJoin(companies, eq(companies.id, contacts.companyId))
      .where(where)
      .orderBy(desc(contacts.createdAt), desc(contacts.id))
      .limit(pageSize)
      .offset((filters.page - 1) * pageSize),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(contacts)
      .leftJoin(companies, eq(companies.id, contacts.companyId))
      .where(where),
  ])
  const n = total?.n ?? 0
  return {
    rows: rows as ContactListRow[],
    total: n,
    page: filters.page,
    pageCount: Math.max(1, Math.ceil(n / pageSize)),
  }
}

export async function findContactDetail(db: Db, id: string, viewer: Actor) {
  const [contact] = await db
    .select({ contact: contactColumns, company: companies })
    .from(contacts)
    .leftJoin(companies, eq(companies.id, contacts.companyId))
    .where(eq(contacts.id, id))
  if (!contact) return null
  const [subs, consents, dealRows, emails, downloads] = await Promise.all([
    db
      .select()
      .from(submissions)
      .where(eq(submissions.contactId, id))
      .orderBy(desc(submissions.createdAt)),
    db
      .select()
      .from(consentEvents)
      .where(eq(consentEvents.contactId, id))
      .orderBy(desc(consentEvents.createdAt)),
    db
      .select({ deal: deals, ownerName: users.name })
      .from(deals)
      .leftJoin(users, eq(users.id, deals.ownerId))
      .where(eq(deals.contactId, id))
      .orderBy(desc(deals.createdAt)),
    db
      .select({
        id: outbox.id,
        subject: sql<string | null>`${outbox.payload}->>'subject'`,
        template: sql<string | null>`${outbox.payload}->>'template'`,
        category: outbox.category,
        status: outbox.status,
        attempts: outbox.attempts,
        lastError: outbox.lastError,
        lastErrorKind: outbox.lastErrorKind,
        createdAt: outbox.createdAt,
        sentAt: outbox.sentAt,
      })
      .from(outbox)
      .where(eq(outbox.recipient, contact.contact.email))
      .orderBy(desc(outbox.createdAt))
      .limit(200),
    db
      .select({
        id: downloadTokens.id,
        offer: downloadTokens.offer,
        file: downloadTokens.file,
        downloads: downloadTokens.downloads,
        lastDownloadAt: downloadTokens.lastDownloadAt,
        expiresAt: downloadTokens.expiresAt,
        createdAt: downloadTokens.createdAt,
      })
      .from(downloadTokens)
      .where(eq(downloadTokens.contactId, id))
      .orderBy(desc(downloadTokens.createdAt)),
  ])
  // A rep sees their own and unclaimed deals here, as on the deal page; others are only counted.
  const readable = dealRows.filter((d) => dealAccess(viewer, d.deal).read)
  const editProblem = recordEditProblem(
    viewer,
    dealRows.map((d) => d.deal.ownerId),
    'contact',
  )
  const history = await recordHistory(db, [{ type: 'contact', id }])
  const hiddenDeals = dealRows.length - readable.length
  const dealIds = readable.map((d) => d.deal.id)
  const events =
    dealIds.length === 0
      ? []
      : await db
          .select()
          .from(dealEvents)
          .where(sql`${dealEvents.dealId} in ${dealIds}`)
          // Events of one moment in the order they happen: created, moved, then evidence.
          .orderBy(
            asc(dealEvents.createdAt),
            sql`case ${dealEvents.type} when 'created' then 0 when 'stage_changed' then 1 when 'claimed' then 2 else 3 end`,
            asc(dealEvents.id),
          )
  return {
    contact: contact.contact,
    company: contact.company,
    submissions: subs,
    consents,
    hiddenDeals,
    deals: readable.map((d) => ({
      ...d.deal,
      ownerName: d.ownerName,
      events: events.filter((e) => e.dealId === d.deal.id),
    })),
    // The transport's own words may name our mail server (its host and port): admins read them
    // (as on the outbox page); everyone reads why a failed message failed, in words.
    emails: emails.map(({ lastError, lastErrorKind, ...email }) => ({
      ...email,
      lastError: can(viewer, 'outbox:manage') ? lastError : null,
      reason: email.status === 'failed' ? explainFailure({ lastError, lastErrorKind }) : null,
    })),
    downloads,
    /** Who added or changed the contact by hand, newest first. */
    history,
    canEdit: editProblem === null,
    /** Why the viewer may not edit it, when they may not. */
    editRefusal: editProblem?.message ?? null,
  }
}

export type ContactDetail = NonNullable<Awaited<ReturnType<typeof findContactDetail>>>

// ── CSV export ──────────────────────────────────────────────────────────────────────────────

/**
 * The list's columns and, for the export only (admins: every deal), attribution and the open
 * deal's owner.
 */
const csvColumns = {
  ...listColumns(),
  // First touch: the fd_ft cookie's campaign on the earliest submission, else that post's own tags.
  firstTouch: sql<Record<
    string,
    unknown
  > | null>`(select coalesce(${submissions.firstTouch}->'utm', ${submissions.utm}) from ${submissions} where ${submissions.contactId} = ${contacts.id} order by ${submissions.createdAt} asc limit 1)`,
  latestUtm: sql<Record<
    string,
    unknown
  > | null>`(select ${submissions.utm} from ${submissions} where ${submissions.contactId} = ${contacts.id} and ${submissions.utm} is not null order by ${submissions.createdAt} desc limit 1)`,
  owner: sql<
    string | null
  >`(select ${users.name} from ${deals} join ${users} on ${users.id} = ${deals.ownerId} where ${openDeal()} limit 1)`,
}
type CsvRow = ContactListRow & {
  firstTouch: Record<string, unknown> | null
  latestUtm: Record<string, unknown> | null
  owner: string | null
}
const tag = (utm: Record<string, unknown> | null, name: string) =>
  typeof utm?.[name] === 'string' ? (utm[name] as string) : ''

const CSV_COLUMNS: Array<[string, (row: CsvRow) => string]> = [
  ['id', (r) => r.id],
  ['email', (r) => r.email],
  ['first_name', (r) => r.firstName ?? ''],
  ['last_name', (r) => r.lastName ?? ''],
  ['job_title', (r) => r.jobTitle ?? ''],
  ['phone', (r) => r.phone ?? ''],
  ['company', (r) => r.company ?? ''],
  ['company_domain', (r) => r.companyDomain ?? ''],
  ['source', (r) => r.source],
  [
    'marketing_consent',
    (r) => (r.marketingConsent === null ? '' : r.marketingConsent ? 'yes' : 'no'),
  ],
  ['open_deal_stage', (r) => r.openDealStage ?? ''],
  ['owner', (r) => r.owner ?? ''],
  ['submissions', (r) => String(r.submissionCount)],
  ['first_touch_source', (r) => tag(r.firstTouch, 'utm_source')],
  ['first_touch_medium', (r) => tag(r.firstTouch, 'utm_medium')],
  ['first_touch_campaign', (r) => tag(r.firstTouch, 'utm_campaign')],
  ['utm_source', (r) => tag(r.latestUtm, 'utm_source')],
  ['utm_medium', (r) => tag(r.latestUtm, 'utm_medium')],
  ['utm_campaign', (r) => tag(r.latestUtm, 'utm_campaign')],
  ['utm_term', (r) => tag(r.latestUtm, 'utm_term')],
  ['utm_content', (r) => tag(r.latestUtm, 'utm_content')],
  ['created_at', (r) => r.createdAt.toISOString()],
]

/**
 * One CSV cell. Quoted always; a value a spreadsheet would run as a formula (starting with
 * = + - @, a tab or a carriage return, also after leading spaces) gets a leading apostrophe,
 * as OWASP recommends, so it is shown as text.
 */
export function csvCell(value: string): string {
  const safe = /^[\s]*[=+\-@\t\r]/.test(value) || /^[\t\r]/.test(value) ? `'${value}` : value
  return `"${safe.replace(/"/g, '""')}"`
}

/** A cell of a file csvLine wrote, read back: the value it was given (its apostrophe off). */
export function csvCellValue(cell: string): string {
  return /^'(?:[\s]*[=+\-@\t\r])/.test(cell) ? cell.slice(1) : cell
}

/** One CSV line of `cells`, each escaped by csvCell, separated by `delimiter` (`,` unless given). */
export function csvLine(cells: string[], delimiter = ','): string {
  return cells.map(csvCell).join(delimiter) + '\r\n'
}

/** The matching contacts as CSV, streamed in batches (keyset pagination, no OFFSET scans). */
export function contactsCsv(
  db: Db,
  filters: Omit<ContactFilters, 'page'>,
  batch = 1000,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let after: string | null = null
  let started = false
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true
        // A byte-order mark so spreadsheet programs read UTF-8 names correctly.
        controller.enqueue(encoder.encode('\uFEFF' + csvLine(CSV_COLUMNS.map(([name]) => name))))
      }
      // Ids are UUIDv7: ordering by id is creation order, and exact (timestamps lose microseconds in JS).
      const cursor: SQL | undefined = after ? gt(contacts.id, after) : undefined
      const base = filterWhere(filters)
      const rows = (await db
        .select(csvColumns)
        .from(contacts)
        .leftJoin(companies, eq(companies.id, contacts.companyId))
        .where(base && cursor ? and(base, cursor) : (base ?? cursor))
        .orderBy(asc(contacts.id))
        .limit(batch)) as CsvRow[]
      if (rows.length === 0) {
        controller.close()
        return
      }
      controller.enqueue(
        encoder.encode(rows.map((row) => csvLine(CSV_COLUMNS.map(([, get]) => get(row)))).join('')),
      )
      const last = rows[rows.length - 1]!
      after = last.id
      if (rows.length < batch) controller.close()
    },
  })
}
