import { z } from 'zod'
import { LEAD_SOURCES, STAGE_KEYS, type deals } from '../db/schema.ts'
import { anyJson, okSchemaOf, time } from '../http/openapi.ts'
import type { RecordChange } from '../pipeline/record-changes.ts'

// What the contact's and the company's reads answer in common, field by field: the contact and
// their deals as stored, and who added or changed the record by hand (held to their types by okSchemaOf). Times
// are ISO 8601 in UTC, dates YYYY-MM-DD.

/**
 * A contact's fields as both the contact operations and the sync list answer them, each
 * extending and describing it, held to its own type by okSchemaOf.
 */
export const contactFieldsSchema = z.strictObject({
  id: z.string(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  jobTitle: z.string().nullable(),
  phone: z.string().nullable(),
  companyId: z.string().nullable(),
  companyName: z.string().nullable(),
  source: z.enum(LEAD_SOURCES),
  createdAt: time,
  updatedAt: time,
})

/**
 * A deal as stored, field by field: the base of the answers that show a deal (these lists, the
 * sync list, the deal operations), each held to its own type by okSchemaOf.
 */
export const storedDealSchema = z.strictObject({
  id: z.string(),
  contactId: z.string(),
  companyId: z.string().nullable(),
  title: z.string(),
  stage: z.enum(STAGE_KEYS),
  stageEnteredAt: time,
  source: z.enum(LEAD_SOURCES),
  ownerId: z.string().nullable().describe('The rep who took it over; null while unclaimed.'),
  sdrId: z.string().nullable(),
  amountCents: z.number().int().nullable(),
  currency: z.string(),
  expectedCloseDate: z.iso.date().nullable(),
  contractSignedOn: z.iso.date().nullable(),
  paymentReceivedOn: z.iso.date().nullable(),
  lostReason: z.string().nullable(),
  budgetNotes: z.string().nullable(),
  decisionProcessNotes: z.string().nullable(),
  claimedAt: time.nullable(),
  closedAt: time.nullable(),
  nextStepOn: z.iso
    .date()
    .nullable()
    .describe('The earliest due date of its open next steps; null when none is planned.'),
  createdAt: time,
  updatedAt: time,
})

/** A deal as stored, with its owner's name: the contact and company pages' deal lists. */
export const dealRowSchema = okSchemaOf<typeof deals.$inferSelect & { ownerName: string | null }>()(
  storedDealSchema.extend({ ownerName: z.string().nullable() }),
)

export const historySchema = okSchemaOf<RecordChange[]>()(
  z
    .array(
      z.strictObject({
        id: z.string(),
        recordType: z.enum(['contact', 'company']),
        recordId: z.string(),
        action: z.enum(['created', 'updated']),
        actorName: z.string().nullable(),
        changes: z
          .record(z.string(), z.tuple([anyJson, anyJson]))
          .nullable()
          .describe('Each field changed → [old value, new value].'),
        at: time,
      }),
    )
    .describe('Who added or changed the record by hand, newest first (at most 100).'),
)
