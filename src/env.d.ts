/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    deps: import('#api/deps.ts').Deps
    /** This request's id, as in its access-log line (api/http/access-log.ts). */
    requestId: string
    /**
     * Set once the page failed: the 500 page is being rendered for it (src/middleware.ts), as a
     * 503 "try again in a minute" when the database could not be reached.
     */
    failed?: 'error' | 'unavailable'

    user?: import('#api/accounts/sessions.ts').SessionUser | null
    sessionId?: string | null
    /** A signed time-trap token for forms rendered on this page. */
    formToken?: string
    /** What a refused plain form on this page had typed, carried back once (form-flash.ts). */
    formFlash?: import('#api/http/form-flash.ts').FormFlash | null
  }
}
