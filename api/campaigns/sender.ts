import { domainToASCII } from 'node:url'
import type { Env } from '../env.ts'
import type { SenderSettings } from '../email/sender.ts'
import { parseEmailAddress } from '../email-address.ts'

// A campaign sends only as an address on the verified sending domain: the domain of the
// marketing sender in Settings (or MAIL_FROM_MARKETING / MAIL_FROM), or DKIM_DOMAIN. An arbitrary
// From is refused when the campaign is saved, not discovered at send time: Resend answers an
// unverified From with 403, which the worker rightly treats as a configuration failure and which
// would pause all mail, password resets included.

/** The domains a campaign may send from (ASCII, lowercase); empty when none is configured. */
export function verifiedSendingDomains(
  sender: Pick<SenderSettings, 'marketingFrom'>,
  env: Pick<Env, 'DKIM_DOMAIN'>,
): string[] {
  const domains = new Set<string>()
  const marketing = sender.marketingFrom ? parseEmailAddress(sender.marketingFrom.address) : null
  if (marketing) domains.add(marketing.domain)
  if (env.DKIM_DOMAIN) {
    const dkim = domainToASCII(env.DKIM_DOMAIN.trim().replace(/\.$/, ''))
    if (dkim) domains.add(dkim)
  }
  return [...domains]
}

export type SenderCheck =
  { ok: true; address: string; domain: string } | { ok: false; message: string }

/** Checks a campaign's From address against the verified domains. Pure. */
export function checkSenderAddress(input: string, domains: readonly string[]): SenderCheck {
  const parsed = parseEmailAddress(input)
  if (!parsed) return { ok: false, message: 'The sender is not a valid email address.' }
  if (domains.length === 0)
    return {
      ok: false,
      message:
        'No verified sending domain is configured: an admin sets the marketing sender in Email → Settings (or DKIM_DOMAIN) first.',
    }
  if (!domains.includes(parsed.domain))
    return {
      ok: false,
      // Without the address typed: a plain form's ?error= carries this, and URLs carry nothing typed.
      message: `The sender must be an address on the verified sending domain (${domains.map((d) => `@${d}`).join(' or ')}).`,
    }
  return { ok: true, address: parsed.mailbox, domain: parsed.domain }
}
