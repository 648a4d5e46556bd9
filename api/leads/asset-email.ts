import * as assetDelivery from '../../email-templates/asset-delivery.ts'
import type { Brand } from '../../email-templates/index.ts'
import type { Db } from '../db/client.ts'
import { formatAddress } from '../email-headers.ts'
import { enqueueRequestedEmail } from '../email/marketing.ts'
import type { OfferKind } from './offers.ts'

// The gated asset by email: transactional (the person asked for it), through the outbox in the
// caller's transaction, at most once per dedupe key. It carries the unsubscribe link for our
// marketing mail that the consent checkbox promises in every email.

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
  /** APP_ORIGIN, for the unsubscribe link. */
  origin: string
  dedupeKey: string
  /** The caller's clock: when the message is due (the database's clock otherwise). */
  now?: Date
}

export async function enqueueAssetEmail(tx: Db, email: AssetEmail): Promise<string | null> {
  return enqueueRequestedEmail(tx, email.origin, {
    to: formatAddress(email.name, email.mailbox),
    recipient: email.recipient,
    template: 'asset-delivery',
    render: ({ unsubscribeUrl }) =>
      assetDelivery.render({
        brand: email.brand,
        unsubscribeUrl,
        firstName: email.firstName,
        assetTitle: email.assetTitle,
        assetKind: email.assetKind === 'case-study' ? 'case study' : 'whitepaper',
        downloadUrl: email.downloadUrl,
        expiresInDays: email.expiresInDays,
      }),
    dedupeKey: email.dedupeKey,
    ...(email.now ? { now: email.now } : {}),
  })
}
