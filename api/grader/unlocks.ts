import { eq } from 'drizzle-orm'
import * as graderReportReady from '../../email-templates/grader-report-ready.ts'
import type { Db } from '../db/client.ts'
import { graderReports, graderUnlocks, idempotencyKeys, submissions } from '../db/schema.ts'
import { formatAddress } from '../email/headers.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { isProblem, resultOf, unlockTokenHash, type ReportRow } from './reports.ts'
import { newId, newToken } from '../ids.ts'
import { recordMarketingConsent, upsertContact, type LeadContext } from '../leads/capture.ts'
import { parseEmailAddress, type EmailAddress } from '../email/address.ts'
import type { FirstTouch } from '../leads/first-touch.ts'
import { formEnvelope, parseLeadPost, type UtmParam } from '../leads/lead-form.ts'
import type { SpamReason } from '../leads/spam.ts'
import { qualifyContact } from '../pipeline/qualification.ts'

// Unlocking a grader report is a lead form post like the others (api/leads): the same fields,
// time trap, honeypot, idempotency key and quarantine, the same contact merge, consent record
// and qualification. What differs: the offer is `grader:<reportId>`, the deal's evidence is the
// grade, the email carries a link to the full report, and the visitor's browser is given access.
// One transaction: contact, submission, consent, deal with evidence, access and email, or none.

export const unlockOffer = (reportId: string) => `grader:${reportId}`

export interface UnlockForm {
  email: EmailAddress
  fields: { name?: string; company?: string }
  consent: { granted: boolean; version: string | null }
  idempotencyKey: string | null
  formToken: string | null
  honeypot: string
  pageUrl: string | null
  referrer: string | null
  utm: Partial<Record<UtmParam, string>> | null
}

export type UnlockCheck =
  { ok: true; data: UnlockForm } | { ok: false; message: string; fields: Record<string, string> }

/** Validates an unlock post: the lead form's shape, this report's offer, a real address. */
export function checkUnlockPost(raw: Record<string, unknown>, reportId: string): UnlockCheck {
  const shape = parseLeadPost(raw)
  if (!shape.ok) return shape
  const { post } = shape
  if (post.offer !== unlockOffer(reportId)) {
    const message = 'This form belongs to another report. Please reload the page.'
    return { ok: false, message, fields: { offer: message } }
  }
  const email = parseEmailAddress(post.email)
  if (!email) {
    const message = 'Enter an email address like name@company.com.'
    return { ok: false, message, fields: { email: message } }
  }
  const fields: UnlockForm['fields'] = {}
  if (post.name) fields.name = post.name
  if (post.company) fields.company = post.company
  return { ok: true, data: { email, fields, ...formEnvelope(post) } }
}

export interface UnlockRequest {
  reportId: string
  form: UnlockForm
  /** The visitor's browser token (cookie); the report is bound to it on success. */
  visitorToken: string
  firstTouch: FirstTouch | null
  ip: string | null
  userAgent: string | null
  spamReasons: SpamReason[]
  /** Hash of the posted body, for the idempotency check. */
  requestHash: string
}

export type UnlockResult =
  | {
      kind: 'unlocked'
      submissionId: string
      contactId: string
      dealId: string
      dealCreated: boolean
    }
  /** The same post again (a retry): same answer, and this browser gets access too. */
  | { kind: 'replayed'; submissionId: string; contactId: string }
  /** Looked automated: the submission is kept for review, nothing else happens. */
  | { kind: 'quarantined'; submissionId: string }
  | { kind: 'conflict' }
  | { kind: 'not_found' }
  | { kind: 'not_ready' }

interface StoredAnswer {
  status: 'accepted' | 'quarantined'
  submissionId: string
  contactId: string | null
}

const SCOPE = 'grader-unlock'

