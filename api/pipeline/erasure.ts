import { and, asc, eq, gt, inArray, isNotNull, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { containsPattern } from '../db/like.ts'
import {
  activities,
  campaignImportErrors,
  campaignImports,
  campaignRecipients,
  clickEvents,
  consentEvents,
  contacts,
  dealEvents,
  deals,
  dealStakeholders,
  downloadTokens,
  formFlashes,
  graderReports,
  graderUnlocks,
  idempotencyKeys,
  mailboxMessages,
  outbox,
  rateLimitHits,
  recordChanges,
  submissions,
  suppressions,
  trackedLinks,
  unsubscribeTokens,
  webhookAttempts,
  webhookDeliveries,
  webhookEvents,
  webhookSuccesses,
  type WebhookSuccess,
} from '../db/schema.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import { parseEmailAddress } from '../email-address.ts'
import { erasedPayload } from '../email/outbox.ts'
import { addressFingerprint } from '../email/suppressions.ts'
import type { Refusal } from '../http/form-or-json.ts'
import { RETENTION } from '../content/site.ts'
import { limitAddress } from '../rate-limits.ts'
import { contactRetention, dueForErasure, retentionFacts } from './contact-retention.ts'
import { changeDeal } from './deal-changes.ts'
import type { Actor } from './deals.ts'

// Erasing a person on request (the privacy policy's "Deletion and your other rights"), in one
// transaction: every row the database holds about them is deleted or stripped of them, and the
// business records stay. Deals (stage, value, history) keep their contact row, anonymised in place
// (a placeholder address at erased.invalid, nothing else); campaign recipients, clicks, outbox rows
// and webhook events keep their counts and ids without the person. Kept: the consent record the
// law asks us to prove (purpose, granted or not, the wording's version and hash, how, which form
// and page, when), without its IP address and user agent; and the SHA-256 of the canonical
// address on the do-not-email list (suppressions.ts), so no import, form or campaign mails them
// again. What is deleted: submissions (also quarantined ones sent from the address), download
// links, grader unlocks and the reports only they unlocked, unsubscribe tokens, the dev mailbox's
// copies, their stakeholder roles, the contact's edit history, rate-limit windows and refused-form
// values naming them. Free text that may name them (deal titles and notes, timeline entries, next
// steps, webhook payloads and receivers' answers, stored answers of idempotent requests, an
// uploaded CSV) has their address, name, phone and IP addresses replaced by "[erased]".
// Webhook events about them are redacted in place rather than their deliveries dropped: one not yet
// delivered still goes, without the person but with its ids (a receiver still learns of the deal
// a lead made), and `contact.erased` follows it in order, so the receiver erases them too.
// A click that reaches click_events after the erasure read it loses its network data at the next
// hourly housekeeping run (sweepErasedClicks, below).

/** The placeholder an erased contact's address becomes: undeliverable (RFC 2606) and unique. */
export const erasedAddress = (contactId: string) => `erased-${contactId}@erased.invalid`

export const ERASED = '[erased]'

export type ErasureResult =
  { ok: true; contactId: string; dealIds: string[] } | ({ ok: false } & Refusal)

/**
 * Why a person is erased: on their request, by an admin (the route checks the role) who typed
 * `confirm`, the contact's address; or by the retention job (api/pipeline/contact-retention.ts),
 * the rule checked again under the contact's lock, so activity that came in meanwhile keeps them.
 */
export type ErasureRequest =
  { reason: 'request'; actor: Actor; confirm: string } | { reason: 'inactivity' }

/** What each reason leaves in the records: the deal's note, the outbox's and the suppression's. */
const WORDING = {
  request: { note: 'Person erased on request.', why: 'erased on request' },
  inactivity: {
    note: `Person erased after ${RETENTION.inactiveContactMonths} months without activity.`,
    why: 'erased after inactivity',
  },
} as const

/** What identifies the person in free text. */
interface Identifiers {
  /** Matched anywhere, case-insensitively: addresses and the phone number. */
  exact: string[]
  /** Matched as whole words, case-insensitively: the full name and the last name. */
  names: string[]
  /** Matched as a whole word with its capital: a first name alone ("Will", not "will call"). */
  firstName: string | null
  /** Matched as whole addresses: IP addresses ("10.0.0.1", not part of "10.0.0.12"). */
  ips: string[]
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const word = (w: string) => `(?<![\\p{L}\\p{N}])${escape(w)}(?![\\p{L}\\p{N}])`

/** Replaces the person's identifiers in a text with "[erased]" (longest first). */
function scrubberOf(ids: Identifiers): (text: string) => string {
  const byLength = (a: string, b: string) => b.length - a.length
  const parts = [
    ...[...ids.exact, ...ids.names]
      .sort(byLength)
      .map((s) => (ids.names.includes(s) ? word(s) : escape(s))),
    ...ids.ips.map((ip) => `(?<![\\w.:])${escape(ip)}(?![\\w:]|\\.\\d)`),
  ]
  const anyCase = parts.length ? new RegExp(parts.join('|'), 'giu') : null
  const first = ids.firstName ? new RegExp(word(ids.firstName), 'gu') : null
  return (text) => {
    let out = anyCase ? text.replace(anyCase, ERASED) : text
    if (first) out = out.replace(first, ERASED)
    return out
  }
}

/** Keys whose values are the person's own data wherever they appear in a JSON document. */
const PERSONAL_KEYS = new Set([
  'email',
  'emailDisplay',
  'name',
  'firstName',
  'lastName',
  'jobTitle',
  'phone',
  'message',
  'ip',
  'userAgent',
  'headers',
  'fields',
])

/** A JSON value with the person's keys dropped and their identifiers replaced in every string. */
function scrubJson(value: unknown, scrub: (text: string) => string): unknown {
  if (typeof value === 'string') return scrub(value)
  if (Array.isArray(value)) return value.map((v) => scrubJson(v, scrub))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(value)) {
      out[key] = PERSONAL_KEYS.has(key) ? null : scrubJson(v, scrub)
    }
    return out
  }
  return value
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Evidence pointing at a grader report deleted with the person says so (`reportErased`, read by
 * evidence.ts) instead of linking a rep to a page that is gone.
 */
function withoutReports(data: unknown, gone: Set<string>): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data
  const fields = data as Record<string, unknown>
  return typeof fields.reportId === 'string' && gone.has(fields.reportId)
    ? { ...fields, reportId: null, reportErased: true }
    : data
}

