import type { Db } from '../db/client.ts'
import { enqueueAssetEmail } from './asset-email.ts'
import { createDownloadToken, downloadTokenFor } from './downloads.ts'
import type { FirstTouch } from './first-touch.ts'
import type { LeadFormData } from './lead-form.ts'
import {
  postLead,
  type LeadAnswer,
  type LeadContext,
  type LeadFollowUp,
  type SubmissionKind,
} from './lead-post.ts'
import type { OfferInfo, OfferKind } from './offers.ts'
import type { SpamReason } from './spam.ts'

// Lead capture: the gated forms (whitepapers, case studies, the trial request) through the one
// lead post (lead-post.ts). Their follow-up: the evidence is the form, and a gated file gets a
// download link and the asset email; the visitor is sent to the thank-you page, with the link.

export type { LeadContext } from './lead-post.ts'

export interface LeadPostRecord {
  offer: OfferInfo
  form: LeadFormData
  firstTouch: FirstTouch | null
  ip: string | null
  userAgent: string | null
  spamReasons: SpamReason[]
  /**
   * Past the per-address hourly limit (LEADS_PER_ADDRESS_PER_HOUR) a gated file is still given on
   * the thank-you page; only its email is not sent, so posts from many places cannot flood an inbox.
   */
  withholdEmail?: boolean
  /** Hash of the posted body, for the idempotency check. */
  requestHash: string
}

/**
 * What the visitor is told: the thank-you page, and for a gated file the download token its
 * cookie carries (download-cookie.ts). An accepted and a quarantined post look the same: a
 * quarantined one gets a token of the same shape that opens nothing.
 */
export interface CaptureAnswer {
  status: 'accepted' | 'quarantined'
  submissionId: string
  redirect: string
  download: string | null
}

export type CaptureResult =
  | {
      kind: 'created'
      answer: CaptureAnswer
      contactId: string | null
      dealId: string | null
      dealCreated: boolean
    }
  | { kind: 'replayed'; answer: CaptureAnswer }
  | { kind: 'conflict' }

const SCOPE = 'lead'

export const SUBMISSION_KIND: Record<OfferKind, SubmissionKind> = {
  whitepaper: 'whitepaper',
  'case-study': 'case_study',
  trial: 'trial',
}

/** `copy: 'withheld'` when the file's email was not sent (the per-address limit). */
type FormRemembered = { downloadId: string | null; copy: 'withheld' | null }

/**
 * The gated forms' follow-up. `offer` is null for a post released from quarantine after its page
 * was removed: the lead is still qualified, with the offer's key as its title, and gets no file.
 */
export function formFollowUp(
  offer: OfferInfo | null,
  source: 'inbound' | 'grader' = 'inbound',
  options: { withholdEmail?: boolean } = {},
): LeadFollowUp<FormRemembered> {
  return {
    source,
    evidence(lead) {
      const { message, companySize } = lead.fields
      return {
        kind: 'form',
        form: offer?.kind ?? lead.offer.split(':')[0],
        offer: lead.offer,
        title: offer?.title ?? lead.offer,
        pageUrl: lead.attribution.pageUrl,
        referrer: lead.attribution.referrer,
        utm: lead.attribution.utm,
        firstTouch: lead.attribution.firstTouch,
        ...(message ? { message } : {}),
        ...(companySize ? { companySize } : {}),
      }
    },
    async deliver(tx, lead, ctx) {
      if (!offer?.file) return { downloadId: null, copy: null }
      const download = await createDownloadToken(
        tx,
        { contactId: lead.contact.id, offer: offer.offer, file: offer.file },
        { secret: ctx.secret, now: ctx.now, days: ctx.downloadDays },
      )
      if (options.withholdEmail) return { downloadId: download.id, copy: 'withheld' }
      await enqueueAssetEmail(tx, {
        mailbox: lead.email.mailbox,
        recipient: lead.email.canonical,
        name: lead.fields.name ?? null,
        firstName: lead.contact.firstName,
        assetTitle: offer.title,
        assetKind: offer.kind,
        downloadUrl: `${ctx.origin}/d/${download.token}`,
        expiresInDays: ctx.downloadDays,
        brand: ctx.brand,
        origin: ctx.origin,
        dedupeKey: `asset:${lead.submissionId}`,
        now: ctx.now,
      })
      return { downloadId: download.id, copy: null }
    },
  }
}

function answerOf(
  stored: LeadAnswer<FormRemembered>,
  offer: OfferInfo,
  secret: string,
): CaptureAnswer {
  const params = new URLSearchParams({ offer: stored.offer })
  // The thank-you page does not say a copy was emailed when none was.
  if (stored.copy === 'withheld') params.set('copy', 'withheld')
  // The same HMAC as a real link, over a name no download row has: same shape, never valid.
  const download = stored.downloadId
    ? downloadTokenFor(secret, stored.downloadId)
    : offer.file
      ? downloadTokenFor(secret, `unreleased:${stored.submissionId}`)
      : null
  return {
    status: stored.status,
    submissionId: stored.submissionId,
    redirect: `/thanks?${params}`,
    download,
  }
}

/** One gated-form post: one transaction, one lead (or its quarantined submission). */
export async function captureLead(
  db: Db,
  post: LeadPostRecord,
  ctx: LeadContext,
): Promise<CaptureResult> {
  const { form, offer } = post
  const posted = await db.transaction((tx) =>
    postLead(
      tx,
      {
        scope: SCOPE,
        idempotencyKey: form.idempotencyKey,
        requestHash: post.requestHash,
        kind: SUBMISSION_KIND[offer.kind],
        offer: offer.offer,
        email: form.email,
        fields: form.fields,
        consent: form.consent,
        honeypot: form.honeypot,
        pageUrl: form.pageUrl,
        referrer: form.referrer,
        utm: form.utm,
        firstTouch: post.firstTouch,
        ip: post.ip,
        userAgent: post.userAgent,
        spamReasons: post.spamReasons,
      },
      formFollowUp(offer, 'inbound', { withholdEmail: post.withholdEmail === true }),
      ctx,
    ),
  )
  if (posted.kind === 'conflict') return posted
  if (posted.kind === 'replayed')
    return { kind: 'replayed', answer: answerOf(posted.answer, offer, ctx.secret) }
  return {
    kind: 'created',
    answer: answerOf(posted.answer, offer, ctx.secret),
    contactId: posted.answer.contactId,
    dealId: posted.dealId,
    dealCreated: posted.dealCreated,
  }
}
