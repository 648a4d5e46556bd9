import { describe, expect, it } from 'vitest'
import {
  MergeFieldError,
  checkMergeFields,
  renderOutreach,
} from '../../email-templates/outreach.ts'
import type { OutreachRecipient, OutreachTemplate } from '../../email-templates/outreach.ts'

const brand = { name: 'Frontdoor', postalAddress: '1 Example Street, Springfield' }
const unsubscribeUrl = 'https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0'
const options = { brand, unsubscribeUrl }

const lee: OutreachRecipient = {
  email: 'lee.park@contoso.example',
  firstName: 'Lee',
  lastName: 'Park',
  company: 'Contoso',
  title: 'VP Operations',
  custom: { industry: 'logistics', 'Favourite product': 'Route planner' },
}

describe('merge fields', () => {
  it('fills standard fields and custom columns in subject and body', () => {
    const email = renderOutreach(
      {
        subject: '{{company}} and {{industry}}',
        body: 'Hi {{ firstName }} {{lastName}}, as {{title}} you like {{Favourite product}}. ({{email}})',
      },
      lee,
      options,
    )
    expect(email.subject).toBe('Contoso and logistics')
    expect(email.text).toMatch(
      /^Hi Lee Park, as VP Operations you like Route planner\. \(lee\.park@contoso\.example\)\n/,
    )
  })

  it('uses the fallback only when the value is missing or blank', () => {
    const template = { subject: 'Hello', body: 'Hi {{firstName|there}}, {{company | your team}}!' }
    expect(renderOutreach(template, lee, options).text).toMatch(/^Hi Lee, Contoso!/)
    const anonymous = { email: 'x@contoso.example', firstName: '  ', company: null }
    expect(renderOutreach(template, anonymous, options).text).toMatch(/^Hi there, your team!/)
  })

  it('accepts an empty fallback as a deliberate choice', () => {
    const email = renderOutreach(
      { subject: 'Hi', body: 'Hi{{firstName|}}!' },
      { email: 'x@y.example' },
      options,
    )
    expect(email.text).toMatch(/^Hi!/)
  })

  it('does not expand merge fields that arrive inside a value', () => {
    const sneaky = { ...lee, company: '{{email}}' }
    expect(renderOutreach({ subject: 'x', body: 'At {{company}}' }, sneaky, options).text).toMatch(
      /^At \{\{email\}\}/,
    )
  })

  it('keeps a value with line breaks on one line, in the subject and the body', () => {
    const email = renderOutreach(
      { subject: 'About {{company}}', body: 'At {{company}}.' },
      { ...lee, company: 'Contoso\r\nBcc: x@y.example' },
      options,
    )
    expect(email.subject).toBe('About Contoso Bcc: x@y.example')
    expect(email.text).toMatch(/^At Contoso Bcc: x@y\.example\./)
  })
})

