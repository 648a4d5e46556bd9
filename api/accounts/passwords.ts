import { hash, verify } from '@node-rs/argon2'

// OWASP minimum for argon2id: 19 MiB, 2 iterations, parallelism 1 (the library defaults are lower).
const options = {
  algorithm: 2 /* Argon2id */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const

export const MIN_PASSWORD_LENGTH = 10

export function hashPassword(password: string): Promise<string> {
  return hash(password, options)
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

/** A hash of a random string: verified against when the account does not exist, so timing matches. */
let dummyHash: Promise<string> | null = null
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword('not-a-real-password-' + Math.random())
  return dummyHash
}

/** null when acceptable, else the reason. */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `Password must be at least ${MIN_PASSWORD_LENGTH} characters.`
  if (password.length > 256) return 'Password must be at most 256 characters.'
  if (/^(.)\1+$/.test(password)) return 'Password must not be one repeated character.'
  const local = email?.split('@')[0]?.toLowerCase() ?? ''
  if (local.length >= 4 && password.toLowerCase().includes(local))
    return 'Password must not contain your email name.'
  const common = ['password', '1234567890', 'qwertyuiop', 'letmein123', 'frontdoor1']
  if (common.some((c) => password.toLowerCase().startsWith(c))) return 'Password is too common.'
  return null
}
