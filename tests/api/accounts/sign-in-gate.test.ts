import { describe, expect, it } from 'vitest'
import { signInGate } from '../../../api/accounts/users.ts'
import { slidingCount } from '../../../api/rate-limits.ts'

const counts = (addressAccount: number, address: number, account: number) => ({
  addressAccount: { count: addressAccount, retryAfterSeconds: 90 },
  address: { count: address, retryAfterSeconds: 120 },
  account: { count: account },
})

describe('signInGate', () => {
  it('checks the password while nothing is over its limit', () => {
    expect(signInGate(counts(1, 1, 1))).toEqual({ gate: 'check' })
    expect(signInGate(counts(5, 50, 10))).toEqual({ gate: 'check' })
  })
  it('refuses an address over its own limits', () => {
    expect(signInGate(counts(6, 6, 6))).toEqual({ gate: 'refuse', retryAfterSeconds: 90 })
    expect(signInGate(counts(1, 51, 1))).toEqual({ gate: 'refuse', retryAfterSeconds: 120 })
  })
  it('paces a fresh address on a guessed-at account, refuses one that failed on it', () => {
    expect(signInGate(counts(1, 1, 11))).toEqual({ gate: 'pace' })
    expect(signInGate(counts(2, 2, 11))).toMatchObject({ gate: 'refuse' })
  })
})

describe('slidingCount', () => {
  const window = 15 * 60_000
  const start = new Date('2026-11-29T10:00:00Z').getTime()
  it('weighs the previous window by how much of it still overlaps', () => {
    expect(slidingCount(0, 10, new Date(start), window)).toBe(10)
    expect(slidingCount(2, 10, new Date(start + window / 2), window)).toBe(7)
    expect(slidingCount(3, 10, new Date(start + window - 1), window)).toBeCloseTo(3, 3)
  })
})
