import { and, count, desc, eq, inArray } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { submissions } from '../db/schema.ts'
import { parseEmailAddress } from '../email-address.ts'
import { formFollowUp } from './capture.ts'
import { firstTouchFrom } from './first-touch.ts'
import type { UtmParam } from './lead-form.ts'
import {
  acceptLead,
  upsertContact,
  type LeadContext,
  type LeadFollowUp,
  type SubmissionKind,
} from './lead-post.ts'
import type { FieldName, OfferCatalog } from './offers.ts'

// Quarantined submissions: posts that looked automated, kept with their reasons for an admin to
// review. Releasing one processes it, once, as the lead it would have been: the second half of
// the one lead post (acceptLead), with its kind's follow-up. The gated forms' follow-up is
// known here; other kinds' (the grader's unlock) are handed in by the caller.

export const QUARANTINE_PAGE_SIZE = 50

export async function listQuarantined(db: Db, options: { page?: number; pageSize?: number } = {}) {
  const pageSize = options.pageSize ?? QUARANTINE_PAGE_SIZE
  const page = Math.max(1, options.page ?? 1)
  const where = eq(submissions.status, 'quarantined')
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: submissions.id,
        offer: submissions.offer,
        kind: submissions.kind,
        email: submissions.email,
        fields: submissions.fields,
        pageUrl: submissions.pageUrl,
        ip: submissions.ip,
        userAgent: submissions.userAgent,
        spamReasons: submissions.spamReasons,
        createdAt: submissions.createdAt,
      })
      .from(submissions)
      .where(where)
      .orderBy(desc(submissions.createdAt), desc(submissions.id))
      .limit(pageSize)
      .offset((page - 1) * pageSize),
    db.select({ n: count() }).from(submissions).where(where),
  ])
  const n = total?.n ?? 0
  return { rows, total: n, page, pageCount: Math.max(1, Math.ceil(n / pageSize)) }
}

export type ReleaseResult =
  | { ok: true; submissionId: string; contactId: string; dealId: string; dealCreated: boolean }
  | { ok: false; code: 'not_found' | 'not_quarantined' | 'invalid_email' }

export type Submission = typeof submissions.$inferSelect

/** The follow-up of a released submission of one kind, chosen in the release's transaction. */
export type ReleaseFollowUp = (tx: Db, submission: Submission) => Promise<LeadFollowUp>

export interface ReleaseOptions {
  actorId: string
  offers: OfferCatalog
  ctx: LeadContext
  /** Follow-ups of the kinds that are not gated forms, by submission kind. */
  followUps?: Partial<Record<SubmissionKind, ReleaseFollowUp>>
}

const FIELD_NAMES = ['name', 'company', 'jobTitle', 'phone', 'companySize', 'message'] as const

export async function releaseSubmission(
  db: Db,
  id: string,
  options: ReleaseOptions,
): Promise<ReleaseResult> {
  return db.transaction(async (tx) => {
    const { ctx } = options
    const [row] = await tx.select().from(submissions).where(eq(submissions.id, id))
    if (!row) return { ok: false, code: 'not_found' }
    if (row.status !== 'quarantined') return { ok: false, code: 'not_quarantined' }
    const email = parseEmailAddress(row.email)
    if (!email) return { ok: false, code: 'invalid_email' }
    // The status flip is the guard: of two admins releasing at once, one gets the row.
    const flipped = await tx
      .update(submissions)
      .set({ status: 'released', releasedAt: ctx.now })
      .where(and(eq(submissions.id, id), eq(submissions.status, 'quarantined')))
      .returning({ id: submissions.id })
    if (flipped.length === 0) return { ok: false, code: 'not_quarantined' }
    const stored = (row.fields ?? {}) as Record<string, unknown>
    const fields: Partial<Record<FieldName, string>> = {}
    for (const name of FIELD_NAMES) {
      if (typeof stored[name] === 'string' && stored[name]) fields[name] = stored[name]
    }
    const own = options.followUps?.[row.kind]
    const followUp = own ? await own(tx, row) : formFollowUp(options.offers.find(row.offer))
    const contact = await upsertContact(tx, email, fields, followUp.source, ctx.now)
    await tx.update(submissions).set({ contactId: contact.id }).where(eq(submissions.id, id))
    const accepted = await acceptLead(
      tx,
      {
        submissionId: row.id,
        submittedAt: row.createdAt,
        offer: row.offer,
        contact,
        email,
        fields,
        consent: {
          granted: stored.consent === true,
          version: typeof stored.consentVersion === 'string' ? stored.consentVersion : null,
        },
        attribution: {
          pageUrl: row.pageUrl,
          referrer: row.referrer,
          utm: row.utm as Partial<Record<UtmParam, string>> | null,
          firstTouch: firstTouchFrom(row.firstTouch),
        },
        ip: row.ip,
        userAgent: row.userAgent,
        actorId: options.actorId,
      },
      followUp,
      ctx,
    )
    return {
      ok: true,
      submissionId: row.id,
      contactId: contact.id,
      dealId: accepted.dealId,
      dealCreated: accepted.dealCreated,
    }
  })
}

/**
 * Throws quarantined posts away: what a bot sent is kept no longer than an admin needs to look
 * at it. Only posts still in quarantine go (one released meanwhile stays). Returns how many.
 */
export async function discardSubmissions(db: Db, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0
  const gone = await db
    .delete(submissions)
    .where(and(inArray(submissions.id, ids), eq(submissions.status, 'quarantined')))
    .returning({ id: submissions.id })
  return gone.length
}
