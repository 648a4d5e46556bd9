import { eq, sql } from 'drizzle-orm'
import type { Brand } from '../../email-templates/index.ts'
import { consentTextFor, consentTextHash } from './consent.ts'
import type { Db } from '../db/client.ts'
import { companies, consentEvents, contacts, idempotencyKeys, submissions } from '../db/schema.ts'
import { createDownloadToken, downloadTokenFor } from './downloads.ts'
import { newId } from '../ids.ts'
import { qualifyContact } from '../pipeline/qualification.ts'
import { enqueueAssetEmail } from './asset-email.ts'
import { companyDomainOf, type EmailAddress } from '../email/address.ts'
import type { FirstTouch } from './first-touch.ts'
import type { LeadFormData, UtmParam } from './lead-form.ts'
import type { FieldName, OfferInfo, OfferKind } from './offers.ts'
import type { SpamReason } from './spam.ts'

// Lead capture: one transaction per form post. A clean post writes the contact (merged by
// canonical email), the company (by email domain, unless free mail), the submission with its
// attribution, a consent event when the box was ticked, the qualified deal with its evidence,
// a download link and the asset email in the outbox. A post that looks automated writes only
// the submission, quarantined with its reasons. The idempotency key is claimed first, in the
// same transaction, so concurrent duplicates make one lead and the others replay its answer.

export interface LeadContext {
  now: Date
  /** Server secret: download tokens are derived from it. */
  secret: string
  /** APP_ORIGIN, for the link in the email. */
  origin: string
  downloadDays: number
  brand: Brand
}

export interface LeadPostRecord {
  offer: OfferInfo
  form: LeadFormData
  firstTouch: FirstTouch | null
  ip: string | null
  userAgent: string | null
  spamReasons: SpamReason[]
  /** Hash of the posted body, for the idempotency check. */
  requestHash: string
}

/** What the visitor is told: the thank-you page (with a download link when there is one). */
export interface LeadAnswer {
  status: 'accepted' | 'quarantined'
  submissionId: string
  redirect: string
}

export type CaptureResult =
  | {
      kind: 'created'
      answer: LeadAnswer
      contactId: string | null
      dealId: string | null
      dealCreated: boolean
    }
  | { kind: 'replayed'; answer: LeadAnswer }
  | { kind: 'conflict' }

/** What the idempotency record keeps: enough to give the same answer again, no secrets. */
interface StoredAnswer {
  status: LeadAnswer['status']
  submissionId: string
  offer: string
  downloadId: string | null
}

const SCOPE = 'lead'
const keyOf = (idempotencyKey: string) => `${SCOPE}:${idempotencyKey}`

export const SUBMISSION_KIND: Record<OfferKind, 'whitepaper' | 'case_study' | 'trial'> = {
  whitepaper: 'whitepaper',
  'case-study': 'case_study',
  trial: 'trial',
}

function answerFrom(stored: StoredAnswer, secret: string): LeadAnswer {
  const params = new URLSearchParams({ offer: stored.offer })
  if (stored.downloadId) params.set('dl', downloadTokenFor(secret, stored.downloadId))
  return { status: stored.status, submissionId: stored.submissionId, redirect: `/thanks?${params}` }
}

function replayOf(
  row: typeof idempotencyKeys.$inferSelect,
  requestHash: string,
  secret: string,
): Exclude<CaptureResult, { kind: 'created' }> {
  if (row.requestHash !== requestHash) return { kind: 'conflict' }
  return { kind: 'replayed', answer: answerFrom(row.response as StoredAnswer, secret) }
}

