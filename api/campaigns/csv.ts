import { parse, type Info } from 'csv-parse/sync'
import { parseEmailAddress } from '../email-address.ts'

// Reading a CSV of prospects, pure: UTF-8 with or without a BOM; `,`, `;` or tab, sniffed from
// the header line; quoted values may hold delimiters, quotes and newlines. The header maps to
// email / first name / last name / company / title by common spellings; every other column is
// kept under its header and can be used as a merge field ({{industry}}). Each row is reported
// by the line it starts on, so a bad row can be found in the file.

export type Delimiter = ',' | ';' | '\t'
export type StandardField = 'email' | 'firstName' | 'lastName' | 'company' | 'title'
export interface CsvColumn {
  header: string
  /**
   * A standard field, `custom`, or `ignored` (a column without a header, or one that a file of
   * refused rows adds: REFUSED_ROWS_COLUMNS).
   */
  field: StandardField | 'custom' | 'ignored'
}

export interface Prospect {
  email: string
  /** As written in the file (for display). */
  emailDisplay: string
  firstName: string | null
  lastName: string | null
  company: string | null
  title: string | null
  custom: Record<string, string>
}

export type CsvRow = { line: number; cells: string[] } | { line: number; error: string }

export const MAX_VALUE_LENGTH = 500
const ALIASES: Record<string, StandardField> = {
  email: 'email',
  emailaddress: 'email',
  mail: 'email',
  workemail: 'email',
  firstname: 'firstName',
  first: 'firstName',
  givenname: 'firstName',
  forename: 'firstName',
  vorname: 'firstName',
  lastname: 'lastName',
  last: 'lastName',
  surname: 'lastName',
  familyname: 'lastName',
  nachname: 'lastName',
  company: 'company',
  companyname: 'company',
  organization: 'company',
  organisation: 'company',
  account: 'company',
  accountname: 'company',
  firma: 'company',
  unternehmen: 'company',
  title: 'title',
  jobtitle: 'title',
  position: 'title',
  role: 'title',
}
const FIELD_NAMES: Record<StandardField, string> = {
  email: 'email',
  firstName: 'first name',
  lastName: 'last name',
  company: 'company',
  title: 'title',
}

/**
 * Why a file is a spreadsheet workbook and not CSV text, or null. Renamed to .csv, an .xlsx (a
 * ZIP archive) or an old .xls would otherwise be refused for its NUL bytes or as not UTF-8,
 * which tells the SDR nothing about what to do.
 */
export function workbookRefusal(bytes: Uint8Array): string | null {
  const starts = (signature: number[]) => signature.every((b, i) => bytes[i] === b)
  const isZip = starts([0x50, 0x4b, 0x03, 0x04])
  const isXls = starts([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])
  if (!isZip && !isXls) return null
  return 'The file is an Excel workbook, not CSV: in Excel, choose File › Save As › "CSV UTF-8 (Comma delimited)" and upload that file.'
}

/** Decodes the upload: UTF-8 only (a spreadsheet's "CSV UTF-8"), BOM dropped, newlines as \n. */
export function decodeCsv(bytes: Uint8Array): string | null {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    return null
  }
  return text.replace(/\r\n?/g, '\n')
}

/** The delimiter used most outside quotes on the header line; `,` when there is none. */
export function sniffDelimiter(text: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 }
  let quoted = false
  for (const ch of text) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && ch === '\n') break
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++
  }
  const best = (Object.entries(counts) as Array<[Delimiter, number]>).sort(
    (a, b) => b[1] - a[1],
  )[0]!
  return best[1] > 0 ? best[0] : ','
}

const squash = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')

// A refusal quotes the header, but a form gets it back in its redirect's URL: a wide export
// quoted whole made a Location header of several KiB, more than a proxy's buffer holds.
const SHOWN_HEADERS = 10
const quoted = (header: string) => {
  const h = header.trim()
  return `"${h.length > 40 ? `${h.slice(0, 39)}…` : h}"`
}

/**
 * The columns a campaign import's file of refused rows adds before the file's own (imports.ts).
 * Read as `ignored` on upload, so that file can be fixed and uploaded as it is.
 */
export const REFUSED_ROWS_COLUMNS = ['Why it was refused', 'Line in your file'] as const
const IGNORED_ON_UPLOAD = new Set<string>(REFUSED_ROWS_COLUMNS.map((h) => squash(h)))

/** Whether a column is one a file of refused rows added (its heading, as mapHeader reads it). */
export function isRefusedRowsColumn(header: string): boolean {
  return IGNORED_ON_UPLOAD.has(squash(header))
}

export type HeaderResult = { ok: true; columns: CsvColumn[] } | { ok: false; message: string }

