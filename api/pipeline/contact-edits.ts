import { and, eq, getTableColumns, ne } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { companies, contacts, deals } from '../db/schema.ts'
import { nextUpdatedAt } from '../db/updated-at.ts'
import { parseEmailAddress } from '../email-address.ts'
import { newId } from '../ids.ts'
import { can } from '../accounts/permissions.ts'
import { resolveCompany, type CompanyChoice, type CompanyResult } from './companies.ts'
import { isUniqueViolation, type Actor, type DealFailure } from './deals.ts'
import { diffFields, recordChange, recordEditProblem, type FieldChanges } from './record-changes.ts'

// Contacts a rep enters or corrects by hand: a referral, a call. One address is one contact
// (compared in the canonical form of api/email-address.ts): entering an address that is already
// a contact picks that contact and says so, it never makes a second one. Every creation and edit
// is recorded with who and when (record-changes.ts).

// A contact as read and answered here: all but the sync's clock (sync_at), which only
// api/integrations/sync.ts reads (as the position it lists contacts by).
const { syncAt: _syncAt, ...shownColumns } = getTableColumns(contacts)
export const contactColumns = shownColumns
export type Contact = Omit<typeof contacts.$inferSelect, 'syncAt'>

export interface ContactFields {
  firstName?: string | null | undefined
  lastName?: string | null | undefined
  jobTitle?: string | null | undefined
  phone?: string | null | undefined
}

export interface NewContact extends ContactFields, CompanyChoice {
  /** As typed; the route has checked it parses (emailAddressField). */
  email: string
}

const NOT_FOUND: DealFailure = {
  ok: false,
  status: 404,
  code: 'not_found',
  message: 'There is no such contact.',
}
const ERASED: DealFailure = {
  ok: false,
  status: 409,
  code: 'erased',
  message: 'This person was erased on request; their contact cannot be edited.',
}
const INVALID_EMAIL: DealFailure = {
  ok: false,
  status: 422,
  code: 'invalid_email',
  message: 'Enter a valid email address.',
  fields: { email: 'Enter a valid email address.' },
}
const READ_ONLY: DealFailure = {
  ok: false,
  status: 403,
  code: 'forbidden',
  message: 'Your role can read contacts but not add them.',
}

/**
 * A new contact, or the one that already has this address (`existing: true`, left as it is) in
 * the caller's transaction. A new one gets its company (resolveCompany) and is recorded as
 * created by `actorId`.
 */
