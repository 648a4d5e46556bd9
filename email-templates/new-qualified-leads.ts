// For reps: a batch of newly qualified leads (deals at 10%) waiting in the unclaimed queue, each
// with the evidence that made it a target, and a link to take them over in /app/leads.

import { html, line, safeUrl, plural } from './html.ts'
import { button, fallbackLink, fontStack, palette, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Lead = {
  name?: string | null | undefined
  email: string
  title?: string | null | undefined
  company?: string | null | undefined
  /** Where the lead came from, in words: "Whitepaper form", "Outreach click", "Website grader". */
  source: string
  /** Why this is a target, one line: "Downloaded ‘Lead Response Benchmark’ from /whitepapers". */
  evidence: string
}

export type Props = {
  brand: Brand
  recipientName?: string | null | undefined
  /** The leads to list (the first 10 are shown). */
  leads: Lead[]
  /** How many there are in total when more than `leads` (defaults to leads.length). */
  totalCount?: number | undefined
  /** Absolute URL of the qualified-leads page, `<origin>/app/leads`. */
  leadsUrl: string
}

const shownMax = 10

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  recipientName: 'Riley',
  leads: [
    {
      name: 'Dana Whitfield',
      email: 'dana@northwind.example',
      title: 'Head of Growth',
      company: 'Northwind Traders',
      source: 'Whitepaper form',
      evidence: 'Downloaded “The 2025 B2B Lead Response Benchmark”, utm_source=linkedin',
    },
    {
      name: 'Sam Okafor',
      email: 'sam@acme-widgets.example',
      title: null,
      company: 'Acme Widgets',
      source: 'Website grader',
      evidence: 'Graded acme-widgets.example: 72/100 (C), 3 failing SEO checks, WordPress',
    },
    {
      name: 'Lee Park',
      email: 'lee.park@contoso.example',
      title: 'VP Operations',
      company: 'Contoso',
      source: 'Outreach click',
      evidence: 'Human click on “See the pricing calculator” in campaign “Q3 logistics”',
    },
  ],
  leadsUrl: 'https://frontdoor.example/app/leads',
}

function who(lead: Lead): string {
  return line(lead.name) || line(lead.email)
}

function role(lead: Lead): string {
  return [line(lead.title), line(lead.company)].filter(Boolean).join(', ')
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.leadsUrl)
  const count = Math.max(props.totalCount ?? 0, props.leads.length)
  const shown = props.leads.slice(0, shownMax)
  const more = count - shown.length
  const first = props.leads[0]
  const subject =
    count === 1 && first
      ? `New qualified lead: ${who(first)}${line(first.company) ? ` (${line(first.company)})` : ''}`
      : `${plural(count, 'new qualified lead', 'new qualified leads')} waiting`
  const name = line(props.recipientName)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const intro = `${plural(count, 'lead has', 'leads have')} just qualified and ${count === 1 ? 'is' : 'are'} waiting for a rep to take ${count === 1 ? 'it' : 'them'} over.`
  const cell = `font-family:${fontStack};padding:14px 0;border-top:1px solid ${palette.border};`

  const list = html`<table
    role="presentation"
    width="100%"
    cellpadding="0"
    cellspacing="0"
    border="0"
    style="margin:0 0 20px 0;"
  >
    ${shown.map(
      (lead) =>
        html`<tr>
          <td class="fd-rule" style="${cell}">
            <div class="fd-text" style="font-size:15px;font-weight:600;color:${palette.text};">
              ${who(lead)}${role(lead) ? html`<span class="fd-muted" style="font-weight:400;color:${palette.muted};"> · ${role(lead)}</span>` : ''}
            </div>
            <div
              class="fd-muted"
              style="font-size:13px;line-height:1.5;color:${palette.muted};margin-top:2px;"
            >
              ${line(lead.source)} · ${line(lead.evidence)}
            </div>
          </td>
        </tr>`,
    )}
  </table>`

  const textList = shown
    .map((lead) => {
      const header = role(lead) ? `${who(lead)} · ${role(lead)}` : who(lead)
      return `- ${header}\n  ${line(lead.source)} · ${line(lead.evidence)}`
    })
    .join('\n')
  const moreLine = more > 0 ? `…and ${more} more.` : ''

  return renderLayout({
    brand: props.brand,
    subject,
    preheader: intro,
    heading: plural(count, 'new qualified lead', 'new qualified leads'),
    content: html`${paragraph(greeting)} ${paragraph(intro)} ${list}
    ${moreLine ? paragraph(moreLine) : ''} ${button(url, 'Open qualified leads')}
    ${fallbackLink(url)}`,
    text: `${greeting}

${intro}

${textList}
${moreLine ? `\n${moreLine}\n` : ''}
Open qualified leads: ${url}`,
    footerNote: `You received this email because you are a sales rep on ${line(props.brand.name)}.`,
  })
}
