import { Hono, type Context } from 'hono'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { loadSenderSettings } from '../email/sender.ts'
import { findSuppression } from '../email/suppressions.ts'
import { findUnsubscribeToken, maskEmail, unsubscribe } from '../email/unsubscribe.ts'
import type { AppEnv } from '../http/app-env.ts'

// /u/<token>, RFC 8058 one-click unsubscribe. POST unsubscribes at once: no cookie, no login, no
// Origin check (mail providers send none; app.ts applies CSRF to /api only), 200 and a page, never
// a redirect. GET only shows a confirm button, because link scanners and previews fetch every URL
// in a mail; HEAD (answered by the GET handler without a body) and OPTIONS change nothing. A
// token we never issued gets one generic page, whatever was wrong with it.

export const unsubscribeRoutes = new Hono<AppEnv>()
  .get('/:token', async (c) => {
    const found = await findUnsubscribeToken(c.var.db, c.req.param('token'))
    const brand = await brandName(c)
    if (!found) return notFound(c, brand)
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
      brand,
    )
  })
  .post('/:token', async (c) => {
    const result = await unsubscribe(
      c.var.db,
      c.req.param('token'),
      {
        // A one-click POST from a mail provider carries this body (RFC 8058); our page's form does not.
        via: (await c.req.text().catch(() => '')).includes('List-Unsubscribe=One-Click')
          ? 'one-click'
          : 'page',
        ip: c.var.ip,
        userAgent: c.req.header('user-agent') ?? null,
      },
      c.var.deps.now(),
    )
    const brand = await brandName(c)
    if (!result) return notFound(c, brand)
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
    brand,
  )
}

function notFound(c: Context<AppEnv>, brand: string) {
  return page(
    c,
    404,
    'Link not recognised',
    html`<h1>This unsubscribe link is not recognised</h1>
      <p>
        It may have been cut off when it was copied. Open it again from the email, or reply to the
        email and ask us to stop: a person will take you off the list.
      </p>`,
    brand,
  )
}

const styles = `
:root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --text: #1d2433; --muted: #4b5563; --border: #d9dde3; --accent: #2146c7; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1218; --card: #181c24; --text: #e8eaee; --muted: #a3acb9; --border: #2b313c; --accent: #8fa8ff; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1.5rem 1rem; background: var(--bg); color: var(--text); font: 16px/1.6 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { width: 100%; max-width: 30rem; background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 2rem; }
.brand { margin: 0 0 1.25rem; font-weight: 700; letter-spacing: -.01em; }
h1 { font-size: 1.4rem; line-height: 1.3; margin: 0 0 1rem; }
p { margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: .9rem; margin: 1rem 0 0; }
form { margin: 1.5rem 0 0; }
button { font: inherit; font-weight: 600; width: 100%; padding: .75rem 1rem; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: var(--card); cursor: pointer; }
button:hover { filter: brightness(1.1); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px; }
`

function page(
  c: Context<AppEnv>,
  status: 200 | 404,
  title: string,
  body: HtmlEscapedString | Promise<HtmlEscapedString>,
  brand: string,
) {
  c.header(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  )
  // The token is in the URL: keep it out of Referer headers, caches and search indexes.
  c.header('Referrer-Policy', 'no-referrer')
  c.header('Cache-Control', 'no-store')
  c.header('X-Robots-Tag', 'noindex')
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('X-Frame-Options', 'DENY')
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>${title} · ${brand}</title>
          <style>
            ${raw(styles)}
          </style>
        </head>
        <body>
          <main>
            <p class="brand">${brand}</p>
            ${body}
          </main>
        </body>
      </html>`,
    status,
  )
}
