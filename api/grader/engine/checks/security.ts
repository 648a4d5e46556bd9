import { vulnerabilitiesOf, RETIRE_SNAPSHOT } from '../js-libraries.ts'
import type { SiteData } from '../site-data.ts'
import type { CheckDefinition, EvidenceItem } from './check.ts'

// Security, 10 points: transport security and known-vulnerable libraries. Response headers such
// as CSP are reported with weight 0 (shown, not scored).

const https: CheckDefinition = {
  id: 'is-on-https',
  category: 'security',
  weight: 5,
  title: 'HTTPS with a valid certificate',
  passTitle: 'Uses HTTPS with a valid certificate',
  failTitle: 'Does not use HTTPS with a valid certificate',
  scoring:
    'The final page is served over https and its certificate validates → 1; http, or a certificate that does not validate → 0.',
  lighthouse: 'is-on-https',
  fix: 'Serve the site over HTTPS with a certificate from a trusted authority (Let’s Encrypt is free) and keep it renewed.',
  run(site) {
    if (site.tls === null) return { score: 0, summary: `Served over plain HTTP (${site.finalUrl})` }
    if (!site.tls.valid) {
      return { score: 0, summary: 'Served over HTTPS, but the certificate does not validate' }
    }
    return { score: 1, summary: 'Served over HTTPS with a valid certificate' }
  },
}

const SEVERITY_ORDER = ['unknown', 'low', 'medium', 'high', 'critical']

const vulnerableLibraries: CheckDefinition = {
  id: 'vulnerable-libraries',
  category: 'security',
  weight: 2,
  title: 'Known-vulnerable JavaScript libraries',
  passTitle: 'No known-vulnerable JavaScript libraries',
  failTitle: 'Includes JavaScript libraries with known vulnerabilities',
  scoring: `Libraries recognised in script URLs and contents with retire.js’s rules; any version with a published vulnerability → 0, otherwise 1. Snapshot: retire.js repository from ${RETIRE_SNAPSHOT.source} (${RETIRE_SNAPSHOT.published}).`,
  lighthouse: 'no-vulnerable-libraries (Lighthouse ≤ 9)',
  fix: 'Update the listed libraries to a fixed version (or drop them); check plugins and themes that bundle their own copies.',
  run(site) {
    const vulnerable: EvidenceItem[] = []
    for (const lib of site.libraries) {
      const vulns = vulnerabilitiesOf(lib.component, lib.version)
      if (vulns.length === 0) continue
      const worst = vulns.reduce(
        (w, v) => (SEVERITY_ORDER.indexOf(v.severity) > SEVERITY_ORDER.indexOf(w) ? v.severity : w),
        'unknown' as string,
      )
      vulnerable.push({
        library: lib.component,
        version: lib.version,
        severity: worst,
        vulnerabilities: vulns.length,
        cves: vulns
          .flatMap((v) => v.cves)
          .slice(0, 5)
          .join(', '),
        summary: vulns[0]?.summary ?? '',
        url: lib.url,
      })
    }
    const found = site.libraries.map((l) => `${l.component} ${l.version}`)
    return {
      score: vulnerable.length === 0 ? 1 : 0,
      summary:
        vulnerable.length > 0
          ? `${vulnerable.length} vulnerable librar${vulnerable.length === 1 ? 'y' : 'ies'}`
          : found.length > 0
            ? `Recognised ${found.join(', ')}: no known vulnerabilities`
            : site.libraryScanTimedOut
              ? 'No known libraries recognised (the script scan ran out of time)'
              : 'No known libraries recognised',
      items: vulnerable,
    }
  },
}

const httpRedirect: CheckDefinition = {
  id: 'redirects-http',
  category: 'security',
  weight: 1,
  title: 'HTTP redirects to HTTPS',
  passTitle: 'Redirects HTTP traffic to HTTPS',
  failTitle: 'Does not redirect HTTP traffic to HTTPS',
  scoring:
    'The plain-http address of the site ends on https → 1; stays on http (or the site has no https) → 0; nothing answers on plain http: not applicable.',
  lighthouse: 'redirects-http',
  fix: 'Redirect every http:// request to the same path on https:// with a 301.',
  run(site) {
    if (site.tls === null) return { score: 0, summary: 'The site is served over plain HTTP' }
    const probe = site.httpProbe
    if (probe === null || !probe.reachable) {
      return { score: null, summary: 'Nothing answers on plain HTTP' }
    }
    const secure = probe.finalUrl?.startsWith('https:') === true
    return {
      score: secure ? 1 : 0,
      summary: secure
        ? `${probe.url} redirects to ${probe.finalUrl}`
        : `${probe.url} stays on ${probe.finalUrl ?? 'http'}`,
    }
  },
}

const ONE_YEAR = 31_536_000

