import type { Context } from 'hono'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { COMPANY_SIZES, FIELD_LIMITS, HONEYPOT_FIELD, UTM_PARAMS } from './lead-form.ts'
import type { FieldName, OfferInfo } from './offers.ts'
import { CONSENT_TEXT } from './consent.ts'
import { sitePage } from '../content/site-page.ts'

// The few HTML pages the API answers itself (they are on hot or error paths that never reach
// the page renderer): the lead form with its errors for browsers without JavaScript, and the
// download link pages, in the site's header and footer.

type Markup = HtmlEscapedString | Promise<HtmlEscapedString>

/** A page in the site's header and footer (api/content/site-page.ts). */
export function htmlPage(
  c: Context,
  page: { title: string; body: Markup; status: 200 | 400 | 404 | 410 | 422 | 429 },
) {
  return sitePage(c, page)
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
