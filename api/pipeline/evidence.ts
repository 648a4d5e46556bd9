// "Why this is a target", in words: the evidence entries qualification writes on a deal (a form
// and its asset, a human click on an outreach email, a grader score), read defensively because
// each front door adds its own details. Pure: the pages, the deal API and the lead emails share it.

import { formatDateTime } from './format.ts'

export type EvidenceKind = 'form' | 'grader' | 'click' | 'other'

export interface EvidenceDetail {
  label: string
  value: string
  /** A page of the app with more (the full grader report). */
  href?: string
}

export interface EvidenceView {
  kind: EvidenceKind
  /** Where the lead came from: "Whitepaper form", "Website grader", "Outreach click". */
  source: string
  /** One line: what the person did. */
  summary: string
  details: EvidenceDetail[]
}

type Data = Record<string, unknown>

const str = (v: unknown): string | null =>
  typeof v === 'string' && v.trim()
    ? v.trim()
    : typeof v === 'number' && Number.isFinite(v)
      ? String(v)
      : null
const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : null

/** A stored ISO instant on the reader's clock ("Dec 6, 2026, 06:34 PST"); anything else as is. */
function instant(v: unknown, timeZone: string): string | null {
  const text = str(v)
  if (text === null || !/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(Date.parse(text)))
    return text
  return formatDateTime(text, timeZone)
}

const FORM_NAMES: Record<string, string> = {
  whitepaper: 'Whitepaper form',
  'case-study': 'Case study form',
  case_study: 'Case study form',
  trial: 'Trial request',
  contact: 'Contact form',
}

/**
 * `downloaded`: whether the contact has used the download link of this form's asset. Until they
 * have, a form's evidence says they requested it, not that they downloaded it. `timeZone`: the
 * reader's (users.time_zone), for the times it names; UTC by default, named either way.
 */
export function describeEvidence(
  raw: unknown,
  facts: { downloaded?: boolean; timeZone?: string } = {},
): EvidenceView {
  const data: Data = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Data) : {}
  const kind = str(data.kind) ?? ''
  if (kind === 'form') return form(data, facts.downloaded === true)
  if (kind === 'grader' || kind === 'grader_unlock') return grader(data)
  if (kind === 'click') return click(data, facts.timeZone ?? 'UTC')
  // A deal a rep entered by hand, with the reason they gave.
  if (kind === 'manual')
    return {
      kind: 'other',
      source: 'Added by hand',
      summary: str(data.summary) ?? 'Added by hand',
      details: [],
    }
  return other(kind, data)
}

function form(d: Data, downloaded: boolean): EvidenceView {
  const offer = str(d.offer)
  const formKind = str(d.form) ?? offer?.split(':')[0] ?? null
  const title = str(d.assetTitle) ?? str(d.title)
  const source = (formKind && FORM_NAMES[formKind]) ?? 'Form'
  const summary =
    formKind === 'trial'
      ? 'Asked for a trial'
      : title
        ? `${downloaded ? 'Downloaded' : 'Requested'} “${title}”`
        : `Submitted the ${offer ?? 'lead'} form`
  const details: EvidenceDetail[] = []
  push(details, 'Page', str(d.pageUrl))
  push(details, 'Referrer', str(d.referrer))
  push(details, 'Campaign tags', utmLine(d.utm))
  push(details, 'Company size', str(d.companySize))
  push(details, 'Message', str(d.message))
  return { kind: 'form', source, summary, details }
}

function grader(d: Data): EvidenceView {
  const score = num(d.score) ?? num(d.total)
  const band = str(d.band)
  const failing = Array.isArray(d.failing) ? d.failing.length : num(d.failing)
  const site = str(d.host) ?? str(d.url) ?? str(d.site)
  const parts = [
    score !== null ? `${score}/100${band ? ` (${band})` : ''}` : band,
    failing !== null ? `${failing} failing check${failing === 1 ? '' : 's'}` : null,
    str(d.platform),
  ].filter(Boolean)
  const summary = `${site ? `Graded ${site}` : 'Graded their website'}${parts.length ? `: ${parts.join(', ')}` : ''}`
  const details: EvidenceDetail[] = []
  if (Array.isArray(d.failing))
    push(
      details,
      'Failing',
      d.failing
        .map((f) =>
          typeof f === 'string' ? f : (str((f as Data)?.title) ?? str((f as Data)?.id) ?? ''),
        )
        .filter(Boolean)
        .join(', '),
    )
  const reportId = str(d.reportId)
  // Deleted when the person who unlocked it was erased (api/pipeline/erasure.ts): no dead link.
  if (d.reportErased === true)
    details.push({ label: 'Report', value: 'Erased with the person who unlocked it' })
  else if (reportId && /^[0-9a-zA-Z-]{1,64}$/.test(reportId))
    details.push({
      label: 'Report',
      value: 'Open the full grader report',
      href: `/app/grader/${reportId}`,
    })
  push(details, 'Campaign tags', utmLine(d.utm))
  return { kind: 'grader', source: 'Website grader', summary, details }
}

function click(d: Data, timeZone: string): EvidenceView {
  const verdict = str(d.verdict) ?? 'human'
  const link = str(d.linkText) ?? str(d.url) ?? str(d.destination) ?? str(d.linkUrl)
  const campaign = str(d.campaignName) ?? str(d.campaign)
  const what =
    verdict === 'human'
      ? 'Human click'
      : verdict === 'human_confirmed'
        ? 'Confirmed human click'
        : `Click (${verdict})`
  const summary = `${what}${link ? ` on ${link}` : ''}${campaign ? ` in campaign “${campaign}”` : ''}`
  const details: EvidenceDetail[] = []
  push(details, 'Email', str(d.subject) ?? str(d.emailSubject))
  push(details, 'Link', str(d.url) ?? str(d.destination))
  // Reasons are { code, sentence } (api/tracking/verdicts.ts); older entries are plain strings.
  push(
    details,
    'Why human',
    Array.isArray(d.reasons)
      ? d.reasons
          .map((r) => (typeof r === 'string' ? r : (str((r as Data)?.sentence) ?? '')))
          .filter(Boolean)
          .join('; ')
      : str(d.reasons),
  )
  push(details, 'Clicked', instant(d.at, timeZone))
  push(details, 'Rules', str(d.rulesVersion))
  return { kind: 'click', source: 'Outreach click', summary, details }
}

const SKIP = new Set(['kind', 'source', 'at', 'submissionId', 'firstTouch'])

function other(kind: string, d: Data): EvidenceView {
  const label = kind
    ? kind.replace(/[_-]+/g, ' ').replace(/^./, (c) => c.toUpperCase())
    : 'Evidence'
  const details: EvidenceDetail[] = []
  for (const [key, value] of Object.entries(d)) {
    if (SKIP.has(key)) continue
    push(
      details,
      key,
      typeof value === 'object' && value !== null
        ? JSON.stringify(value).slice(0, 200)
        : str(value),
    )
  }
  return {
    kind: 'other',
    source: label,
    summary: str(d.summary) ?? label,
    details: details.slice(0, 8),
  }
}

function utmLine(utm: unknown): string | null {
  if (!utm || typeof utm !== 'object') return null
  const parts = Object.entries(utm as Data)
    .map(([k, v]) => (str(v) ? `${k.replace(/^utm_/, '')}=${str(v)}` : null))
    .filter(Boolean)
  return parts.length ? parts.join(', ') : null
}

function push(list: EvidenceDetail[], label: string, value: string | null | undefined): void {
  if (value) list.push({ label, value: value.length > 300 ? `${value.slice(0, 299)}…` : value })
}
