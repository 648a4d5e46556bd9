import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import type { Handler } from './loopback.ts'

// Serves tests/fixtures/grader/<site>/ for the host <site>.frontdoor-fixture.com, the way a real
// web server would: content types, compression, cache headers and redirects come from the site's
// _headers.json, so each fixture site states how it is served next to its files.
//
// _headers.json maps a path ("/robots.txt"), a prefix ("/assets/*") or "*" to headers. Keys
// starting with ":" are instructions: ":status", ":compress" ("br" | "gzip"), ":redirect" (a
// Location, sent with 301), ":generate" (serve that many incompressible bytes instead of a file),
// ":file" (serve another file of the site, so one body can be served two ways),
// ":https-redirect" (send plain-http requests to the https port).
// Text files may use {{origin}} (scheme, host and port of the request), {{https_origin}},
// {{http_origin}} and {{port}} (the http port, which is also the canaries' port).

export const FIXTURES_DIR = fileURLToPath(new URL('../../../fixtures/grader/', import.meta.url))

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  xml: 'application/xml',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  woff2: 'font/woff2',
}
const TEXT = new Set(['html', 'css', 'js', 'txt', 'xml', 'json', 'svg'])

type Rules = Record<string, Record<string, string>>

function rulesFor(rules: Rules, path: string): Record<string, string> {
  const merged: Record<string, string> = { ...rules['*'] }
  const prefixes = Object.keys(rules)
    .filter((k) => k.endsWith('*') && k !== '*' && path.startsWith(k.slice(0, -1)))
    .sort((a, b) => a.length - b.length)
  for (const prefix of prefixes) Object.assign(merged, rules[prefix])
  Object.assign(merged, rules[path])
  return merged
}

/** Deterministic, incompressible bytes (an xorshift stream), so sizes on the wire are real. */
export function noise(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

const generated = new Map<number, Buffer>()

export type FixtureSiteOptions = {
  /** The stage's http and https ports, for {{http_origin}}, {{https_origin}} and redirects. */
  httpPort: number
  tlsPort: number
  /** Extra routes checked before the files (for cases a static file cannot express). */
  routes?: Record<string, Handler>
}

export function serveFixtures(options: FixtureSiteOptions): Handler {
  return (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '')
    const siteName = host.split('.')[0] ?? ''
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true
    const url = new URL(req.url ?? '/', 'http://x')
    const route = options.routes?.[`${siteName}${url.pathname}`]
    if (route !== undefined) return route(req, res)
    const root = join(FIXTURES_DIR, siteName)
    const rulesFile = join(root, '_headers.json')
    const rules: Rules = existsSync(rulesFile) ? JSON.parse(readFileSync(rulesFile, 'utf8')) : {}
    const path = url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname
    const rule = rulesFor(rules, url.pathname === '/' ? '/' : path)
    const origins = {
      http: `http://${host}:${options.httpPort}`,
      https: `https://${host}:${options.tlsPort}`,
    }
    if (rule[':https-redirect'] !== undefined && !secure) {
      res.writeHead(301, { location: `${origins.https}${url.pathname}${url.search}` })
      res.end()
      return
    }
    if (rule[':redirect'] !== undefined) {
      res.writeHead(301, { location: rule[':redirect'] })
      res.end()
      return
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(rule))
      if (!name.startsWith(':')) headers[name] = value
    const extension = path.slice(path.lastIndexOf('.') + 1)
    let body: Buffer
    if (rule[':generate'] !== undefined) {
      const size = Number(rule[':generate'])
      body = generated.get(size) ?? noise(size, size)
      generated.set(size, body)
    } else {
      const file = normalize(join(root, rule[':file'] ?? path))
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404, { 'content-type': 'text/html' })
        res.end('<!doctype html><title>Not found</title><h1>Not found</h1>')
        return
      }
      body = readFileSync(file)
      if (TEXT.has(extension)) {
        const origin = secure ? origins.https : origins.http
        body = Buffer.from(
          body
            .toString('utf8')
            .replaceAll('{{origin}}', origin)
            .replaceAll('{{https_origin}}', origins.https)
            .replaceAll('{{http_origin}}', origins.http)
            .replaceAll('{{port}}', String(options.httpPort)),
        )
      }
    }
    headers['content-type'] ??= TYPES[extension] ?? 'application/octet-stream'
    const accepted = String(req.headers['accept-encoding'] ?? '')
    // Like real servers, compress text only; images and fonts are already compressed.
    const compress =
      TEXT.has(extension) && rule[':generate'] === undefined ? rule[':compress'] : undefined
    if (compress === 'br' && accepted.includes('br')) {
      body = zlib.brotliCompressSync(body)
      headers['content-encoding'] = 'br'
    } else if ((compress === 'gzip' || compress === 'br') && accepted.includes('gzip')) {
      body = zlib.gzipSync(body)
      headers['content-encoding'] = 'gzip'
    }
    headers['content-length'] = String(body.length)
    res.writeHead(Number(rule[':status'] ?? 200), headers)
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}
