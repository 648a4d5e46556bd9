/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    deps: import('#api/deps.ts').Deps
    user?: import('#api/accounts/sessions.ts').SessionUser | null
    sessionId?: string | null
    /** A signed time-trap token for forms rendered on this page. */
    formToken?: string
    /** What a refused plain form on this page had typed, carried back once (form-flash.ts). */
    formFlash?: import('#api/http/form-flash.ts').FormFlash | null
  }
}
