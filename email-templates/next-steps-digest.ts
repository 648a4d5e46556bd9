// For a rep who asked for it (My day → "Email me my next steps each morning"): the day's overdue
// and due next steps, with the leads waiting in the queue and their deals without a next step,
// and a link to My day.

import { html, line, plural, safeUrl } from './html.ts'
import { button, fallbackLink, fontStack, palette, paragraph, renderLayout } from './layout.ts'
import type { Brand, RenderedEmail } from './layout.ts'

export type Step = {
  /** The deal: company or title. */
  deal: string
  /** "Call at 09:30". */
  what: string
  /** "Mon, Nov 30" for an overdue one; null for today's. */
  due?: string | null | undefined
  contact?: string | null | undefined
  note?: string | null | undefined
}

export type Props = {
  brand: Brand
  recipientName?: string | null | undefined
  /** "Monday, November 30". */
  dayName: string
  overdue: Step[]
  today: Step[]
  /** Open deals of theirs without a next step. */
  withoutNextStep: number
  /** Unclaimed leads in the queue. */
  leadsWaiting: number
  /** More steps are due than `overdue` and `today` hold: their counts are "at least". */
  stepsCapped?: boolean | undefined
  /** Absolute URL of My day, `<origin>/app/my-day`. */
  myDayUrl: string
}

const shownMax = 15

export const defaults: Props = {
  brand: {
    name: 'Frontdoor',
    postalAddress: '1 Example Street, Springfield',
    siteUrl: 'https://frontdoor.example',
  },
  recipientName: 'Riley',
  dayName: 'Monday, November 30',
  overdue: [
    {
      deal: 'Northwind Traders',
      what: 'Call',
      due: 'Fri, Nov 27',
      contact: 'Dana Whitfield',
      note: 'Ask who signs off the budget',
    },
  ],
  today: [
    { deal: 'Acme Widgets', what: 'Meeting at 14:00', contact: 'Sam Okafor', note: null },
    { deal: 'Contoso', what: 'Email', contact: 'Lee Park', note: 'Send the pilot proposal' },
  ],
  withoutNextStep: 3,
  leadsWaiting: 5,
  myDayUrl: 'https://frontdoor.example/app/my-day',
}

function stepLine(step: Step): string {
  return [line(step.what), line(step.contact), step.due ? `due ${line(step.due)}` : '']
    .filter(Boolean)
    .join(' · ')
}

export function render(props: Props): RenderedEmail {
  const url = safeUrl(props.myDayUrl)
  const due = props.overdue.length + props.today.length
  // Capped, each count is a floor ("100+"), as on My day; a group found empty may not be.
  const plus = props.stepsCapped ? '+' : ''
  const count = (n: number, one: string, many: string) =>
    plus ? `${n}+ ${many}` : plural(n, one, many)
  const subject =
    props.overdue.length > 0
      ? `Your day: ${count(props.overdue.length, 'overdue next step', 'overdue next steps')}${plus && props.today.length === 0 ? '' : `, ${props.today.length}${plus} due today`}`
      : `Your day: ${count(props.today.length, 'next step', 'next steps')} due today`
  const name = line(props.recipientName)
  const greeting = name ? `Hi ${name},` : 'Hi,'
  const intro = `${line(props.dayName)}: ${due === 0 ? 'nothing is due' : `${count(due, 'next step is', 'next steps are')} due`}${props.overdue.length ? `, ${props.overdue.length}${plus} of them overdue` : ''}.`
  const extras = [
    props.withoutNextStep > 0
      ? `${plural(props.withoutNextStep, 'open deal has', 'open deals have')} no next step planned.`
      : '',
    props.leadsWaiting > 0
      ? `${plural(props.leadsWaiting, 'lead is', 'leads are')} waiting in the queue.`
      : '',
  ].filter(Boolean)
  const cell = `font-family:${fontStack};padding:12px 0;border-top:1px solid ${palette.border};`
  const groups: Array<[string, Step[]]> = [
    ['Overdue', props.overdue],
    ['Today', props.today],
  ]
  let left = shownMax
  const shown = groups.map(([label, steps]): [string, Step[]] => {
    const some = steps.slice(0, Math.max(left, 0))
    left -= some.length
    return [label, some]
  })
  const more = due - shown.reduce((n, [, s]) => n + s.length, 0)

  const list = shown
    .filter(([, steps]) => steps.length > 0)
    .map(
      ([label, steps]) =>
        html`<div
            class="fd-text"
            style="font-family:${fontStack};font-size:13px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;color:${label === 'Overdue' ? '#b42318' : palette.muted};margin:16px 0 4px;"
          >
            ${label}
          </div>
          <table
            role="presentation"
            width="100%"
            cellpadding="0"
            cellspacing="0"
            border="0"
            style="margin:0 0 8px 0;"
          >
            ${steps.map(
              (step) =>
                html`<tr>
                  <td class="fd-rule" style="${cell}">
                    <div
                      class="fd-text"
                      style="font-size:15px;font-weight:600;color:${palette.text};"
                    >
                      ${line(step.deal)}
                    </div>
                    <div
                      class="fd-muted"
                      style="font-size:13px;line-height:1.5;color:${palette.muted};margin-top:2px;"
                    >
                      ${stepLine(step)}${step.note ? html`<br />${line(step.note)}` : ''}
                    </div>
                  </td>
                </tr>`,
            )}
          </table>`,
    )

  const textList = shown
    .filter(([, steps]) => steps.length > 0)
    .map(
      ([label, steps]) =>
        `${label}:\n${steps
          .map((s) => `- ${line(s.deal)}: ${stepLine(s)}${s.note ? `\n  ${line(s.note)}` : ''}`)
          .join('\n')}`,
    )
    .join('\n\n')
  const moreLine = more > 0 ? `…and ${more}${plus} more on My day.` : ''

  return renderLayout({
    brand: props.brand,
    subject,
    preheader: intro,
    heading: 'Your day',
    content: html`${paragraph(greeting)} ${paragraph(intro)} ${list}
    ${moreLine ? paragraph(moreLine) : ''} ${extras.map((e) => paragraph(e))}
    ${button(url, 'Open My day')} ${fallbackLink(url)}`,
    text: `${greeting}

${intro}
${textList ? `\n${textList}\n` : ''}${moreLine ? `\n${moreLine}\n` : ''}${extras.length ? `\n${extras.join('\n')}\n` : ''}
Open My day: ${url}`,
    footerNote: `You receive this each morning because you asked for it on My day (${line(props.brand.name)}); untick it there to stop.`,
  })
}