describe('checkMergeFields', () => {
  const template: OutreachTemplate = {
    subject: 'A question for {{company}}',
    body: 'Hi {{firstName|there}},\n\nHow is {{industry}} going at {{company}}?\n\n{{frstName}} {{FirstName}}',
  }
  const recipients: OutreachRecipient[] = [
    { ...lee, row: 2 },
    {
      email: 'sam@acme.example',
      firstName: null,
      company: 'Acme',
      custom: { industry: 'retail' },
      row: 3,
    },
    {
      email: 'kim@initech.example',
      firstName: 'Kim',
      company: '',
      custom: { industry: '' },
      row: 4,
    },
    { email: 'pat@globex.example', company: 'Globex', custom: { industry: 'energy' }, row: 7 },
  ]

  it('lists the fields a template uses', () => {
    expect(checkMergeFields(template, recipients).fields).toEqual([
      'company',
      'firstName',
      'industry',
      'frstName',
      'FirstName',
    ])
  })

  it('reports unknown fields once, with a suggestion when one is close', () => {
    const report = checkMergeFields(template, recipients)
    expect(report.ok).toBe(false)
    expect(report.unknownFields).toEqual([
      {
        part: 'body',
        field: 'frstName',
        suggestion: null,
        message: 'body: unknown field {{frstName}}',
      },
      {
        part: 'body',
        field: 'FirstName',
        suggestion: 'firstName',
        message: 'body: unknown field {{FirstName}} (did you mean {{firstName}}?)',
      },
    ])
  })

  it('reports, per recipient by row and email, the values missing without a fallback', () => {
    const report = checkMergeFields(template, recipients)
    expect(report.missingValues).toEqual([
      {
        row: 4,
        email: 'kim@initech.example',
        fields: ['company', 'industry'],
        message:
          'row 4 (kim@initech.example): no value for {{company}}, {{industry}} and no fallback (write {{company|…}} or fill the column)',
      },
    ])
  })

  it('renders with the campaign’s columns: one this recipient lacks takes its fallback, or is missing', () => {
    // Only some of the campaign's files had an Industry column.
    const columns = ['Industry']
    const fromOtherFile = { email: 'ana@plain.example', firstName: 'Ana', custom: {} }
    const withFallback = { subject: 'Hi', body: 'How is {{Industry|logistics}}?' }
    expect(renderOutreach(withFallback, fromOtherFile, { ...options, columns }).text).toMatch(
      /^How is logistics\?/,
    )
    const without = () =>
      renderOutreach({ subject: 'Hi', body: 'How is {{Industry}}?' }, fromOtherFile, {
        ...options,
        columns,
      })
    expect(without).toThrow('row 1 (ana@plain.example): no value for {{Industry}}')
    // A field no file has is unknown still.
    expect(() =>
      renderOutreach({ subject: 'Hi', body: '{{Region|here}}' }, fromOtherFile, {
        ...options,
        columns,
      }),
    ).toThrow('body: unknown field {{Region}}')
  })

  it('numbers rows by position when the recipients carry no CSV line', () => {
    const report = checkMergeFields({ subject: 'Hi', body: '{{company}}' }, [
      { email: 'a@x.example', company: 'A' },
      { email: 'b@x.example' },
    ])
    expect(report.missingValues.map((m) => [m.row, m.email])).toEqual([[2, 'b@x.example']])
  })

  it('knows custom columns declared for the campaign even when no recipient has them yet', () => {
    const report = checkMergeFields({ subject: 'Hi', body: '{{industry|your field}}' }, [], {
      columns: ['industry'],
    })
    expect(report).toMatchObject({ ok: true, unknownFields: [], missingValues: [] })
  })

  it('reports malformed fields', () => {
    const report = checkMergeFields(
      { subject: 'Hi {{firstName', body: 'Hello {{}} and {{ |x}} and company}}' },
      [lee],
    )
    expect(report.syntaxErrors.map((e) => [e.part, e.text])).toEqual([
      ['subject', '{{firstName'],
      ['body', '{{}}'],
      ['body', '{{ |x}}'],
      ['body', 'company}}'],
    ])
    expect(report.syntaxErrors[0]!.message).toContain('write fields as {{firstName}}')
    expect(report.ok).toBe(false)
  })

  it('reports stray closing braces after a long word in linear time', () => {
    // Quoting each stray's word with /[^\s{}]*\}\}$/ on the whole text before it was cubic:
    // 20,000 characters (what the campaign form takes) of a word then "}}"s blocked the server
    // for 224 s. This triple size would take hours that way, so a regression never finishes.
    const body = 'x'.repeat(30_000) + '}}'.repeat(15_000)
    const report = checkMergeFields({ subject: 'Hi', body }, [])
    expect(report.syntaxErrors).toHaveLength(15_000)
    expect(report.syntaxErrors[0]!.text).toBe('x'.repeat(30_000) + '}}')
    expect(report.syntaxErrors[1]!.text).toBe('}}')
  })

  it('passes a clean template', () => {
    const clean = { subject: 'For {{company}}', body: 'Hi {{firstName|there}}' }
    expect(checkMergeFields(clean, recipients)).toEqual({
      ok: false,
      fields: ['company', 'firstName'],
      syntaxErrors: [],
      unknownFields: [],
      missingValues: [expect.objectContaining({ row: 4, fields: ['company'] })],
    })
    expect(checkMergeFields(clean, [lee]).ok).toBe(true)
  })
})