/**
 * Erases the contact `contactId` (see ErasureRequest). 404 unknown, 409 already erased or (by the
 * retention job) not due, 422 the confirmation does not match.
 */
export async function erasePerson(
  db: Db,
  contactId: string,
  request: ErasureRequest,
  now: Date,
): Promise<ErasureResult> {
  const actorId = request.reason === 'request' ? request.actor.id : null
  const wording = WORDING[request.reason]
  return db.transaction(async (tx) => {
    const [contact] = await tx
      .select()
      .from(contacts)
      .where(eq(contacts.id, contactId))
      .for('update')
    if (!contact) return { ok: false, status: 404, code: 'not_found', message: 'Unknown contact.' }
    if (contact.erasedAt)
      return {
        ok: false,
        status: 409,
        code: 'already_erased',
        message: 'This person was already erased.',
      }
    if (request.reason === 'inactivity') {
      const facts = await retentionFacts(tx, contactId)
      const verdict = facts && contactRetention(facts, now)
      if (!verdict?.due)
        return {
          ok: false,
          status: 409,
          code: 'not_due',
          message: 'This person is not due for erasure.',
        }
    }
    const typed = request.reason === 'request' ? parseEmailAddress(request.confirm) : null
    if (request.reason === 'request' && (!typed || typed.canonical !== contact.email))
      return {
        ok: false,
        status: 422,
        code: 'confirmation_mismatch',
        message: 'Type the contact’s email address exactly to confirm. Nothing was erased.',
        fields: { confirm: 'This is not the contact’s email address.' },
      }

    const address = parseEmailAddress(contact.emailDisplay)
    const addresses = [
      ...new Set(
        [contact.email, contact.emailDisplay, address?.mailbox]
          .filter((a): a is string => !!a)
          .map((a) => a.toLowerCase()),
      ),
    ]
    const sameAddress = (column: SQL | typeof submissions.email) =>
      inArray(sql`lower(${column})`, addresses)

    // Their rows in the tables that name them by id or address.
    const subs = await tx
      .select({ id: submissions.id, ip: submissions.ip })
      .from(submissions)
      .where(or(eq(submissions.contactId, contactId), sameAddress(submissions.email)))
    const recipients = await tx
      .select({ id: campaignRecipients.id, outboxId: campaignRecipients.outboxId })
      .from(campaignRecipients)
      .where(eq(campaignRecipients.contactId, contactId))
    const recipientIds = recipients.map((r) => r.id)
    const clicks = recipientIds.length
      ? await tx
          .select({ ip: clickEvents.ip })
          .from(clickEvents)
          .where(inArray(clickEvents.recipientId, recipientIds))
      : []
    const consents = await tx
      .select({ ip: consentEvents.ip })
      .from(consentEvents)
      .where(eq(consentEvents.contactId, contactId))
    const unlocks = await tx
      .select({ reportId: graderUnlocks.reportId, ip: graderReports.requesterIp })
      .from(graderUnlocks)
      .innerJoin(graderReports, eq(graderReports.id, graderUnlocks.reportId))
      .where(eq(graderUnlocks.contactId, contactId))
    const ips = [
      ...new Set(
        [...subs, ...clicks, ...consents, ...unlocks]
          .map((r) => r.ip)
          .filter((ip): ip is string => !!ip && ip !== 'unknown'),
      ),
    ]
    const fullName = [contact.firstName, contact.lastName].filter(Boolean).join(' ')
    const phone =
      contact.phone && contact.phone.replace(/\D/g, '').length >= 5 ? contact.phone : null
    const ids: Identifiers = {
      exact: [...addresses, ...(phone ? [phone] : [])],
      names: [fullName, contact.lastName ?? ''].filter((w) => w.trim().length >= 2),
      firstName: contact.firstName && contact.firstName.length >= 2 ? contact.firstName : null,
      ips,
    }
    const scrub = scrubberOf(ids)
    const scrubText = (v: string | null) => (v === null ? null : scrub(v))
    /**
     * A condition on a text column holding any of `needles` (case-insensitively). Rows outside the
     * person's own are found by what only they have — their id, address, phone — never by a name
     * alone, which a stranger may share; those rows then have the names scrubbed too.
     */
    const mentions = (column: SQL, needles: string[]) =>
      sql`${column} ilike any (array[${sql.join(
        needles.map((n) => sql`${containsPattern(n)}`),
        sql`, `,
      )}]::text[])`
    const theirs = [contactId, ...ids.exact]

    // Submissions, download links, grader unlocks and the reports nobody else unlocked.
    if (subs.length)
      await tx.delete(submissions).where(
        inArray(
          submissions.id,
          subs.map((s) => s.id),
        ),
      )
    await tx.delete(downloadTokens).where(eq(downloadTokens.contactId, contactId))
    await tx.delete(graderUnlocks).where(eq(graderUnlocks.contactId, contactId))
    const reportIds = [...new Set(unlocks.map((u) => u.reportId))]
    const erasedReports = new Set(
      reportIds.length
        ? (
            await tx
              .delete(graderReports)
              .where(
                and(
                  inArray(graderReports.id, reportIds),
                  sql`not exists (select 1 from ${graderUnlocks} where ${graderUnlocks.reportId} = ${graderReports.id})`,
                ),
              )
              .returning({ id: graderReports.id })
          ).map((r) => r.id)
        : [],
    )
    if (ips.length)
      await tx
        .update(graderReports)
        .set({ requesterIp: null })
        .where(inArray(graderReports.requesterIp, ips))

    // The consent record stays, as the law's proof, without the network data of the post.
    await tx
      .update(consentEvents)
      .set({ ip: null, userAgent: null })
      .where(eq(consentEvents.contactId, contactId))

    // Outreach: the rows stay for the campaign's counts, without the person. A row still waiting
    // for its turn (a campaign sending, paused or not started, a follow-up) is never sent: it
    // counts as suppressed, as an address on the list does (the scheduler only takes pending
    // rows; one it holds is waited for, then found queued with its outbox row, handled below).
    if (recipientIds.length) {
      await tx
        .update(campaignRecipients)
        .set({
          email: sql`'erased-' || ${campaignRecipients.id} || '@erased.invalid'`,
          fields: {},
          status: sql`case when ${campaignRecipients.status} = 'pending' then 'suppressed' else ${campaignRecipients.status} end`,
        })
        .where(inArray(campaignRecipients.id, recipientIds))
      await tx
        .update(clickEvents)
        .set({ ip: null, userAgent: null, headers: null })
        .where(inArray(clickEvents.recipientId, recipientIds))
      for (const link of await tx
        .select({ token: trackedLinks.token, url: trackedLinks.url })
        .from(trackedLinks)
        .where(inArray(trackedLinks.recipientId, recipientIds))) {
        const url = scrub(link.url)
        if (url !== link.url)
          await tx.update(trackedLinks).set({ url }).where(eq(trackedLinks.token, link.token))
      }
    }
    for (const row of await tx
      .select({
        importId: campaignImportErrors.importId,
        line: campaignImportErrors.line,
        reason: campaignImportErrors.reason,
      })
      .from(campaignImportErrors)
      .where(
        or(
          sameAddress(sql`${campaignImportErrors.email}`),
          mentions(sql`${campaignImportErrors.reason}`, ids.exact),
          mentions(sql`${campaignImportErrors.cells}::text`, ids.exact),
        ),
      )) {
      // A refused row's values are all theirs (name, company, title…): none are kept.
      await tx
        .update(campaignImportErrors)
        .set({ email: null, reason: scrub(row.reason), cells: null })
        .where(
          and(
            eq(campaignImportErrors.importId, row.importId),
            eq(campaignImportErrors.line, row.line),
          ),
        )
    }
    // An uploaded file waiting to be imported (a finished import empties it) keeps its lines, as a
    // running import counts them: the person's values on their line are replaced, so that line is
    // refused as having no valid address.
    for (const file of await tx
      .select({ id: campaignImports.id, content: campaignImports.content })
      .from(campaignImports)
      // 'escape' never fails on bytes that are not UTF-8 (the file is decoded below).
      .where(mentions(sql`encode(${campaignImports.content}, 'escape')`, addresses))) {
      const text = new TextDecoder().decode(file.content)
      // Only their line: a stranger further down may share a name.
      const erased = text
        .split('\n')
        .map((line) => {
          const lower = line.toLowerCase()
          return addresses.some((a) => lower.includes(a)) ? scrub(line) : line
        })
        .join('\n')
      if (erased !== text) {
        const content = new TextEncoder().encode(erased)
        await tx
          .update(campaignImports)
          .set({ content, bytes: content.length })
          .where(eq(campaignImports.id, file.id))
      }
    }

    // Email: a message not yet handed to the transport never goes; every copy loses the person. One
    // being sent (status `sending`) may still go: the worker records its outcome without them
    // (api/email/outbox-worker.ts), and the dev mailbox keeps no copy of it.
    const outboxRows = await tx
      .select({
        id: outbox.id,
        status: outbox.status,
        payload: outbox.payload,
        lastError: outbox.lastError,
      })
      .from(outbox)
      .where(
        or(
          inArray(outbox.recipient, addresses),
          recipients.some((r) => r.outboxId)
            ? inArray(
                outbox.id,
                recipients.flatMap((r) => (r.outboxId ? [r.outboxId] : [])),
              )
            : undefined,
        ),
      )
    for (const row of outboxRows) {
      const template = (row.payload as { template?: unknown }).template
      const waiting = row.status === 'pending' || row.status === 'failed'
      await tx
        .update(outbox)
        .set({
          recipient: null,
          payload: erasedPayload(template),
          lastError: waiting ? wording.why : scrubText(row.lastError),
          ...(waiting ? { status: 'suppressed' as const, lastErrorKind: 'suppressed' } : {}),
        })
        .where(eq(outbox.id, row.id))
    }
    const outboxIds = outboxRows.map((r) => r.id)
    await tx
      .delete(mailboxMessages)
      .where(
        or(
          outboxIds.length ? inArray(mailboxMessages.outboxId, outboxIds) : undefined,
          mentions(sql`${mailboxMessages.to}`, addresses),
        ),
      )
    await tx.delete(unsubscribeTokens).where(inArray(unsubscribeTokens.email, addresses))
    // The address in clear leaves the do-not-email list; its fingerprint takes its place. A person
    // erased for inactivity never asked not to be mailed: their fingerprint is kept only if they
    // were on the list (an unsubscribe still holds if their address comes back in an import).
    const listed = await tx
      .delete(suppressions)
      .where(inArray(suppressions.email, addresses))
      .returning({ email: suppressions.email })
    if (request.reason === 'request' || listed.length)
      await tx
        .insert(suppressions)
        .values({
          email: addressFingerprint(contact.email),
          reason: 'erased',
          source: wording.why,
          createdBy: actorId,
          createdAt: now,
        })
        .onConflictDoNothing()

    // Deals: kept with their history; the person's name and words leave their text.
    const stakeholderDeals = await tx
      .delete(dealStakeholders)
      .where(eq(dealStakeholders.contactId, contactId))
      .returning({ dealId: dealStakeholders.dealId })
    const ownDeals = await tx
      .select({ id: deals.id })
      .from(deals)
      .where(eq(deals.contactId, contactId))
      .for('update')
    const dealIds = [
      ...new Set([...ownDeals.map((d) => d.id), ...stakeholderDeals.map((d) => d.dealId)]),
    ]
    if (dealIds.length) {
      for (const e of await tx
        .select({ id: dealEvents.id, data: dealEvents.data })
        .from(dealEvents)
        .where(inArray(dealEvents.dealId, dealIds))) {
        const data = withoutReports(scrubJson(e.data, scrub), erasedReports)
        if (!same(data, e.data))
          // Scrubbing replaces strings inside and keeps the object's shape.
          await tx
            .update(dealEvents)
            .set({ data: data as typeof e.data })
            .where(eq(dealEvents.id, e.id))
      }
      for (const a of await tx
        .select({ id: activities.id, note: activities.note, outcome: activities.outcome })
        .from(activities)
        .where(inArray(activities.dealId, dealIds))) {
        const note = scrubText(a.note)
        const outcome = scrubText(a.outcome)
        if (note !== a.note || outcome !== a.outcome)
          await tx.update(activities).set({ note, outcome }).where(eq(activities.id, a.id))
      }
      for (const s of await tx
        .select({ id: dealStakeholders.id, notes: dealStakeholders.notes })
        .from(dealStakeholders)
        .where(inArray(dealStakeholders.dealId, dealIds))) {
        const notes = scrubText(s.notes)
        if (notes !== s.notes)
          await tx.update(dealStakeholders).set({ notes }).where(eq(dealStakeholders.id, s.id))
      }
      const dealTexts = await tx.select().from(deals).where(inArray(deals.id, dealIds))
      for (const deal of dealTexts) {
        const title = scrub(deal.title)
        await changeDeal(tx, deal.id, now, {
          set: {
            // A title that was the person (their name or address) says so instead.
            title: title.replace(/\[erased\]/g, '').trim() ? title : 'Erased person',
            lostReason: scrubText(deal.lostReason),
            budgetNotes: scrubText(deal.budgetNotes),
            decisionProcessNotes: scrubText(deal.decisionProcessNotes),
          },
          events: {
            type: 'note',
            actorId,
            data: { body: wording.note, erased: true },
          },
        })
      }
    }

    // The contact itself: anonymised in place, for the deals and consent records that name it.
    await tx
      .delete(recordChanges)
      .where(and(eq(recordChanges.recordType, 'contact'), eq(recordChanges.recordId, contactId)))
    await tx
      .update(contacts)
      .set({
        email: erasedAddress(contactId),
        emailDisplay: erasedAddress(contactId),
        firstName: null,
        lastName: null,
        jobTitle: null,
        phone: null,
        companyName: null,
        erasedAt: now,
        updatedAt: now,
      })
      .where(eq(contacts.id, contactId))

    // Anything else that may quote them: webhook payloads and what receivers answered, stored
    // answers of idempotent requests, rate-limit windows and refused-form values.
    for (const e of await tx
      .select({ id: webhookEvents.id, data: webhookEvents.data })
      .from(webhookEvents)
      .where(mentions(sql`${webhookEvents.data}::text`, theirs))) {
      const data = scrubJson(e.data, scrub)
      if (!same(data, e.data))
        await tx.update(webhookEvents).set({ data }).where(eq(webhookEvents.id, e.id))
    }
    for (const d of await tx
      .select({
        subscriptionId: webhookDeliveries.subscriptionId,
        eventId: webhookDeliveries.eventId,
        lastError: webhookDeliveries.lastError,
      })
      .from(webhookDeliveries)
      .where(mentions(sql`${webhookDeliveries.lastError}`, theirs))) {
      await tx
        .update(webhookDeliveries)
        .set({ lastError: scrubText(d.lastError) })
        .where(
          and(
            eq(webhookDeliveries.subscriptionId, d.subscriptionId),
            eq(webhookDeliveries.eventId, d.eventId),
          ),
        )
    }
    // The worker's successes: what each receiver answered, in the rows' JSON.
    for (const s of await tx
      .select({ id: webhookSuccesses.id, deliveries: webhookSuccesses.deliveries })
      .from(webhookSuccesses)
      .where(mentions(sql`${webhookSuccesses.deliveries}::text`, theirs))) {
      const deliveries = s.deliveries.map(
        ([eventId, at, attempts, statusCode, latencyMs, excerpt]): WebhookSuccess => [
          eventId,
          at,
          attempts,
          statusCode,
          latencyMs,
          scrubText(excerpt),
        ],
      )
      if (!same(deliveries, s.deliveries))
        await tx.update(webhookSuccesses).set({ deliveries }).where(eq(webhookSuccesses.id, s.id))
    }
    for (const a of await tx
      .select({
        id: webhookAttempts.id,
        error: webhookAttempts.error,
        responseExcerpt: webhookAttempts.responseExcerpt,
      })
      .from(webhookAttempts)
      .where(
        or(
          mentions(sql`${webhookAttempts.error}`, theirs),
          mentions(sql`${webhookAttempts.responseExcerpt}`, theirs),
        ),
      )) {
      await tx
        .update(webhookAttempts)
        .set({ error: scrubText(a.error), responseExcerpt: scrubText(a.responseExcerpt) })
        .where(eq(webhookAttempts.id, a.id))
    }
    for (const k of await tx
      .select({ key: idempotencyKeys.key, response: idempotencyKeys.response })
      .from(idempotencyKeys)
      .where(mentions(sql`${idempotencyKeys.response}::text`, theirs))) {
      await tx
        .update(idempotencyKeys)
        .set({ response: scrubJson(k.response, scrub) })
        .where(eq(idempotencyKeys.key, k.key))
    }
    // Per-IP windows are keyed by limitAddress: an IPv6 address by its /64.
    await tx
      .delete(rateLimitHits)
      .where(
        mentions(sql`${rateLimitHits.key}`, [
          ...new Set([...addresses, ...ips, ...ips.map(limitAddress)]),
        ]),
      )
    await tx.delete(formFlashes).where(mentions(sql`${formFlashes.flash}::text`, ids.exact))

    // Connected CRMs erase too: the id only.
    await recordWebhookEvent(tx, 'contact.erased', { contactId }, now)
    return { ok: true, contactId, dealIds }
  })
}

