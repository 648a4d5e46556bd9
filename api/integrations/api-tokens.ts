import { sha256 } from '@oslojs/crypto/sha2'
import { constantTimeEqual } from '@oslojs/crypto/subtle'
import { desc, eq, sql } from 'drizzle-orm'
import type { ApiScope } from '../accounts/api-scopes.ts'
import { sessionUserOf, type SessionUser } from '../accounts/sessions.ts'
import type { Db } from '../db/client.ts'
import { apiTokens, users } from '../db/schema.ts'
import { newToken } from '../ids.ts'

// API tokens, built like sessions (api/accounts/sessions.ts): "fdt_<id>.<secret>", only
// SHA-256(secret) stored and compared in constant time. The prefix lets secret scanners spot a
// leaked token. A token acts for the admin who made it, narrowed to its scopes, and stops working
// when it is revoked, expires, or its admin is disabled or no longer an admin.

export const TOKEN_PREFIX = 'fdt_'
/** A token made through the page's plain form reaches the page once, in this cookie. */
export const NEW_TOKEN_COOKIE = 'fd_new_api_token'
/** Last use is written at most this often, so a busy integration does not write on every call. */
const LAST_USE_EVERY_MS = 60_000

export type ApiTokenRow = typeof apiTokens.$inferSelect

export interface NewApiToken {
  name: string
  scopes: readonly ApiScope[]
  expiresAt: Date | null
}

export interface ValidApiToken {
  id: string
  scopes: string[]
  user: SessionUser
}

function hashSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret))
}

/** Creates a token; the returned `token` is the only time its secret exists outside a hash. */
export async function createApiToken(
  db: Db,
  createdBy: string,
  input: NewApiToken,
  now: Date,
): Promise<{ token: string; row: ApiTokenRow }> {
  const id = newToken()
  const secret = newToken()
  const [row] = await db
    .insert(apiTokens)
    .values({
      id,
      name: input.name,
      secretHash: hashSecret(secret),
      scopes: [...input.scopes],
      createdBy,
      createdAt: now,
      expiresAt: input.expiresAt,
    })
    .returning()
  return { token: `${TOKEN_PREFIX}${id}.${secret}`, row: row! }
}

/** The token's admin and scopes, or null: malformed, unknown, tampered, revoked or expired. */
export async function validateApiToken(
  db: Db,
  token: string,
  now: Date,
): Promise<ValidApiToken | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null
  const parts = token.slice(TOKEN_PREFIX.length).split('.')
  if (parts.length !== 2 || !parts[0] || !parts[1] || parts[0].length > 64 || parts[1].length > 64)
    return null
  const [id, secret] = parts as [string, string]
  const [row] = await db
    .select({ token: apiTokens, user: users })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.createdBy))
    .where(eq(apiTokens.id, id))
    .limit(1)
  if (!row) return null
  const { token: stored, user } = row
  if (!constantTimeEqual(hashSecret(secret), stored.secretHash)) return null
  if (stored.revokedAt) return null
  if (stored.expiresAt && stored.expiresAt.getTime() <= now.getTime()) return null
  if (user.disabledAt || user.role !== 'admin') return null
  if (!stored.lastUsedAt || now.getTime() - stored.lastUsedAt.getTime() >= LAST_USE_EVERY_MS)
    await db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, id))
  return {
    id,
    scopes: stored.scopes,
    user: sessionUserOf(user),
  }
}

export interface ApiTokenListItem {
  id: string
  name: string
  scopes: string[]
  /** `canAct`: still an admin and not disabled; otherwise the token is refused. */
  createdBy: { id: string; name: string; canAct: boolean }
  createdAt: Date
  expiresAt: Date | null
  lastUsedAt: Date | null
  revokedAt: Date | null
}

/** Every token, newest first, without anything secret. */
export async function listApiTokens(db: Db): Promise<ApiTokenListItem[]> {
  const rows = await db
    .select({
      token: apiTokens,
      creatorName: users.name,
      creatorRole: users.role,
      creatorDisabledAt: users.disabledAt,
    })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.createdBy))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
  return rows.map(({ token, creatorName, creatorRole, creatorDisabledAt }) => ({
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    createdBy: {
      id: token.createdBy,
      name: creatorName,
      canAct: creatorRole === 'admin' && !creatorDisabledAt,
    },
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    lastUsedAt: token.lastUsedAt,
    revokedAt: token.revokedAt,
  }))
}

/** Revokes a token; false when there is no such token (revoking twice is fine). */
export async function revokeApiToken(db: Db, id: string, now: Date): Promise<boolean> {
  const updated = await db
    .update(apiTokens)
    .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, ${now})` })
    .where(eq(apiTokens.id, id))
    .returning({ id: apiTokens.id })
  return updated.length === 1
}
