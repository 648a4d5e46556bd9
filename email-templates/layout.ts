// The frame every product email shares: brand header, a card with the content, a footer with why
// the mail was sent, the postal address and, when given, the line with the unsubscribe link for
// our marketing mail (mail a lead asked for carries it: api/email/marketing.ts). Table layout with
// inline styles, because that is what mail clients render; the <style> block only adds dark-mode
// colours for the clients that honour prefers-color-scheme (Apple Mail, Outlook for Mac); the
// light palette is mid-contrast so the clients that invert colours on their own (Gmail, Outlook
// apps) still end up readable.

import { html, line, raw, safeUrl } from './html.ts'
import type { Html } from './html.ts'

export type Brand = {
  name: string
  /** Postal address for the footer; required in marketing and outreach mail (CAN-SPAM). */
  postalAddress?: string | null | undefined
  /** Where the brand name in the header links to. */
  siteUrl?: string | null | undefined
}

export type RenderedEmail = { subject: string; html: string; text: string }

export type LayoutProps = {
  brand: Brand
  subject: string
  /** The inbox preview line. */
  preheader?: string
  heading: string
  content: Html
  /** The plain-text counterpart of `content`. */
  text: string
  /** Why the person got this mail, shown small in the footer. */
  footerNote?: string
  /** `/u/<token>`: a footer line unsubscribing from our marketing mail, in both parts. */
  unsubscribeUrl?: string | null | undefined
}

const font = `-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif`
const colors = {
  page: '#f4f5f7',
  card: '#ffffff',
  border: '#e4e7ec',
  text: '#1d2433',
  muted: '#5b6472',
  accent: '#2f54eb',
}

const headStyle = `
:root { color-scheme: light dark; supported-color-schemes: light dark; }
body { margin: 0; padding: 0; -webkit-text-size-adjust: 100%; }
@media (prefers-color-scheme: dark) {
  .fd-page { background-color: #0f1218 !important; }
  .fd-card { background-color: #181c24 !important; border-color: #2b313c !important; }
  .fd-text { color: #e8eaee !important; }
  .fd-muted { color: #a3acb9 !important; }
  .fd-link { color: #8fa8ff !important; }
  .fd-rule { border-color: #2b313c !important; }
}
@media (max-width: 620px) {
  .fd-container { width: 100% !important; }
  .fd-pad { padding: 24px 20px !important; }
}`

/** Before the link, in the outreach footer's manner ("Not interested? Unsubscribe"). */
const unsubscribeQuestion = 'Don’t want our marketing emails?'