export async function unlockReport(
  db: Db,
  request: UnlockRequest,
  ctx: LeadContext,
): Promise<UnlockResult> {
  const { now } = ctx
  const { form, reportId } = request
  return db.transaction(async (tx): Promise<UnlockResult> => {
    const [report] = await tx.select().from(graderReports).where(eq(graderReports.id, reportId))
    if (!report) return { kind: 'not_found' }
    if (report.status !== 'done') return { kind: 'not_ready' }

    const key = form.idempotencyKey ? `${SCOPE}:${form.idempotencyKey}` : null
    if (key) {
      const claimed = await tx
        .insert(idempotencyKeys)
        .values({ key, scope: SCOPE, requestHash: request.requestHash, createdAt: now })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key })
      if (claimed.length === 0) {
        const [row] = await tx.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))
        if (!row || row.response === null) throw new Error('idempotency key held without an answer')
        if (row.requestHash !== request.requestHash) return { kind: 'conflict' }
        const stored = row.response as StoredAnswer
        if (stored.status === 'quarantined' || !stored.contactId)
          return { kind: 'quarantined', submissionId: stored.submissionId }
        await grantAccess(tx, reportId, stored.contactId, request.visitorToken, now)
        return { kind: 'replayed', submissionId: stored.submissionId, contactId: stored.contactId }
      }
    }

    const submissionId = newId(now.getTime())
    const quarantined = request.spamReasons.length > 0
    const contact = quarantined
      ? null
      : await upsertContact(tx, form.email, form.fields, 'grader', now)
    await tx.insert(submissions).values({
      id: submissionId,
      contactId: contact?.id ?? null,
      kind: 'grader',
      offer: unlockOffer(reportId),
      email: form.email.display,
      fields: {
        ...form.fields,
        url: report.normalizedUrl,
        consent: form.consent.granted,
        consentVersion: form.consent.version,
        ...(form.honeypot ? { honeypot: form.honeypot.slice(0, 200) } : {}),
      },
      pageUrl: form.pageUrl,
      referrer: form.referrer,
      utm: form.utm,
      firstTouch: request.firstTouch,
      ip: request.ip,
      userAgent: request.userAgent,
      status: quarantined ? 'quarantined' : 'accepted',
      spamReasons: quarantined ? request.spamReasons : null,
      idempotencyKey: form.idempotencyKey,
      createdAt: now,
    })

    let outcome: UnlockResult
    if (!contact) {
      outcome = { kind: 'quarantined', submissionId }
    } else {
      if (form.consent.granted) {
        await recordMarketingConsent(tx, {
          contactId: contact.id,
          version: form.consent.version,
          source: { form: unlockOffer(reportId), pageUrl: form.pageUrl, utm: form.utm },
          submissionId,
          ip: request.ip,
          userAgent: request.userAgent,
          at: now,
        })
      }
      const qualification = await qualifyContact(tx, {
        contactId: contact.id,
        companyId: contact.companyId,
        source: 'grader',
        title: contact.companyName ?? form.fields.company ?? form.fields.name ?? form.email.display,
        evidence: { ...graderEvidence(report), submissionId, at: now.toISOString() },
        now,
      })
      await grantAccess(tx, reportId, contact.id, request.visitorToken, now)
      await emailReport(
        tx,
        report,
        { contactId: contact.id, firstName: contact.firstName, name: form.fields.name ?? null, email: form.email },
        ctx,
      )
      outcome = {
        kind: 'unlocked',
        submissionId,
        contactId: contact.id,
        dealId: qualification.dealId,
        dealCreated: qualification.created,
      }
    }

    if (key) {
      const stored: StoredAnswer = {
        status: quarantined ? 'quarantined' : 'accepted',
        submissionId,
        contactId: contact?.id ?? null,
      }
      await tx
        .update(idempotencyKeys)
        .set({ status: 201, response: stored })
        .where(eq(idempotencyKeys.key, key))
    }
    return outcome
  })
}

/**
 * Why a grader unlock makes a target: the grade. The shape the deal page reads (evidence of kind
 * 'grader'): score, band, the failing checks' titles, the detected platform, the report.
 */
