import type { APIRoute } from 'astro'
import { listCaseStudies, listWhitepapers } from '../components/site/collections.ts'
import { isoDate } from '../components/site/format.ts'

// Public, indexable pages only: no thank-you page, no 404, nothing under /app, /api or tokens.
const STATIC_PATHS = ['/', '/whitepapers', '/case-studies', '/grader', '/trial', '/privacy']

// Addresses on the running server's APP_ORIGIN (as the layout's canonical links), not the build's.
export const GET: APIRoute = async ({ locals }) => {
  const origin = locals.deps.env.APP_ORIGIN
  const [whitepapers, caseStudies] = await Promise.all([listWhitepapers(), listCaseStudies()])
  const entries: { path: string; lastmod?: Date }[] = [
    ...STATIC_PATHS.map((path) => ({ path })),
    ...whitepapers.map((e) => ({
      path: `/whitepapers/${e.id}`,
      lastmod: e.data.updatedAt ?? e.data.publishedAt,
    })),
    ...caseStudies.map((e) => ({ path: `/case-studies/${e.id}`, lastmod: e.data.publishedAt })),
  ]
  const body = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ...entries.map(({ path, lastmod }) =>
      [
        '  <url>',
        `    <loc>${escapeXml(new URL(path, origin).href)}</loc>`,
        lastmod ? `    <lastmod>${isoDate(lastmod)}</lastmod>` : null,
        '  </url>',
      ]
        .filter(Boolean)
        .join('\n'),
    ),
    '</urlset>',
    '',
  ].join('\n')
  return new Response(body, {
    headers: {
      'Content-Type': 'application/xml; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
    },
  })
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}
