import { domainToASCII } from 'node:url'
import { z } from 'zod'
import { getDomain } from 'tldts'
import freeMailDomains from 'email-providers/all.json' with { type: 'json' }
import { isValidAddress } from './email-headers.ts'

// The one email canonicaliser. Addresses are compared in a canonical form, wherever they are
// stored or looked up (users, contacts, outbox recipients, suppressions, unsubscribe tokens):
// trim, Unicode NFC, lowercase, the domain as punycode. One form everywhere matters: a
// suppression stored as "ann@bücher.example" once missed the outbox's "ann@xn--bcher-kva.example".
// Gmail dots and +tags are kept: "ann.lee+pdf@gmail.com" is what the person typed and where they
// want the mail; folding them would merge strangers on providers whose rules differ.

export interface EmailAddress {
  /** The comparison key: contacts.email, outbox.recipient, suppressions. */
  canonical: string
  /** As typed (trimmed, NFC), for display. */
  display: string
  /** Where mail goes: the local part as typed, the domain in ASCII. */
  mailbox: string
  /** The ASCII (punycode) domain. */
  domain: string
}

const MAX_LENGTH = 254
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

export function parseEmailAddress(input: string): EmailAddress | null {
  const display = input.trim().normalize('NFC')
  if (display.length === 0 || display.length > MAX_LENGTH) return null
  const at = display.lastIndexOf('@')
  if (at <= 0 || at === display.length - 1) return null
  const local = display.slice(0, at)
  const rawDomain = display.slice(at + 1)
  // domainToASCII lowercases, applies IDNA mapping and returns '' for an invalid name.
  const domain = domainToASCII(rawDomain.replace(/\.$/, ''))
  if (!isPublicDomainName(domain)) return null
  // Accept only what the mail transports will send to (dot-atom, no quoted local parts).
  const mailbox = `${local}@${domain}`
  if (!isValidAddress(mailbox)) return null
  const canonical = `${local.toLowerCase().normalize('NFC')}@${domain}`
  if (canonical.length > MAX_LENGTH) return null
  return { canonical, display, mailbox, domain }
}

/** An email address typed into a form, accepted exactly as parseEmailAddress accepts it. */
export const emailAddressField = z
  .string()
  .trim()
  .max(320, 'Enter a valid email address.')
  .refine((v) => parseEmailAddress(v) !== null, 'Enter a valid email address.')

/**
 * The comparison key for an address: `parseEmailAddress(input).canonical`. Input we would not
 * accept as an address (a sign-in with whatever someone typed) gets the same folding without the
 * checks (trim, NFC, lowercase), so a look-up always has a key; it cannot equal the key of an
 * address we accept.
 */
export function canonicalEmail(input: string): string {
  return parseEmailAddress(input)?.canonical ?? input.trim().normalize('NFC').toLowerCase()
}

function isPublicDomainName(domain: string): boolean {
  if (domain.length === 0 || domain.length > 253) return false
  const labels = domain.split('.')
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return false
  const tld = labels[labels.length - 1]!
  return /^[a-z]{2,63}$/.test(tld) || tld.startsWith('xn--')
}

const freeMail = new Set<string>(freeMailDomains as string[])

/** Addresses at webmail and disposable-mail providers say nothing about an employer. */
export function isFreeMailDomain(domain: string): boolean {
  if (freeMail.has(domain)) return true
  const registrable = getDomain(domain)
  return registrable !== null && freeMail.has(registrable)
}

/**
 * The company an address belongs to: its registrable domain ("mail.acme.co.uk" → "acme.co.uk"),
 * or null for free-mail providers.
 */
export function companyDomainOf(domain: string): string | null {
  if (isFreeMailDomain(domain)) return null
  return getDomain(domain) ?? domain
}
