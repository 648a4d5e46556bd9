import { and, asc, count, eq, gt, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { users, userTokens } from '../db/schema.ts'
import { canonicalEmail, parseEmailAddress } from '../email-address.ts'
import { hashToken, newId, newToken } from '../ids.ts'
import { dummyPasswordHash, hashPassword, passwordProblem, verifyPassword } from './passwords.ts'
import {
  clearRateLimit,
  hitRateLimit,
  hitSlidingLimit,
  limitAddress,
  undoHit,
  type Limit,
} from '../rate-limits.ts'
import { invalidateUserSessions } from './sessions.ts'

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
      message: 'A user with that email address already exists.',
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

/**
 * The user, or null. `lock` (in a transaction) holds their row until it ends, so a change made
 * at the same time (disabling them) waits for it, or is what it reads.
 */
export async function findUser(
  db: Db,
  id: string,
  options: { lock?: boolean } = {},
): Promise<User | null> {
  const query = db.select().from(users).where(eq(users.id, id))
  const [row] = await (options.lock ? query.for('update') : query)
  return row ?? null
}

export type AccountChange =
  { ok: true; user: User } | { ok: false; code: 'not_found' | 'last_admin'; message: string }

const notFound = { ok: false, code: 'not_found', message: 'Unknown user.' } as const
const lastAdmin = {
  ok: false,
  code: 'last_admin',
  message: 'This is the last active admin: make someone else an admin first.',
} as const

/**
 * Whether an active admin other than `id` remains. Locks the active admins' rows, so two admins
 * demoting or disabling each other at once cannot both succeed and leave nobody to manage users:
 * the second waits, then no longer counts the first's change as an admin.
 */
async function anotherAdminRemains(tx: Db, id: string): Promise<boolean> {
  const admins = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'admin'), isNull(users.disabledAt)))
    .for('update')
  return admins.some((admin) => admin.id !== id) || !admins.some((admin) => admin.id === id)
}

/**
 * Sets `set` on a user, in a transaction that first makes sure an active admin other than them
 * remains when the change takes their admin rights away (`removesAdmin`). `then` runs in the same
 * transaction, with the user's row held, once the change is made.
 */
async function changeAccount(
  db: Db,
  id: string,
  removesAdmin: boolean,
  set: Partial<typeof users.$inferInsert>,
  then?: (tx: Db) => Promise<unknown>,
): Promise<AccountChange> {
  return db.transaction(async (tx) => {
    if (removesAdmin && !(await anotherAdminRemains(tx, id))) return lastAdmin
    const [row] = await tx.update(users).set(set).where(eq(users.id, id)).returning()
    if (!row) return notFound
    await then?.(tx)
    return { ok: true, user: row }
  })
}

/**
 * Disabling also ends the user's sessions and every password link still out (its holder would
 * choose the password the account comes back with), all in one transaction: never disabled with
 * a link that still works, nor links ended on an account still active.
 */
export function setUserDisabled(
  db: Db,
  id: string,
  disabled: boolean,
  now: Date,
): Promise<AccountChange> {
  const set = { disabledAt: disabled ? now : null, updatedAt: now }
  return changeAccount(
    db,
    id,
    disabled,
    set,
    disabled
      ? async (tx) => {
          await invalidateUserSessions(tx, id)
          await revokeUserTokens(tx, PASSWORD_LINKS, now, id)
        }
      : undefined,
  )
}

