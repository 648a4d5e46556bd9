import { and, count, desc, eq } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { submissions } from '../db/schema.ts'
import { followUpReleasedUnlock } from '../grader/unlocks.ts'
import { followUpLead, upsertContact, type LeadContext } from './capture.ts'
import { parseEmailAddress } from '../email/address.ts'
import { firstTouchFrom } from './first-touch.ts'
import type { UtmParam } from './lead-form.ts'
import type { FieldName, OfferCatalog } from './offers.ts'

// Quarantined submissions: posts that looked automated, kept with their reasons for an admin to
// review. Releasing one processes it as the lead it would have been (contact, consent, deal,
// asset email), once.

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

export async function releaseSubmission(
  db: Db,
  id: string,
  options: { actorId: string; offers: OfferCatalog; ctx: LeadContext },
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
      .set({ status: 'released' })
      .where(and(eq(submissions.id, id), eq(submissions.status, 'quarantined')))
      .returning({ id: submissions.id })
    if (flipped.length === 0) return { ok: false, code: 'not_quarantined' }
    const stored = (row.fields ?? {}) as Record<string, unknown>
    const fields: Partial<Record<FieldName, string>> = {}
    for (const name of [
      'name',
      'company',
      'jobTitle',
      'phone',
      'companySize',
      'message',
    ] as const) {
      if (typeof stored[name] === 'string' && stored[name]) fields[name] = stored[name]
    }
    const grader = row.kind === 'grader' ? row.offer.match(/^grader:(.+)$/)?.[1] : undefined
    const contact = await upsertContact(tx, email, fields, grader ? 'grader' : 'inbound', ctx.now)
    await tx.update(submissions).set({ contactId: contact.id }).where(eq(submissions.id, id))
    if (grader) {
      // A grader unlock: its evidence is the grade and its email the report, not an asset.
      const released = await followUpReleasedUnlock(
        tx,
        {
          reportId: grader,
          submissionId: row.id,
          submittedAt: row.createdAt,
          contact,
          email,
          name: fields.name ?? null,
          consent: {
            granted: stored.consent === true,
            version: typeof stored.consentVersion === 'string' ? stored.consentVersion : null,
          },
          pageUrl: row.pageUrl,
          utm: row.utm,
          ip: row.ip,
          userAgent: row.userAgent,
          actorId: options.actorId,
        },
        ctx,
      )
      if (released)
        return { ok: true, submissionId: row.id, contactId: contact.id, dealId: released.dealId, dealCreated: released.dealCreated }
    }
    const followUp = await followUpLead(
      tx,
      {
        submissionId: row.id,
        submittedAt: row.createdAt,
        contact,
        email,
        offer: options.offers.find(row.offer),
        offerKey: row.offer,
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
      ctx,
    )
    return {
      ok: true,
      submissionId: row.id,
      contactId: contact.id,
      dealId: followUp.dealId,
      dealCreated: followUp.dealCreated,
    }
  })
}