export function graderEvidence(report: ReportRow) {
  const result = resultOf(report)
  return {
    kind: 'grader' as const,
    score: report.total,
    band: report.band,
    failing: result ? result.checks.filter(isProblem).map((c) => c.title) : [],
    platform: report.platform,
    reportId: report.id,
    host: report.host,
  }
}

async function grantAccess(tx: Db, reportId: string, contactId: string, token: string, now: Date) {
  await tx
    .insert(graderUnlocks)
    .values({
      id: newId(now.getTime()),
      reportId,
      contactId,
      tokenHash: unlockTokenHash(reportId, token),
      createdAt: now,
    })
    .onConflictDoNothing()
}

/**
 * The report link by email, at most once per report and person. The link carries its own key
 * (stored hashed like the browser's), so the report opens on any device.
 */
async function emailReport(
  tx: Db,
  report: ReportRow,
  person: {
    contactId: string
    firstName: string | null
    name: string | null
    email: { mailbox: string; canonical: string }
  },
  ctx: LeadContext,
): Promise<void> {
  const key = newToken()
  const result = resultOf(report)
  const rendered = graderReportReady.render({
    brand: ctx.brand,
    firstName: person.firstName,
    site: report.host,
    totalScore: report.total ?? 0,
    band: report.band ?? '',
    categories: result?.categories.map((c) => ({
      name: c.title,
      score: c.score ?? 0,
      max: c.points,
    })),
    reportUrl: `${ctx.origin}/grader/${report.id}?key=${key}`,
  })
  const queued = await enqueueEmail(tx, {
    category: 'transactional',
    to: formatAddress(person.name, person.email.mailbox),
    recipient: person.email.canonical,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    template: 'grader-report-ready',
    dedupeKey: `grader-report:${report.id}:${person.contactId}`,
    now: ctx.now,
  })
  if (queued) await grantAccess(tx, report.id, person.contactId, key, ctx.now)
}

/**
 * An admin released a quarantined unlock (api/leads/quarantine.ts): the follow-up a clean unlock
 * gets — consent, the deal with the grade as evidence, the report email — without the visitor
 * cookie (the emailed link carries its own key). Null when the report no longer exists.
 */
export async function followUpReleasedUnlock(
  tx: Db,
  release: {
    reportId: string
    submissionId: string
    submittedAt: Date
    contact: { id: string; companyId: string | null; companyName: string | null; firstName: string | null }
    email: EmailAddress
    name: string | null
    consent: { granted: boolean; version: string | null }
    pageUrl: string | null
    utm: unknown
    ip: string | null
    userAgent: string | null
    actorId: string
  },
  ctx: LeadContext,
): Promise<{ dealId: string; dealCreated: boolean } | null> {
  const [report] = await tx.select().from(graderReports).where(eq(graderReports.id, release.reportId))
  if (!report || report.status !== 'done') return null
  if (release.consent.granted) {
    await recordMarketingConsent(tx, {
      contactId: release.contact.id,
      version: release.consent.version,
      source: { form: unlockOffer(report.id), pageUrl: release.pageUrl, utm: release.utm },
      submissionId: release.submissionId,
      ip: release.ip,
      userAgent: release.userAgent,
      at: release.submittedAt,
    })
  }
  const qualification = await qualifyContact(tx, {
    contactId: release.contact.id,
    companyId: release.contact.companyId,
    source: 'grader',
    title: release.contact.companyName ?? release.name ?? release.email.display,
    evidence: { ...graderEvidence(report), submissionId: release.submissionId, at: release.submittedAt.toISOString() },
    actorId: release.actorId,
    now: ctx.now,
  })
  await emailReport(
    tx,
    report,
    { contactId: release.contact.id, firstName: release.contact.firstName, name: release.name, email: release.email },
    ctx,
  )
  return { dealId: qualification.dealId, dealCreated: qualification.created }
}