export async function findOrInsertContact(
  tx: Db,
  input: NewContact,
  actorId: string,
  now: Date,
): Promise<CompanyResult<{ contact: Contact; existing: boolean }>> {
  const email = parseEmailAddress(input.email)
  if (!email) return INVALID_EMAIL
  const [found] = await tx
    .select(contactColumns)
    .from(contacts)
    .where(eq(contacts.email, email.canonical))
  if (found) return { ok: true, contact: found, existing: true }
  const company = await resolveCompany(
    tx,
    { companyId: input.companyId, companyName: input.companyName, emailDomain: email.domain },
    actorId,
    now,
  )
  if (!company.ok) return company
  const fields = {
    firstName: input.firstName || null,
    lastName: input.lastName || null,
    jobTitle: input.jobTitle || null,
    phone: input.phone || null,
  }
  const [inserted] = await tx
    .insert(contacts)
    .values({
      id: newId(now.getTime()),
      email: email.canonical,
      emailDisplay: email.display,
      ...fields,
      companyId: company.company?.id ?? null,
      companyName: null,
      source: 'manual',
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing({ target: contacts.email })
    .returning(contactColumns)
  if (!inserted) {
    // Someone added the same address a moment ago: theirs is the contact.
    const [theirs] = await tx
      .select(contactColumns)
      .from(contacts)
      .where(eq(contacts.email, email.canonical))
    return { ok: true, contact: theirs!, existing: true }
  }
  const changes: FieldChanges = { email: [null, email.display] }
  for (const [field, value] of Object.entries(fields)) if (value) changes[field] = [null, value]
  if (company.company) changes.company = [null, company.company.name]
  await recordChange(
    tx,
    { recordType: 'contact', recordId: inserted.id, action: 'created', actorId, changes },
    now,
  )
  return { ok: true, contact: inserted, existing: false }
}

/** Adds a contact by hand, or finds the one with this address (`existing`: nothing changed). */
export async function createContact(
  db: Db,
  actor: Actor,
  input: NewContact,
  now: Date,
): Promise<CompanyResult<{ contact: Contact; existing: boolean }>> {
  if (!can(actor, 'deals:edit_own')) return READ_ONLY
  return db.transaction((tx) => findOrInsertContact(tx, input, actor.id, now))
}

export interface ContactPatch extends ContactFields {
  email?: string | undefined
  /**
   * The company: `{ companyId }` picks one, `{ companyName }` finds or creates one by name,
   * `{ companyId: null }` detaches the contact; absent leaves it.
   */
  company?: { companyId?: string | null; companyName?: string | null } | undefined
}

/**
 * Corrects a contact's fields, address or company, recorded (old → new) with who and when. An
 * address that is another contact's is refused with that contact's id (`existingId`).
 */
export async function updateContact(
  db: Db,
  contactId: string,
  actor: Actor,
  patch: ContactPatch,
  now: Date,
): Promise<
  CompanyResult<{ contact: Contact; changed: string[] }> | (DealFailure & { existingId: string })
> {
  const email = patch.email === undefined ? undefined : parseEmailAddress(patch.email)
  if (email === null) return INVALID_EMAIL
  try {
    return await db.transaction(async (tx) => {
      const [contact] = await tx
        .select(contactColumns)
        .from(contacts)
        .where(eq(contacts.id, contactId))
        .for('update')
      if (!contact) return NOT_FOUND
      // An erased person stays erased: nobody types their details back onto the placeholder.
      if (contact.erasedAt) return ERASED
      const owners = await tx
        .selectDistinct({ ownerId: deals.ownerId })
        .from(deals)
        .where(eq(deals.contactId, contactId))
      const problem = recordEditProblem(
        actor,
        owners.map((o) => o.ownerId),
        'contact',
      )
      if (problem) return problem
      if (email && email.canonical !== contact.email) {
        const [other] = await tx
          .select({ id: contacts.id })
          .from(contacts)
          .where(and(eq(contacts.email, email.canonical), ne(contacts.id, contactId)))
        if (other) return duplicate(other.id)
      }
      const { email: _typed, company: companyChoice, ...fields } = patch
      const normalised = Object.fromEntries(
        Object.entries(fields).map(([k, v]) => [k, v === undefined ? undefined : v || null]),
      ) as ContactFields
      const changes = diffFields(contact, normalised)
      const set: Partial<Contact> = {}
      for (const field of Object.keys(changes))
        (set as Record<string, unknown>)[field] = changes[field]![1]
      if (email && email.display !== contact.emailDisplay) {
        changes.email = [contact.emailDisplay, email.display]
        set.email = email.canonical
        set.emailDisplay = email.display
      }
      if (companyChoice) {
        const before = contact.companyId
          ? ((
              await tx
                .select({ name: companies.name })
                .from(companies)
                .where(eq(companies.id, contact.companyId))
            )[0]?.name ?? null)
          : null
        // A form sends the company's name as the page shows it: the same name is no change.
        const shown = before ?? contact.companyName
        const typed = companyChoice.companyName?.trim().toLowerCase()
        const unchanged = !companyChoice.companyId && !!typed && typed === shown?.toLowerCase()
        if (!unchanged) {
          const picked =
            companyChoice.companyId || companyChoice.companyName
              ? await resolveCompany(tx, companyChoice, actor.id, now)
              : ({ ok: true, company: null, created: false } as const)
          if (!picked.ok) return picked
          const companyId = picked.company?.id ?? null
          if (companyId !== contact.companyId || (companyId === null && contact.companyName)) {
            changes.company = [shown, picked.company?.name ?? null]
            set.companyId = companyId
            // The company's own name reads from now on, not what a form once typed.
            set.companyName = null
          }
        }
      }
      const changed = Object.keys(changes)
      if (changed.length === 0) return { ok: true as const, contact, changed }
      const [updated] = await tx
        .update(contacts)
        .set({ ...set, updatedAt: nextUpdatedAt(contacts.updatedAt, now) })
        .where(eq(contacts.id, contactId))
        .returning(contactColumns)
      await recordChange(
        tx,
        {
          recordType: 'contact',
          recordId: contactId,
          action: 'updated',
          actorId: actor.id,
          changes,
        },
        now,
      )
      return { ok: true as const, contact: updated!, changed }
    })
  } catch (err) {
    // The address was taken by a contact added between our check and our write.
    if (email && isUniqueViolation(err, 'contacts_email_unique')) {
      const [other] = await db
        .select({ id: contacts.id })
        .from(contacts)
        .where(eq(contacts.email, email.canonical))
      if (other) return duplicate(other.id)
    }
    throw err
  }
}

function duplicate(existingId: string): DealFailure & { existingId: string } {
  return {
    ok: false,
    status: 409,
    code: 'duplicate_contact',
    message: 'That address is already another contact’s; open that one instead.',
    fields: { email: 'Already another contact’s address.' },
    existingId,
  }
}