/** Contacts the retention job erases in one run, each in its own transaction. */
export const RETENTION_BATCH = 100

/**
 * A run starts no erasure after this long: an erasure reads whole tables for text naming the
 * person (webhook payloads, stored answers), and on the embedded database it holds the server's
 * thread meanwhile. What is left waits for the next run (hourly).
 */
export const RETENTION_BUDGET_MS = 2_000

/**
 * The privacy policy's retention of contacts, one batch: erases up to `limit` contacts due at
 * `now` (api/pipeline/contact-retention.ts), least recently changed first, within `budgetMs`,
 * and answers how many.
 * Safe in several processes at once: a contact another run erased first answers 409 and is
 * skipped, as is one that became active or kept since it was picked.
 */
export async function eraseInactiveContacts(
  db: Db,
  now: Date,
  limit = RETENTION_BATCH,
  budgetMs = RETENTION_BUDGET_MS,
): Promise<number> {
  const started = performance.now()
  let erased = 0
  for (const contactId of await dueForErasure(db, now, limit)) {
    if (performance.now() - started >= budgetMs) break
    const result = await erasePerson(db, contactId, { reason: 'inactivity' }, now)
    if (result.ok) erased += 1
  }
  return erased
}

/**
 * Erased contacts whose clicks one statement of the sweep reads (sweepErasedClicks): ~9-25 ms on
 * PGlite, 9-14 ms on PostgreSQL, with 200,000 contacts, 300,000 recipient rows and 500,000 clicks
 * (measured), so other queries wait no longer than that for the embedded database's one thread.
 */
