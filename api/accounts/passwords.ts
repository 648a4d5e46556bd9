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

const MAX_PASSWORD_LENGTH = 256
/** Passwords that start like these are refused as common. */
const COMMON_STARTS = ['password', '1234567890', 'qwertyuiop', 'letmein123', 'frontdoor1']
/** The part of an email address a password may not contain (only when it is 4 characters or more). */
const emailName = (email: string | null | undefined) => {
  const local = email?.split('@')[0]?.toLowerCase() ?? ''
  return local.length >= 4 ? local : ''
}

/** null when acceptable, else the reason. */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `Password must be at least ${MIN_PASSWORD_LENGTH} characters.`
  if (password.length > MAX_PASSWORD_LENGTH)
    return `Password must be at most ${MAX_PASSWORD_LENGTH} characters.`
  if (/^(.)\1+$/.test(password)) return 'Password must not be one repeated character.'
  const local = emailName(email)
  if (local && password.toLowerCase().includes(local))
    return 'Password must not contain your email name.'
  if (COMMON_STARTS.some((c) => password.toLowerCase().startsWith(c)))
    return 'Password is too common.'
  return null
}

/**
 * Every rule passwordProblem applies, in words, for the hint beside a new password's field, so
 * none is learnt only from a refusal. With the account's email, its name is spelt out; without
 * (a form where it is typed too), the rule says which part of the address. `whose`: the person
 * choosing it ("your") or an admin for someone else ("their").
 */
export function passwordRules(email: string | null, whose: 'your' | 'their' = 'your'): string {
  const local = emailName(email)
  const name = email
    ? local && `not containing “${local}” (${whose} email’s name)`
    : `not containing the part of ${whose} email before the @`
  return `${[
    `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    'not one character repeated',
    name,
    `not starting with a common password such as “${COMMON_STARTS[0]}” or “${COMMON_STARTS[1]}”`,
  ]
    .filter(Boolean)
    .join(', ')}.`
}
