import { randomBytes } from 'node:crypto'
import { sha256 } from '@oslojs/crypto/sha2'
import { constantTimeEqual } from '@oslojs/crypto/subtle'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'
import { and, eq, lt, ne, or } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { sessions, users } from '../db/schema.ts'
import type { SessionPolicy } from '../deps.ts'

// Sessions as in Lucia's current guide: token "<id>.<secret>", only SHA-256(secret) stored,
// compared in constant time; an inactivity timeout refreshed at most hourly plus an absolute lifetime.

export const SESSION_COOKIE = 'fd_session'
const ACTIVITY_REFRESH_MS = 60 * 60 * 1000

/** Who is signed in: with the zone they work in, so pages show times on their clock. */
export type SessionUser = Pick<
  typeof users.$inferSelect,
  'id' | 'email' | 'name' | 'role' | 'timeZone'
>

/** The signed-in person as a request carries them (a session's or an API token's). */
export function sessionUserOf(user: typeof users.$inferSelect): SessionUser {
  const { id, email, name, role, timeZone } = user
  return { id, email, name, role, timeZone }
}

export interface ValidSession {
  session: { id: string; userId: string; createdAt: Date; lastVerifiedAt: Date }
  user: SessionUser
  /** Latest moment the cookie should live until. */
  expiresAt: Date
}

function randomString(): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(20)) // 160 bits
}

function hashSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret))
}

export async function createSession(
  db: Db,
  userId: string,
  now: Date,
  meta: { ip?: string | null; userAgent?: string | null } = {},
): Promise<{ token: string; id: string }> {
  const id = randomString()
  const secret = randomString()
  await db.insert(sessions).values({
    id,
    userId,
    secretHash: hashSecret(secret),
    createdAt: now,
    lastVerifiedAt: now,
    ip: meta.ip ?? null,
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
  })
  return { token: `${id}.${secret}`, id }
}

export async function validateSessionToken(
  db: Db,
  token: string,
  now: Date,
  policy: SessionPolicy,
): Promise<ValidSession | null> {
  const parts = token.split('.')
  if (parts.length !== 2 || !parts[0] || !parts[1] || parts[0].length > 64 || parts[1].length > 64)
    return null
  const [id, secret] = parts as [string, string]
  const rows = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, id))
    .limit(1)
  const row = rows[0]
  if (!row) return null
  const { session, user } = row
  if (!constantTimeEqual(hashSecret(secret), session.secretHash)) return null
  const inactiveFor = now.getTime() - session.lastVerifiedAt.getTime()
  const age = now.getTime() - session.createdAt.getTime()
  if (user.disabledAt || inactiveFor >= policy.inactivityMs || age >= policy.absoluteMs) {
    await db.delete(sessions).where(eq(sessions.id, id))
    return null
  }
  let lastVerifiedAt = session.lastVerifiedAt
  if (inactiveFor >= ACTIVITY_REFRESH_MS) {
    lastVerifiedAt = now
    await db.update(sessions).set({ lastVerifiedAt: now }).where(eq(sessions.id, id))
  }
  const expiresAt = new Date(
    Math.min(
      lastVerifiedAt.getTime() + policy.inactivityMs,
      session.createdAt.getTime() + policy.absoluteMs,
    ),
  )
  return {
    session: { id, userId: session.userId, createdAt: session.createdAt, lastVerifiedAt },
    user: sessionUserOf(user),
    expiresAt,
  }
}

export async function invalidateSession(db: Db, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId))
}

/** Revoke every session of a user, optionally keeping one (the caller's own). */
export async function invalidateUserSessions(
  db: Db,
  userId: string,
  exceptSessionId?: string,
): Promise<void> {
  await db
    .delete(sessions)
    .where(
      exceptSessionId
        ? and(eq(sessions.userId, userId), ne(sessions.id, exceptSessionId))
        : eq(sessions.userId, userId),
    )
}

/**
 * Deletes sessions past their inactivity or absolute expiry. Validation deletes an expired
 * session it is shown; this catches the ones nobody presents again.
 */
export async function pruneExpiredSessions(
  db: Db,
  now: Date,
  policy: SessionPolicy,
): Promise<number> {
  const deleted = await db
    .delete(sessions)
    .where(
      or(
        lt(sessions.lastVerifiedAt, new Date(now.getTime() - policy.inactivityMs)),
        lt(sessions.createdAt, new Date(now.getTime() - policy.absoluteMs)),
      ),
    )
    .returning({ id: sessions.id })
  return deleted.length
}

/** The session cookie, set for as long as the session may live (`expiresAt`). */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean, now: Date): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000))
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAge}${secure ? '; Secure' : ''}`
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0${secure ? '; Secure' : ''}`
}
