import type { Context } from 'hono'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { COMPANY_SIZES, FIELD_LIMITS, HONEYPOT_FIELD, UTM_PARAMS } from './lead-form.ts'
import type { FieldName, OfferInfo } from './offers.ts'
import { CONSENT_TEXT } from './consent.ts'

// The few HTML pages the API answers itself (they are on hot or error paths that never reach
// the page renderer): the lead form with its errors for browsers without JavaScript, and the
// download link pages. Self-contained: inline styles, no scripts, their own strict policy.

type Markup = HtmlEscapedString | Promise<HtmlEscapedString>

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

const STYLE = `
*{box-sizing:border-box}
html{font-family:ui-sans-serif,system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#151b26;background:#f6f8fa;line-height:1.55}
body{margin:0}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem 1rem}
header{background:#fff;border-bottom:1px solid #e1e6ed;padding:.9rem 1.25rem}
header a{color:#151b26;font-weight:700;text-decoration:none}
main{max-width:40rem;margin:2rem auto;padding:0 1rem 3rem}
.card{background:#fff;border:1px solid #e1e6ed;border-radius:12px;padding:1.5rem 1.5rem 1.75rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem;letter-spacing:-.01em}
p{margin:0 0 1rem}
a{color:#1d44d8}
:focus-visible{outline:3px solid #1d44d8;outline-offset:2px}
.muted{color:#4f5a6a}
.alert{background:#fef3f2;border:1px solid #fecdca;color:#b42318;border-radius:8px;padding:.75rem 1rem;margin:0 0 1.25rem}
.alert ul{margin:.25rem 0 0;padding-left:1.25rem}
.alert a{color:#b42318}
.ok{background:#ecfdf3;border:1px solid #abefc6;color:#067647;border-radius:8px;padding:.75rem 1rem;margin:0 0 1.25rem}
.field{margin:0 0 1rem}
label{display:block;font-weight:600;margin:0 0 .3rem}
.optional{font-weight:400;color:#4f5a6a;margin-left:.35rem}
input[type=email],input[type=text],input[type=tel],select,textarea{font:inherit;width:100%;padding:.6rem .7rem;border:1px solid #5f6b7c;border-radius:8px;background:#fff;color:#151b26}
input[aria-invalid=true],select[aria-invalid=true],textarea[aria-invalid=true]{border-color:#b42318;border-width:2px}
.error{color:#b42318;font-size:.9rem;margin:.3rem 0 0}
.check{display:flex;gap:.6rem;align-items:flex-start}.check input{margin-top:.3rem;width:1.1rem;height:1.1rem;flex:none}.check label{font-weight:400}
.trap{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
button{font:inherit;font-weight:600;padding:.7rem 1.2rem;border-radius:8px;border:1px solid #1d44d8;background:#1d44d8;color:#fff;cursor:pointer}
button:hover{background:#1e39af}
`