export const ERASED_CLICKS_CONTACTS = 1_000

/** Clicks one statement of the sweep takes out at most: a chunk with more is read again. */
export const ERASED_CLICKS_BATCH = 1_000

/**
 * The sweep starts no statement after this long; what is left waits for the next run (hourly). A
 * pass over 10,000 erased contacts took 235 ms on PGlite and 170-210 ms on PostgreSQL (measured).
 */
export const ERASED_CLICKS_BUDGET_MS = 1_000

/** Where the sweep stopped: the last erased contact id it finished, null to start from the first. */
export interface ErasedClicksCursor {
  after: string | null
}

/**
 * Takes the IP address, user agent and headers out of the clicks of erased people that still
 * carry any, and answers how many. The erasure redacts the clicks it finds in click_events; a
 * click still in the embedded database's journal then, one the PostgreSQL writer commits while the
 * erasure runs, and any later click on a link they were sent land afterwards, so the hourly
 * housekeeping runs this. It reads the erased contacts in id order (contacts_erased_idx), a chunk
 * at a time, then their recipient rows and their clicks by index: its cost grows with the erased,
 * never with clicks. A run goes from `cursor` to the last erased contact at most, in statements of
 * at most `batch` clicks, none started after `budgetMs`; one cut short resumes from `cursor` at the
 * next run (the housekeeping keeps it).
 */