const hsts: CheckDefinition = {
  id: 'hsts',
  category: 'security',
  weight: 1,
  title: 'HSTS for at least a year',
  passTitle: 'Uses HSTS with max-age of a year or more',
  failTitle: 'Does not use HSTS for a year or more',
  scoring:
    'Strict-Transport-Security on the https page with max-age ≥ 31536000 → 1 (Lighthouse’s minimum), otherwise 0.',
  lighthouse: 'has-hsts',
  fix: 'Send "Strict-Transport-Security: max-age=31536000; includeSubDomains" on every https response.',
  run(site) {
    if (site.tls === null) return { score: 0, summary: 'No HTTPS, so no HSTS' }
    const header = site.headers['strict-transport-security']
    if (header === undefined) return { score: 0, summary: 'No Strict-Transport-Security header' }
    const maxAge = /max-age\s*=\s*"?(\d+)/i.exec(header)
    if (maxAge?.[1] === undefined) return { score: 0, summary: `No max-age directive (${header})` }
    const seconds = Number(maxAge[1])
    return {
      score: seconds >= ONE_YEAR ? 1 : 0,
      summary: `Strict-Transport-Security: ${header}`,
    }
  },
}

const UPGRADE_DIRECTIVE = 'upgrade-insecure-requests'

/** Whether one serialized policy has a directive of that name (CSP: split on ";", name any case). */
function policyHasDirective(policy: string, name: string): boolean {
  return policy.split(';').some((d) => d.trim().split(/\s+/)[0]?.toLowerCase() === name)
}

/**
 * Whether the page's enforced Content-Security-Policy tells the browser to fetch http:
 * subresources over https instead: the header (a comma-separated list of policies) or a
 * <meta http-equiv> in <head>. Report-Only policies do not upgrade, so they are not read.
 */
function upgradesInsecureRequests(site: SiteData): boolean {
  const header = site.headers['content-security-policy'] ?? ''
  return (
    header.split(',').some((policy) => policyHasDirective(policy, UPGRADE_DIRECTIVE)) ||
    site.page.contentSecurityPolicies.some((policy) =>
      policyHasDirective(policy, UPGRADE_DIRECTIVE),
    )
  )
}

const mixedContent: CheckDefinition = {
  id: 'mixed-content',
  category: 'security',
  weight: 1,
  title: 'No mixed content',
  passTitle: 'No insecure subresources',
  failTitle: 'Loads subresources over insecure HTTP',
  scoring:
    'An https page referencing scripts, styles, images, fonts, frames or media over http → 0, unless its Content-Security-Policy (header, or <meta> in <head>) has upgrade-insecure-requests, so browsers fetch them over https → 1; no http references → 1; an http page: not applicable.',
  lighthouse: 'is-on-https',
  fix: 'Reference every script, stylesheet, image, font and frame with https:// (or a relative URL).',
  run(site) {
    if (site.tls === null) return { score: null, summary: 'The page itself is served over HTTP' }
    const insecure = new Map<string, string>()
    for (const ref of site.page.insecureReferences) insecure.set(ref.url, ref.element)
    // Fonts and imports found in CSS are not in the HTML, so the inventory adds them.
    for (const r of site.resources) {
      if (r.url.startsWith('http:') && !insecure.has(r.url)) insecure.set(r.url, r.type)
    }
    const items = [...insecure].slice(0, 20).map(([url, element]) => ({ url, element }))
    if (insecure.size === 0) return { score: 1, summary: 'Every subresource uses HTTPS', items }
    if (upgradesInsecureRequests(site)) {
      return {
        score: 1,
        summary: `${insecure.size} http URL(s), fetched over HTTPS: the Content-Security-Policy has upgrade-insecure-requests`,
        items,
      }
    }
    return { score: 0, summary: `${insecure.size} insecure URL(s)`, items }
  },
}

const securityHeaders: CheckDefinition = {
  id: 'security-headers',
  category: 'security',
  weight: 0,
  title: 'Security headers (reported, not scored)',
  passTitle: 'Sends the common security headers',
  failTitle: 'Some common security headers are missing',
  scoring:
    'Content-Security-Policy, clickjacking protection (X-Frame-Options or CSP frame-ancestors), X-Content-Type-Options: nosniff and Referrer-Policy: reported with weight 0.',
  lighthouse: 'csp-xss, clickjacking-mitigation',
  fix: 'Add a Content-Security-Policy, "X-Content-Type-Options: nosniff", "Referrer-Policy: strict-origin-when-cross-origin" and frame-ancestors (or X-Frame-Options).',
  run(site) {
    const h = site.headers
    const csp = h['content-security-policy'] ?? null
    const present = {
      'content-security-policy': csp !== null,
      'frame protection': h['x-frame-options'] !== undefined || /frame-ancestors/i.test(csp ?? ''),
      'x-content-type-options': (h['x-content-type-options'] ?? '')
        .toLowerCase()
        .includes('nosniff'),
      'referrer-policy': h['referrer-policy'] !== undefined,
    }
    const count = Object.values(present).filter(Boolean).length
    return {
      score: count / 4,
      summary: `${count} of 4 security headers present`,
      items: Object.entries(present).map(([header, ok]) => ({ header, present: ok })),
    }
  },
}

export const SECURITY_CHECKS: CheckDefinition[] = [
  https,
  vulnerableLibraries,
  httpRedirect,
  hsts,
  mixedContent,
  securityHeaders,
]
