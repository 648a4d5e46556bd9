import type { Deps } from '../deps.ts'
import { addressFingerprint } from '../email/suppressions.ts'
import { hitRateLimit, limitAddress } from '../rate-limits.ts'
import { checkFormToken, checkFormTokenUse, type FormTokenVerdict } from './form-tokens.ts'
import type { LeadFormData } from './lead-form.ts'

// A post that looks automated is kept in quarantine (visible to admins, releasable) rather than
// dropped: a false positive costs a lead, so a person decides. No contact, deal or email is made.

export type SpamReason =
  | 'honeypot'
  | 'too_fast'
  | 'form_token_missing'
  | 'form_token_invalid'
  | 'form_token_other_form'
  | 'form_token_reused'
  | 'rate_limited'
  | 'address_rate_limited'

export interface SpamSignals {
  /** The value of the hidden field people never see. */
  honeypot: string
  formToken: FormTokenVerdict
  /** More posts from this IP in the window than a person would send. */
  rateLimited: boolean
  /**
   * More posts for this email address in the window than its owner would send: each sends it an
   * email, so posts from many addresses could otherwise flood someone else's inbox.
   */
  addressRateLimited: boolean
}

/** Why a post looks automated; empty when it does not. */
export function spamReasons(signals: SpamSignals): SpamReason[] {
  const reasons: SpamReason[] = []
  if (signals.honeypot.trim() !== '') reasons.push('honeypot')
  const token = signals.formToken
  // An expired token is a tab left open overnight, not a bot: it is no reason on its own.
  if (!token.ok && token.reason === 'too_fast') reasons.push('too_fast')
  if (!token.ok && token.reason === 'missing') reasons.push('form_token_missing')
  if (!token.ok && token.reason === 'invalid') reasons.push('form_token_invalid')
  if (!token.ok && token.reason === 'other_form') reasons.push('form_token_other_form')
  if (!token.ok && token.reason === 'reused') reasons.push('form_token_reused')
  if (signals.rateLimited) reasons.push('rate_limited')
  if (signals.addressRateLimited) reasons.push('address_rate_limited')
  return reasons
}

const HOUR = 3_600_000

/**
 * The screen every post that would make a lead goes through (a gated form, the grader's unlock):
 * the per-IP hourly limit they share, the hidden field, and the form token bound to the page it
 * was rendered on (`path`), each rendered form good for a few posts; then, for a post that passes
 * them (one that would email the address typed), the per-address hourly limit. Counts the post
 * against the limits and the token's uses. Why it looks automated; empty when it does not.
 */
export async function screenLeadPost(
  deps: Pick<Deps, 'db' | 'env' | 'secret'>,
  post: {
    /** The client's address as the request context reads it ('unknown' when there is none). */
    ip: string
    form: Pick<LeadFormData, 'email' | 'honeypot' | 'formToken' | 'idempotencyKey'>
    path: string
    now: Date
    /** Whether an accepted post emails the address typed (a file, a report link; not a trial request). */
    emailsAddress: boolean
  },
): Promise<SpamReason[]> {
  const { form, now } = post
  const limit = await hitRateLimit(
    deps.db,
    `leads:ip:${limitAddress(post.ip)}`,
    { limit: deps.env.LEADS_PER_IP_PER_HOUR, windowMs: HOUR },
    now,
  )
  const signals: SpamSignals = {
    honeypot: form.honeypot,
    formToken: await checkFormTokenUse(
      deps.db,
      checkFormToken(deps.secret, form.formToken, now, post.path),
      form.formToken,
      form.idempotencyKey,
      now,
    ),
    rateLimited: !limit.allowed,
    addressRateLimited: false,
  }
  // Only posts that would email the address count against it: quarantined ones send nothing, and
  // counting them would let anyone quarantine a person's own posts with a few forged ones. Keyed
  // by the address's fingerprint: the limits table keeps no address.
  const reasons = spamReasons(signals)
  if (reasons.length > 0 || !post.emailsAddress) return reasons
  const addressLimit = await hitRateLimit(
    deps.db,
    `leads:to:${addressFingerprint(form.email.canonical)}`,
    { limit: deps.env.LEADS_PER_ADDRESS_PER_HOUR, windowMs: HOUR },
    now,
  )
  return spamReasons({ ...signals, addressRateLimited: !addressLimit.allowed })
}

export const SPAM_REASON_LABELS: Record<SpamReason, string> = {
  honeypot: 'Filled in the hidden field',
  too_fast: 'Sent faster than a person can fill in the form',
  form_token_missing: 'Posted without the form token',
  form_token_invalid: 'Forged or damaged form token',
  form_token_other_form: 'Form token taken from another form',
  form_token_reused: 'One rendered form used for more posts than a person sends',
  rate_limited: 'Too many posts from one IP address',
  address_rate_limited: 'Too many posts for one email address',
}

/**
 * What to do next, for a form that must say its post was not confirmed (the grader's unlock
 * cannot act as if it worked: the report would open). The gated forms answer a quarantined post
 * like an accepted one; this names no check, only what gets a person through: waiting out the
 * hourly limit (a retry sooner is quarantined again), a fresh page (a new form token and an
 * empty hidden field), or a few seconds more on the same one.
 */
export function quarantineAdvice(reasons: SpamReason[]): string {
  const advice = reasons.some((r) => r === 'rate_limited' || r === 'address_rate_limited')
    ? 'Please try again in an hour.'
    : reasons.some((r) => r !== 'too_fast')
      ? 'Please reload the page and send the form again.'
      : 'Please wait a few seconds and send the form again.'
  return `We could not confirm that request. ${advice}`
}
