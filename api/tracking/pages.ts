import type { Context } from 'hono'
import { html } from 'hono/html'
import { htmlPage } from '../leads/page.ts'

// The pages a tracked link answers when it cannot redirect: plain HTML in the site's look (the
// self-contained page of the other token routes), never JSON and never a redirect.

const body = (title: string, text: ReturnType<typeof html>) =>
  html`<h1>${title}</h1>
    ${text}
    <p><a href="/">Go to our home page</a></p>`

export function linkNotFoundPage(c: Context) {
  return htmlPage(c, {
    title: 'This link does not work',
    status: 404,
    body: body(
      'This link does not work',
      html`<p>
        We could not find this link. It may have been copied only in part: check that the whole
        address from the email is in your browser's address bar.
      </p>`,
    ),
  })
}

export function tooManyLinksPage(c: Context, retryAfterSeconds: number) {
  c.header('Retry-After', String(retryAfterSeconds))
  return htmlPage(c, {
    title: 'Please wait a little',
    status: 429,
    body: body(
      'Please wait a little',
      html`<p>
        This address has asked for many links that do not exist. Please try again in a minute.
      </p>`,
    ),
  })
}

/** The database cannot say where an unknown link goes: a 503, so the visitor can simply retry. */
export async function linkUnavailablePage(c: Context) {
  c.header('Retry-After', '30')
  const page = await htmlPage(c, {
    title: 'This link cannot be opened right now',
    status: 404,
    body: body(
      'This link cannot be opened right now',
      html`<p>
        Something went wrong on our side and it has been logged. Please try the link again in a
        minute.
      </p>`,
    ),
  })
  return new Response(page.body, { status: 503, headers: page.headers })
}
