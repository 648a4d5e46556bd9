import { describe, expect, it } from 'vitest'
import * as assetDelivery from '../../email-templates/asset-delivery.ts'
import * as graderReportReady from '../../email-templates/grader-report-ready.ts'
import { findTemplate, templates } from '../../email-templates/index.ts'
import { renderLayout } from '../../email-templates/layout.ts'
import { html } from '../../email-templates/html.ts'
import * as newQualifiedLeads from '../../email-templates/new-qualified-leads.ts'
import * as passwordReset from '../../email-templates/password-reset.ts'
import * as userInvitation from '../../email-templates/user-invitation.ts'

// Props whose type is a closed set of words, not free text.
const enumProps = new Set(['role'])

/** Every string prop replaced by a script tag; URL props by a URL carrying one. */
function poisoned(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (enumProps.has(key)) return value
    return /^https?:/.test(value)
      ? `${value}?q="><script>alert(1)</script>`
      : `<script>alert("${key}")</script>"'&`
  }
  if (Array.isArray(value)) return value.map((v) => poisoned(v, key))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poisoned(v, k)]))
  }
  return value
}

/** Every URL prop replaced by a javascript: URL. */
function withJavascriptLinks(value: unknown): unknown {
  if (typeof value === 'string') return /^https?:/.test(value) ? 'javascript:alert(1)' : value
  if (Array.isArray(value)) return value.map(withJavascriptLinks)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withJavascriptLinks(v)]))
  }
  return value
}

function visibleText(markup: string): string {
  return markup
    .replace(/<(style|title)[^>]*>[\s\S]*?<\/\1>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
}

describe('the template index', () => {
  it('lists every email the product sends, each with a description', () => {
    expect(templates.map((t) => t.name).sort()).toEqual([
      'asset-delivery',
      'grader-report-ready',
      'new-qualified-leads',
      'next-steps-digest',
      'outreach',
      'password-reset',
      'sign-in-alert',
      'user-invitation',
      'webhook-disabled',
    ])
    for (const t of templates) expect(t.description.length, t.name).toBeGreaterThan(10)
    expect(findTemplate('password-reset')?.render).toBe(passwordReset.render)
    expect(findTemplate('nope')).toBeNull()
  })
})

describe.each(templates.map((t) => [t.name, t] as const))('%s', (name, template) => {
  it('renders its default props with a subject, an HTML part and a text part', () => {
    const email = template.render(template.defaults)
    expect(email.subject.length).toBeGreaterThan(5)
    expect(email.subject).not.toMatch(/[\r\n]/)
    expect(email.html).toMatch(/^<!doctype html>/i)
    expect(email.html).toContain('</html>')
    expect(email.text.trim().length).toBeGreaterThan(50)
    expect(email.text).not.toMatch(/<\/?[a-z][^>]*>/i)
  })

  it('links the same places in the text part as in the HTML part', () => {
    const email = template.render(template.defaults)
    const hrefs = [...email.html.matchAll(/href="([^"]+)"/g)].map((m) =>
      m[1]!.replace(/&amp;/g, '&'),
    )
    expect(hrefs.length).toBeGreaterThan(0)
    for (const href of new Set(hrefs)) {
      if (href === template.defaults.brand.siteUrl) continue
      expect(email.text, `${name}: ${href}`).toContain(href)
    }
  })

  it('escapes a script tag in every prop', () => {
    const email = template.render(poisoned(template.defaults))
    expect(email.html).not.toMatch(/<script/i)
    expect(email.html).toContain('&lt;script&gt;')
  })

  it('shows the sender’s postal address', () => {
    const email = template.render(template.defaults)
    expect(visibleText(email.html)).toContain('1 Example Street, Springfield')
    expect(email.text).toContain('1 Example Street, Springfield')
  })

  it('refuses a javascript: link instead of rendering it', () => {
    expect(() => template.render(withJavascriptLinks(template.defaults))).toThrow(
      /not an http\(s\) or mailto URL/,
    )
  })
})

describe('asset delivery', () => {
  it('carries the download link and how long it works', () => {
    const email = assetDelivery.render({
      ...assetDelivery.defaults,
      downloadUrl: 'https://frontdoor.example/d/tok123',
      expiresInDays: 1,
    })
    expect(email.html).toContain('href="https://frontdoor.example/d/tok123"')
    expect(email.text).toContain('https://frontdoor.example/d/tok123')
    expect(email.text).toContain('works for 1 day;')
    expect(email.subject).toBe('Your whitepaper: The 2025 B2B Lead Response Benchmark')
  })

  it('greets without a name when there is none', () => {
    const email = assetDelivery.render({ ...assetDelivery.defaults, firstName: null })
    expect(email.text).toMatch(/^Hi,$/m)
  })

  it('keeps a multi-line name on one line in both parts', () => {
    const email = assetDelivery.render({
      ...assetDelivery.defaults,
      firstName: 'Dana\n\nClick here: evil',
    })
    expect(email.text).toContain('Hi Dana Click here: evil,')
  })
})

describe('grader report ready', () => {
  it('states site, score and band, and links the full report', () => {
    const email = graderReportReady.render({
      ...graderReportReady.defaults,
      site: 'contoso.example',
      totalScore: 91.6,
      band: 'A',
      reportUrl: 'https://frontdoor.example/grader/reports/r1',
    })
    expect(email.subject).toBe('Your website grade for contoso.example: 92/100 (A)')
    expect(email.text).toContain('Total score: 92/100 · grade A')
    expect(email.text).toContain('Performance: 21/30')
    expect(email.html).toContain('href="https://frontdoor.example/grader/reports/r1"')
  })
})