export function htmlPage(
  c: Context,
  page: { title: string; body: Markup; status: 200 | 400 | 404 | 410 | 422 | 429 },
) {
  c.header('Content-Security-Policy', CSP)
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('X-Frame-Options', 'DENY')
  c.header('Referrer-Policy', 'no-referrer')
  c.header('Cache-Control', 'private, no-store')
  c.header('X-Robots-Tag', 'noindex')
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>${page.title}</title>
          <style>
            ${raw(STYLE)}
          </style>
        </head>
        <body>
          <a class="skip" href="#main">Skip to content</a>
          <header><a href="/">Home</a></header>
          <main id="main">
            <div class="card">${page.body}</div>
          </main>
        </body>
      </html>`,
    page.status,
  )
}

interface FieldView {
  name: FieldName
  label: string
  type?: 'text' | 'tel'
  autocomplete: string
  max: number
}

const FIELD_VIEWS: FieldView[] = [
  { name: 'name', label: 'Full name', autocomplete: 'name', max: FIELD_LIMITS.name },
  { name: 'company', label: 'Company', autocomplete: 'organization', max: FIELD_LIMITS.company },
  {
    name: 'jobTitle',
    label: 'Job title',
    autocomplete: 'organization-title',
    max: FIELD_LIMITS.jobTitle,
  },
  { name: 'phone', label: 'Phone', type: 'tel', autocomplete: 'tel', max: FIELD_LIMITS.phone },
]

const SUBMIT_LABELS: Record<OfferInfo['kind'], string> = {
  whitepaper: 'Get the whitepaper',
  'case-study': 'Get the case study',
  trial: 'Request my free trial',
}

const SIZE_LABELS: Record<string, string> = {
  '1-10': '1–10 employees',
  '11-50': '11–50 employees',
  '51-200': '51–200 employees',
  '201-500': '201–500 employees',
  '501-1000': '501–1,000 employees',
  '1001-5000': '1,001–5,000 employees',
  '5000+': 'More than 5,000 employees',
}

/**
 * The form again, for a browser without JavaScript whose post had mistakes: an error summary
 * linking to each field, every value kept as typed, the hidden fields carried over unchanged
 * (so the time trap still counts from the first render, and the same idempotency key is used:
 * nothing was stored for the failed post).
 */
export function leadFormErrorPage(
  c: Context,
  input: {
    offer: OfferInfo | null
    values: Record<string, string>
    errors: Record<string, string>
  },
) {
  const { offer, values, errors } = input
  const err = (name: string) => errors[name]
  // Only fields with a message get aria-invalid and aria-describedby.
  const aria = (name: string) =>
    err(name) ? html` aria-invalid="true" aria-describedby="${name}-error"` : ''
  const errorLine = (name: string) =>
    err(name) ? html`<p class="error" id="${name}-error">${err(name)}</p>` : ''
  const optional = (name: FieldName) =>
    offer?.fields[name] === 'required' ? '' : html`<span class="optional">(optional)</span>`
  const required = (name: FieldName) => offer?.fields[name] === 'required'
  const entries = Object.entries(errors)
  const known = new Set(['email', ...FIELD_VIEWS.map((f) => f.name), 'companySize', 'message'])

  const hidden = [
    'offer',
    'idempotencyKey',
    'formToken',
    'consentVersion',
    'pageUrl',
    'referrer',
    ...UTM_PARAMS,
  ]
  const title = offer ? `Check your details: ${offer.title}` : 'Check your details'
  const body = html`<h1>${offer ? `Almost there: ${offer.title}` : 'Almost there'}</h1>
    <div class="alert" role="alert" id="summary" tabindex="-1">
      <p>
        <strong
          >${entries.length === 1 ? 'Please correct one thing:' : `Please correct ${entries.length} things:`}</strong
        >
      </p>
      <ul>
        ${entries.map(([name, message]) => (known.has(name) ? html`<li><a href="#${name}">${message}</a></li>` : html`<li>${message}</li>`))}
      </ul>
    </div>
    ${
      offer
        ? html`<form method="post" action="/api/leads">
              <div class="field">
                <label for="email">Work email</label>
                <input
                  id="email"
                  name="email"
                  type="email"
                  required
                  autocomplete="email"
                  maxlength="${FIELD_LIMITS.email}"
                  value="${values.email ?? ''}"
                  ${aria('email')}
                />${errorLine('email')}
              </div>
              ${FIELD_VIEWS.filter((f) => offer.fields[f.name] !== undefined).map(
                (f) =>
                  html`<div class="field">
                    <label for="${f.name}">${f.label}${optional(f.name)}</label>
                    <input
                      id="${f.name}"
                      name="${f.name}"
                      type="${f.type ?? 'text'}"
                      ${required(f.name) ? raw('required') : ''}
                      autocomplete="${f.autocomplete}"
                      maxlength="${f.max}"
                      value="${values[f.name] ?? ''}"
                      ${aria(f.name)}
                    />${errorLine(f.name)}
                  </div>`,
              )}
              ${
                offer.fields.companySize !== undefined
                  ? html`<div class="field">
                      <label for="companySize">Company size${optional('companySize')}</label>
                      <select
                        id="companySize"
                        name="companySize"
                        ${required('companySize') ? raw('required') : ''}${aria('companySize')}
                      >
                        <option value="">Choose…</option>
                        ${COMPANY_SIZES.map((size) => html`<option value="${size}" ${values.companySize === size ? raw('selected') : ''}>${SIZE_LABELS[size]}</option>`)}</select
                      >${errorLine('companySize')}
                    </div>`
                  : ''
              }
              ${
                offer.fields.message !== undefined
                  ? html`<div class="field">
                      <label for="message"
                        >What would you like to solve?${optional('message')}</label
                      >
                      <textarea
                        id="message"
                        name="message"
                        rows="4"
                        ${required('message') ? raw('required') : ''}
                        maxlength="${FIELD_LIMITS.message}"
                        ${aria('message')}
                      >
${values.message ?? ''}</textarea
                      >${errorLine('message')}
                    </div>`
                  : ''
              }
              <div class="field check">
                <input
                  id="consent"
                  name="consent"
                  type="checkbox"
                  value="yes"
                  ${values.consent === 'yes' ? raw('checked') : ''}
                /><label for="consent">${CONSENT_TEXT.text}</label>
              </div>
              <div class="trap" aria-hidden="true">
                <label for="${HONEYPOT_FIELD}">Leave this field empty</label
                ><input
                  id="${HONEYPOT_FIELD}"
                  name="${HONEYPOT_FIELD}"
                  type="text"
                  tabindex="-1"
                  autocomplete="off"
                  value=""
                />
              </div>
              ${hidden.filter((name) => values[name] !== undefined).map((name) => html`<input type="hidden" name="${name}" value="${values[name]}" />`)}
              <button type="submit">${SUBMIT_LABELS[offer.kind]}</button>
            </form>
            <p class="muted" style="margin-top:1rem">
              <a href="${offer.path}">Back to ${offer.title}</a>
            </p>`
        : html`<p><a href="/">Back to the home page</a></p>`
    }`
  return htmlPage(c, { title, body, status: 422 })
}