export async function captureLead(
  db: Db,
  post: LeadPostRecord,
  ctx: LeadContext,
): Promise<CaptureResult> {
  return db.transaction(async (tx) => {
    const key = post.form.idempotencyKey
    if (key) {
      // On PostgreSQL this waits for a concurrent holder of the key to commit, then skips.
      const claimed = await tx
        .insert(idempotencyKeys)
        .values({
          key: keyOf(key),
          scope: SCOPE,
          requestHash: post.requestHash,
          createdAt: ctx.now,
        })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key })
      if (claimed.length === 0) {
        const [row] = await tx
          .select()
          .from(idempotencyKeys)
          .where(eq(idempotencyKeys.key, keyOf(key)))
        if (!row || row.response === null) throw new Error('idempotency key held without an answer')
        return replayOf(row, post.requestHash, ctx.secret)
      }
    }

    const submissionId = newId(ctx.now.getTime())
    const quarantined = post.spamReasons.length > 0
    const { form, offer } = post
    let contact: ContactRef | null = null
    if (!quarantined) contact = await upsertContact(tx, form.email, form.fields, 'inbound', ctx.now)
    await tx.insert(submissions).values({
      id: submissionId,
      contactId: contact?.id ?? null,
      kind: SUBMISSION_KIND[offer.kind],
      offer: offer.offer,
      email: form.email.display,
      fields: storedFields(form),
      pageUrl: form.pageUrl,
      referrer: form.referrer,
      utm: form.utm,
      firstTouch: post.firstTouch,
      ip: post.ip,
      userAgent: post.userAgent,
      status: quarantined ? 'quarantined' : 'accepted',
      spamReasons: quarantined ? post.spamReasons : null,
      idempotencyKey: key,
      createdAt: ctx.now,
    })

    let followUp: FollowUp | null = null
    if (contact) {
      followUp = await followUpLead(
        tx,
        {
          submissionId,
          submittedAt: ctx.now,
          contact,
          email: form.email,
          offer,
          fields: form.fields,
          consent: form.consent,
          attribution: {
            pageUrl: form.pageUrl,
            referrer: form.referrer,
            utm: form.utm,
            firstTouch: post.firstTouch,
          },
          ip: post.ip,
          userAgent: post.userAgent,
          actorId: null,
        },
        ctx,
      )
    }

    const stored: StoredAnswer = {
      status: quarantined ? 'quarantined' : 'accepted',
      submissionId,
      offer: offer.offer,
      downloadId: followUp?.downloadId ?? null,
    }
    if (key) {
      await tx
        .update(idempotencyKeys)
        .set({ status: 201, response: stored })
        .where(eq(idempotencyKeys.key, keyOf(key)))
    }
    return {
      kind: 'created',
      answer: answerFrom(stored, ctx.secret),
      contactId: contact?.id ?? null,
      dealId: followUp?.dealId ?? null,
      dealCreated: followUp?.dealCreated ?? false,
    }
  })
}

/** The form's values as the submission keeps them (what the person typed and ticked). */
function storedFields(form: LeadFormData) {
  return {
    ...form.fields,
    consent: form.consent.granted,
    consentVersion: form.consent.version,
    ...(form.honeypot ? { honeypot: form.honeypot.slice(0, 200) } : {}),
  }
}

export interface ContactRef {
  id: string
  companyId: string | null
  companyName: string | null
  firstName: string | null
}

/** "Ada Lovelace" → Ada / Lovelace; one word is a first name. The submission keeps it whole. */
export function splitName(name: string | undefined): {
  firstName: string | null
  lastName: string | null
} {
  const parts = (name ?? '').trim().split(/\s+/).filter(Boolean)
  if (parts.length === 0) return { firstName: null, lastName: null }
  return { firstName: parts[0]!, lastName: parts.slice(1).join(' ') || null }
}

/**
 * The contact for this address, created or updated. What the person typed now wins over older
 * values; nothing typed keeps what was there. The company comes from the email domain.
 */
export async function upsertContact(
  tx: Db,
  email: EmailAddress,
  fields: Partial<Record<FieldName, string>>,
  source: 'inbound' | 'grader' | 'outbound',
  now: Date,
): Promise<ContactRef> {
  const companyDomain = companyDomainOf(email.domain)
  let companyId: string | null = null
  let companyName: string | null = fields.company ?? null
  if (companyDomain) {
    const name = fields.company ?? companyDomain
    // A company first named after its domain takes the first real name someone types.
    const [company] = await tx
      .insert(companies)
      .values({ id: newId(now.getTime()), domain: companyDomain, name, createdAt: now })
      .onConflictDoUpdate({
        target: companies.domain,
        set: {
          name: sql`case when ${companies.name} = ${companies.domain} then excluded.name else ${companies.name} end`,
        },
      })
      .returning({ id: companies.id, name: companies.name })
    companyId = company!.id
    companyName ??= company!.name === companyDomain ? null : company!.name
  }
  const { firstName, lastName } = splitName(fields.name)
  const [contact] = await tx
    .insert(contacts)
    .values({
      id: newId(now.getTime()),
      email: email.canonical,
      emailDisplay: email.display,
      firstName,
      lastName,
      jobTitle: fields.jobTitle ?? null,
      phone: fields.phone ?? null,
      companyId,
      companyName: fields.company ?? null,
      source,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: contacts.email,
      set: {
        firstName: sql`coalesce(excluded.first_name, ${contacts.firstName})`,
        lastName: sql`case when excluded.first_name is null then ${contacts.lastName} else excluded.last_name end`,
        jobTitle: sql`coalesce(excluded.job_title, ${contacts.jobTitle})`,
        phone: sql`coalesce(excluded.phone, ${contacts.phone})`,
        companyId: sql`coalesce(${contacts.companyId}, excluded.company_id)`,
        companyName: sql`coalesce(excluded.company_name, ${contacts.companyName})`,
        updatedAt: sql`excluded.updated_at`,
      },
    })
    .returning({
      id: contacts.id,
      companyId: contacts.companyId,
      companyName: contacts.companyName,
      firstName: contacts.firstName,
    })
  return {
    id: contact!.id,
    companyId: contact!.companyId,
    companyName: contact!.companyName ?? companyName,
    firstName: contact!.firstName,
  }
}

