// The lead form contract, as the form UI (src/components/site/LeadForm.astro) needs it. The
// server owns the rules (api/leads/lead-form.ts, api/leads/offers.ts); this module re-exports
// them so the form and the server can never disagree, and adds what only people read (labels).
import { COMPANY_SIZES as COMPANY_SIZE_VALUES } from '#api/leads/lead-form.ts'

export {
  FIELD_LIMITS,
  HONEYPOT_FIELD,
  MISSING,
  UTM_PARAMS,
  type UtmParam,
} from '#api/leads/lead-form.ts'
export { TRIAL_FIELDS, type FormFields, type Requirement } from '#api/leads/offers.ts'

/** What a form offers: a whitepaper, a case study (by collection id) or a trial request. */
export type Offer = `whitepaper:${string}` | `case-study:${string}` | 'trial'

export type CompanySize = (typeof COMPANY_SIZE_VALUES)[number]

const COMPANY_SIZE_LABELS: Record<CompanySize, string> = {
  '1-10': '1–10 employees',
  '11-50': '11–50 employees',
  '51-200': '51–200 employees',
  '201-500': '201–500 employees',
  '501-1000': '501–1,000 employees',
  '1001-5000': '1,001–5,000 employees',
  '5000+': 'More than 5,000 employees',
}

/** `value` is what the form posts; `label` is what people read. */
export const COMPANY_SIZES = COMPANY_SIZE_VALUES.map((value) => ({
  value,
  label: COMPANY_SIZE_LABELS[value],
}))

/** Checkbox value posted when the person ticks the marketing consent box. */
export const CONSENT_VALUE = 'yes'
