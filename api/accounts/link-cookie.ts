// A one-time invitation or password-reset link an admin just created is shown once on the users
// page, carried there by a short-lived cookie only that page receives, never in its URL (a URL
// lands in the browser history, where the next person at the machine could use the link).

export const ACCOUNT_LINK_COOKIE = 'fd_link'
export const ACCOUNT_LINK_PATH = '/app/admin/users'
const MAX_AGE_SECONDS = 600
/** newToken(24): 24 random bytes in lower-case base32. */
const TOKEN = /^[a-z2-7]{39}$/

/** The Set-Cookie value: only the server reads it, only for the users page, for ten minutes. */
export function accountLinkCookie(token: string, secure: boolean): string {
  return `${ACCOUNT_LINK_COOKIE}=${token}; Path=${ACCOUNT_LINK_PATH}; Max-Age=${MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
}

/** The link the cookie stands for; null when absent or not a token we issue. */
export function accountLinkFromCookie(
  value: string | null | undefined,
  origin: string,
): string | null {
  return value && TOKEN.test(value) ? `${origin}/password?token=${value}` : null
}