export interface AcceptedLead {
  submissionId: string
  submittedAt: Date
  contact: ContactRef
  email: EmailAddress
  /** Null when the offer no longer exists (a quarantined post released after its page was removed). */
  offer: OfferInfo | null
  offerKey?: string
  fields: Partial<Record<FieldName, string>>
  consent: { granted: boolean; version: string | null }
  attribution: {
    pageUrl: string | null
    referrer: string | null
    utm: Partial<Record<UtmParam, string>> | null
    firstTouch: FirstTouch | null
  }
  ip: string | null
  userAgent: string | null
  /** The admin who released it from quarantine. */
  actorId: string | null
}

interface FollowUp {
  dealId: string
  dealCreated: boolean
  downloadId: string | null
}

/** Consent, qualification, download link and email for a lead that passed the spam checks. */
export async function followUpLead(
  tx: Db,
  lead: AcceptedLead,
  ctx: LeadContext,
): Promise<FollowUp> {
  const { now } = ctx
  const offerKey = lead.offer?.offer ?? lead.offerKey ?? 'unknown'
  if (lead.consent.granted) {
    await recordMarketingConsent(tx, {
      contactId: lead.contact.id,
      version: lead.consent.version,
      source: {
        form: offerKey,
        pageUrl: lead.attribution.pageUrl,
        utm: lead.attribution.utm,
        ...(lead.actorId ? { releasedBy: lead.actorId } : {}),
      },
      submissionId: lead.submissionId,
      ip: lead.ip,
      userAgent: lead.userAgent,
      // When the box was ticked, also for a post released from quarantine later.
      at: lead.submittedAt,
    })
  }

  const { message, companySize, company } = lead.fields
  const qualification = await qualifyContact(tx, {
    contactId: lead.contact.id,
    companyId: lead.contact.companyId,
    source: 'inbound',
    title: lead.contact.companyName ?? company ?? lead.fields.name ?? lead.email.display,
    evidence: {
      kind: 'form',
      form: lead.offer?.kind ?? offerKey.split(':')[0],
      offer: offerKey,
      title: lead.offer?.title ?? offerKey,
      submissionId: lead.submissionId,
      at: lead.submittedAt.toISOString(),
      pageUrl: lead.attribution.pageUrl,
      referrer: lead.attribution.referrer,
      utm: lead.attribution.utm,
      firstTouch: lead.attribution.firstTouch,
      ...(message ? { message } : {}),
      ...(companySize ? { companySize } : {}),
      ...(lead.actorId ? { releasedBy: lead.actorId } : {}),
    },
    actorId: lead.actorId,
    now,
  })

  let downloadId: string | null = null
  if (lead.offer?.file) {
    const download = await createDownloadToken(
      tx,
      { contactId: lead.contact.id, offer: lead.offer.offer, file: lead.offer.file },
      { secret: ctx.secret, now, days: ctx.downloadDays },
    )
    downloadId = download.id
    await enqueueAssetEmail(tx, {
      mailbox: lead.email.mailbox,
      recipient: lead.email.canonical,
      name: lead.fields.name ?? null,
      firstName: lead.contact.firstName,
      assetTitle: lead.offer.title,
      assetKind: lead.offer.kind,
      downloadUrl: `${ctx.origin}/d/${download.token}`,
      expiresInDays: ctx.downloadDays,
      brand: ctx.brand,
      dedupeKey: `asset:${lead.submissionId}`,
    })
  }
  return { dealId: qualification.dealId, dealCreated: qualification.created, downloadId }
}

/**
 * A ticked marketing-consent checkbox, appended to the contact's consent record with the exact
 * wording shown (version and hash), where, when and from which address. Every front door with a
 * consent box records it this way.
 */
export async function recordMarketingConsent(
  tx: Db,
  consent: {
    contactId: string
    /** The consentVersion the form posted; unknown or missing means today's wording. */
    version: string | null
    source: Record<string, unknown>
    submissionId: string | null
    ip: string | null
    userAgent: string | null
    at: Date
  },
): Promise<void> {
  const shown = consentTextFor(consent.version)
  await tx.insert(consentEvents).values({
    id: newId(consent.at.getTime()),
    contactId: consent.contactId,
    purpose: 'marketing',
    granted: true,
    textVersion: shown.version,
    textHash: consentTextHash(shown),
    method: 'checkbox',
    source: consent.source,
    submissionId: consent.submissionId,
    ip: consent.ip,
    userAgent: consent.userAgent,
    createdAt: consent.at,
  })
}
