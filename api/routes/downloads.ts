import { Hono, type Context } from 'hono'
import { html } from 'hono/html'
import {
  attachmentDisposition,
  findDownload,
  findGatedFile,
  gatedFileStream,
  recordDownload,
  renewDownloadLink,
} from '../leads/downloads.ts'
import { brandOf, loadSenderSettings } from '../email/sender.ts'
import type { AppEnv } from '../http/app-env.ts'
import { offersFor } from '../leads/context.ts'
import { htmlPage } from '../leads/page.ts'
import { hitRateLimit, limitAddress } from '../rate-limits.ts'

// GET /d/<token>: the gated file, for as long as the link is valid, as often as asked.
// An expired link gets a page that can email a fresh one; an unknown one a page that says so.

const DAY = 86_400_000
const HOUR = 3_600_000

export const downloadRoutes = new Hono<AppEnv>()
  .get('/:token', async (c) => {
    const { deps } = c.var
    const now = deps.now()
    const token = c.req.param('token')
    const found = await findDownload(deps.db, token, now)
    if (found.status === 'unknown') return unknownLink(c)
    if (found.status === 'expired') return expiredLink(c, token, found.offer)
    const file = await findGatedFile(deps.env.CONTENT_FILES_DIR, found.file)
    if (!file) {
      c.var.log.error('gated file missing', { file: found.file, dir: deps.env.CONTENT_FILES_DIR })
      return htmlPage(c, {
        title: 'This file is not available right now',
        status: 404,
        body: html`<h1>This file is not available right now</h1>
          <p>
            Sorry: the file behind this link is missing on our side. It has been logged and we are
            on it. Please try again later.
          </p>
          <p><a href="/">Back to the home page</a></p>`,
      })
    }
    const headers = {
      'Content-Type': file.contentType,
      'Content-Length': String(file.size),
      'Content-Disposition': attachmentDisposition(file.name),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Robots-Tag': 'noindex',
    }
    // A HEAD (link checkers, some mail scanners) is answered but not counted.
    if (c.req.method === 'HEAD') return c.body(null, 200, headers)
    await recordDownload(deps.db, found.id, now)
    return c.body(gatedFileStream(file), 200, headers)
  })
  .post('/:token/renew', async (c) => {
    const { deps } = c.var
    // Not under /api (no CSRF middleware): refuse other sites' forms here.
    const origin = c.req.header('origin')
    if (origin && origin !== deps.env.APP_ORIGIN && origin !== new URL(c.req.url).origin) {
      return htmlPage(c, {
        title: 'Not allowed',
        status: 400,
        body: html`<h1>Not allowed</h1>
          <p>This form can only be sent from our own site.</p>`,
      })
    }
    const now = deps.now()
    const token = c.req.param('token')
    const found = await findDownload(deps.db, token, now)
    if (found.status === 'unknown') return unknownLink(c)
    const offers = await offersFor(deps)
    const offer = offers.find(found.offer)
    if (found.status === 'ok') {
      return htmlPage(c, {
        title: 'Your link still works',
        status: 200,
        body: html`<h1>Your link still works</h1>
          <p><a href="/d/${token}">Download ${offer?.title ?? 'the file'}</a></p>`,
      })
    }
    const ip = c.var.ip
    const perLink = await hitRateLimit(
      deps.db,
      `download-renew:${found.id}`,
      { limit: 3, windowMs: DAY },
      now,
    )
    const perIp = await hitRateLimit(
      deps.db,
      `download-renew-ip:${limitAddress(ip)}`,
      { limit: 10, windowMs: HOUR },
      now,
    )
    if (!perLink.allowed || !perIp.allowed) {
      c.header('Retry-After', String(Math.max(perLink.retryAfterSeconds, perIp.retryAfterSeconds)))
      return htmlPage(c, {
        title: 'Please wait a little',
        status: 429,
        body: html`<h1>Please wait a little</h1>
          <p>
            We have already sent new links for this one recently. Check your inbox (and the spam
            folder); you can ask again later.
          </p>
          ${offer ? html`<p>Or <a href="${offer.path}">request ${offer.title} again</a>.</p>` : ''}`,
      })
    }
    const sender = await loadSenderSettings(deps.db, deps.env)
    const { sent } = await renewDownloadLink(deps.db, found, offer, {
      now,
      secret: deps.secret,
      origin: deps.env.APP_ORIGIN,
      days: deps.env.DOWNLOAD_LINK_DAYS,
      brand: brandOf(sender),
    })
    if (!sent) return unknownLink(c)
    return htmlPage(c, {
      title: 'A new link is on its way',
      status: 200,
      body: html`<h1>A new link is on its way</h1>
        <p class="ok" role="status">
          We have emailed a new download link to the address you used before.
        </p>
        <p>
          It should arrive within a few minutes. If it does not, check your spam or promotions
          folder.
        </p>
        <p><a href="/">Back to the home page</a></p>`,
    })
  })

function expiredLink(c: Context<AppEnv>, token: string, offerKey: string) {
  return offersFor(c.var.deps).then((offers) => {
    const offer = offers.find(offerKey)
    return htmlPage(c, {
      title: 'This download link has expired',
      status: 410,
      body: html`<h1>This download link has expired</h1>
        <p>
          Download links work for ${c.var.deps.env.DOWNLOAD_LINK_DAYS}
          days${offer ? html`, and the one for <strong>${offer.title}</strong> has run out` : ''}.
          We can email you a new one.
        </p>
        <form method="post" action="/d/${token}/renew">
          <button type="submit">Email me a new link</button>
        </form>
        <p class="muted" style="margin-top:1rem">
          It goes to the email address you used when you asked for
          it.${offer ? html` You can also <a href="${offer.path}">request it again</a>.` : ''}
        </p>`,
    })
  })
}

function unknownLink(c: Context<AppEnv>) {
  return htmlPage(c, {
    title: 'This download link does not work',
    status: 404,
    body: html`<h1>This download link does not work</h1>
      <p>
        We could not find this link. It may have been copied only in part: check that the whole
        address from the email is in your browser.
      </p>
      <p>
        You can request the file again from its page: browse our
        <a href="/whitepapers">whitepapers</a> or <a href="/case-studies">case studies</a>.
      </p>`,
  })
}