export async function sweepErasedClicks(
  db: Db,
  cursor: ErasedClicksCursor = { after: null },
  {
    contacts: perChunk = ERASED_CLICKS_CONTACTS,
    batch = ERASED_CLICKS_BATCH,
    budgetMs = ERASED_CLICKS_BUDGET_MS,
  } = {},
): Promise<number> {
  const started = performance.now()
  let forgotten = 0
  for (;;) {
    const chunk = (
      await db
        .select({ id: contacts.id })
        .from(contacts)
        .where(
          and(
            isNotNull(contacts.erasedAt),
            cursor.after === null ? undefined : gt(contacts.id, cursor.after),
          ),
        )
        .orderBy(asc(contacts.id))
        .limit(perChunk)
    ).map((c) => c.id)
    // The chunk's ids as values, not as a join: given a range of contacts_erased_idx instead,
    // the planner read all of campaign_recipients for each chunk (measured).
    const stale = db
      .select({ id: clickEvents.id })
      .from(campaignRecipients)
      .innerJoin(clickEvents, eq(clickEvents.recipientId, campaignRecipients.id))
      .where(
        and(
          inArray(campaignRecipients.contactId, chunk),
          or(
            isNotNull(clickEvents.ip),
            isNotNull(clickEvents.userAgent),
            isNotNull(clickEvents.headers),
          ),
        ),
      )
      .limit(batch)
    const swept = chunk.length
      ? (
          await db
            .update(clickEvents)
            .set({ ip: null, userAgent: null, headers: null })
            .where(inArray(clickEvents.id, stale))
            .returning({ id: clickEvents.id })
        ).length
      : 0
    forgotten += swept
    // A full statement may have left clicks of this chunk: it is read again.
    if (swept < batch) {
      // The last erased contact: the next run starts from the first again.
      if (chunk.length < perChunk) {
        cursor.after = null
        return forgotten
      }
      cursor.after = chunk.at(-1)!
    }
    if (performance.now() - started >= budgetMs) return forgotten
  }
}
