import { isSignatureOf, signatureOf } from './signature.ts'

// A plain form's answer is a 303 back to its page with ?notice= or ?error= (form-or-json.ts),
// which the page shows in its banner as this site's own words. Anyone can put any text in a
// link's query, though: /grader?error=Your+site+is+infected.+Call+… would show in the red alert
// on this domain (phishing, escaped or not). So the 303 signs the messages it sets, with the
// page's path and the minute, in one short ?sig=, and a page shows a notice or an error only
// when that signature matches and is recent: a hand-made or altered one shows nothing, and a
// message the server really did give someone is no use in a link sent out later.

/** The query parameter carrying the signature: `<minute in base 36>.<16 characters>`. */
export const BACK_SIGNATURE_PARAM = 'sig'
/** How long a page keeps showing its messages (a reload soon after the 303 still does). */
export const BACK_MESSAGE_MAX_AGE_MS = 10 * 60 * 1000
const MINUTE_MS = 60_000
const PURPOSE = 'back-message'
const LENGTH = 16

function bodyOf(path: string, minute: string, notice: string | null, error: string | null) {
  return JSON.stringify([path, minute, notice, error])
}

/**
 * Signs the ?notice= and ?error= that `url` (a page of this site) carries, in place: sets
 * ?sig= for them, or removes a stale one when it carries neither.
 */
export function signBackMessages(secret: string, url: URL, now: Date): void {
  url.searchParams.delete(BACK_SIGNATURE_PARAM)
  const notice = url.searchParams.get('notice')
  const error = url.searchParams.get('error')
  if (notice === null && error === null) return
  const minute = Math.floor(now.getTime() / MINUTE_MS).toString(36)
  const signature = signatureOf(
    secret,
    PURPOSE,
    bodyOf(url.pathname, minute, notice, error),
    LENGTH,
  )
  url.searchParams.set(BACK_SIGNATURE_PARAM, `${minute}.${signature}`)
}

export interface BackMessages {
  notice: string | null
  error: string | null
}

const NONE: BackMessages = { notice: null, error: null }

/**
 * The notice and error a page shows: those in its URL's query when this server signed them for
 * this page (signBackMessages) in the last BACK_MESSAGE_MAX_AGE_MS, else none. The only reader
 * of a page's ?notice= and ?error=.
 */
export function backMessages(deps: { secret: string; now: () => Date }, url: URL): BackMessages {
  const notice = url.searchParams.get('notice')
  const error = url.searchParams.get('error')
  if (notice === null && error === null) return NONE
  const [minute, signature, extra] = (url.searchParams.get(BACK_SIGNATURE_PARAM) ?? '').split('.')
  if (!minute || !signature || extra !== undefined || !/^[0-9a-z]{1,9}$/.test(minute)) return NONE
  const age = deps.now().getTime() - parseInt(minute, 36) * MINUTE_MS
  // A minute's grace the other way, for servers whose clocks differ a little.
  if (!(age >= -MINUTE_MS && age <= BACK_MESSAGE_MAX_AGE_MS)) return NONE
  const body = bodyOf(url.pathname, minute, notice, error)
  if (!isSignatureOf(deps.secret, PURPOSE, body, signature, LENGTH)) return NONE
  return { notice, error }
}
