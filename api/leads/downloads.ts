import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, extname, join, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'
import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { contacts, downloadTokens } from '../db/schema.ts'
import { macOf } from '../http/signature.ts'
import { hashToken, newId } from '../ids.ts'
import type { Brand } from '../../email-templates/index.ts'
import { enqueueAssetEmail } from './asset-email.ts'
import { parseEmailAddress } from '../email-address.ts'
import type { OfferInfo } from './offers.ts'

// Download links /d/<token> for gated files: one per contact and asset, expiring, usable many
// times (mail scanners open links before people do). Only a hash of the token is stored. The
// token is an HMAC of the row id under the server secret, so an idempotent replay of the form
// can show the same link again without the database ever holding it.

export const DEFAULT_DOWNLOAD_DAYS = 7

export function downloadTokenFor(secret: string, id: string): string {
  return encodeBase32LowerCaseNoPadding(macOf(secret, 'download', id).subarray(0, 20))
}

export interface NewDownload {
  contactId: string
  offer: string
  file: string
}

/** Call inside the transaction that creates the reason for the link. */
export async function createDownloadToken(
  tx: Db,
  input: NewDownload,
  options: { secret: string; now: Date; days: number },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const id = newId(options.now.getTime())
  const token = downloadTokenFor(options.secret, id)
  const expiresAt = new Date(options.now.getTime() + options.days * 86_400_000)
  await tx.insert(downloadTokens).values({
    id,
    tokenHash: hashToken(token),
    contactId: input.contactId,
    offer: input.offer,
    file: input.file,
    expiresAt,
    createdAt: options.now,
  })
  return { id, token, expiresAt }
}

export type DownloadLookup =
  | { status: 'ok'; id: string; offer: string; file: string; contactId: string }
  | {
      status: 'expired'
      id: string
      offer: string
      file: string
      contactId: string
      expiredAt: Date
    }
  | { status: 'unknown' }

const TOKEN_SHAPE = /^[a-z2-7]{16,64}$/

export async function findDownload(db: Db, token: string, now: Date): Promise<DownloadLookup> {
  if (!TOKEN_SHAPE.test(token)) return { status: 'unknown' }
  const [row] = await db
    .select()
    .from(downloadTokens)
    .where(eq(downloadTokens.tokenHash, hashToken(token)))
  if (!row) return { status: 'unknown' }
  const base = { id: row.id, offer: row.offer, file: row.file, contactId: row.contactId }
  if (row.expiresAt.getTime() <= now.getTime())
    return { status: 'expired', ...base, expiredAt: row.expiresAt }
  return { status: 'ok', ...base }
}

export async function recordDownload(db: Db, id: string, now: Date): Promise<void> {
  await db
    .update(downloadTokens)
    .set({ downloads: sql`${downloadTokens.downloads} + 1`, lastDownloadAt: now })
    .where(eq(downloadTokens.id, id))
}

const CONTENT_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.epub': 'application/epub+zip',
  '.zip': 'application/zip',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.mp4': 'video/mp4',
}

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
}

export interface GatedFile {
  name: string
  path: string
  size: number
  contentType: string
}

/**
 * A file inside the content-files directory. Names are bare (validated where they are read);
 * anything that resolves outside the directory is refused all the same.
 */
export async function findGatedFile(dir: string, file: string): Promise<GatedFile | null> {
  const root = resolve(dir)
  const name = basename(file)
  const path = resolve(join(root, name))
  if (name !== file || !path.startsWith(root + sep)) return null
  try {
    const info = await stat(path)
    if (!info.isFile()) return null
    return { name, path, size: info.size, contentType: contentTypeOf(name) }
  } catch {
    return null
  }
}

/** The file's bytes as a web stream (the download route's response body). */
export function gatedFileStream(file: GatedFile): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>
}

/** `attachment; filename="…"` with an RFC 5987 UTF-8 form for names that are not plain ASCII. */
export function attachmentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

export interface RenewContext {
  now: Date
  secret: string
  origin: string
  days: number
  brand: Brand
}

/**
 * A fresh link for an expired one, emailed to the address on file (never shown on the page, so
 * holding an old link does not reveal whose it was). The old link stays expired.
 */
export async function renewDownloadLink(
  db: Db,
  expired: { id: string; contactId: string; offer: string; file: string },
  offer: OfferInfo | null,
  ctx: RenewContext,
): Promise<{ sent: boolean }> {
  return db.transaction(async (tx) => {
    const [contact] = await tx
      .select({
        email: contacts.email,
        emailDisplay: contacts.emailDisplay,
        firstName: contacts.firstName,
      })
      .from(contacts)
      .where(eq(contacts.id, expired.contactId))
    const address = contact ? parseEmailAddress(contact.emailDisplay) : null
    if (!contact || !address) return { sent: false }
    const fresh = await createDownloadToken(
      tx,
      { contactId: expired.contactId, offer: expired.offer, file: expired.file },
      { secret: ctx.secret, now: ctx.now, days: ctx.days },
    )
    await enqueueAssetEmail(tx, {
      mailbox: address.mailbox,
      recipient: contact.email,
      name: null,
      firstName: contact.firstName,
      assetTitle: offer?.title ?? expired.file,
      assetKind: offer?.kind ?? 'whitepaper',
      downloadUrl: `${ctx.origin}/d/${fresh.token}`,
      expiresInDays: ctx.days,
      brand: ctx.brand,
      origin: ctx.origin,
      dedupeKey: `asset-renewal:${fresh.id}`,
    })
    return { sent: true }
  })
}