export function setUserRole(db: Db, id: string, role: Role, now: Date): Promise<AccountChange> {
  return changeAccount(db, id, role !== 'admin', { role, updatedAt: now })
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

const QUARTER_HOUR = 15 * 60 * 1000

/**
 * Failed sign-ins counted in sliding 15-minute windows. One address may fail 5 times on one
 * account and 50 times in all; beyond that it is refused for a while. An account failing 10 times
 * from anywhere is being guessed at: it is not locked (that would let anyone lock anyone out),
 * but addresses that failed on it are refused, fresh ones get one attempt per 2 s between them,
 * and the user is told by email.
 */
export const SIGN_IN_LIMITS = {
  addressAccount: { limit: 5, windowMs: QUARTER_HOUR } satisfies Limit,
  address: { limit: 50, windowMs: QUARTER_HOUR } satisfies Limit,
  account: { limit: 10, windowMs: QUARTER_HOUR } satisfies Limit,
  /** While an account is guessed at: attempts from fresh addresses, one per this. */
  paceMs: 2_000,
  /** At most one alert email per account per this. */
  alertEveryMs: 60 * 60 * 1000,
}

export type SignInResult =
  | { ok: true; user: User }
  | { ok: false; code: 'invalid_credentials' }
  | { ok: false; code: 'throttled'; retryAfterSeconds: number }

export interface SignInCounts {
  /** Sliding counts including this attempt. */
  addressAccount: { count: number; retryAfterSeconds: number }
  address: { count: number; retryAfterSeconds: number }
  account: { count: number }
}

/**
 * Whether an attempt may go on to the password check: 'check', or refused for a while, or
 * 'pace' (the account is guessed at and this address has not failed on it: one attempt per
 * pace interval among all such addresses). Pure.
 */
export function signInGate(
  counts: SignInCounts,
): { gate: 'check' } | { gate: 'pace' } | { gate: 'refuse'; retryAfterSeconds: number } {
  const { addressAccount, address, account } = counts
  const refuse = (retryAfterSeconds: number) => ({ gate: 'refuse' as const, retryAfterSeconds })
  if (address.count > SIGN_IN_LIMITS.address.limit) return refuse(address.retryAfterSeconds)
  if (addressAccount.count > SIGN_IN_LIMITS.addressAccount.limit)
    return refuse(addressAccount.retryAfterSeconds)
  if (account.count <= SIGN_IN_LIMITS.account.limit) return { gate: 'check' }
  // Guessed at: an address with a failure on this account waits out its window.
  if (addressAccount.count - 1 >= 1) return refuse(addressAccount.retryAfterSeconds || 60)
  return { gate: 'pace' }
}

export interface SignInOptions {
  /**
   * Called (at most once an hour per account) when an existing account is being guessed at, with
   * the wrong passwords checked for it in the last 15 minutes (sliding): attempts refused before
   * the check (throttled, paced) tried no password and are not among them.
   */
  onGuessing?: (user: User, failures: number) => Promise<void>
}

/**
 * Unknown email, wrong password and disabled account give the same answer after the same work
 * (one argon2 verification). Every attempt is counted before the (slow) check, atomically, so
 * parallel guesses cannot all slip under a limit; a successful one is taken back.
 */
export async function signIn(
  db: Db,
  input: { email: string; password: string; ip: string },
  now: Date,
  options: SignInOptions = {},
): Promise<SignInResult> {
  const email = canonicalEmail(input.email)
  const ip = limitAddress(input.ip)
  const keys = {
    addressAccount: `signin:pair:${ip}:${email}`,
    address: `signin:ip:${ip}`,
    account: `signin:account:${email}`,
    /** Wrong passwords checked: what the alert reports (the account key counts every attempt). */
    failed: `signin:failed:${email}`,
  }
  const [addressAccount, address, account] = await Promise.all([
    hitSlidingLimit(db, keys.addressAccount, SIGN_IN_LIMITS.addressAccount, now),
    hitSlidingLimit(db, keys.address, SIGN_IN_LIMITS.address, now),
    hitSlidingLimit(db, keys.account, SIGN_IN_LIMITS.account, now),
  ])
  // The pair counts password checks only: an attempt refused unchecked (paced, say) is not a
  // failure of this address on this account.
  const throttled = async (retryAfterSeconds: number): Promise<SignInResult> => {
    await undoHit(db, keys.addressAccount, SIGN_IN_LIMITS.addressAccount, now)
    return { ok: false, code: 'throttled', retryAfterSeconds }
  }
  const gate = signInGate({ addressAccount, address, account })
  if (gate.gate === 'refuse') return throttled(gate.retryAfterSeconds)
  if (gate.gate === 'pace') {
    const pace = { limit: 1, windowMs: SIGN_IN_LIMITS.paceMs }
    const slot = await hitRateLimit(db, `signin:pace:${email}`, pace, now)
    if (!slot.allowed) return throttled(slot.retryAfterSeconds)
  }
  const [user] = await db.select().from(users).where(eq(users.email, email))
  const hash = user?.passwordHash ?? (await dummyPasswordHash())
  const valid = await verifyPassword(hash, input.password)
  if (!user || !user.passwordHash || user.disabledAt || !valid) {
    // Counted for every address, known or not, so a wrong password costs the same either way.
    const failed = await hitSlidingLimit(db, keys.failed, SIGN_IN_LIMITS.account, now)
    if (
      user &&
      !user.disabledAt &&
      account.count > SIGN_IN_LIMITS.account.limit &&
      options.onGuessing
    ) {
      const alert = { limit: 1, windowMs: SIGN_IN_LIMITS.alertEveryMs }
      if ((await hitRateLimit(db, `signin:alert:${email}`, alert, now)).count === 1)
        await options.onGuessing(user, failed.count)
    }
    return { ok: false, code: 'invalid_credentials' }
  }
  await Promise.all([
    clearRateLimit(db, keys.addressAccount),
    undoHit(db, keys.address, SIGN_IN_LIMITS.address, now),
    undoHit(db, keys.account, SIGN_IN_LIMITS.account, now),
  ])
  return { ok: true, user }
}

// ── One-time links (first-admin setup, invitations, password resets) ────────────────────────

const TOKEN_TTL_MS = {
  setup: 24 * 60 * 60 * 1000,
  invite: 7 * 24 * 60 * 60 * 1000,
  reset: 60 * 60 * 1000,
} as const
export type TokenPurpose = keyof typeof TOKEN_TTL_MS

/** How long a link lasts at most. */
export function tokenLifetimeMs(purpose: TokenPurpose): number {
  return TOKEN_TTL_MS[purpose]
}

export async function createUserToken(
  db: Db,
  purpose: TokenPurpose,
  userId: string | null,
  now: Date,
  /** Sooner than its purpose's lifetime (a link kept alive by renewing it, renewUserToken). */
  expiresAt = new Date(now.getTime() + TOKEN_TTL_MS[purpose]),
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = newToken(24)
  const id = newId()
  await db
    .insert(userTokens)
    .values({ id, tokenHash: hashToken(token), purpose, userId, expiresAt })
  return { id, token, expiresAt }
}

/** Moves a live link's expiry to `expiresAt`; false when it is used or has expired. */
export async function renewUserToken(
  db: Db,
  tokenId: string,
  expiresAt: Date,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(userTokens)
    .set({ expiresAt })
    .where(
      and(eq(userTokens.id, tokenId), isNull(userTokens.usedAt), gt(userTokens.expiresAt, now)),
    )
    .returning({ id: userTokens.id })
  return rows.length === 1
}

/**
 * Holds every live first-admin setup link until the transaction ends, in one order, and says
 * whether `tokenId` is one: of two links used at once (several servers print one each), the
 * second waits for the first and then finds an admin exists.
 */
export async function lockSetupLinks(db: Db, tokenId: string, now: Date): Promise<boolean> {
  const live = await db
    .select({ id: userTokens.id })
    .from(userTokens)
    .where(
      and(
        eq(userTokens.purpose, 'setup'),
        isNull(userTokens.usedAt),
        gt(userTokens.expiresAt, now),
      ),
    )
    .orderBy(asc(userTokens.id))
    .for('update')
  return live.some((row) => row.id === tokenId)
}

/** Ends every live link for `purpose` (and `userId`, when given): the next one replaces them. */
export async function revokeUserTokens(
  db: Db,
  purpose: TokenPurpose | readonly TokenPurpose[],
  now: Date,
  userId?: string,
): Promise<number> {
  const purposes = typeof purpose === 'string' ? [purpose] : [...purpose]
  const rows = await db
    .update(userTokens)
    .set({ expiresAt: now })
    .where(
      and(
        inArray(userTokens.purpose, purposes),
        isNull(userTokens.usedAt),
        gt(userTokens.expiresAt, now),
        ...(userId ? [eq(userTokens.userId, userId)] : []),
      ),
    )
    .returning({ id: userTokens.id })
  return rows.length
}

/** The links that set a user's password: each new one, or a password set, ends the others. */
export const PASSWORD_LINKS = ['invite', 'reset'] as const satisfies readonly TokenPurpose[]

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

/** What a password link says to the person when their account is disabled. */
export const DISABLED_ACCOUNT_LINK =
  'This account is disabled, so its password cannot be set. Ask your admin to enable it and send you a new link.'

/**
 * Where an invitation or reset link stands, for its page and its form: `live` (it can set the
 * password), `disabled` (the account is disabled: no link of theirs works, whether this one is
 * still live or was ended by the disable, and the person must ask an admin) or `spent` (used,
 * expired, replaced, or no such link).
 */
export type PasswordLink =
  | { state: 'live' | 'disabled'; tokenId: string; purpose: 'invite' | 'reset'; user: User }
  | { state: 'spent' }

export async function readPasswordLink(db: Db, token: string, now: Date): Promise<PasswordLink> {
  const [row] = await db
    .select({ token: userTokens, user: users })
    .from(userTokens)
    .innerJoin(users, eq(users.id, userTokens.userId))
    .where(eq(userTokens.tokenHash, hashToken(token)))
  if (!row || row.token.purpose === 'setup') return { state: 'spent' }
  const { id: tokenId, purpose, usedAt, expiresAt } = row.token
  const link = { tokenId, purpose, user: row.user }
  if (row.user.disabledAt) return { state: 'disabled', ...link }
  if (usedAt || expiresAt <= now) return { state: 'spent' }
  return { state: 'live', ...link }
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

/** The zone a person works in (UTC until they choose one). */
export async function zoneOf(db: Db, userId: string): Promise<string> {
  const [row] = await db
    .select({ timeZone: users.timeZone })
    .from(users)
    .where(eq(users.id, userId))
  return row?.timeZone ?? 'UTC'
}