describe('the unsubscribe line', () => {
  // The consent checkbox promises "the unsubscribe link in every email": every email a lead or
  // prospect gets carries it (api/email/marketing.ts issues the link); mail to staff does not.
  const toLeads = ['asset-delivery', 'grader-report-ready']

  it.each(toLeads)('%s shows its unsubscribe link at the bottom of both parts', (name) => {
    const template = findTemplate(name)!
    const url = 'https://frontdoor.example/u/abcdefghijklmnopqrstuvwxyz'
    const email = template.render({ ...template.defaults, unsubscribeUrl: url })
    expect(email.html).toMatch(
      /Don’t want our marketing emails\? <a href="https:\/\/frontdoor\.example\/u\/abcdefghijklmnopqrstuvwxyz"[^>]*>Unsubscribe<\/a><\/p>\s*<\/td>/,
    )
    expect(email.text.trimEnd().split('\n').at(-1)).toBe(
      `Don’t want our marketing emails? Unsubscribe: ${url}`,
    )
  })

  it('is in no email to staff', () => {
    const toStaff = templates.filter((t) => t.name !== 'outreach' && !toLeads.includes(t.name))
    expect(toStaff.map((t) => t.name).sort()).toEqual([
      'new-qualified-leads',
      'next-steps-digest',
      'password-reset',
      'sign-in-alert',
      'user-invitation',
      'webhook-disabled',
    ])
    for (const t of toStaff) {
      const email = t.render(t.defaults)
      expect(email.text, t.name).not.toContain('Unsubscribe')
      expect(email.html, t.name).not.toContain('Unsubscribe')
    }
  })
})

describe('new qualified leads', () => {
  const lead = newQualifiedLeads.defaults.leads[0]!

  it('counts the batch in the subject and lists who, company, source and evidence', () => {
    const email = newQualifiedLeads.render(newQualifiedLeads.defaults)
    expect(email.subject).toBe('3 new qualified leads waiting')
    expect(email.text).toContain('- Dana Whitfield · Head of Growth, Northwind Traders')
    expect(email.text).toContain('Whitepaper form · Downloaded')
    expect(visibleText(email.html)).toContain('Website grader · Graded acme-widgets.example')
    expect(email.html).toContain('href="https://frontdoor.example/app/leads"')
  })

  it('names a single lead in the subject, falling back to the email without a name', () => {
    expect(newQualifiedLeads.render({ ...newQualifiedLeads.defaults, leads: [lead] }).subject).toBe(
      'New qualified lead: Dana Whitfield (Northwind Traders)',
    )
    const anonymous = { ...lead, name: null, company: null }
    expect(
      newQualifiedLeads.render({ ...newQualifiedLeads.defaults, leads: [anonymous] }).subject,
    ).toBe('New qualified lead: dana@northwind.example')
  })

  it('shows at most ten and says how many more there are', () => {
    const leads = Array.from({ length: 12 }, (_, i) => ({ ...lead, name: `Lead ${i + 1}` }))
    const email = newQualifiedLeads.render({ ...newQualifiedLeads.defaults, leads, totalCount: 30 })
    expect(email.subject).toBe('30 new qualified leads waiting')
    expect(email.text).toContain('Lead 10 ·')
    expect(email.text).not.toContain('Lead 11 ·')
    expect(email.text).toContain('…and 20 more.')
  })
})

describe('user invitation', () => {
  it('says who invited, with which role, and how long the link works', () => {
    const email = userInvitation.render({
      ...userInvitation.defaults,
      role: 'sdr',
      expiresInDays: 1,
    })
    expect(email.subject).toBe('Alex Morgan invited you to Frontdoor')
    expect(email.text).toContain('as an SDR (campaigns and prospects)')
    expect(email.text).toContain('works for 1 day.')
    expect(email.html).toContain(`href="${userInvitation.defaults.setPasswordUrl}"`)
  })
})

describe('password reset', () => {
  it('says how long the link works and where the request came from', () => {
    const email = passwordReset.render({ ...passwordReset.defaults, expiresInMinutes: 60 })
    expect(email.text).toContain('works for 1 hour.')
    expect(email.text).toContain('(from Firefox on Linux, 203.0.113.7)')
    expect(
      passwordReset.render({ ...passwordReset.defaults, expiresInMinutes: 15 }).text,
    ).toContain('works for 15 minutes.')
  })
})

describe('the layout', () => {
  const base = {
    brand: { name: 'Frontdoor' },
    subject: 'Subject',
    heading: 'Heading',
    content: html`<p>content</p>`,
    text: 'content',
  }

  it('adds a visible unsubscribe link to both parts when given one', () => {
    const email = renderLayout({ ...base, unsubscribeUrl: 'https://frontdoor.example/u/tok' })
    expect(email.html).toMatch(
      /Don’t want our marketing emails\? <a href="https:\/\/frontdoor\.example\/u\/tok"[^>]*>Unsubscribe<\/a>/,
    )
    expect(email.text).toContain(
      'Don’t want our marketing emails? Unsubscribe: https://frontdoor.example/u/tok',
    )
  })

  it('has no unsubscribe link or postal address when none is configured', () => {
    const email = renderLayout(base)
    expect(email.html).not.toContain('Unsubscribe')
    expect(email.text).not.toContain('Unsubscribe')
    expect(email.text.trimEnd().endsWith('-- \nFrontdoor')).toBe(true)
  })

  it('declares light and dark colour schemes and styles the dark one', () => {
    const email = renderLayout(base)
    expect(email.html).toMatch(/<meta name="color-scheme" content="light dark"\s*\/?>/)
    expect(email.html).toContain('@media (prefers-color-scheme: dark)')
  })
})
