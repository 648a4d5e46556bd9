import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Every outbound request of the grader must go through guarded-fetch.ts: that is where the SSRF
// defences are. This fails if any other file under api/grader/ could make a request on its own.

const GRADER_DIR = fileURLToPath(new URL('../../../../api/grader/engine/', import.meta.url))
const THE_GUARDED_CLIENT = 'guarded-fetch.ts'

const FORBIDDEN: Array<[string, RegExp]> = [
  [
    'node:http / node:https / node:http2',
    /from\s+['"](node:)?https?2?['"]|require\(\s*['"](node:)?https?2?['"]\s*\)/,
  ],
  [
    'node:net or node:tls connections',
    /\b(net|tls)\.(connect|createConnection)\(|import\s*{[^}]*\b(connect|createConnection|Socket)\b[^}]*}\s*from\s*['"](node:)?(net|tls)['"]|new\s+(net\.)?Socket\(/,
  ],
  ['node:dns', /from\s+['"](node:)?dns(\/promises)?['"]/],
  ['axios', /['"]axios['"]/],
  ['got', /from\s+['"]got['"]|require\(\s*['"]got['"]\s*\)/],
  ['node-fetch', /['"]node-fetch['"]/],
  ['undici', /['"]undici['"]/],
  // A call, not a method signature such as `fetch(url: string, …)`.
  [
    'the global fetch',
    /(?<![.\w])fetch\s*\((?!\s*\w+\s*:)|globalThis\.fetch|\bXMLHttpRequest\b|\bWebSocket\b/,
  ],
  ["cheerio's fromURL", /\bfromURL\b/],
]

/** The rules a grader source file breaks, by name. */
export function httpClientViolations(source: string, isGuardedClient: boolean): string[] {
  return FORBIDDEN.filter(([name, pattern]) => {
    if (!pattern.test(source)) return false
    // The guarded client itself is made of undici and a DNS lookup.
    return !(isGuardedClient && (name === 'undici' || name === 'node:dns'))
  }).map(([name]) => name)
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.(ts|js|mjs|cjs)$/.test(entry) ? [path] : []
  })
}

describe('the grader has one HTTP client', () => {
  const files = sourceFiles(GRADER_DIR)

  it('finds the grader sources', () => {
    expect(files.map((f) => relative(GRADER_DIR, f))).toContain(THE_GUARDED_CLIENT)
    expect(files.length).toBeGreaterThan(10)
  })

  it.each(files.map((f) => [relative(GRADER_DIR, f), f]))(
    '%s makes no request of its own',
    (name, path) => {
      const source = readFileSync(path, 'utf8')
      expect(httpClientViolations(source, name === THE_GUARDED_CLIENT)).toEqual([])
    },
  )

  it('the guarded client builds its own Agent and never uses undici’s global helpers', () => {
    const source = readFileSync(join(GRADER_DIR, THE_GUARDED_CLIENT), 'utf8')
    const imported = /import\s*{([^}]*)}\s*from\s*['"]undici['"]/.exec(source)?.[1] ?? ''
    expect(
      imported
        .split(',')
        .map((s) => s.trim())
        .sort(),
    ).toEqual(['Agent', 'buildConnector'])
    expect(source).not.toMatch(
      /setGlobalDispatcher|getGlobalDispatcher|EnvHttpProxyAgent|ProxyAgent/,
    )
  })

  it('would notice a file that does', () => {
    expect(httpClientViolations(`import http from 'node:http'`, false)).toEqual([
      'node:http / node:https / node:http2',
    ])
    expect(httpClientViolations(`const r = await fetch(url)`, false)).toEqual(['the global fetch'])
    expect(httpClientViolations(`import axios from 'axios'`, false)).toEqual(['axios'])
    expect(httpClientViolations(`import got from 'got'`, false)).toEqual(['got'])
    expect(httpClientViolations(`import fetch from 'node-fetch'`, false)).toContain('node-fetch')
    expect(httpClientViolations(`import { request } from 'undici'`, false)).toEqual(['undici'])
    expect(httpClientViolations(`import { connect } from 'node:net'`, false)).toEqual([
      'node:net or node:tls connections',
    ])
    expect(httpClientViolations(`const o = await fetcher.fetch(url, {})`, false)).toEqual([])
    expect(httpClientViolations(`import { isIP } from 'node:net'`, false)).toEqual([])
  })
})
