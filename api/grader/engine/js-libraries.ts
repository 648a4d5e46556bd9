import { createHash } from 'node:crypto'
import repository from './data/retire-jsrepository.json' with { type: 'json' }

// Known-vulnerable JavaScript libraries, detected the way retire.js does it (its matching rules
// ported from retire@5.7.0 lib/retire.js, Apache-2.0) against the vendored retire.js repository
// snapshot in data/ (see README.md). No network at run time.

type RetireVulnerability = {
  below?: string
  atOrAbove?: string
  excludes?: string[]
  severity?: string
  identifiers?: { summary?: string; CVE?: string[]; githubID?: string }
  info?: string[]
}

type RetireComponent = {
  vulnerabilities?: RetireVulnerability[]
  extractors: {
    uri?: string[]
    filename?: string[]
    filecontent?: string[]
    filecontentreplace?: string[]
    hashes?: Record<string, string>
  }
}

export type LibraryDetection = 'uri' | 'filename' | 'filecontent' | 'hash'

export type DetectedLibrary = {
  component: string
  version: string
  detection: LibraryDetection
  /** The script's URL, or null for an inline script. */
  url: string | null
}

export type LibraryVulnerability = {
  severity: 'low' | 'medium' | 'high' | 'critical' | 'unknown'
  summary: string
  cves: string[]
  below: string | null
  atOrAbove: string | null
  info: string | null
}

export const RETIRE_SNAPSHOT = {
  source: '@salesforce/code-analyzer-retirejs-engine@0.32.0 vulnerabilities/RetireJsVulns.json',
  published: '2026-07-18',
} as const

// retire.js's own substitution for the version placeholder.
const VERSION_PATTERN = '[0-9][0-9.a-z_\\-]+'

type CompiledComponent = {
  name: string
  uri: RegExp[]
  filename: RegExp[]
  filecontent: RegExp[]
  filecontentreplace: Array<{ pattern: RegExp; replacement: string }>
  hashes: Record<string, string>
  vulnerabilities: RetireVulnerability[]
}

let compiled: CompiledComponent[] | null = null

function compile(source: string, anchored = false): RegExp | null {
  const text = source.replaceAll('§§version§§', VERSION_PATTERN)
  try {
    return new RegExp(anchored ? `^${text}$` : text, 'g')
  } catch {
    return null
  }
}

function components(): CompiledComponent[] {
  if (compiled !== null) return compiled
  const entries = Object.entries(repository as unknown as Record<string, RetireComponent>)
  compiled = entries
    // "dont check" lists URLs retire.js skips; it has no vulnerabilities of its own.
    .filter(([name]) => name !== 'dont check')
    .map(([name, component]) => {
      const ex = component.extractors
      return {
        name,
        uri: (ex.uri ?? []).map((s) => compile(s)).filter((r) => r !== null),
        filename: (ex.filename ?? []).map((s) => compile(s, true)).filter((r) => r !== null),
        filecontent: (ex.filecontent ?? []).map((s) => compile(s)).filter((r) => r !== null),
        filecontentreplace: (ex.filecontentreplace ?? []).flatMap((s) => {
          const parts = /^\/(.*[^\\])\/([^/]+)\/$/.exec(s)
          const pattern = parts?.[1] === undefined ? null : compile(parts[1])
          return pattern === null || parts?.[2] === undefined
            ? []
            : [{ pattern, replacement: parts[2] }]
        }),
        hashes: ex.hashes ?? {},
        vulnerabilities: component.vulnerabilities ?? [],
      }
    })
  return compiled
}

function firstGroups(pattern: RegExp, text: string): string[] {
  const found: string[] = []
  pattern.lastIndex = 0
  for (const match of text.matchAll(pattern)) {
    if (match[1] !== undefined) found.push(match[1])
    if (found.length > 5) break
  }
  return found
}

function cleanVersion(version: string): string {
  return version.replace(/(\.|-)min$/, '')
}

