import * as assetDelivery from '../../email-templates/asset-delivery.ts'
import type { Brand } from '../../email-templates/index.ts'
import type { Db } from '../db/client.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueEmail } from '../email/outbox.ts'
import type { OfferKind } from './offers.ts'

// The gated asset by email: transactional (the person asked for it), through the outbox in the
// caller's transaction, at most once per dedupe key.

export interface AssetEmail {
  /** Where to send: the address as typed, with the ASCII domain. */
  mailbox: string
  /** The canonical address, for suppression checks. */
  recipient: string
  name: string | null
  firstName: string | null
  assetTitle: string
  assetKind: OfferKind
  downloadUrl: string
  expiresInDays: number
  brand: Brand
  dedupeKey: string
  /** The caller's clock: when the message is due (the database's clock otherwise). */
  now?: Date
}

export async function enqueueAssetEmail(tx: Db, email: AssetEmail): Promise<string | null> {
  const rendered = assetDelivery.render({
    brand: email.brand,
    firstName: email.firstName,
    assetTitle: email.assetTitle,
    assetKind: email.assetKind === 'case-study' ? 'case study' : 'whitepaper',
    downloadUrl: email.downloadUrl,
    expiresInDays: email.expiresInDays,
  })
  return enqueueEmail(tx, {
    category: 'transactional',
    to: formatAddress(email.name, email.mailbox),
    recipient: email.recipient,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    template: 'asset-delivery',
    dedupeKey: email.dedupeKey,
    ...(email.now ? { now: email.now } : {}),
  })
}
