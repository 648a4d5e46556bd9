import { createHash } from 'node:crypto'
import { and, asc, count, eq, gt, isNull } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { users, userTokens } from '../db/schema.ts'
import { canonicalEmail, parseEmailAddress } from '../email-address.ts'
import { newId, newToken } from '../ids.ts'
import { dummyPasswordHash, hashPassword, passwordProblem, verifyPassword } from './passwords.ts'
import { clearRateLimit, hitRateLimit, type Limit } from '../rate-limits.ts'

export type Role = 'admin' | 'rep' | 'sdr'
export const ROLES: readonly Role[] = ['admin', 'rep', 'sdr']
export type User = typeof users.$inferSelect

export type CreateUserResult =
  | { ok: true; user: User }
  | { ok: false; code: 'invalid_email' | 'duplicate_email' | 'weak_password'; message: string }

export async function createUser(
  db: Db,
  input: { email: string; name: string; role: Role; password?: string | null },
): Promise<CreateUserResult> {
  // Stored canonical (punycode domain), like every address we keep: sign-in and mail compare it.
  const address = parseEmailAddress(input.email)
  if (!address)
    return {
      ok: false,
      code: 'invalid_email',
      message: 'Enter an email address like name@company.com.',
    }
  const email = address.canonical
  if (input.password != null) {
    const problem = passwordProblem(input.password, email)
    if (problem) return { ok: false, code: 'weak_password', message: problem }
  }
  const passwordHash = input.password != null ? await hashPassword(input.password) : null
  const rows = await db
    .insert(users)
    .values({ id: newId(), email, name: input.name.trim(), role: input.role, passwordHash })
    .onConflictDoNothing({ target: users.email })
    .returning()
  const user = rows[0]
  if (!user)
    return {
      ok: false,
      code: 'duplicate_email',
      message: `A user with email ${email} already exists.`,
    }
  return { ok: true, user }
}

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users)
  return row?.n ?? 0
}

export async function listUsers(db: Db): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.createdAt))
}

export async function findUser(db: Db, id: string): Promise<User | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id))
  return row ?? null
}

export async function setUserDisabled(
  db: Db,
  id: string,
  disabled: boolean,
  now: Date,
): Promise<User | null> {
  const [row] = await db
    .update(users)
    .set({ disabledAt: disabled ? now : null, updatedAt: now })
    .where(eq(users.id, id))
    .returning()
  return row ?? null
}

export async function setUserRole(db: Db, id: string, role: Role, now: Date): Promise<User | null> {
  const [row] = await db
    .update(users)
    .set({ role, updatedAt: now })
    .where(eq(users.id, id))
    .returning()
  return row ?? null
}

export async function setPassword(
  db: Db,
  userId: string,
  password: string,
  now: Date,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const user = await findUser(db, userId)
  if (!user) return { ok: false, message: 'No such user.' }
  const problem = passwordProblem(password, user.email)
  if (problem) return { ok: false, message: problem }
  await db
    .update(users)
    .set({ passwordHash: await hashPassword(password), updatedAt: now })
    .where(eq(users.id, userId))
  return { ok: true }
}

// ── Sign-in ─────────────────────────────────────────────────────────────────────────────────

export const SIGN_IN_LIMITS = {
  account: { limit: 10, windowMs: 15 * 60 * 1000 } satisfies Limit,
  ip: { limit: 50, windowMs: 15 * 60 * 1000 } satisfies Limit,
}

export type SignInResult =
  | { ok: true; user: User }
  | { ok: false; code: 'invalid_credentials' }
  | { ok: false; code: 'throttled'; retryAfterSeconds: number }

/**
 * Unknown email, wrong password and disabled account give the same answer after the same work
 * (one argon2 verification). Every attempt counts toward the per-account and per-IP throttles;
 * a successful sign-in clears the account's count.
 */
export async function signIn(
  db: Db,
  input: { email: string; password: string; ip: string },
  now: Date,
): Promise<SignInResult> {
  const email = canonicalEmail(input.email)
  const accountKey = `signin:account:${email}`
  const ipKey = `signin:ip:${input.ip}`
  // Count the attempt before the (slow) password check, atomically, so parallel guesses cannot
  // all slip under the limit; a success clears the account's count.
  const [byAccount, byIp] = await Promise.all([
    hitRateLimit(db, accountKey, SIGN_IN_LIMITS.account, now),
    hitRateLimit(db, ipKey, SIGN_IN_LIMITS.ip, now),
  ])
  if (!byAccount.allowed || !byIp.allowed) {
    return {
      ok: false,
      code: 'throttled',
      retryAfterSeconds: Math.max(
        byAccount.allowed ? 0 : byAccount.retryAfterSeconds,
        byIp.allowed ? 0 : byIp.retryAfterSeconds,
      ),
    }
  }
  const [user] = await db.select().from(users).where(eq(users.email, email))
  const hash = user?.passwordHash ?? (await dummyPasswordHash())
  const valid = await verifyPassword(hash, input.password)
  if (!user || !user.passwordHash || user.disabledAt || !valid)
    return { ok: false, code: 'invalid_credentials' }
  await clearRateLimit(db, accountKey)
  return { ok: true, user }
}

// ── One-time links (first-admin setup, invitations, password resets) ────────────────────────

const TOKEN_TTL_MS = {
  setup: 24 * 60 * 60 * 1000,
  invite: 7 * 24 * 60 * 60 * 1000,
  reset: 60 * 60 * 1000,
} as const
export type TokenPurpose = keyof typeof TOKEN_TTL_MS

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export async function createUserToken(
  db: Db,
  purpose: TokenPurpose,
  userId: string | null,
  now: Date,
): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken(24)
  const expiresAt = new Date(now.getTime() + TOKEN_TTL_MS[purpose])
  await db
    .insert(userTokens)
    .values({ id: newId(), tokenHash: hashToken(token), purpose, userId, expiresAt })
  return { token, expiresAt }
}

export async function findUserToken(db: Db, token: string, now: Date) {
  const [row] = await db
    .select()
    .from(userTokens)
    .where(
      and(
        eq(userTokens.tokenHash, hashToken(token)),
        isNull(userTokens.usedAt),
        gt(userTokens.expiresAt, now),
      ),
    )
  return row ?? null
}

/** Marks the token used; false when it was already used (two tabs racing) or has expired. */
export async function consumeUserToken(db: Db, tokenId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(userTokens)
    .set({ usedAt: now })
    .where(
      and(eq(userTokens.id, tokenId), isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)),
    )
    .returning({ id: userTokens.id })
  return rows.length === 1
}
