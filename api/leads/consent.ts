import { createHash } from 'node:crypto'

// The marketing-consent wording shown next to the unticked checkbox on every lead form; the site
// re-exports it (src/content/consent.ts). A consent event stores the version and a hash of the
// text, so changing `text` means a new entry at the end with a new `version` (the date it
// changed); never edit the text of a version that has already been shown to people.

export interface ConsentTextVersion {
  version: string
  text: string
}

export const CONSENT_TEXTS = [
  {
    version: '2026-11-29',
    text:
      'Yes, Keelson may email me about its products, research and events. ' +
      'I can withdraw this consent at any time with the unsubscribe link in every email.',
  },
] as const satisfies readonly ConsentTextVersion[]

/** The wording forms show today. */
export const CONSENT_TEXT = CONSENT_TEXTS[CONSENT_TEXTS.length - 1]!

export type ConsentText = typeof CONSENT_TEXT

/** The wording a form showed, by the version it posted; a missing or unknown version is today's. */
export function consentTextFor(version: string | null | undefined): ConsentTextVersion {
  return CONSENT_TEXTS.find((t) => t.version === version) ?? CONSENT_TEXT
}

export function consentTextHash(text: ConsentTextVersion): string {
  return createHash('sha256').update(text.text, 'utf8').digest('hex')
}
