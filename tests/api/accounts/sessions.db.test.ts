import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { sessions } from '../../../api/db/schema.ts'
import {
  createSession,
  invalidateUserSessions,
  validateSessionToken,
} from '../../../api/accounts/sessions.ts'
import { addUser, setupTestApp } from '../../helpers.ts'

const ctx = await setupTestApp()
const policy = { inactivityMs: 14 * 86_400_000, absoluteMs: 30 * 86_400_000 }
const HOUR = 3_600_000

describe('sessions', () => {
  it('stores only a hash of the secret, and the token validates', async () => {
    const user = await addUser(ctx, 'rep')
    const now = ctx.clock.now()
    const { token, id } = await createSession(ctx.deps.db, user.id, now)
    const [id_, secret] = token.split('.')
    expect(id_).toBe(id)
    expect(secret!.length).toBeGreaterThanOrEqual(26) // ≥128 bits in base32
    const [row] = await ctx.deps.db.select().from(sessions).where(eq(sessions.id, id))
    expect(Buffer.from(row!.secretHash).toString()).not.toContain(secret)
    expect(row!.secretHash.length).toBe(32)
    const valid = await validateSessionToken(ctx.deps.db, token, now, policy)
    expect(valid?.user.email).toBe(user.email)
  })

  it('rejects a token whose secret was tampered with', async () => {
    const user = await addUser(ctx, 'rep')
    const { token } = await createSession(ctx.deps.db, user.id, ctx.clock.now())
    const tampered = token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a')
    expect(await validateSessionToken(ctx.deps.db, tampered, ctx.clock.now(), policy)).toBeNull()
    expect(await validateSessionToken(ctx.deps.db, 'garbage', ctx.clock.now(), policy)).toBeNull()
  })

  it('expires after inactivity, and activity refreshes it at most hourly', async () => {
    const user = await addUser(ctx, 'rep')
    const start = ctx.clock.now()
    const { token, id } = await createSession(ctx.deps.db, user.id, start)
    const later = new Date(start.getTime() + 30 * 60_000)
    await validateSessionToken(ctx.deps.db, token, later, policy)
    let [row] = await ctx.deps.db.select().from(sessions).where(eq(sessions.id, id))
    expect(row!.lastVerifiedAt.getTime()).toBe(start.getTime()) // not refreshed within the hour
    const day13 = new Date(start.getTime() + 13 * 86_400_000)
    expect(await validateSessionToken(ctx.deps.db, token, day13, policy)).not.toBeNull()
    ;[row] = await ctx.deps.db.select().from(sessions).where(eq(sessions.id, id))
    expect(row!.lastVerifiedAt.getTime()).toBe(day13.getTime())
    const idle = new Date(day13.getTime() + 14 * 86_400_000 + HOUR)
    expect(await validateSessionToken(ctx.deps.db, token, idle, policy)).toBeNull()
    expect(await ctx.deps.db.select().from(sessions).where(eq(sessions.id, id))).toHaveLength(0)
  })

  it('ends at the absolute lifetime even when used every day', async () => {
    const user = await addUser(ctx, 'rep')
    const start = ctx.clock.now()
    const { token } = await createSession(ctx.deps.db, user.id, start)
    for (let day = 1; day < 30; day++) {
      expect(
        await validateSessionToken(
          ctx.deps.db,
          token,
          new Date(start.getTime() + day * 86_400_000),
          policy,
        ),
      ).not.toBeNull()
    }
    expect(
      await validateSessionToken(
        ctx.deps.db,
        token,
        new Date(start.getTime() + 30 * 86_400_000),
        policy,
      ),
    ).toBeNull()
  })

  it('revokes all sessions of a user except the one kept', async () => {
    const user = await addUser(ctx, 'rep')
    const now = ctx.clock.now()
    const a = await createSession(ctx.deps.db, user.id, now)
    const b = await createSession(ctx.deps.db, user.id, now)
    await invalidateUserSessions(ctx.deps.db, user.id, a.id)
    expect(await validateSessionToken(ctx.deps.db, a.token, now, policy)).not.toBeNull()
    expect(await validateSessionToken(ctx.deps.db, b.token, now, policy)).toBeNull()
  })
})
