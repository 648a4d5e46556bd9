/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    deps: import('#api/deps.ts').Deps
    user?: import('#api/accounts/sessions.ts').SessionUser | null
    sessionId?: string | null
    /** A signed time-trap token for forms rendered on this page. */
    formToken?: string
  }
}
