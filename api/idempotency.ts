import { createHash } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { z } from 'zod'
import type { Db } from './db/client.ts'
import { idempotencyKeys } from './db/schema.ts'

// Idempotency keys, for every request that creates something: a rendered form carries a fresh
// key (a lead form, the deal page's plan and log forms), an API client may send one. The first
// request with a key claims it in its own transaction and keeps its answer there; the same key
// again (a double click, a browser retry, Back and resubmit) gets that answer back and writes
// nothing. On PostgreSQL a concurrent duplicate waits for the holder's commit, then replays. The
// same key with another body is a conflict. Keys are kept a week (background.ts).

/** What a form or client may send as its key. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9-]{8,100}$/, 'The form key is not valid; reload the page.')

export interface IdempotentRequest {
  /** What the key belongs to (a front door, an action); keys are stored as `<scope>:<key>`. */
  scope: string
  key: string
  /** requestHash of what was sent. */
  requestHash: string
  now: Date
}

export type Claim =
  /** The first request with the key: do the work, then keepIdempotentAnswer. */
  | { kind: 'claimed'; key: string }
  /** The same request again: the first one's answer. */
  | { kind: 'replayed'; status: number | null; response: unknown }
  /** The same key with another body. */
  | { kind: 'conflict' }

/** Claims a key for a request, in the caller's transaction, or says what it already answered. */
export async function claimIdempotencyKey(tx: Db, request: IdempotentRequest): Promise<Claim> {
  const key = `${request.scope}:${request.key}`
  // On PostgreSQL this waits for a concurrent holder of the key to commit, then skips.
  const claimed = await tx
    .insert(idempotencyKeys)
    .values({
      key,
      scope: request.scope,
      requestHash: request.requestHash,
      createdAt: request.now,
    })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key })
  if (claimed.length > 0) return { kind: 'claimed', key }
  const [row] = await tx.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key))
  if (!row || row.response === null) throw new Error('idempotency key held without an answer')
  if (row.requestHash !== request.requestHash) return { kind: 'conflict' }
  return { kind: 'replayed', status: row.status, response: row.response }
}

/** Keeps the answer of a claimed key, in the same transaction as the work it answers for. */
export async function keepIdempotentAnswer(
  tx: Db,
  claim: { key: string },
  status: number,
  response: unknown,
): Promise<void> {
  await tx
    .update(idempotencyKeys)
    .set({ status, response })
    .where(eq(idempotencyKeys.key, claim.key))
}

/** What "the same request" means for a key: every field sent, in a stable order. */
export function requestHash(raw: Record<string, unknown>): string {
  const entries = Object.keys(raw)
    .sort()
    .map((key) => [key, String(raw[key])])
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex')
}

/** The answer kept for a key, or null when there is none (yet). */
export async function idempotentAnswer(db: Db, scope: string, key: string): Promise<unknown> {
  const [row] = await db
    .select({ response: idempotencyKeys.response })
    .from(idempotencyKeys)
    .where(eq(idempotencyKeys.key, `${scope}:${key}`))
  return row?.response ?? null
}
