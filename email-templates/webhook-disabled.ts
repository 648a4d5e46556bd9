// A webhook subscription was switched off: its receiver failed for three days, or answered 410
// Gone. Says which URL, why, that events are kept, and where to turn it back on.

import { html, line, safeUrl } from './html.ts'
import { button, fallbackLink, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Props = {
  brand: Brand
  name?: string | null | undefined
  /** The receiver's URL. */
  url: string
  /** Why, in a sentence. */
  reason: string
  /** Absolute URL of the webhooks page. */
  manageUrl: string
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  name: 'Morgan',
  url: 'https://crm.example.com/hooks/frontdoor',
  reason: 'Every delivery failed for three days (last answer: HTTP 503).',
  manageUrl: 'https://frontdoor.example/app/admin/webhooks',
}

export function render(props: Props): RenderedEmail {
  const manage = safeUrl(props.manageUrl)
  const name = line(props.name)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const what = `We stopped sending events to ${line(props.url)}. ${line(props.reason)}`
  const kept =
    'Events are still recorded while it is off. Fix the receiver, then turn the subscription back on: the events waiting for it are sent in order.'
  return renderLayout({
    brand: props.brand,
    subject: 'A webhook subscription was turned off',
    preheader: `Events to ${line(props.url)} are paused.`,
    heading: 'Webhook turned off',
    content: html`${paragraph(greeting)} ${paragraph(what)} ${paragraph(kept)}
    ${button(manage, 'Open webhooks')} ${fallbackLink(manage)}`,
    text: `${greeting}

${what}

${kept}

${manage}`,
    footerNote: `You received this email because you manage webhooks in ${line(props.brand.name)}.`,
  })
}