describe('renderOutreach', () => {
  it('refuses to render a message with a missing value, naming it', () => {
    const attempt = () =>
      renderOutreach({ subject: 'Hi', body: 'Hi {{firstName}}' }, { email: 'x@y.example' }, options)
    expect(attempt).toThrow(MergeFieldError)
    expect(attempt).toThrow('row 1 (x@y.example): no value for {{firstName}}')
  })

  it('refuses to render without the sender’s postal address', () => {
    expect(() =>
      renderOutreach({ subject: 'Hi', body: 'Hi' }, lee, {
        ...options,
        brand: { name: 'Frontdoor' },
      }),
    ).toThrow(/postal address/)
  })

  it('is plain text with a visible unsubscribe line and the postal address', () => {
    const email = renderOutreach(
      { subject: 'Hi', body: 'Hi {{firstName}},\n\nShort note.' },
      lee,
      options,
    )
    expect(email.text).toBe(
      'Hi Lee,\n\nShort note.\n\n-- \nFrontdoor · 1 Example Street, Springfield\nNot interested? Unsubscribe: https://frontdoor.example/u/q3k9x2m7w4z8c1n5v6b0\n',
    )
  })

  it('renders the HTML part as the same text, escaped, with paragraphs and line breaks', () => {
    const email = renderOutreach(
      { subject: 'Hi', body: 'Hi {{firstName}},\n\n<b>bold</b> & co\nsecond line' },
      { ...lee, firstName: '<img src=x onerror=alert(1)>' },
      options,
    )
    expect(email.html).not.toMatch(/<img|<b>/)
    expect(email.html).toContain(
      '<p style="margin:0 0 1em 0;">Hi &lt;img src=x onerror=alert(1)&gt;,</p>',
    )
    expect(email.html).toContain('&lt;b&gt;bold&lt;/b&gt; &amp; co<br>\nsecond line')
    expect(email.html).toMatch(
      /Not interested\? <a href="https:\/\/frontdoor\.example\/u\/q3k9x2m7w4z8c1n5v6b0"[^>]*>Unsubscribe<\/a>/,
    )
    expect(email.html).toContain('1 Example Street, Springfield')
  })

  it('makes links clickable in the HTML part, leaving sentence punctuation outside', () => {
    const email = renderOutreach(
      {
        subject: 'Hi',
        body: 'See https://frontdoor.example/a. Or (https://frontdoor.example/b_(c)), or https://frontdoor.example/d?x=1&y=2!',
      },
      lee,
      options,
    )
    expect(
      [...email.html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]),
    ).toEqual([
      ['https://frontdoor.example/a', 'https://frontdoor.example/a'],
      ['https://frontdoor.example/b_(c)', 'https://frontdoor.example/b_(c)'],
      ['https://frontdoor.example/d?x=1&amp;y=2', 'https://frontdoor.example/d?x=1&amp;y=2'],
      [unsubscribeUrl, 'Unsubscribe'],
    ])
  })

  it('rewrites every body link through the hook, numbered in order, and never the unsubscribe link', () => {
    const seen: Array<[string, number]> = []
    const email = renderOutreach(
      {
        subject: 'Hi',
        body: 'Read https://frontdoor.example/report, then https://{{website}}/pricing.\nAgain: https://frontdoor.example/report',
      },
      { ...lee, custom: { website: 'contoso.example' } },
      {
        ...options,
        rewriteLink: (url, index) => {
          seen.push([url, index])
          return `https://frontdoor.example/r/tok${index}`
        },
      },
    )
    expect(seen).toEqual([
      ['https://frontdoor.example/report', 0],
      ['https://contoso.example/pricing', 1],
      ['https://frontdoor.example/report', 2],
    ])
    expect(email.text).toMatch(
      /^Read https:\/\/frontdoor\.example\/r\/tok0, then https:\/\/frontdoor\.example\/r\/tok1\.\nAgain: https:\/\/frontdoor\.example\/r\/tok2\n/,
    )
    expect(email.text).not.toContain('/report')
    expect(email.html).not.toContain('/report')
    expect(email.html).toContain('<a href="https://frontdoor.example/r/tok1"')
    expect(email.text).toContain(`Unsubscribe: ${unsubscribeUrl}`)
    expect(email.html).toContain(`href="${unsubscribeUrl}"`)
  })

  it('percent-encodes a value inside a link the template writes, in the text and HTML parts', () => {
    const email = renderOutreach(
      {
        subject: 'Hi',
        body: 'Book: https://calendly.com/taylor/30min?name={{firstName}}&email={{email}}&co={{company|none}} and see you then.\nOr {{website}}',
      },
      {
        email: 'ab@smith.example',
        firstName: 'A&B',
        company: 'Smith & Sons #1?x=y',
        custom: { website: 'https://smith.example/book?day=mon&slot=2' },
      },
      options,
    )
    const booking =
      'https://calendly.com/taylor/30min?name=A%26B&email=ab%40smith.example&co=Smith%20%26%20Sons%20%231%3Fx%3Dy'
    // A field that is the whole link is the URL its value is.
    const site = 'https://smith.example/book?day=mon&slot=2'
    const shown = /^Book: (\S+) and see you then\.\nOr (\S+)\n/.exec(email.text)
    expect(shown?.slice(1)).toEqual([booking, site])
    const amp = (url: string) => url.replaceAll('&', '&amp;')
    expect(
      [...email.html.matchAll(/<a href="([^"]+)"[^>]*>([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]),
    ).toEqual([
      [amp(booking), amp(booking)],
      [amp(site), amp(site)],
      [unsubscribeUrl, 'Unsubscribe'],
    ])
    expect(email.html).toContain('</a> and see you then.<br>')
  })

  it('encodes a fallback inside a link, and a value that would end the link or a sentence', () => {
    const seen: string[] = []
    renderOutreach(
      {
        subject: 'Hi',
        body: 'See https://x.example/p/{{company|a b}}/q?t={{title}}. Thanks',
      },
      { email: 'x@y.example', title: "O'Neil (CEO)." },
      { ...options, rewriteLink: (url) => (seen.push(url), url) },
    )
    expect(seen).toEqual(['https://x.example/p/a%20b/q?t=O%27Neil%20%28CEO%29.'])
  })

  it('refuses a rewritten link that is not http(s)', () => {
    expect(() =>
      renderOutreach({ subject: 'Hi', body: 'https://frontdoor.example/x' }, lee, {
        ...options,
        rewriteLink: () => 'javascript:alert(1)',
      }),
    ).toThrow(/not an http\(s\) or mailto URL/)
  })
})
