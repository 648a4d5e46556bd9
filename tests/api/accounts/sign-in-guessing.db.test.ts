import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { outbox } from '../../../api/db/schema.ts'
import { addUser, json, PASSWORD, setupTestApp } from '../../helpers.ts'

// Issue 19, item 4: ten wrong passwords from anywhere used to lock an account, right password
// included, on a fixed window. Now failures count in sliding windows per address, per address and
// account, and per account; a guessed-at account slows down instead of locking, and its user is told.

const ctx = await setupTestApp({
  TRUST_PROXY: 'true',
  MAIL_FROM: 'Frontdoor <hello@frontdoor.example>',
})

let n = 0
const freshAddress = () => `198.51.100.${++n}`
const attempt = (email: string, password: string, ip: string) =>
  ctx.app.request('/api/sessions', json({ email, password }, { 'x-forwarded-for': ip }))
const alerts = async (email: string) =>
  (
    await ctx.deps.db
      .select()
      .from(outbox)
      .where(
        sql`${outbox.recipient} = ${email} and ${outbox.payload}->>'template' = 'sign-in-alert'`,
      )
  ).length

describe('an account being guessed at from many addresses', () => {
  it('still lets its owner in with the right password, after a short pause, and emails them once', async () => {
    const user = await addUser(ctx, 'rep')
    for (let i = 0; i < 30; i++) {
      const res = await attempt(user.email, 'wrong-password', freshAddress())
      expect([401, 429]).toContain(res.status)
    }
    // The owner, from an address that never failed, right now: the account's pace slot is taken.
    const owner = freshAddress()
    const paced = await attempt(user.email, PASSWORD, owner)
    expect(paced.status).toBe(429)
    expect(Number(paced.headers.get('retry-after'))).toBeLessThanOrEqual(2)
    ctx.clock.advance(2_000)
    expect((await attempt(user.email, PASSWORD, owner)).status).toBe(201)

    expect(await alerts(user.email)).toBe(1)
    const [mail] = await ctx.deps.db
      .select()
      .from(outbox)
      .where(
        sql`${outbox.recipient} = ${user.email} and ${outbox.payload}->>'template' = 'sign-in-alert'`,
      )
    const text = (mail!.payload as { text: string }).text
    expect(text).toContain('wrong password 11 times in the last 15 minutes')
    expect(text).toContain('Your account is not locked')
  })

  it('counts in its alert only the passwords it checked, not attempts refused before the check', async () => {
    const user = await addUser(ctx, 'rep')
    // At the start of a window, so the sliding counts are exact.
    const quarter = 15 * 60_000
    ctx.clock.set(new Date(Math.ceil(ctx.clock.now().getTime() / quarter) * quarter + quarter))
    const guesser = freshAddress()
    for (let i = 0; i < 5; i++)
      expect((await attempt(user.email, 'wrong-password', guesser)).status).toBe(401)
    for (let i = 0; i < 5; i++)
      expect((await attempt(user.email, 'wrong-password', freshAddress())).status).toBe(401)
    // Twelve attempts, the last two refused unchecked (this address failed five times here)…
    for (let i = 0; i < 2; i++)
      expect((await attempt(user.email, 'wrong-password', guesser)).status).toBe(429)
    expect(await alerts(user.email)).toBe(0)
    // …then one more, checked: eleven wrong passwords, not thirteen attempts.
    expect((await attempt(user.email, 'wrong-password', freshAddress())).status).toBe(401)
    const [mail] = await ctx.deps.db
      .select()
      .from(outbox)
      .where(
        sql`${outbox.recipient} = ${user.email} and ${outbox.payload}->>'template' = 'sign-in-alert'`,
      )
    expect((mail!.payload as { text: string }).text).toContain(
      'wrong password 11 times in the last 15 minutes',
    )
  })

  it('refuses an address that failed on it, even with the right password', async () => {
    const user = await addUser(ctx, 'rep')
    const guesser = freshAddress()
    expect((await attempt(user.email, 'wrong-password', guesser)).status).toBe(401)
    for (let i = 0; i < 10; i++) {
      ctx.clock.advance(2_000)
      await attempt(user.email, 'wrong-password', freshAddress())
    }
    ctx.clock.advance(2_000)
    const res = await attempt(user.email, PASSWORD, guesser)
    expect(res.status).toBe(429)
  })

  it('sends no alert for an unknown address', async () => {
    for (let i = 0; i < 15; i++)
      await attempt('nobody@frontdoor.example', 'x-wrong', freshAddress())
    expect(await alerts('nobody@frontdoor.example')).toBe(0)
  })
})

describe('one address guessing one account', () => {
  it('is refused after 5 failures, and a window boundary does not give it 5 more', async () => {
    const user = await addUser(ctx, 'rep')
    const ip = freshAddress()
    // Windows are aligned to quarter hours; the last second of one…
    const now = ctx.clock.now().getTime()
    const quarter = 15 * 60_000
    ctx.clock.set(new Date(Math.ceil(now / quarter) * quarter + quarter - 1_000))
    for (let i = 0; i < 5; i++)
      expect((await attempt(user.email, 'wrong-password', ip)).status).toBe(401)
    ctx.clock.advance(2_000) // …and the first of the next.
    const sixth = await attempt(user.email, 'wrong-password', ip)
    expect(sixth.status).toBe(429)
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(60)
    // The owner elsewhere is not affected.
    expect((await attempt(user.email, PASSWORD, freshAddress())).status).toBe(201)
    // Once its failures are a whole window behind it, the address may try again.
    ctx.clock.advance(16 * 60_000)
    expect((await attempt(user.email, PASSWORD, ip)).status).toBe(201)
  })
})