export function renderLayout(props: LayoutProps): RenderedEmail {
  const { brand } = props
  const brandName = line(brand.name)
  const postal = line(brand.postalAddress)
  const unsubscribe = props.unsubscribeUrl ? safeUrl(props.unsubscribeUrl) : null
  const brandHtml = brand.siteUrl
    ? html`<a
        href="${safeUrl(brand.siteUrl)}"
        class="fd-text"
        style="color:${colors.text};text-decoration:none;"
        >${brandName}</a
      >`
    : html`${brandName}`

  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="x-apple-disable-message-reformatting" />
        <meta name="color-scheme" content="light dark" />
        <meta name="supported-color-schemes" content="light dark" />
        <title>${props.subject}</title>
        <style>
          ${raw(headStyle)}
        </style>
      </head>
      <body class="fd-page" style="margin:0;padding:0;background-color:${colors.page};">
        ${props.preheader ? html`<div style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;mso-hide:all;">${props.preheader}</div>` : ''}
        <table
          role="presentation"
          width="100%"
          cellpadding="0"
          cellspacing="0"
          border="0"
          class="fd-page"
          bgcolor="${colors.page}"
          style="background-color:${colors.page};"
        >
          <tr>
            <td align="center" style="padding:32px 12px;">
              <table
                role="presentation"
                class="fd-container"
                width="600"
                cellpadding="0"
                cellspacing="0"
                border="0"
                style="width:600px;max-width:600px;"
              >
                <tr>
                  <td
                    class="fd-text"
                    style="padding:0 8px 16px 8px;font-family:${font};font-size:18px;font-weight:700;color:${colors.text};"
                  >
                    ${brandHtml}
                  </td>
                </tr>
                <tr>
                  <td
                    class="fd-card fd-pad"
                    bgcolor="${colors.card}"
                    style="background-color:${colors.card};border:1px solid ${colors.border};border-radius:8px;padding:32px 40px;font-family:${font};"
                  >
                    <h1
                      class="fd-text"
                      style="margin:0 0 20px 0;font-family:${font};font-size:22px;line-height:1.3;font-weight:700;color:${colors.text};"
                    >
                      ${props.heading}
                    </h1>
                    ${props.content}
                  </td>
                </tr>
                <tr>
                  <td
                    class="fd-muted"
                    style="padding:20px 8px 0 8px;font-family:${font};font-size:12px;line-height:1.6;color:${colors.muted};"
                  >
                    ${props.footerNote ? html`<p style="margin:0 0 8px 0;">${props.footerNote}</p>` : ''}
                    <p style="margin:0;">${brandName}${postal ? html` · ${postal}` : ''}</p>
                    ${unsubscribe ? html`<p style="margin:8px 0 0 0;">${unsubscribeQuestion} <a href="${unsubscribe}" class="fd-muted" style="color:${colors.muted};text-decoration:underline;">Unsubscribe</a></p>` : ''}
                  </td>
                </tr>
              </table>
            </td>
          </tr>
        </table>
      </body>
    </html>`

  const footer = [
    props.footerNote,
    postal ? `${brandName} · ${postal}` : brandName,
    unsubscribe ? `${unsubscribeQuestion} Unsubscribe: ${unsubscribe}` : null,
  ].filter(Boolean)
  const text = `${props.heading}\n\n${props.text.trim()}\n\n-- \n${footer.join('\n')}\n`

  return { subject: line(props.subject), html: page.html, text }
}

// Building blocks for the card's content. Each returns Html, so templates compose them with the
// escaping `html` tag.

export function paragraph(content: Html | string): Html {
  return html`<p
    class="fd-text"
    style="margin:0 0 16px 0;font-family:${font};font-size:15px;line-height:1.6;color:${colors.text};"
  >
    ${content}
  </p>`
}

export function mutedParagraph(content: Html | string): Html {
  return html`<p
    class="fd-muted"
    style="margin:0 0 16px 0;font-family:${font};font-size:13px;line-height:1.6;color:${colors.muted};"
  >
    ${content}
  </p>`
}

/** A button that renders as one in Outlook too (a filled table cell, not a styled link alone). */
export function button(href: string, label: string): Html {
  const url = safeUrl(href)
  return html`<table
    role="presentation"
    cellpadding="0"
    cellspacing="0"
    border="0"
    style="margin:8px 0 24px 0;"
  >
    <tr>
      <td
        align="center"
        bgcolor="${colors.accent}"
        style="background-color:${colors.accent};border-radius:6px;"
      >
        <a
          href="${url}"
          style="display:inline-block;padding:12px 24px;font-family:${font};font-size:15px;font-weight:600;line-height:1.2;color:#ffffff;text-decoration:none;border-radius:6px;"
          >${label}</a
        >
      </td>
    </tr>
  </table>`
}

/** "If the button does not work" with the URL spelled out, for clients that strip buttons. */
export function fallbackLink(href: string): Html {
  const url = safeUrl(href)
  return mutedParagraph(
    html`If the button does not work, copy this link into your browser:<br /><a
        href="${url}"
        class="fd-link"
        style="color:${colors.accent};word-break:break-all;"
        >${url}</a
      >`,
  )
}

/** A two-column list of facts (label, value). */
export function facts(rows: Array<[label: string, value: string]>): Html {
  return html`<table
    role="presentation"
    width="100%"
    cellpadding="0"
    cellspacing="0"
    border="0"
    style="margin:0 0 20px 0;"
  >
    ${rows.map(
      ([label, value]) =>
        html`<tr>
          <td
            class="fd-muted fd-rule"
            style="width:1%;padding:8px 24px 8px 0;border-top:1px solid ${colors.border};font-family:${font};font-size:13px;color:${colors.muted};white-space:nowrap;vertical-align:top;"
          >
            ${label}
          </td>
          <td
            class="fd-text fd-rule"
            style="padding:8px 0;border-top:1px solid ${colors.border};font-family:${font};font-size:15px;color:${colors.text};"
          >
            ${value}
          </td>
        </tr>`,
    )}
  </table>`
}

export const palette = colors
export const fontStack = font
