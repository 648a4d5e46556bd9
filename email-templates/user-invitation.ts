// An admin invited someone: a link to set their password, who invited them, the role, and how
// long the link works.

import { html, line, safeUrl, plural } from './html.ts'
import { button, fallbackLink, mutedParagraph, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Role = 'admin' | 'rep' | 'sdr'

export type Props = {
  brand: Brand
  inviteeName?: string | null | undefined
  inviterName: string
  role: Role
  /** Absolute URL of the set-your-password page for this invitation. */
  setPasswordUrl: string
  expiresInDays: number
}

const roleLabels: Record<Role, string> = {
  admin: 'an admin (users, settings and everything else)',
  rep: 'a sales rep (pipeline and deals)',
  sdr: 'an SDR (campaigns and prospects)',
}

/** What the role can do once signed in: only SDRs get a line, since their work starts in the app. */
const roleIntros: Partial<Record<Role, string>> = {
  sdr: 'Under Campaigns you import prospects from a CSV, write one message with merge fields, preview every recipient’s copy and start sending: within your sending window, at your hourly rate, every link tracked, and every click recorded. The prospects you import are credited to you.',
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  inviteeName: 'Jordan',
  inviterName: 'Alex Morgan',
  role: 'rep',
  setPasswordUrl: 'https://frontdoor.example/invitations/r7c2n5k8w1x4z9q3',
  expiresInDays: 3,
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.setPasswordUrl)
  const brand = line(props.brand.name)
  const inviter = line(props.inviterName)
  const name = line(props.inviteeName)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const role = roleLabels[props.role]
  const intro = roleIntros[props.role] ?? null
  const validity = `The link works for ${plural(props.expiresInDays, 'day', 'days')}. If it has expired, ask ${inviter} for a new invitation.`

  return renderLayout({
    brand: props.brand,
    subject: `${inviter} invited you to ${brand}`,
    preheader: `Set your password to join ${brand} as ${role}.`,
    heading: `Join ${brand}`,
    content: html`${paragraph(greeting)}
    ${paragraph(html`<strong>${inviter}</strong> invited you to ${brand} as ${role}. Choose a password to finish setting up your account.`)}
    ${intro ? paragraph(intro) : ''} ${button(url, 'Set your password')} ${mutedParagraph(validity)}
    ${fallbackLink(url)}`,
    text: `${greeting}

${inviter} invited you to ${brand} as ${role}. Choose a password to finish setting up your account:

${url}
${intro ? `\n${intro}` : ''}

${validity}`,
    footerNote: `You received this email because ${inviter} invited this address. If you did not expect it, you can ignore it.`,
  })
}
