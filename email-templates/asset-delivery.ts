// The gated asset a visitor asked for: a download link (/d/<token>) that keeps working for a
// few days. Transactional: they requested it, so no marketing consent needed. It still carries
// the unsubscribe line for our marketing mail: the consent checkbox beside the form promises that
// link in every email.

import { html, line, safeUrl, plural } from './html.ts'
import { button, fallbackLink, mutedParagraph, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Props = {
  brand: Brand
  /** `<origin>/u/<token>`: unsubscribes from our marketing mail (api/email/marketing.ts). */
  unsubscribeUrl: string
  firstName?: string | null | undefined
  assetTitle: string
  /** What it is, in words: "whitepaper", "case study". */
  assetKind: string
  /** Absolute URL of the download route, `<origin>/d/<token>`. */
  downloadUrl: string
  expiresInDays: number
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  unsubscribeUrl: 'https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0xyzabc',
  firstName: 'Dana',
  assetTitle: 'The 2025 B2B Lead Response Benchmark',
  assetKind: 'whitepaper',
  downloadUrl: 'https://frontdoor.example/d/8qz4m2wq7xk3v9dn5r6t1yb0hc',
  expiresInDays: 7,
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.downloadUrl)
  const title = line(props.assetTitle)
  const kind = line(props.assetKind)
  const name = line(props.firstName)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const validity = `The link works for ${plural(props.expiresInDays, 'day', 'days')}; after that, request the ${kind} again on our site.`

  return renderLayout({
    brand: props.brand,
    subject: `Your ${kind}: ${title}`,
    preheader: `Here is the ${kind} you asked for.`,
    heading: `Your ${kind} is ready`,
    content: html`${paragraph(greeting)}
    ${paragraph(html`Thanks for your interest. Here is your copy of <strong>${title}</strong>.`)}
    ${button(url, `Download the ${kind}`)} ${mutedParagraph(validity)} ${fallbackLink(url)}`,
    text: `${greeting}

Thanks for your interest. Here is your copy of "${title}":

${url}

${validity}`,
    footerNote: `You received this email because you asked for this ${kind} on ${line(props.brand.name)}'s website.`,
    unsubscribeUrl: props.unsubscribeUrl,
  })
}
