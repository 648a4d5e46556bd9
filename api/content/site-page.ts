import type { Context } from 'hono'
import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { SITE } from './site.ts'

// The site's header and footer around the few pages the API answers itself (download links,
// unsubscribe, the lead form's errors without JavaScript, tracked-link errors). They are on hot
// or error paths that never reach the page renderer, so they carry their own inline styles (the
// same tokens as src/styles/) and no scripts; the links and company facts match SiteHeader.astro
// and SiteFooter.astro.

export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

const STYLE = `
*{box-sizing:border-box}
html{font-family:ui-sans-serif,system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#151b26;background:#f6f8fa;line-height:1.55}
body{margin:0;min-height:100vh;display:flex;flex-direction:column}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem 1rem;z-index:1}
.wrap{max-width:72rem;margin:0 auto;padding:0 1.25rem}
.site-header{background:#fff;border-bottom:1px solid #e1e6ed}
.site-header .wrap{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;min-height:4rem;padding-block:.75rem}
.home{display:inline-flex;align-items:center;gap:.5rem;color:#151b26;font-size:1.25rem;font-weight:700;letter-spacing:-.02em;text-decoration:none}
.site-nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;list-style:none;margin:0;padding:0}
.site-nav a{color:#4f5a6a;font-weight:500;text-decoration:none}.site-nav a:hover{color:#151b26;text-decoration:underline}
.cta{margin-left:auto;display:inline-block;font-weight:600;font-size:.875rem;padding:.45rem .9rem;border-radius:8px;background:#1d44d8;color:#fff;text-decoration:none}
.cta:hover{background:#1e39af}
@media (max-width:47.99rem){.site-nav{order:3;flex-basis:100%}}
main{flex:1;width:100%;max-width:40rem;margin:2rem auto;padding:0 1rem 3rem}
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
.site-footer{background:#0b1530;color:#c7d0dc;font-size:.875rem}
.site-footer .wrap{display:flex;flex-wrap:wrap;justify-content:space-between;gap:1rem 2rem;padding-block:2rem}
.site-footer p{margin:0 0 .5rem}.site-footer address{font-style:normal}
.site-footer a{color:#fff}.site-footer a:hover{color:#6ee7d3}
.site-footer ul{list-style:none;margin:0;padding:0;display:grid;gap:.4rem}
.site-footer :focus-visible{outline-color:#6ee7d3}
`

const LOGO = raw(
  '<svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><rect width="24" height="24" rx="6" fill="#172254"></rect><path d="M5 8h14l-7 10z" fill="#6ee7d3"></path></svg>',
)

/**
 * A complete HTML page in the site's chrome. Its URL may carry a bearer token (/d/, /u/): the
 * Referer sent onward is the origin only (`strict-origin`), never the path. Not `no-referrer`:
 * with it Chromium posts `Origin: null`, and the page's own forms fail the origin check.
 */
export function sitePage(
  c: Context,
  page: {
    title: string
    body: Markup
    status: 200 | 400 | 404 | 410 | 422 | 429 | 500 | 503
    /** no-referrer only for a page whose forms need no Origin (the unsubscribe page). */
    referrerPolicy?: 'strict-origin' | 'no-referrer'
    cacheControl?: string
  },
) {
  c.header('Content-Security-Policy', CSP)
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('X-Frame-Options', 'DENY')
  c.header('Referrer-Policy', page.referrerPolicy ?? 'strict-origin')
  c.header('Cache-Control', page.cacheControl ?? 'private, no-store')
  c.header('X-Robots-Tag', 'noindex')
  const year = new Date().getUTCFullYear()
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>${page.title} · ${SITE.name}</title>
          <style>
            ${raw(STYLE)}
          </style>
        </head>
        <body>
          <a class="skip" href="#main">Skip to content</a>
          <header class="site-header">
            <div class="wrap">
              <a class="home" href="/" aria-label="${SITE.name} home"
                >${LOGO}<span>${SITE.name}</span></a
              >
              <nav class="site-nav" aria-label="Main">
                <ul role="list">
                  <li><a href="/whitepapers">Whitepapers</a></li>
                  <li><a href="/case-studies">Case studies</a></li>
                  <li><a href="/grader">Website grader</a></li>
                </ul>
              </nav>
              <a class="cta" href="/trial">Request a demo</a>
            </div>
          </header>
          <main id="main">
            <div class="card">${page.body}</div>
          </main>
          <footer class="site-footer">
            <div class="wrap">
              <div>
                <p>${SITE.tagline}.</p>
                <address>${SITE.address}</address>
              </div>
              <ul role="list">
                <li><a href="/privacy">Privacy policy</a></li>
                <li><a href="mailto:${SITE.email.hello}">${SITE.email.hello}</a></li>
              </ul>
              <p>© ${year} ${SITE.legalName}</p>
            </div>
          </footer>
        </body>
      </html>`,
    page.status,
  )
}
