import type { Context } from 'hono'
import { html } from 'hono/html'
import { SITE } from './site.ts'
import { sitePage } from './site-page.ts'

// What a browser's plain form or page request gets when the API fails on our side (api/app.ts's
// onError): a page in the site's chrome, never the raw JSON an API client gets. A form's page
// sends the visitor back with the Back button, which keeps what they typed in most browsers; a
// link to the form would load it empty.

/** Seconds a client is asked to wait before sending again while the database is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_S = 30

const sentForm = (c: Context) => c.req.method !== 'GET' && c.req.method !== 'HEAD'

/** What a page that cannot be shown says (here, and src/pages/500.astro for the site's pages). */
export const UNAVAILABLE_PAGE = {
  title: 'This page cannot be shown right now',
  text: 'We cannot reach our database at the moment. Please try again in a minute.',
}

/** The database cannot be reached: nothing was saved; send again in a minute. */
export function unavailablePage(c: Context) {
  c.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S))
  if (!sentForm(c))
    return sitePage(c, {
      title: UNAVAILABLE_PAGE.title,
      status: 503,
      body: html`<h1>${UNAVAILABLE_PAGE.title}</h1>
        <p>${UNAVAILABLE_PAGE.text}</p>
        <p><a href="/">Go to our home page</a></p>`,
    })
  return sitePage(c, {
    title: 'We could not save this just now',
    status: 503,
    body: html`<h1>We could not save this just now</h1>
      <p>
        We cannot reach our database at the moment, so nothing you sent was saved. Go back with your
        browser's Back button (it usually keeps what you typed) and send it again in a minute.
      </p>`,
  })
}

/** Anything else that failed on our side: logged, with the reference the visitor can quote. */
export function internalErrorPage(c: Context, requestId: string | undefined) {
  const reference = requestId ? html`<p class="muted">Reference: <code>${requestId}</code></p>` : ''
  return sitePage(c, {
    title: 'Something went wrong on our side',
    status: 500,
    body: html`<h1>Something went wrong on our side</h1>
      <p>
        It has been logged.
        ${
          sentForm(c)
            ? html`What you sent may not have been saved: go back with your browser's Back button
              (it usually keeps what you typed) and send it again.`
            : html`Please try again in a little while.`
        }
        If it keeps happening, write to
        <a href="mailto:${SITE.email.hello}">${SITE.email.hello}</a>.
      </p>
      ${reference}`,
  })
}
