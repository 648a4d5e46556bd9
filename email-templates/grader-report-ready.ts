// The full website grader report is ready: the headline numbers and a link to the report.
// Transactional: the visitor unlocked the report with this address. Like every email to a lead,
// it carries the unsubscribe line for our marketing mail (the consent checkbox promises it).

import { html, line, points, safeUrl } from './html.ts'
import { button, facts, fallbackLink, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Props = {
  brand: Brand
  /** `<origin>/u/<token>`: unsubscribes from our marketing mail (api/email/marketing.ts). */
  unsubscribeUrl: string
  firstName?: string | null | undefined
  /** The graded site as the visitor knows it, e.g. "acme.com". */
  site: string
  /** 0–100. */
  totalScore: number
  /** Grade band: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F below. */
  band: string
  categories?: Array<{ name: string; score: number; max: number }> | undefined
  reportUrl: string
}

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  unsubscribeUrl: 'https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0xyzabc',
  firstName: 'Sam',
  site: 'acme-widgets.example',
  totalScore: 72,
  band: 'C',
  categories: [
    { name: 'Performance', score: 21, max: 30 },
    { name: 'SEO', score: 24, max: 30 },
    { name: 'Mobile', score: 20, max: 30 },
    { name: 'Security', score: 7, max: 10 },
  ],
  reportUrl: 'https://frontdoor.example/grader/reports/5h2k9w3x8m1q7z4v',
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.reportUrl)
  const site = line(props.site)
  const band = line(props.band)
  const name = line(props.firstName)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  // The total is stored as a whole number; categories keep the half points the page shows.
  const score = `${Math.round(props.totalScore)}/100`
  const rows: Array<[string, string]> = [
    ['Total score', `${score} · grade ${band}`],
    ...(props.categories ?? []).map((c): [string, string] => [
      line(c.name),
      `${points(c.score)}/${c.max}`,
    ]),
  ]

  return renderLayout({
    brand: props.brand,
    subject: `Your website grade for ${site}: ${score} (${band})`,
    preheader: `${site} scored ${score}. The full report lists every check and how to fix it.`,
    heading: `${site} scored ${score}`,
    content: html`${paragraph(greeting)}
    ${paragraph(html`Your full website grader report for <strong>${site}</strong> is ready: every check we ran, what passed, what failed and how to fix it.`)}
    ${facts(rows)} ${button(url, 'See the full report')} ${fallbackLink(url)}`,
    text: `${greeting}

Your full website grader report for ${site} is ready: every check we ran, what passed, what failed and how to fix it.

${rows.map(([label, value]) => `${label}: ${value}`).join('\n')}

See the full report: ${url}`,
    footerNote: `You received this email because you unlocked this report on ${line(props.brand.name)}'s website grader.`,
    unsubscribeUrl: props.unsubscribeUrl,
  })
}
