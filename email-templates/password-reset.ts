// A password reset link. Says where the request came from, and that ignoring the mail is safe.

import { html, line, safeUrl, plural } from './html.ts'
import { button, fallbackLink, mutedParagraph, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Props = {
  brand: Brand
  name?: string | null | undefined
  /** Absolute URL of the reset page for this request. */
  resetUrl: string
  expiresInMinutes: number
  /** Where the request came from, e.g. "Firefox on Linux, 203.0.113.7". */
  requestedFrom?: string | null | undefined
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  name: 'Jordan',
  resetUrl: 'https://frontdoor.example/password-reset/m4x8q2z7k1w9c3n5',
  expiresInMinutes: 30,
  requestedFrom: 'Firefox on Linux, 203.0.113.7',
}

function duration(minutes: number): string {
  return minutes % 60 === 0
    ? plural(minutes / 60, 'hour', 'hours')
    : plural(minutes, 'minute', 'minutes')
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.resetUrl)
  const brand = line(props.brand.name)
  const name = line(props.name)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const from = line(props.requestedFrom)
  const request = `Someone asked to reset the password of your ${brand} account${from ? ` (from ${from})` : ''}.`
  const validity = `The link works for ${duration(props.expiresInMinutes)}. If you did not ask for this, ignore this email: your password stays as it is.`

  return renderLayout({
    brand: props.brand,
    subject: `Reset your ${brand} password`,
    preheader: `The link works for ${duration(props.expiresInMinutes)}.`,
    heading: 'Reset your password',
    content: html`${paragraph(greeting)} ${paragraph(request)}
    ${button(url, 'Choose a new password')} ${mutedParagraph(validity)} ${fallbackLink(url)}`,
    text: `${greeting}

${request} Choose a new password here:

${url}

${validity}`,
    footerNote: `You received this email because a password reset was requested for this address on ${brand}.`,
  })
}
