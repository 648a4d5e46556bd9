// Who the mail is from: brand name, from-addresses for transactional and for marketing/outreach
// mail, reply-to and the postal address. The company facts (api/content/site.ts) are the
// defaults, environment variables override them, and an admin can override each field in
// Settings (stored in the `settings` table); an empty field there falls back again.

import { eq } from 'drizzle-orm'
import { z } from 'zod'
import type { Brand } from '../../email-templates/index.ts'
import type { Db } from '../db/client.ts'
import { settings } from '../db/schema.ts'
import type { Env } from '../env.ts'
import { parseMailbox } from '../email-headers.ts'
import type { EmailAddress } from '../email-headers.ts'
import type { EmailCategory } from './transport.ts'
import { SITE } from '../content/site.ts'

export const SENDER_SETTINGS_KEY = 'email.sender'

const mailboxField = z
  .string()
  .trim()
  .max(320)
  .refine(
    (v) => v === '' || parseMailbox(v) !== null,
    'Enter an address like "Frontdoor <hello@example.com>".',
  )

/** What an admin can set; an empty string means "use the environment default". */
export const senderSettingsSchema = z.object({
  brandName: z.string().trim().max(100, 'The brand name is at most 100 characters.'),
  transactionalFrom: mailboxField,
  marketingFrom: mailboxField,
  replyTo: mailboxField,
  postalAddress: z
    .string()
    .trim()
    .max(300, 'The postal address is at most 300 characters.')
    // One line in a footer: line breaks typed into a textarea become separators.
    .transform((v) => v.replace(/\s*[\r\n]+\s*/g, ', ')),
})
export type StoredSenderSettings = z.infer<typeof senderSettingsSchema>

export type SenderSettings = {
  brandName: string
  /** Shown in the footer of every mail; required for marketing and outreach (CAN-SPAM). */
  postalAddress: string | null
  transactionalFrom: EmailAddress | null
  /** Falls back to the transactional sender. */
  marketingFrom: EmailAddress | null
  replyTo: EmailAddress | null
  siteUrl: string
  /** The dev mailbox's From when none is configured: the company's no-reply address. */
  devFrom: string
  /** Which value came from where, for the settings page. */
  stored: StoredSenderSettings
}

const emptyStored: StoredSenderSettings = {
  brandName: '',
  transactionalFrom: '',
  marketingFrom: '',
  replyTo: '',
  postalAddress: '',
}

/**
 * What Settings hold, each field read on its own: a value no longer valid (saved by an older
 * version, or by hand) falls back to its default alone, not with every other field.
 */
export async function readStoredSenderSettings(db: Db): Promise<StoredSenderSettings> {
  const [row] = await db.select().from(settings).where(eq(settings.key, SENDER_SETTINGS_KEY))
  const value: unknown = row?.value
  const stored = { ...emptyStored }
  if (!value || typeof value !== 'object') return stored
  for (const key of Object.keys(emptyStored) as (keyof StoredSenderSettings)[]) {
    const parsed = senderSettingsSchema.shape[key].safeParse(
      (value as Record<string, unknown>)[key],
    )
    if (parsed.success) stored[key] = parsed.data
  }
  return stored
}

export async function loadSenderSettings(db: Db, env: Env): Promise<SenderSettings> {
  return resolveSenderSettings(await readStoredSenderSettings(db), env)
}

/** The company facts emails fall back to when neither Settings nor the environment say. */
export interface CompanyFacts {
  name: string
  address: string
  email: { noreply: string }
}

/** Stored values over environment defaults over the company facts (api/content/site.ts). Pure. */
export function resolveSenderSettings(
  stored: StoredSenderSettings,
  env: Env,
  company: CompanyFacts = SITE,
): SenderSettings {
  const pick = (value: string, fallback: string | undefined) =>
    value.trim() ? value : (fallback ?? '')
  const mailbox = (value: string, fallback: string | undefined) => {
    const v = pick(value, fallback)
    return v ? parseMailbox(v) : null
  }
  const brandName = pick(stored.brandName, env.BRAND_NAME ?? company.name)
  const transactionalFrom = withBrandName(
    mailbox(stored.transactionalFrom, env.MAIL_FROM),
    brandName,
  )
  return {
    brandName,
    postalAddress: pick(stored.postalAddress, env.POSTAL_ADDRESS ?? company.address) || null,
    devFrom: company.email.noreply,
    transactionalFrom,
    marketingFrom:
      withBrandName(mailbox(stored.marketingFrom, env.MAIL_FROM_MARKETING), brandName) ??
      transactionalFrom,
    replyTo: mailbox(stored.replyTo, env.MAIL_REPLY_TO),
    siteUrl: env.APP_ORIGIN,
    stored,
  }
}

// A bare address in MAIL_FROM shows as the brand in inboxes.
function withBrandName(a: EmailAddress | null, brandName: string): EmailAddress | null {
  if (!a) return null
  return a.name ? a : { name: brandName, address: a.address }
}

export async function saveSenderSettings(
  db: Db,
  input: StoredSenderSettings,
  userId: string | null,
  now: Date,
): Promise<void> {
  const value = senderSettingsSchema.parse(input)
  await db
    .insert(settings)
    .values({ key: SENDER_SETTINGS_KEY, value, updatedAt: now, updatedBy: userId })
    .onConflictDoUpdate({
      target: settings.key,
      set: { value, updatedAt: now, updatedBy: userId },
    })
}

/** The brand for templates: name, postal address, link to the site. */
export function brandOf(sender: SenderSettings): Brand {
  return { name: sender.brandName, postalAddress: sender.postalAddress, siteUrl: sender.siteUrl }
}

/**
 * The From of a message of this category. The dev mailbox needs no real address, so it gets the
 * company's no-reply address (devFrom); real transports get null, which the worker reports as a
 * configuration problem instead of sending from a made-up address.
 */
export function fromFor(
  sender: SenderSettings,
  category: EmailCategory,
  transport: 'smtp' | 'resend' | 'dev',
): EmailAddress | null {
  return fromInUse(sender, category, transport).from
}

/**
 * The From of a message of this category and whether it is the built-in default (the dev
 * mailbox's devFrom, with nothing set in Settings or the environment): what Settings shows as in
 * use, as fromFor sends it.
 */
export function fromInUse(
  sender: SenderSettings,
  category: EmailCategory,
  transport: 'smtp' | 'resend' | 'dev',
): { from: EmailAddress | null; builtIn: boolean } {
  const configured = category === 'transactional' ? sender.transactionalFrom : sender.marketingFrom
  if (configured) return { from: configured, builtIn: false }
  if (transport !== 'dev') return { from: null, builtIn: false }
  return { from: { name: sender.brandName, address: sender.devFrom }, builtIn: true }
}
