// The thank-you page's download link travels in a short-lived cookie, not in its URL: a token in
// the URL reached third parties in the Referer, and its absence told a bot that its post had been
// quarantined. Every post for a gated file gets the cookie, same name and shape; a quarantined
// one carries a token that opens nothing (its real link goes out by email once it is released).

export const DOWNLOAD_COOKIE = 'fd_dl'
/** Seconds. */
export const DOWNLOAD_COOKIE_MAX_AGE = 3_600
const TOKEN = /^[a-z2-7]{32}$/

/** The Set-Cookie value: readable only by the server, only by the thank-you page, for an hour. */
export function downloadCookie(offer: string, token: string, secure: boolean): string {
  const value = `${encodeURIComponent(offer)}.${token}`
  return `${DOWNLOAD_COOKIE}=${value}; Path=/thanks; Max-Age=${DOWNLOAD_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** The download token the cookie holds for `offer`; null when absent, malformed or for another offer. */
export function downloadTokenFromCookie(
  value: string | null | undefined,
  offer: string,
): string | null {
  if (!value) return null
  const dot = value.lastIndexOf('.')
  if (dot === -1) return null
  const token = value.slice(dot + 1)
  let cookieOffer: string
  try {
    cookieOffer = decodeURIComponent(value.slice(0, dot))
  } catch {
    return null
  }
  return cookieOffer === offer && TOKEN.test(token) ? token : null
}
