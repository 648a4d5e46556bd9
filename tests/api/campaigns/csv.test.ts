import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  decodeCsv,
  mapHeader,
  parseCsv,
  prospectFromRow,
  sniffDelimiter,
  type Prospect,
} from '../../../api/campaigns/csv.ts'
import { checkMergeFields, renderOutreach } from '../../../email-templates/outreach.ts'

const brand = { name: 'Frontdoor', postalAddress: '1 Example Street', siteUrl: 'https://f.example' }

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url))

/** Every row of a fixture: prospects, and refusals by line. */
function read(name: string) {
  const text = decodeCsv(fixture(name))
  if (text === null) throw new Error('not UTF-8')
  const parsed = parseCsv(text)!
  const header = mapHeader(parsed.header)
  if (!header.ok) throw new Error(header.message)
  const prospects: Array<Prospect & { line: number }> = []
  const refused: Array<{ line: number; reason: string }> = []
  for (const row of parsed.rows) {
    if ('error' in row) {
      refused.push({ line: row.line, reason: row.error })
      continue
    }
    const result = prospectFromRow(row.cells, header.columns)
    if (result.ok) prospects.push({ ...result.prospect, line: row.line })
    else refused.push({ line: row.line, reason: result.reason })
  }
  return { delimiter: parsed.delimiter, columns: header.columns, prospects, refused }
}

describe('reading a CSV of prospects', () => {
  it('drops a BOM and maps common header spellings, keeping other columns as merge fields', () => {
    const { delimiter, prospects } = read('bom-comma.csv')
    expect(delimiter).toBe(',')
    expect(prospects[0]).toMatchObject({
      email: 'lee.park@contoso.example',
      firstName: 'Lee',
      lastName: 'Park',
      company: 'Contoso',
      title: 'VP Operations',
      custom: { Industry: 'Logistics' },
      line: 2,
    })
    // The one canonicaliser: the domain in punycode, as typed for display.
    expect(prospects[1]).toMatchObject({
      email: 'ann@xn--bcher-kva.example',
      emailDisplay: 'ann@bücher.example',
    })
  })

  it('sniffs semicolons, with a quoted semicolon inside a value', () => {
    const { delimiter, prospects } = read('semicolons.csv')
    expect(delimiter).toBe(';')
    expect(prospects[0]).toMatchObject({
      email: 'max@firma.example',
      firstName: 'Max',
      lastName: 'Mustermann',
      company: 'Firma; GmbH',
      title: 'CTO',
      custom: { Website: 'https://firma.example/preise' },
    })
    expect(prospects[1]).toMatchObject({ lastName: null, title: null })
  })

  it('sniffs tabs, even when the header has commas', () => {
    const { delimiter, prospects } = read('tabs.tsv')
    expect(delimiter).toBe('\t')
    expect(prospects).toEqual([
      expect.objectContaining({
        email: 'sam@tabs.example',
        company: 'Tabs Inc',
        custom: { 'note, with comma': 'a, b; c' },
      }),
    ])
  })

  it('reads quoted newlines and counts lines from where each row starts', () => {
    const { prospects } = read('quoted-newlines.csv')
    expect(prospects.map((p) => [p.line, p.email])).toEqual([
      [2, 'jo@quoted.example'],
      [5, 'kim@quoted.example'],
    ])
    expect(prospects[0]!.company).toBe('Quoted "Ltd"')
  })

  it('reports ten bad rows by line with the reason', () => {
    const { prospects, refused } = read('bad-rows.csv')
    expect(prospects.map((p) => [p.line, p.email])).toEqual([
      [2, 'good1@bad-rows.example'],
      [11, 'good2@bad-rows.example'],
      [13, 'good3@bad-rows.example'],
    ])
    expect(refused).toEqual([
      { line: 3, reason: 'no email address' },
      { line: 4, reason: '"not-an-email" is not an email address' },
      { line: 5, reason: '"two@@bad-rows.example" is not an email address' },
      { line: 6, reason: '"space in@bad-rows.example" is not an email address' },
      { line: 7, reason: '"nodomain@" is not an email address' },
      {
        line: 8,
        reason: '7 values but the header has 6 columns (a delimiter inside a value needs quotes)',
      },
      { line: 9, reason: 'first name is longer than 500 characters' },
      { line: 10, reason: '"local@localhost" is not an email address' },
      { line: 12, reason: '""quote"x@bad-rows.example" is not an email address' },
      {
        line: 15,
        reason:
          'a quoted value that starts on this line is never closed, so the rest of the file could not be read',
      },
    ])
  })

  it('refuses a header without an email column or with a field twice', () => {
    expect(mapHeader(['name', 'company'])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no email column/),
    })
    // A list with no header line: its first line, a person's, is not repeated back.
    const noHeader = mapHeader(['ana@acme.example', 'Ana Ruiz', 'Acme'])
    expect(noHeader).toEqual({
      ok: false,
      message:
        'The file has no header line: its first line holds an email address. Add a first line naming the columns, with one named "email".',
    })
    expect(mapHeader(['email', 'E-Mail'])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/both mean email/),
    })
    expect(mapHeader(['email', '{{x}}'])).toMatchObject({ ok: false })
    expect(mapHeader(['email', '', 'industry'])).toMatchObject({
      ok: true,
      columns: [
        { header: 'email', field: 'email' },
        { header: '', field: 'ignored' },
        { header: 'industry', field: 'custom' },
      ],
    })
  })

  it('keeps columns named like built-in object keys as merge fields ("Constructor", "__proto__")', () => {
    const header = mapHeader(['email', 'Constructor', '__proto__'])
    expect(header).toEqual({
      ok: true,
      columns: [
        { header: 'email', field: 'email' },
        { header: 'Constructor', field: 'custom' },
        { header: '__proto__', field: 'custom' },
      ],
    })
    if (!header.ok) return
    const row = prospectFromRow(['ann@oem.example', 'Stellantis', 'Retail'], header.columns)
    if (!row.ok) throw new Error(row.reason)
    // As the recipient comes back from campaign_recipients.fields (jsonb).
    const custom = JSON.parse(JSON.stringify(row.prospect.custom)) as Record<string, string>
    expect(custom).toEqual({ Constructor: 'Stellantis', ['__proto__']: 'Retail' })
    const template = { subject: 'Hi', body: 'At {{Constructor}} in {{__proto__}}' }
    const message = renderOutreach(
      template,
      { email: 'ann@oem.example', custom },
      { brand, unsubscribeUrl: 'https://frontdoor.example/u/x' },
    )
    expect(message.text).toMatch(/^At Stellantis in Retail\n/)
    // A recipient of another upload, without these columns: a missing value, not a crash.
    const report = checkMergeFields(template, [{ email: 'bo@oem.example', custom: {} }], {
      columns: ['Constructor', '__proto__', 'constructor'],
    })
    expect(report.missingValues[0]?.fields).toEqual(['Constructor', '__proto__'])
    expect(
      checkMergeFields({ subject: 'Hi', body: '{{constructor}}' }, [{ email: 'bo@oem.example' }], {
        columns: ['constructor'],
      }).missingValues[0]?.fields,
    ).toEqual(['constructor'])
  })

  it('refuses bytes that are not UTF-8', () => {
    expect(decodeCsv(new Uint8Array([0x65, 0x6d, 0xe9, 0x0a]))).toBeNull()
  })

  it('picks the delimiter from the header line only', () => {
    expect(sniffDelimiter('email;name\na,b,c,d,e\n')).toBe(';')
    expect(sniffDelimiter('"a;b",c\n')).toBe(',')
    expect(sniffDelimiter('email\n')).toBe(',')
  })
})
