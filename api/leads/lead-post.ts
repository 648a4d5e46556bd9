import { sql } from 'drizzle-orm'
import type { Brand } from '../../email-templates/index.ts'
import type { Db } from '../db/client.ts'
import { companies, consentEvents, contacts, submissions, type LeadSource } from '../db/schema.ts'
import { nextUpdatedAt } from '../db/updated-at.ts'
import { recordWebhookEvent } from '../db/webhook-outbox.ts'
import { companyDomainOf, type EmailAddress } from '../email-address.ts'
import { claimIdempotencyKey, keepIdempotentAnswer } from '../idempotency.ts'
import { newId } from '../ids.ts'
import {
  qualifyContact,
  type Evidence,
  type QualificationSource,
} from '../pipeline/qualification.ts'
import { consentTextFor, consentTextHash } from './consent.ts'
import type { FirstTouch } from './first-touch.ts'
import { clipText, type UtmParam } from './lead-form.ts'
import type { FieldName } from './offers.ts'
import { withoutBearerTokens } from './stored-urls.ts'
import type { SpamReason } from './spam.ts'

// The one lead post, for every front door that takes a lead: the gated forms (capture.ts), the
// grader's unlock form (api/grader/unlocks.ts) and an admin releasing a quarantined post
// (quarantine.ts). In the caller's transaction: the idempotency key is claimed first (a
// concurrent duplicate waits, then replays the answer; idempotency.ts), then the submission with its
// attribution; a post that looks automated stops there, quarantined with its reasons. A clean
// one gets the contact (merged by canonical address; the company by email domain, unless free
// mail), the consent event when the box was ticked, the qualified deal with its evidence, and
// its kind's follow-up. The follow-up is handed in (LeadFollowUp), so leads/ knows no kind of
// lead but its own forms.

/** What a lead post needs from the outside world for one request. */
export interface LeadContext {
  now: Date
  /** Server secret: download tokens are derived from it. */
  secret: string
  /** APP_ORIGIN, for links in emails. */
  origin: string
  downloadDays: number
  brand: Brand
}

export type SubmissionKind = (typeof submissions.$inferInsert)['kind']

/** One form post, validated, with what the request said about where it came from. */
/**
 * The key a post's filled-in honeypot is kept under in the submission's fields, for the admin
 * reviewing quarantine; nothing that leaves for an integration carries it (integrations/sync.ts).
 */
export const SPAM_TRAP_KEY = 'honeypot'

export interface LeadPost {
  /** Idempotency keys are stored as `<scope>:<key>`; each front door has its own scope. */
  scope: string
  idempotencyKey: string | null
  /** Hash of the posted body: the same key with another body is a conflict. */
  requestHash: string
  kind: SubmissionKind
  /** What it was for: `whitepaper:<slug>`, `case-study:<slug>`, `trial`, `grader:<reportId>`. */
  offer: string
  email: EmailAddress
  fields: Partial<Record<FieldName, string>>
  /** Kept with the fields on the submission only (the graded site's URL). */
  extraFields?: Record<string, string>
  consent: { granted: boolean; version: string | null }
  honeypot: string
  pageUrl: string | null
  referrer: string | null
  utm: Partial<Record<UtmParam, string>> | null
  firstTouch: FirstTouch | null
  ip: string | null
  userAgent: string | null
  spamReasons: SpamReason[]
}

export interface ContactRef {
  id: string
  companyId: string | null
  companyName: string | null
  firstName: string | null
}

