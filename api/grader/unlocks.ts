import { eq } from 'drizzle-orm'
import * as graderReportReady from '../../email-templates/grader-report-ready.ts'
import type { Db } from '../db/client.ts'
import { graderReports, graderUnlocks } from '../db/schema.ts'
import { parseEmailAddress, type EmailAddress } from '../email-address.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueRequestedEmail } from '../email/marketing.ts'
import { newId, newToken } from '../ids.ts'
import { formFollowUp } from '../leads/capture.ts'
import type { FirstTouch } from '../leads/first-touch.ts'
import { formEnvelope, parseLeadPost, type UtmParam } from '../leads/lead-form.ts'
import { postLead, type LeadContext, type LeadFollowUp } from '../leads/lead-post.ts'
import type { ReleaseFollowUp } from '../leads/quarantine.ts'
import type { SpamReason } from '../leads/spam.ts'
import { isProblem, resultOf, unlockTokenHash, type ReportRow } from './reports.ts'

// Unlocking a grader report is a lead post like the others (api/leads/lead-post.ts): the same
// fields, time trap, honeypot, idempotency key and quarantine, the same contact merge, consent
// record and qualification. What differs is the follow-up handed to it: the offer is
// `grader:<reportId>`, the deal's evidence is the grade, the email carries a link to the full
// report, and the visitor's browser is given access. One transaction: contact, submission,
// consent, deal with evidence, access and email, or none.

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

    const posted = await postLead(
      tx,
      {
        scope: SCOPE,
        idempotencyKey: form.idempotencyKey,
        requestHash: request.requestHash,
        kind: 'grader',
        offer: unlockOffer(reportId),
        email: form.email,
        fields: form.fields,
        extraFields: { url: report.normalizedUrl },
        consent: form.consent,
        honeypot: form.honeypot,
        pageUrl: form.pageUrl,
        referrer: form.referrer,
        utm: form.utm,
        firstTouch: request.firstTouch,
        ip: request.ip,
        userAgent: request.userAgent,
        spamReasons: request.spamReasons,
      },
      unlockFollowUp(report, request.visitorToken),
      ctx,
    )
    if (posted.kind === 'conflict') return posted
    const { answer } = posted
    if (answer.status === 'quarantined' || !answer.contactId)
      return { kind: 'quarantined', submissionId: answer.submissionId }
    if (posted.kind === 'replayed') {
      // The same post again (a retry): this browser gets access too.
      await grantAccess(tx, reportId, answer.contactId, request.visitorToken, now)
      return { kind: 'replayed', submissionId: answer.submissionId, contactId: answer.contactId }
    }
    return {
      kind: 'unlocked',
      submissionId: answer.submissionId,
      contactId: answer.contactId,
      dealId: posted.dealId!,
      dealCreated: posted.dealCreated,
    }
  })
}

/**
 * The unlock's follow-up: the grade as evidence, access for the visitor's browser (none for a
 * release from quarantine: the emailed link carries its own key) and the report by email.
 */
export function unlockFollowUp(report: ReportRow, visitorToken: string | null): LeadFollowUp {
  return {
    source: 'grader',
    evidence: () => graderEvidence(report),
    async deliver(tx, lead, ctx) {
      if (visitorToken) await grantAccess(tx, report.id, lead.contact.id, visitorToken, ctx.now)
      await emailReport(
        tx,
        report,
        {
          contactId: lead.contact.id,
          firstName: lead.contact.firstName,
          name: lead.fields.name ?? null,
          email: lead.email,
        },
        ctx,
      )
      return {}
    },
  }
}

/**
 * An admin releases a quarantined unlock (api/leads/quarantine.ts, wired by the route): the
 * follow-up a clean unlock gets, without the visitor cookie. A report deleted since is no
 * evidence and has nothing to email: then the lead is qualified as a form post without a file.
 */
export const releasedUnlockFollowUp: ReleaseFollowUp = async (tx, submission) => {
  const reportId = submission.offer.match(/^grader:(.+)$/)?.[1]
  const [report] = reportId
    ? await tx.select().from(graderReports).where(eq(graderReports.id, reportId))
    : []
  if (!report || report.status !== 'done') return formFollowUp(null, 'grader')
  return unlockFollowUp(report, null)
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
  const queued = await enqueueRequestedEmail(tx, ctx.origin, {
    to: formatAddress(person.name, person.email.mailbox),
    recipient: person.email.canonical,
    template: 'grader-report-ready',
    render: ({ unsubscribeUrl }) =>
      graderReportReady.render({
        brand: ctx.brand,
        unsubscribeUrl,
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
      }),
    dedupeKey: `grader-report:${report.id}:${person.contactId}`,
    now: ctx.now,
  })
  if (queued) await grantAccess(tx, report.id, person.contactId, key, ctx.now)
}
