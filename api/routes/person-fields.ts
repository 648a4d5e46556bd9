import { z } from 'zod'
import type { FieldLabels } from '../http/form-or-json.ts'

// The fields of a person and their company as forms and JSON send them, shared by every route
// that enters one (a contact, a deal's contact), so they are checked alike. A form's empty field
// is "not given": null, which in an edit clears the value.

/** Trimmed text of at most `max` characters; "" → null. */
export const optionalText = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
    z.string().trim().max(max, `At most ${max} characters.`).nullable().optional(),
  )

export const phoneField = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? null : v),
  z
    .string()
    .trim()
    .regex(
      /^\+?[0-9][0-9 ()./-]{2,38}[0-9)](\s*(x|ext\.?)\s*[0-9]{1,6})?$/i,
      'Enter a phone number of digits, spaces and + ( ) - . /, like +44 20 7946 0958.',
    )
    .nullable()
    .optional(),
)

/** How the person and company fields are labelled on the pages that enter them. */
export const PERSON_LABELS: FieldLabels = {
  firstName: 'First name',
  lastName: 'Last name',
  jobTitle: 'Job title',
  companyName: 'Company',
}

export const personFields = {
  firstName: optionalText(100),
  lastName: optionalText(100),
  jobTitle: optionalText(200),
  phone: phoneField,
}

/** Which company: one picked by id, or one found (any case or accents) or created by name. */
export const companyFields = {
  companyId: z.preprocess((v) => (v === '' ? undefined : v), z.uuid('Unknown company.').optional()),
  companyName: optionalText(200),
}
