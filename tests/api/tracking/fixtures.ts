import { createUser } from '../../../api/accounts/users.ts'
import type { Db } from '../../../api/db/client.ts'
import {
  campaignRecipients,
  campaigns,
  contacts,
  deals,
  trackedLinks,
} from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { newTrackingToken } from '../../../api/tracking/token.ts'

// Tracked links written straight into the database (one campaign, one recipient per call), the
// way the campaign sender stores them: a fresh token per recipient × link.

export interface LinkFixture {
  campaignId: string
  recipientId: string
  tokens: string[]
}

export async function addTrackedLinks(db: Db, urls: string[]): Promise<LinkFixture> {
  const tag = Math.random().toString(36).slice(2, 9)
  const created = await createUser(db, {
    email: `sdr-${tag}@example.com`,
    name: 'SDR',
    role: 'sdr',
    password: null,
  })
  if (!created.ok) throw new Error(created.message)
  const campaignId = newId()
  await db.insert(campaigns).values({
    id: campaignId,
    name: `Campaign ${tag}`,
    ownerId: created.user.id,
    createdBy: created.user.id,
    senderName: 'SDR',
    senderEmail: 'sdr@frontdoor.example',
    subjectTemplate: 'Hello',
    bodyTemplate: 'Hello {{firstName}}',
  })
  const contactId = newId()
  const email = `prospect-${tag}@example.com`
  await db
    .insert(contacts)
    .values({ id: contactId, email, emailDisplay: email, source: 'outbound' })
  const recipientId = newId()
  await db
    .insert(campaignRecipients)
    .values({ id: recipientId, campaignId, contactId, email, fields: {} })
  const tokens = await insertLinks(db, recipientId, campaignId, urls)
  return { campaignId, recipientId, tokens }
}

/** A promise and the function that settles it: a test holds work in flight with it. */
export function held<T = void>() {
  let release!: (value: T) => void
  const promise = new Promise<T>((resolve) => (release = resolve))
  return { promise, release }
}

export interface ProspectOptions {
  /** The SDR who owns the campaign. */
  sdrId: string
  /** When the message went out. */
  sentAt: Date
  /** The message's links, in order. */
  urls: string[]
  /** An open deal at 0% (default), or none. */
  deal?: 'opportunity' | 'none'
  /** The deal credits the SDR already. */
  sdrOnDeal?: boolean
}

/** A prospect as the CSV import leaves one: contact, open deal at 0% (or none), a sent message with its links. */
export async function addProspect(db: Db, options: ProspectOptions) {
  const campaignId = newId()
  await db.insert(campaigns).values({
    id: campaignId,
    name: 'Q4 forecasting outreach',
    ownerId: options.sdrId,
    createdBy: options.sdrId,
    senderName: 'Taylor',
    senderEmail: 'taylor@frontdoor.example',
    subjectTemplate: 'Forecasts for {{company}}',
    bodyTemplate: 'Hi {{firstName}}',
    status: 'sending',
  })
  const tag = Math.random().toString(36).slice(2, 8)
  const email = `dana-${tag}@acme-${tag}.example`
  const contactId = newId()
  await db.insert(contacts).values({
    id: contactId,
    email,
    emailDisplay: email,
    companyName: `Acme ${tag}`,
    source: 'outbound',
  })
  let dealId: string | null = null
  if ((options.deal ?? 'opportunity') === 'opportunity') {
    dealId = newId()
    await db.insert(deals).values({
      id: dealId,
      contactId,
      title: `Acme ${tag}`,
      stage: 'opportunity',
      source: 'outbound',
      sdrId: options.sdrOnDeal ? options.sdrId : null,
      // Made by the import, before the message went out (not the database's wall clock).
      createdAt: options.sentAt,
    })
  }
  const recipientId = newId()
  await db.insert(campaignRecipients).values({
    id: recipientId,
    campaignId,
    contactId,
    email,
    fields: {},
    status: 'sent',
    sentAt: options.sentAt,
  })
  const urls = options.urls
  const tokens = await insertLinks(db, recipientId, campaignId, urls)
  return { campaignId, contactId, dealId, recipientId, tokens, urls }
}

/** A recipient's tracked links, numbered from 1 as api/tracking/links.ts numbers them. */
export async function insertLinks(db: Db, recipientId: string, campaignId: string, urls: string[]) {
  const tokens = urls.map(() => newTrackingToken())
  await db
    .insert(trackedLinks)
    .values(
      urls.map((url, i) => ({ token: tokens[i]!, recipientId, campaignId, url, position: i + 1 })),
    )
  return tokens
}