function unique(found: DetectedLibrary[]): DetectedLibrary[] {
  const seen = new Set<string>()
  return found.filter((d) => {
    const key = `${d.component} ${d.version}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Libraries named by a script's URL (`/3.4.1/jquery.min.js`, `jquery-1.8.2.js`). */
export function detectFromUrl(url: string): DetectedLibrary[] {
  const found: DetectedLibrary[] = []
  const path = url.split(/[?#]/)[0] ?? url
  const filename = path.split('/').pop() ?? ''
  for (const component of components()) {
    for (const pattern of component.uri) {
      for (const version of firstGroups(pattern, url)) {
        found.push({
          component: component.name,
          version: cleanVersion(version),
          detection: 'uri',
          url,
        })
      }
    }
    for (const pattern of component.filename) {
      for (const version of firstGroups(pattern, filename)) {
        found.push({
          component: component.name,
          version: cleanVersion(version),
          detection: 'filename',
          url,
        })
      }
    }
  }
  return unique(found)
}

/**
 * Libraries identified by a script's text: banners, embedded version strings, known hashes.
 * Some retire.js rules backtrack polynomially on hostile input (pdf.js's has four `[\s\S]*`), so
 * on fetched content call this through library-scan.ts, which runs it on a worker thread with a
 * time limit.
 */
export function detectFromContent(content: string, url: string | null): DetectedLibrary[] {
  const text = content.replace(/\r\n|\r/g, '\n')
  const found: DetectedLibrary[] = []
  for (const component of components()) {
    for (const pattern of component.filecontent) {
      for (const version of firstGroups(pattern, text)) {
        found.push({
          component: component.name,
          version: cleanVersion(version),
          detection: 'filecontent',
          url,
        })
      }
    }
  }
  if (found.length === 0) {
    for (const component of components()) {
      for (const { pattern, replacement } of component.filecontentreplace) {
        pattern.lastIndex = 0
        const match = pattern.exec(text)
        if (match === null) continue
        const version = match[0].replace(new RegExp(pattern.source), replacement)
        found.push({ component: component.name, version, detection: 'filecontent', url })
      }
    }
  }
  if (found.length === 0) {
    const sha1 = createHash('sha1').update(text).digest('hex')
    for (const component of components()) {
      const version = component.hashes[sha1]
      if (version !== undefined) {
        found.push({ component: component.name, version, detection: 'hash', url })
      }
    }
  }
  return unique(found)
}

function toComparable(part: string | undefined): number | string {
  if (part === undefined) return 0
  return /^[0-9]+$/.test(part) ? Number.parseInt(part, 10) : part
}

/** retire.js's version order: numeric parts numerically, a number sorts above a word ("1.0" > "1.0-rc"). */
export function isAtOrAbove(version: string, reference: string): boolean {
  const a = version.split(/[.-]/)
  const b = reference.split(/[.-]/)
  const length = Math.max(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = toComparable(a[i])
    const y = toComparable(b[i])
    if (typeof x !== typeof y) return typeof x === 'number'
    if (x > y) return true
    if (x < y) return false
  }
  return true
}

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const

/** The known vulnerabilities of one library version, from the vendored snapshot. */
export function vulnerabilitiesOf(component: string, version: string): LibraryVulnerability[] {
  const entry = components().find((c) => c.name === component)
  if (entry === undefined) return []
  const result: LibraryVulnerability[] = []
  for (const v of entry.vulnerabilities) {
    if (v.below !== undefined && isAtOrAbove(version, v.below)) continue
    if (v.atOrAbove !== undefined && !isAtOrAbove(version, v.atOrAbove)) continue
    if (v.excludes?.includes(version)) continue
    const severity = SEVERITIES.find((s) => s === v.severity) ?? 'unknown'
    // Some summaries are GitHub advisory bodies that start with a "### Impact" heading.
    const lines = (v.identifiers?.summary ?? '').split('\n').map((l) => l.trim())
    const summary = lines.find((l) => l !== '' && !l.startsWith('#')) ?? 'Known vulnerability'
    result.push({
      severity,
      summary: summary.slice(0, 200),
      cves: v.identifiers?.CVE ?? [],
      below: v.below ?? null,
      atOrAbove: v.atOrAbove ?? null,
      info: v.info?.[0] ?? null,
    })
  }
  return result
}
