import type { APIRoute } from 'astro'

// Private and per-person paths stay out of crawlers: the rep app, the API, and the token routes
// (tracked links, unsubscribe, downloads), which would otherwise be "clicked" by crawlers.
const DISALLOW = ['/app', '/api', '/r/', '/u/', '/d/']

export const GET: APIRoute = ({ locals }) => {
  const origin = locals.deps.env.APP_ORIGIN
  const body = [
    'User-agent: *',
    'Allow: /',
    ...DISALLOW.map((path) => `Disallow: ${path}`),
    '',
    `Sitemap: ${new URL('/sitemap.xml', origin).href}`,
    '',
  ].join('\n')
  return new Response(body, {
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
    },
  })
}
