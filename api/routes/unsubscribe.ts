import { Hono, type Context } from 'hono'
import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { loadSenderSettings } from '../email/sender.ts'
import { findSuppression } from '../email/suppressions.ts'
import {
  findUnsubscribeToken,
  maskEmail,
  TEST_UNSUBSCRIBE_TOKEN,
  unsubscribe,
} from '../email/unsubscribe.ts'
import type { AppEnv } from '../http/app-env.ts'
import { SITE } from '../content/site.ts'
import { sitePage } from '../content/site-page.ts'

// /u/<token>, RFC 8058 one-click unsubscribe. POST unsubscribes at once: no cookie, no login, no
// Origin check (mail providers send none; app.ts applies CSRF to /api only), 200 and a page, never
// a redirect. GET only shows a confirm button, because link scanners and previews fetch every URL
// in a mail; HEAD (answered by the GET handler without a body) and OPTIONS change nothing. A
// token we never issued gets one generic page, whatever was wrong with it, pointing at the privacy
// address (our mail may come from a no-reply sender, so "reply" is no advice); a test message's link
// (a campaign's "Send me a test") gets a page that says what it is, so whoever checks the test
// sees the link works.

export const unsubscribeRoutes = new Hono<AppEnv>()
  .on(['GET', 'POST'], `/${TEST_UNSUBSCRIBE_TOKEN}`, async (c) => {
    const brand = await brandName(c)
    return page(
      c,
      200,
      'Unsubscribe link of a test message',
      html`<h1>This is a test message’s unsubscribe link</h1>
        <p>
          It came in a test of a ${brand} campaign, so nobody was unsubscribed. In the messages the
          campaign sends, this link takes each recipient to a page that unsubscribes them.
        </p>`,
    )
  })
  .get('/:token', async (c) => {
    const found = await findUnsubscribeToken(c.var.db, c.req.param('token'))
    const brand = await brandName(c)
    if (!found) return notFound(c)
    const suppression = await findSuppression(c.var.db, found.email)
    if (suppression?.reason === 'unsubscribe') return done(c, brand, found.email, 'already')
    return page(
      c,
      200,
      `Unsubscribe from ${brand}`,
      html`<h1>Unsubscribe from ${brand} emails?</h1>
        <p>
          We will stop sending marketing and outreach emails to
          <strong>${maskEmail(found.email)}</strong>. Emails you ask for yourself, such as a
          download link, still arrive.
        </p>
        <form method="post" action="/u/${c.req.param('token')}">
          <button type="submit">Unsubscribe</button>
        </form>
        <p class="muted">No sign-in needed. It takes effect at once.</p>`,
    )
  })
  .post('/:token', async (c) => {
    const result = await unsubscribe(
      c.var.db,
      c.req.param('token'),
      {
        via: (await isOneClick(c)) ? 'one-click' : 'page',
        ip: c.var.ip,
        userAgent: c.req.header('user-agent') ?? null,
      },
      c.var.deps.now(),
    )
    const brand = await brandName(c)
    if (!result) return notFound(c)
    c.var.log.info('unsubscribed', { already: result.alreadySuppressed })
    return done(c, brand, result.email, result.alreadySuppressed ? 'already' : 'now')
  })
  .options('/:token', (c) => {
    c.header('Allow', 'GET, HEAD, POST, OPTIONS')
    return c.body(null, 204)
  })
  .all('/:token', (c) => {
    c.header('Allow', 'GET, HEAD, POST, OPTIONS')
    return c.text('Method not allowed', 405)
  })

/**
 * A one-click POST from a mail provider carries the field List-Unsubscribe=One-Click (RFC 8058),
 * as multipart/form-data (what the RFC asks for) or urlencoded; our page's form sends none. A
 * body that cannot be read is the page's: the unsubscribe happens either way.
 */
async function isOneClick(c: Context<AppEnv>): Promise<boolean> {
  const type = (c.req.header('content-type') ?? '').toLowerCase()
  if (
    type.startsWith('multipart/form-data') ||
    type.startsWith('application/x-www-form-urlencoded')
  )
    return (await c.req.parseBody().catch(() => null))?.['List-Unsubscribe'] === 'One-Click'
  return (await c.req.text().catch(() => '')).includes('List-Unsubscribe=One-Click')
}

async function brandName(c: Context<AppEnv>): Promise<string> {
  return (await loadSenderSettings(c.var.db, c.var.deps.env)).brandName
}

function done(c: Context<AppEnv>, brand: string, email: string, when: 'now' | 'already') {
  return page(
    c,
    200,
    'Unsubscribed',
    html`<h1>${when === 'now' ? 'You are unsubscribed' : 'You are already unsubscribed'}</h1>
      <p>
        ${brand} will send no more marketing or outreach emails to
        <strong>${maskEmail(email)}</strong>. Emails you ask for yourself, such as a download link,
        still arrive.
      </p>
      <p class="muted">You can close this page.</p>`,
  )
}

function notFound(c: Context<AppEnv>) {
  return page(
    c,
    404,
    'Link not recognised',
    html`<h1>This unsubscribe link is not recognised</h1>
      <p>
        It may have been cut off when it was copied. Open it again from the email, or write to
        <a href="mailto:${SITE.email.privacy}">${SITE.email.privacy}</a> from the address you want
        taken off our list: a person will do it.
      </p>`,
  )
}

/**
 * In the site's header and footer. No Referer at all: the token is in the URL, and the page's
 * form needs no Origin (/u is exempt from the origin check, as RFC 8058 posts carry none).
 */
function page(
  c: Context<AppEnv>,
  status: 200 | 404,
  title: string,
  body: HtmlEscapedString | Promise<HtmlEscapedString>,
) {
  return sitePage(c, {
    title,
    body,
    status,
    referrerPolicy: 'no-referrer',
    cacheControl: 'no-store',
  })
}
