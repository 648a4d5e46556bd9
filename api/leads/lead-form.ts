import { z } from 'zod'
import { parseEmailAddress, type EmailAddress } from '../email-address.ts'
import { idempotencyKeySchema } from '../idempotency.ts'
import type { FieldName, FormFields, OfferInfo } from './offers.ts'

// The server side of the lead form contract (the form is src/components/site/LeadForm.astro).
// Two steps: the shape of any post (known fields, limits), then the offer's own requirements.

export const FIELD_LIMITS = {
  email: 254,
  name: 120,
  company: 160,
  jobTitle: 120,
  phone: 40,
  message: 2000,
  pageUrl: 2048,
  referrer: 2048,
  utm: 200,
} as const

export const COMPANY_SIZES = [
  '1-10',
  '11-50',
  '51-200',
  '201-500',
  '501-1000',
  '1001-5000',
  '5000+',
] as const
export const UTM_PARAMS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
] as const
export type UtmParam = (typeof UTM_PARAMS)[number]
export const HONEYPOT_FIELD = 'fax'

/** The words the form itself shows (LeadForm.astro), so both paths say the same thing. */
export const MISSING: Record<FieldName | 'email', string> = {
  email: 'Enter your work email address.',
  name: 'Enter your name.',
  company: 'Enter your company name.',
  jobTitle: 'Enter your job title.',
  phone: 'Enter your phone number.',
  companySize: 'Choose your company size.',
  message: 'Tell us briefly what you would like to solve.',
}

/**
 * `value` cut to at most `max` UTF-16 units without splitting a surrogate pair: a lone half is no
 * text, and neither database engine stores one in jsonb (the post became a 500 and was lost).
 */
export function clipText(value: string, max: number): string {
  if (value.length <= max) return value
  const cut = value.slice(0, max)
  const last = cut.charCodeAt(cut.length - 1)
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut
}

const tooLong = (max: number) => `Keep this under ${max.toLocaleString('en-US')} characters.`
const text = (max: number) => z.string().trim().max(max, tooLong(max)).optional()
// Hidden attribution fields are cut to size, not refused: the person cannot fix them.
const hidden = (max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v ? clipText(v.trim(), max) : ''))

export const postSchema = z.strictObject({
  offer: z.string({ message: 'The form does not say what it is for.' }).max(200),
  email: z
    .string({ message: MISSING.email })
    .trim()
    .min(1, MISSING.email)
    .max(FIELD_LIMITS.email, tooLong(FIELD_LIMITS.email)),
  name: text(FIELD_LIMITS.name),
  company: text(FIELD_LIMITS.company),
  jobTitle: text(FIELD_LIMITS.jobTitle),
  phone: z
    .string()
    .trim()
    .max(FIELD_LIMITS.phone, tooLong(FIELD_LIMITS.phone))
    .refine(
      (v) => v === '' || /^[0-9+()\-. ]{6,40}$/.test(v),
      'Enter a phone number using digits, spaces and + ( ) - only.',
    )
    .optional(),
  companySize: z
    .string()
    .refine(
      (v) => v === '' || (COMPANY_SIZES as readonly string[]).includes(v),
      MISSING.companySize,
    )
    .optional(),
  message: text(FIELD_LIMITS.message),
  consent: z.enum(['yes', ''], { message: 'The consent box posts "yes" or nothing.' }).optional(),
  consentVersion: z.string().max(40).optional(),
  idempotencyKey: idempotencyKeySchema.optional(),
  formToken: z.string().max(200).optional(),
  pageUrl: hidden(FIELD_LIMITS.pageUrl),
  referrer: hidden(FIELD_LIMITS.referrer),
  utm_source: hidden(FIELD_LIMITS.utm),
  utm_medium: hidden(FIELD_LIMITS.utm),
  utm_campaign: hidden(FIELD_LIMITS.utm),
  utm_term: hidden(FIELD_LIMITS.utm),
  utm_content: hidden(FIELD_LIMITS.utm),
  [HONEYPOT_FIELD]: z.string().max(2000).optional(),
})

export type LeadPost = z.infer<typeof postSchema>

export interface LeadFormData {
  email: EmailAddress
  fields: Partial<Record<FieldName, string>>
  consent: { granted: boolean; version: string | null }
  idempotencyKey: string | null
  formToken: string | null
  honeypot: string
  pageUrl: string | null
  referrer: string | null
  utm: Partial<Record<UtmParam, string>> | null
}

export type FormCheck =
  { ok: true; data: LeadFormData } | { ok: false; message: string; fields: Record<string, string> }

/** Validates a post against the shape every lead form shares. */
export function parseLeadPost(
  raw: Record<string, unknown>,
): { ok: true; post: LeadPost } | { ok: false; message: string; fields: Record<string, string> } {
  const parsed = postSchema.safeParse(raw)
  if (parsed.success) return { ok: true, post: parsed.data }
  const fields: Record<string, string> = {}
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        fields[key.slice(0, 60)] ??= 'This form does not have this field.'
    } else {
      fields[String(issue.path[0] ?? '_')] ??= issue.message
    }
  }
  return { ok: false, message: summary(fields), fields }
}

/** Applies the offer's requirements: required fields present, fields it does not ask for dropped. */
export function checkLeadPost(post: LeadPost, offer: OfferInfo): FormCheck {
  const fieldErrors: Record<string, string> = {}
  const email = parseEmailAddress(post.email)
  if (!email) fieldErrors.email = 'Enter an email address like name@company.com.'
  const fields: Partial<Record<FieldName, string>> = {}
  for (const [name, requirement] of Object.entries(offer.fields) as Array<
    [FieldName, FormFields[FieldName]]
  >) {
    const value = post[name] ?? ''
    if (value !== '') fields[name] = value
    else if (requirement === 'required') fieldErrors[name] = MISSING[name]
  }
  if (!email || Object.keys(fieldErrors).length > 0)
    return { ok: false, message: summary(fieldErrors), fields: fieldErrors }
  return { ok: true, data: { email, fields, ...formEnvelope(post) } }
}

/**
 * What every lead form carries besides its fields (consent, idempotency key, time trap, honeypot,
 * attribution), shared by the content forms and the grader's unlock form.
 */
export function formEnvelope(post: LeadPost) {
  const utm: Partial<Record<UtmParam, string>> = {}
  for (const param of UTM_PARAMS) if (post[param]) utm[param] = post[param]
  return {
    consent: { granted: post.consent === 'yes', version: post.consentVersion || null },
    idempotencyKey: post.idempotencyKey || null,
    formToken: post.formToken || null,
    honeypot: post[HONEYPOT_FIELD] ?? '',
    pageUrl: httpUrl(post.pageUrl),
    referrer: httpUrl(post.referrer),
    utm: Object.keys(utm).length > 0 ? utm : null,
  }
}

function summary(fields: Record<string, string>): string {
  const count = Object.keys(fields).length
  if (count === 1) return Object.values(fields)[0]!
  return `Please correct the ${count} fields marked below.`
}

function httpUrl(value: string): string | null {
  if (!value) return null
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null
  } catch {
    return null
  }
}
