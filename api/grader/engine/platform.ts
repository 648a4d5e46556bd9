import type { SiteData } from './site-data.ts'

// Which CMS or framework runs the site, from its generator meta, response headers, asset hosts
// and paths, and DOM fingerprints. Reps use it to open the conversation ("on WordPress, …").

export type Platform = { name: string; evidence: string[] }

type Signal = {
  name: string
  generator?: RegExp
  headers?: Array<[string, RegExp]>
  assets?: RegExp
  marker?: string
}

// Site builders and CMSs first: a WordPress site may well be served by Next.js-like tooling, but
// the CMS is what a rep wants to know.
const SIGNALS: Signal[] = [
  {
    name: 'Shopify',
    headers: [
      ['x-shopid', /./],
      ['x-shopify-stage', /./],
      ['powered-by', /shopify/i],
    ],
    assets: /cdn\.shopify\.com|\/cdn\/shop\//i,
  },
  {
    name: 'Wix',
    generator: /^wix\.com/i,
    headers: [['x-wix-request-id', /./]],
    assets: /static\.parastorage\.com|static\.wixstatic\.com/i,
  },
  {
    name: 'Squarespace',
    generator: /squarespace/i,
    headers: [['server', /squarespace/i]],
    assets: /static1\.squarespace\.com|assets\.squarespace\.com/i,
  },
  {
    name: 'Webflow',
    generator: /^webflow/i,
    marker: 'webflow',
    assets: /website-files\.com|assets\.webflow\.com/i,
  },
  {
    name: 'HubSpot',
    generator: /hubspot/i,
    headers: [
      ['x-hs-hub-id', /./],
      ['x-hs-cache-config', /./],
    ],
    assets: /hubspotusercontent|hsappstatic\.net|\/hs-fs\/|\/_hcms\//i,
    marker: 'hubspot',
  },
  {
    name: 'WordPress',
    generator: /^wordpress/i,
    headers: [
      ['link', /api\.w\.org/i],
      ['x-powered-by', /wp engine/i],
    ],
    assets: /\/wp-content\/|\/wp-includes\//i,
  },
  {
    name: 'Drupal',
    generator: /^drupal/i,
    headers: [
      ['x-drupal-cache', /./],
      ['x-generator', /drupal/i],
      ['x-drupal-dynamic-cache', /./],
    ],
    assets: /\/sites\/default\/files\//i,
  },
  { name: 'Joomla', generator: /^joomla/i },
  { name: 'Ghost', generator: /^ghost/i },
  { name: 'Framer', generator: /^framer/i, assets: /framerusercontent\.com/i },
  {
    name: 'Next.js',
    headers: [['x-powered-by', /next\.js/i]],
    marker: 'nextjs',
    assets: /\/_next\/static\//,
  },
  { name: 'Nuxt', marker: 'nuxt', assets: /\/_nuxt\// },
  { name: 'Gatsby', generator: /^gatsby/i, marker: 'gatsby' },
  { name: 'Astro', generator: /^astro/i, assets: /\/_astro\// },
  { name: 'Hugo', generator: /^hugo/i },
]

export function detectPlatform(site: SiteData): Platform | null {
  const generator = site.page.metas.find((m) => m.name === 'generator')?.content ?? ''
  const assetUrls = [
    ...site.page.scripts.map((s) => s.src),
    ...site.page.stylesheets.map((s) => s.href),
    ...site.page.images.map((i) => i.src),
    ...site.resources.map((r) => r.url),
  ].filter((u) => u !== null)
  for (const signal of SIGNALS) {
    const evidence: string[] = []
    if (signal.generator?.test(generator.trim())) evidence.push(`generator: ${generator.trim()}`)
    for (const [name, pattern] of signal.headers ?? []) {
      const value = site.headers[name]
      if (value !== undefined && pattern.test(value)) evidence.push(`header ${name}`)
    }
    const asset =
      signal.assets === undefined ? undefined : assetUrls.find((u) => signal.assets?.test(u))
    if (asset !== undefined) evidence.push(`asset ${asset.slice(0, 200)}`)
    if (signal.marker !== undefined && site.page.markers.includes(signal.marker)) {
      evidence.push(`page markup (${signal.marker})`)
    }
    if (evidence.length > 0) return { name: signal.name, evidence }
  }
  return null
}