/** A post that passed the spam checks, with its contact: what consent, deal and follow-up use. */
export interface AcceptedLead {
  submissionId: string
  /** When the person sent it (also for a post released from quarantine later). */
  submittedAt: Date
  offer: string
  contact: ContactRef
  email: EmailAddress
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

/** What a follow-up keeps for a replay of the same post to answer the same (e.g. the download). */
export type Remembered = Record<string, string | null>

/** What one kind of lead adds to the common post. */
export interface LeadFollowUp<R extends Remembered = Remembered> {
  /** The contact's and the deal's source. */
  source: QualificationSource & LeadSource
  /** Why this person is a target; the post adds the submission, the moment and who released it. */
  evidence(lead: AcceptedLead): Evidence
  /** What the person asked for (an asset email, a report), after qualification, in the same transaction. */
  deliver(tx: Db, lead: AcceptedLead, ctx: LeadContext): Promise<R>
}

/** The answer a post gives, kept with its idempotency key so a replay gives it again. */
export type LeadAnswer<R extends Remembered = Remembered> = {
  status: 'accepted' | 'quarantined'
  submissionId: string
  offer: string
  contactId: string | null
} & Partial<R>

export type PostedLead<R extends Remembered = Remembered> =
  | { kind: 'created'; answer: LeadAnswer<R>; dealId: string | null; dealCreated: boolean }
  /** The same post again (a retry, a double submit): the first one's answer. */
  | { kind: 'replayed'; answer: LeadAnswer<R> }
  /** The same idempotency key with other details. */
  | { kind: 'conflict' }

/** Posts a lead; call inside a transaction (with whatever else must commit with it). */
export async function postLead<R extends Remembered>(
  tx: Db,
  post: LeadPost,
  followUp: LeadFollowUp<R>,
  ctx: LeadContext,
): Promise<PostedLead<R>> {
  // What reps and SDRs will read: our own bearer links never travel in it (stored-urls.ts).
  post = {
    ...post,
    pageUrl: withoutBearerTokens(post.pageUrl, ctx.origin),
    referrer: withoutBearerTokens(post.referrer, ctx.origin),
    firstTouch: post.firstTouch && {
      ...post.firstTouch,
      referrer: withoutBearerTokens(post.firstTouch.referrer, ctx.origin),
    },
  }
  const claim = post.idempotencyKey
    ? await claimIdempotencyKey(tx, {
        scope: post.scope,
        key: post.idempotencyKey,
        requestHash: post.requestHash,
        now: ctx.now,
      })
    : null
  if (claim?.kind === 'conflict') return { kind: 'conflict' }
  if (claim?.kind === 'replayed') {
    const stored = claim.response as LeadAnswer<R>
    // Answers kept before every front door stored the same shape lack a field or two.
    return {
      kind: 'replayed',
      answer: {
        ...stored,
        offer: stored.offer ?? post.offer,
        contactId: stored.contactId ?? null,
      },
    }
  }

  const submissionId = newId(ctx.now.getTime())
  const quarantined = post.spamReasons.length > 0
  const contact = quarantined
    ? null
    : await upsertContact(tx, post.email, post.fields, followUp.source, ctx.now)
  await tx.insert(submissions).values({
    id: submissionId,
    contactId: contact?.id ?? null,
    kind: post.kind,
    offer: post.offer,
    email: post.email.display,
    fields: {
      ...post.fields,
      ...post.extraFields,
      consent: post.consent.granted,
      consentVersion: post.consent.version,
      ...(post.honeypot ? { [SPAM_TRAP_KEY]: clipText(post.honeypot, 200) } : {}),
    },
    pageUrl: post.pageUrl,
    referrer: post.referrer,
    utm: post.utm,
    firstTouch: post.firstTouch,
    ip: post.ip,
    userAgent: post.userAgent,
    status: quarantined ? 'quarantined' : 'accepted',
    spamReasons: quarantined ? post.spamReasons : null,
    idempotencyKey: post.idempotencyKey,
    createdAt: ctx.now,
  })

  const accepted = contact
    ? await acceptLead(
        tx,
        {
          submissionId,
          submittedAt: ctx.now,
          offer: post.offer,
          contact,
          email: post.email,
          fields: post.fields,
          consent: post.consent,
          attribution: {
            pageUrl: post.pageUrl,
            referrer: post.referrer,
            utm: post.utm,
            firstTouch: post.firstTouch,
          },
          ip: post.ip,
          userAgent: post.userAgent,
          actorId: null,
        },
        followUp,
        ctx,
      )
    : null

  const answer = {
    ...accepted?.remembered,
    status: quarantined ? 'quarantined' : 'accepted',
    submissionId,
    offer: post.offer,
    contactId: contact?.id ?? null,
  } as LeadAnswer<R>
  if (claim) await keepIdempotentAnswer(tx, claim, 201, answer)
  return {
    kind: 'created',
    answer,
    dealId: accepted?.dealId ?? null,
    dealCreated: accepted?.dealCreated ?? false,
  }
}

/**
 * Consent, qualification and the kind's follow-up for a lead with a contact: the second half of
 * a post, and all of a release from quarantine.
 */
export async function acceptLead<R extends Remembered>(
  tx: Db,
  lead: AcceptedLead,
  followUp: LeadFollowUp<R>,
  ctx: LeadContext,
): Promise<{ dealId: string; dealCreated: boolean; remembered: R }> {
  const releasedBy = lead.actorId ? { releasedBy: lead.actorId } : {}
  if (lead.consent.granted) {
    await recordMarketingConsent(tx, {
      contactId: lead.contact.id,
      version: lead.consent.version,
      source: {
        form: lead.offer,
        pageUrl: lead.attribution.pageUrl,
        utm: lead.attribution.utm,
        ...releasedBy,
      },
      submissionId: lead.submissionId,
      ip: lead.ip,
      userAgent: lead.userAgent,
      // When the box was ticked, also for a post released from quarantine later.
      at: lead.submittedAt,
    })
  }
  const qualification = await qualifyContact(tx, {
    contactId: lead.contact.id,
    companyId: lead.contact.companyId,
    source: followUp.source,
    title:
      lead.contact.companyName ?? lead.fields.company ?? lead.fields.name ?? lead.email.display,
    evidence: {
      ...followUp.evidence(lead),
      submissionId: lead.submissionId,
      at: lead.submittedAt.toISOString(),
      ...releasedBy,
    },
    actorId: lead.actorId,
    now: ctx.now,
  })
  const remembered = await followUp.deliver(tx, lead, ctx)
  await recordWebhookEvent(
    tx,
    'lead.captured',
    {
      submissionId: lead.submissionId,
      contactId: lead.contact.id,
      email: lead.email.display,
      offer: lead.offer,
      source: followUp.source,
      dealId: qualification.dealId,
      newDeal: qualification.created,
      attribution: lead.attribution,
    },
    ctx.now,
  )
  return { dealId: qualification.dealId, dealCreated: qualification.created, remembered }
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
  source: LeadSource,
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
        updatedAt: nextUpdatedAt(contacts.updatedAt, now),
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
