// Someone is guessing an account's password. Says what happened, that the account is not locked,
// and what to do (nothing if the password is strong; reset it otherwise).

import { html, line, plural, safeUrl } from './html.ts'
import { button, fallbackLink, mutedParagraph, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Props = {
  brand: Brand
  name?: string | null | undefined
  /**
   * Sign-ins whose password was checked and wrong, in the last quarter of an hour (attempts
   * refused before the check tried no password).
   */
  failures: number
  /** Absolute URL of the sign-in page (where a password can be reset). */
  signInUrl: string
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  name: 'Jordan',
  failures: 12,
  signInUrl: 'https://frontdoor.example/login',
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.signInUrl)
  const brand = line(props.brand.name)
  const name = line(props.name)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const what = `Someone tried to sign in to your ${brand} account with a wrong password ${plural(Math.round(props.failures), 'time', 'times')} in the last 15 minutes.`
  const calm =
    'Your account is not locked: you can still sign in as usual, and further guesses are slowed down. If this was you, there is nothing to do.'
  const act =
    'If it was not you and your password is short or used elsewhere, choose a new one now.'

  return renderLayout({
    brand: props.brand,
    subject: `Someone is trying to sign in to your ${brand} account`,
    preheader: `${plural(Math.round(props.failures), 'failed sign-in', 'failed sign-ins')} in 15 minutes.`,
    heading: 'Failed sign-ins to your account',
    content: html`${paragraph(greeting)} ${paragraph(what)} ${paragraph(calm)}
    ${mutedParagraph(act)} ${button(url, 'Go to sign-in')} ${fallbackLink(url)}`,
    text: `${greeting}

${what}

${calm}

${act} Sign in here:

${url}`,
    footerNote: `You received this email because someone tried to sign in to this ${brand} account.`,
  })
}
