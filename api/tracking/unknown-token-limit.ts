import { LRUCache } from 'lru-cache'
import { limitAddress } from '../rate-limits.ts'

// A per-IP limit on lookups of tokens that turn out unknown: someone walking the token space
// gets a 429 page instead of a query per guess. In memory, per process, on purpose: it only
// protects this process's database round trips, and a shared counter would cost the very query
// it saves. The rule is pure (window counting with `now` passed in); the map is a bounded LRU,
// keyed like every per-IP limit (limitAddress: an IPv6 client counts as its /64).

export interface UnknownTokenRule {
  limit: number
  windowMs: number
}

export interface WindowCount {
  start: number
  count: number
}

export const UNKNOWN_TOKEN_RULE: UnknownTokenRule = { limit: 30, windowMs: 60_000 }

/** The window `now` falls in, carried over from `previous` if it is the same one. */
export function currentWindow(
  previous: WindowCount | undefined,
  now: Date,
  rule: UnknownTokenRule,
): WindowCount {
  const start = Math.floor(now.getTime() / rule.windowMs) * rule.windowMs
  return previous && previous.start === start ? previous : { start, count: 0 }
}

/** Whether another lookup may run; when not, the seconds until the window turns. */
export function unknownLookupVerdict(
  previous: WindowCount | undefined,
  now: Date,
  rule: UnknownTokenRule,
): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  const window = currentWindow(previous, now, rule)
  if (window.count < rule.limit) return { allowed: true }
  return {
    allowed: false,
    retryAfterSeconds: Math.max(
      1,
      Math.ceil((window.start + rule.windowMs - now.getTime()) / 1000),
    ),
  }
}

export interface UnknownTokenLimit {
  check(ip: string, now: Date): ReturnType<typeof unknownLookupVerdict>
  /** Count one lookup that found no link. */
  miss(ip: string, now: Date): void
}

export function createUnknownTokenLimit(
  rule = UNKNOWN_TOKEN_RULE,
  maxIps = 10_000,
): UnknownTokenLimit {
  const windows = new LRUCache<string, WindowCount>({ max: maxIps })
  return {
    check: (ip, now) => unknownLookupVerdict(windows.get(limitAddress(ip)), now, rule),
    miss(ip, now) {
      const key = limitAddress(ip)
      const window = currentWindow(windows.get(key), now, rule)
      windows.set(key, { start: window.start, count: window.count + 1 })
    },
  }
}