/** Maps header cells to fields; refuses a header without an email column or with a field twice. */
export function mapHeader(cells: string[]): HeaderResult {
  const columns: CsvColumn[] = []
  const seen = new Map<string, string>()
  for (const raw of cells) {
    const header = raw.trim()
    if (!header || isRefusedRowsColumn(header)) {
      columns.push({ header, field: 'ignored' })
      continue
    }
    if (/[{}|]/.test(header))
      return {
        ok: false,
        message: `The column ${quoted(header)} cannot be a merge field: rename it without { } or |.`,
      }
    const alias = squash(header)
    // Own keys only: "Constructor" is a column, not Object.prototype.constructor.
    const field = Object.hasOwn(ALIASES, alias) ? ALIASES[alias]! : 'custom'
    const key = field === 'custom' ? `custom:${header.toLowerCase()}` : field
    const earlier = seen.get(key)
    if (earlier !== undefined)
      return {
        ok: false,
        message: `The columns ${quoted(earlier)} and ${quoted(header)} both mean ${field === 'custom' ? quoted(header) : FIELD_NAMES[field]}; keep one.`,
      }
    seen.set(key, header)
    columns.push({ header, field })
  }
  if (!columns.some((c) => c.field === 'email')) {
    // A plain list of addresses has no header line: its first line is a person's, not repeated
    // into a message that a plain form's URL carries.
    if (cells.some((cell) => parseEmailAddress(cell) !== null))
      return {
        ok: false,
        message:
          'The file has no header line: its first line holds an email address. Add a first line naming the columns, with one named "email".',
      }
    const more = cells.length - SHOWN_HEADERS
    const reads = cells.slice(0, SHOWN_HEADERS).map(quoted).join(', ')
    return {
      ok: false,
      message: `The file has no email column (the header line reads: ${reads}${more > 0 ? ` and ${more} more` : ''}). Name one "email".`,
    }
  }
  return { ok: true, columns }
}

export interface ParsedCsv {
  delimiter: Delimiter
  header: string[]
  rows: CsvRow[]
}

/** Parses the whole text (from decodeCsv); null when there is not even a header line. */
export function parseCsv(text: string): ParsedCsv | null {
  const delimiter = sniffDelimiter(text)
  const rows: CsvRow[] = []
  let header: string[] | null = null
  const records = parse(text, {
    bom: true,
    delimiter,
    record_delimiter: '\n',
    info: true,
    raw: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (err, raw) => {
      // Only an unclosed quote is left after relax_quotes: it swallows the rest of the file.
      const chunk = typeof raw === 'string' ? raw : ''
      const line = (err as { lines?: number } | undefined)?.lines ?? 0
      rows.push({
        line: Math.max(1, line - newlinesInside(chunk)),
        error:
          'a quoted value that starts on this line is never closed, so the rest of the file could not be read',
      })
      return undefined
    },
  }) as unknown as Array<{ record: string[]; info: Info; raw: string }>
  for (const { record, info, raw } of records) {
    const line = info.lines - newlinesInside(raw)
    if (header === null) {
      header = record
      continue
    }
    rows.push({ line, cells: record })
  }
  if (header === null) return null
  rows.sort((a, b) => a.line - b.line)
  return { delimiter, header, rows }
}

function newlinesInside(raw: string): number {
  const record = raw.replace(/^\n+/, '').replace(/\n$/, '')
  let n = 0
  for (let i = record.indexOf('\n'); i !== -1; i = record.indexOf('\n', i + 1)) n++
  return n
}

export type ProspectResult =
  { ok: true; prospect: Prospect } | { ok: false; reason: string; email: string | null }

/** One data row as a prospect, or the reason it is refused. */
export function prospectFromRow(cells: string[], columns: CsvColumn[]): ProspectResult {
  const emailIndex = columns.findIndex((c) => c.field === 'email')
  const rawEmail = (cells[emailIndex] ?? '').trim()
  const email = rawEmail || null
  if (cells.length > columns.length)
    return {
      ok: false,
      email,
      reason: `${cells.length} values but the header has ${columns.length} columns (a delimiter inside a value needs quotes)`,
    }
  if (!rawEmail) return { ok: false, email, reason: 'no email address' }
  const parsed = parseEmailAddress(rawEmail)
  if (!parsed)
    return { ok: false, email, reason: `"${rawEmail.slice(0, 100)}" is not an email address` }
  const prospect: Prospect = {
    email: parsed.canonical,
    emailDisplay: parsed.display,
    firstName: null,
    lastName: null,
    company: null,
    title: null,
    custom: {},
  }
  const custom: Array<[string, string]> = []
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    if (column.field === 'email' || column.field === 'ignored') continue
    const value = (cells[i] ?? '').replace(/\s+/g, ' ').trim()
    if (value.length > MAX_VALUE_LENGTH)
      return {
        ok: false,
        email,
        reason: `${column.field === 'custom' ? `"${column.header}"` : FIELD_NAMES[column.field]} is longer than ${MAX_VALUE_LENGTH} characters`,
      }
    if (column.field === 'custom') custom.push([column.header, value])
    else if (value) prospect[column.field] = value
  }
  // fromEntries defines each key, "__proto__" too (an assignment would set the prototype).
  prospect.custom = Object.fromEntries(custom)
  return { ok: true, prospect }
}
