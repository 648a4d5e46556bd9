import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupAddress, LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import { Transform, Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { Agent, buildConnector } from 'undici'
import { createAddressPolicy, type AddressPolicy } from './address-policy.ts'
import { checkTargetUrl, type TargetUrlRules, type UrlVerdict } from './target-url.ts'

// The one HTTP client of the grader. Every request (page, robots.txt, sitemap, subresources, the
// http→https probe) goes through here, because this is where the SSRF defences live:
// - the URL rules of target-url.ts on the first URL and on every redirect hop;
// - IP literals judged before connecting (they never reach a DNS hook);
// - every address a name resolves to judged inside the socket's own lookup, at connect time, so
//   the address checked is the address connected to (no DNS-rebinding window), and a name with
//   one private answer among public ones is refused outright;
// - the peer address of the finished socket judged once more, as a last line;
// - redirects followed by hand; caps on headers, decoded bytes and time.
// Its own undici Agent: no global dispatcher, no environment proxy, no cookie jar.

export type ResolvedAddress = { address: string; family: 4 | 6 }
/** Resolves a host name to every address it has. Injectable so tests never use real DNS. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

export const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, order: 'verbatim' })
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

export type GuardedFetcherOptions = {
  /** Identifies us to site owners, e.g. `FrontdoorGrader/1.0 (+https://example.com/grader)`. */
  userAgent: string
  /** Judges each IP; defaults to public unicast only (plus `allowAddresses`). */
  policy?: AddressPolicy
  /** Exact IPs that count as public (GRADER_ALLOW_ADDRESSES). Ignored when `policy` is given. */
  allowAddresses?: readonly string[]
  /** Ports besides 80 and 443 that may be used (tests' loopback servers). */
  allowPorts?: readonly number[]
  resolve?: Resolver
  /** Trust anchors replacing the system ones (tests' self-signed CA). */
  tlsCa?: string | Buffer
  maxHeaderBytes?: number
  connectTimeoutMs?: number
  headersTimeoutMs?: number
  /** Longest silence between two body chunks. */
  bodyIdleTimeoutMs?: number
  /** Whole request including redirects and body: defeats a slow drip that is never silent. */
  requestTimeoutMs?: number
  maxRedirects?: number
  /** Aborts everything: the overall deadline of one grading. */
  signal?: AbortSignal
}

export type FetchRequest = {
  method?: 'GET' | 'HEAD' | 'POST'
  /** A POST's body (webhook deliveries, api/integrations/): sent as is, with `headers`. */
  body?: string
  /** More request headers; they win over the defaults. */
  headers?: Record<string, string>
  /** Cap on decoded body bytes; reading stops there and the response is marked truncated. */
  maxBytes: number
  accept?: string
  followRedirects?: boolean
  /** Count the body but keep none of it (sizes of images and fonts). */
  discardBody?: boolean
  /** Skip the body when the content type is not wanted (a page that turns out to be a video). */
  wantContentType?: (contentType: string | null) => boolean
  /** Connect even when the certificate does not validate (to grade a site whose TLS is broken). */
  insecureTls?: boolean
  timeoutMs?: number
}

export type RedirectHop = { url: string; status: number; location: string; ttfbMs: number }

export type FetchedResponse = {
  url: string
  status: number
  /** Lower-case names; repeated headers joined with ", "; Set-Cookie dropped. */
  headers: Record<string, string>
  body: Buffer
  contentType: string | null
  contentEncoding: string | null
  /** Body bytes on the wire (before decoding). */
  transferBytes: number
  /** Body bytes after decoding, counted even when discarded, up to the cap. */
  decodedBytes: number
  truncated: boolean
  /** The body was not read because `wantContentType` said no. */
  skipped: boolean
  redirects: RedirectHop[]
  /** From sending the request of the last hop to its headers. */
  ttfbMs: number
  /** From the headers of the last hop to the end of its body. */
  downloadMs: number
  totalMs: number
  /** https only: whether the certificate chain validated. */
  tlsValid: boolean | null
}

export type FetchFailureKind =
  'blocked' | 'dns' | 'connect' | 'timeout' | 'tls' | 'protocol' | 'redirect' | 'aborted'

export type FetchFailure = {
  /** What a visitor may see. Blocked, refused and timed out all read "unreachable". */
  code: 'unreachable' | 'too_many_redirects'
  /** Server-side detail, for logs only. */
  kind: FetchFailureKind
  cause: string
  url: string
  redirects: RedirectHop[]
}

export type FetchOutcome =
  { ok: true; response: FetchedResponse } | { ok: false; error: FetchFailure }

export type GuardedFetcher = {
  fetch(url: string | URL, request: FetchRequest): Promise<FetchOutcome>
  /** Closes every connection; pending requests fail. */
  close(): Promise<void>
  readonly userAgent: string
}

class GuardBlockedError extends Error {
  code = 'ERR_GRADER_BLOCKED'
}

class BodyCapReached extends Error {}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const TLS_CERT_ERRORS = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
])

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/** A `lookup` for net.connect/tls.connect that refuses a name if any answer is not allowed. */
function guardedLookup(resolve: Resolver, policy: AddressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    resolve(hostname).then(
      (answers) => {
        if (answers.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`no address for ${hostname}`)
          err.code = 'ENOTFOUND'
          callback(err, [])
          return
        }
        for (const answer of answers) {
          const verdict = policy(answer.address)
          if (!verdict.allowed) {
            callback(new GuardBlockedError(`${hostname} resolves to ${verdict.reason}`), [])
            return
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0
        const usable = wanted === 0 ? answers : answers.filter((a) => a.family === wanted)
        const first = usable[0]
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`no IPv${wanted} address for ${hostname}`)
          err.code = 'ENOTFOUND'
          callback(err, [])
          return
        }
        if (options.all) callback(null, usable)
        else callback(null, first.address, first.family)
      },
      (err: unknown) => callback(toErrno(err), []),
    )
  }
}

function toErrno(err: unknown): NodeJS.ErrnoException {
  return err instanceof Error ? err : new Error(String(err))
}

function createAgent(options: GuardedFetcherOptions, policy: AddressPolicy, insecure: boolean) {
  const resolve = options.resolve ?? systemResolver
  const base = buildConnector({
    timeout: options.connectTimeoutMs ?? 5_000,
    lookup: guardedLookup(resolve, policy),
    allowH2: false,
    maxCachedSessions: 0,
    rejectUnauthorized: !insecure,
    ...(options.tlsCa === undefined ? {} : { ca: options.tlsCa }),
  })
  const connect: buildConnector.connector = (connectOptions, callback) => {
    const host = connectOptions.hostname
    if (isIP(host) !== 0) {
      const verdict = policy(host)
      if (!verdict.allowed) {
        callback(new GuardBlockedError(verdict.reason), null)
        return
      }
    }
    return base(connectOptions, (err, socket) => {
      if (err !== null) {
        callback(err, null)
        return
      }
      const peer = socket.remoteAddress
      const verdict = peer === undefined ? null : policy(peer)
      if (verdict === null || !verdict.allowed) {
        socket.destroy()
        callback(new GuardBlockedError(`connected peer ${peer ?? 'unknown'} refused`), null)
        return
      }
      callback(null, socket)
    })
  }
  return new Agent({
    connect,
    connections: 6,
    pipelining: 1,
    maxHeaderSize: options.maxHeaderBytes ?? 32 * 1024,
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    bodyTimeout: options.bodyIdleTimeoutMs ?? 10_000,
    keepAliveTimeout: 4_000,
    allowH2: false,
  })
}

function flattenHeaders(
  raw: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw)) {
    const key = name.toLowerCase()
    if (key === 'set-cookie' || value === undefined) continue
    headers[key] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

function decodersFor(contentEncoding: string | null): Transform[] | null {
  if (contentEncoding === null) return []
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity')
  const decoders: Transform[] = []
  // Codings are listed in the order they were applied, so they are undone in reverse.
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip' || coding === 'deflate') {
      decoders.push(zlib.createUnzip())
    } else if (coding === 'br') {
      decoders.push(zlib.createBrotliDecompress())
    } else if (coding === 'zstd' && typeof zlib.createZstdDecompress === 'function') {
      decoders.push(zlib.createZstdDecompress())
    } else {
      return null
    }
  }
  return decoders
}

type BodyRead = {
  body: Buffer
  transferBytes: number
  decodedBytes: number
  truncated: boolean
}

/**
 * Reads a body through its decoders into a sink that stops at `maxBytes` decoded bytes: a
 * compression bomb is cut off after producing `maxBytes`, whatever its size on the wire.
 */
async function readBody(
  source: Readable,
  contentEncoding: string | null,
  maxBytes: number,
  discard: boolean,
): Promise<BodyRead> {
  const chunks: Buffer[] = []
  let transferBytes = 0
  let decodedBytes = 0
  let truncated = false
  let decoders = decodersFor(contentEncoding)
  // An unknown coding is read as is: its bytes still count, its content is not used.
  const undecodable = decoders === null
  if (decoders === null) decoders = []
  if (decoders.length === 0) {
    // Nothing to decode: the chunks are counted and kept as they come. A stream pipeline here
    // cost as much CPU as the rest of a small request (its streams, and the AbortError it makes
    // when it finishes), which webhook deliveries to a fast receiver felt.
    for await (const chunk of source as AsyncIterable<Buffer>) {
      transferBytes += chunk.length
      const room = maxBytes - decodedBytes
      if (chunk.length > room) {
        if (!discard && room > 0) chunks.push(chunk.subarray(0, room))
        decodedBytes = maxBytes
        truncated = true
        source.on('error', () => {}) // leaving the loop destroys the body mid-transfer
        break
      }
      decodedBytes += chunk.length
      if (!discard) chunks.push(chunk)
    }
    return {
      body: discard || undecodable ? Buffer.alloc(0) : Buffer.concat(chunks),
      transferBytes,
      decodedBytes,
      truncated,
    }
  }
  const wireCap = maxBytes + 64 * 1024
  const countWire = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      transferBytes += chunk.length
      if (transferBytes > wireCap) done(new BodyCapReached())
      else done(null, chunk)
    },
  })
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const room = maxBytes - decodedBytes
      if (chunk.length > room) {
        if (!discard && room > 0) chunks.push(chunk.subarray(0, room))
        decodedBytes = maxBytes
        done(new BodyCapReached())
        return
      }
      decodedBytes += chunk.length
      if (!discard) chunks.push(chunk)
      done()
    },
  })
  try {
    await pipeline([source, countWire, ...decoders, sink])
  } catch (err) {
    if (err instanceof BodyCapReached) truncated = true
    else if (isZlibError(err)) truncated = true
    else throw err
  }
  return {
    body: discard || undecodable ? Buffer.alloc(0) : Buffer.concat(chunks),
    transferBytes,
    decodedBytes,
    truncated,
  }
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR_BROTLI'))
}

function errorCode(err: unknown): string {
  let current: unknown = err
  // undici and net sometimes wrap the interesting error (AggregateError from autoSelectFamily).
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (current instanceof GuardBlockedError) return 'ERR_GRADER_BLOCKED'
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code
    if (current instanceof AggregateError && current.errors[0] !== undefined) {
      current = current.errors[0]
    } else {
      current = (current as { cause?: unknown }).cause
    }
  }
  return err instanceof Error ? err.name : 'unknown'
}

function classifyError(
  err: unknown,
  signal: AbortSignal,
): { kind: FetchFailureKind; cause: string } {
  const code = errorCode(err)
  const message = err instanceof Error ? err.message : String(err)
  const detail = `${code}: ${message}`
  if (code === 'ERR_GRADER_BLOCKED') return { kind: 'blocked', cause: message }
  if (signal.aborted) {
    const reason: unknown = signal.reason
    const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
    return { kind: timedOut ? 'timeout' : 'aborted', cause: detail }
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') {
    return { kind: 'dns', cause: detail }
  }
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return { kind: 'timeout', cause: detail }
  }
  if (TLS_CERT_ERRORS.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return { kind: 'tls', cause: detail }
  }
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    return { kind: 'connect', cause: detail }
  }
  return { kind: 'protocol', cause: detail }
}

/** Stops a body we do not want; undici reports that as an abort error nobody needs to see. */
function abandon(body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null
  return contentType.split(';')[0]?.trim().toLowerCase() ?? null
}

export function createGuardedFetcher(options: GuardedFetcherOptions): GuardedFetcher {
  const policy = options.policy ?? createAddressPolicy({ allowAddresses: options.allowAddresses })
  const rules: TargetUrlRules = { allowPorts: options.allowPorts, policy }
  const maxRedirects = options.maxRedirects ?? 5
  // A URL's parse and verdict depend on the URL and this fetcher's rules alone (DNS answers are
  // judged at connect time, every time): a webhook subscription's URL is parsed and judged once,
  // not per delivery. The parsed URLs are shared, so they are never modified.
  type Target = { url: URL; verdict: UrlVerdict }
  const targets = new Map<string, Target>()
  function targetOf(href: string): Target | null {
    let target = targets.get(href)
    if (target === undefined) {
      let url: URL
      try {
        url = new URL(href)
      } catch {
        return null
      }
      url.hash = ''
      target = { url, verdict: checkTargetUrl(url, rules) }
      if (targets.size >= 1_000) targets.clear()
      targets.set(href, target)
    }
    return target
  }
  const secureAgent = createAgent(options, policy, false)
  let insecureAgent: Agent | null = null

  function agentFor(insecure: boolean): Agent {
    if (!insecure) return secureAgent
    insecureAgent ??= createAgent(options, policy, true)
    return insecureAgent
  }

  async function fetchGuarded(input: string | URL, request: FetchRequest): Promise<FetchOutcome> {
    // The request's deadline: a timer cleared when the request is done. AbortSignal.timeout's
    // timer fires even after its request finished (a DOMException and a timer callback each),
    // which cost webhook deliveries to a fast receiver ~5% of their CPU.
    const deadline = new AbortController()
    const timer = setTimeout(
      () => deadline.abort(new DOMException('The request timed out.', 'TimeoutError')),
      request.timeoutMs ?? options.requestTimeoutMs ?? 15_000,
    )
    timer.unref()
    const outer = options.signal
    const abortWithOuter = () => deadline.abort(outer?.reason)
    if (outer?.aborted) abortWithOuter()
    else outer?.addEventListener('abort', abortWithOuter, { once: true })
    try {
      return await fetchUntil(input, request, deadline.signal)
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', abortWithOuter)
    }
  }

  async function fetchUntil(
    input: string | URL,
    request: FetchRequest,
    signal: AbortSignal,
  ): Promise<FetchOutcome> {
    const method = request.method ?? 'GET'
    const started = performance.now()
    const redirects: RedirectHop[] = []
    const seen = new Set<string>()
    let target = targetOf(String(input))
    if (target === null) {
      return fail('blocked', `not a URL: ${String(input).slice(0, 200)}`, String(input))
    }

    function fail(kind: FetchFailureKind, cause: string, at: string): FetchOutcome {
      const code = kind === 'redirect' ? 'too_many_redirects' : 'unreachable'
      return { ok: false, error: { code, kind, cause, url: at, redirects } }
    }

    for (;;) {
      const { url, verdict } = target
      if (!verdict.ok) return fail('blocked', verdict.reason, url.href)
      if (seen.has(url.href)) return fail('redirect', `redirect loop at ${url.href}`, url.href)
      seen.add(url.href)
      const hopStarted = performance.now()
      let response
      try {
        response = await agentFor(request.insecureTls === true).request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method,
          headers: {
            'user-agent': options.userAgent,
            accept: request.accept ?? '*/*',
            'accept-encoding': 'gzip, deflate, br',
            ...request.headers,
          },
          ...(request.body === undefined ? {} : { body: request.body }),
          signal,
        })
      } catch (err) {
        const { kind, cause } = classifyError(err, signal)
        return fail(kind, cause, url.href)
      }
      const ttfbMs = performance.now() - hopStarted
      const headers = flattenHeaders(response.headers)
      const location = headers.location
      // A 3xx without Location is an ordinary response (browsers show its body).
      if (
        request.followRedirects !== false &&
        REDIRECT_STATUSES.has(response.statusCode) &&
        location !== undefined
      ) {
        abandon(response.body)
        redirects.push({ url: url.href, status: response.statusCode, location, ttfbMs })
        if (redirects.length > maxRedirects) {
          return fail('redirect', `more than ${maxRedirects} redirects`, url.href)
        }
        let next: Target | null
        try {
          // Resolving against the current URL handles relative and protocol-relative locations.
          next = targetOf(new URL(location, url).href)
        } catch {
          next = null
        }
        if (next === null) {
          return fail('protocol', `unparseable Location ${location.slice(0, 200)}`, url.href)
        }
        target = next
        continue
      }

      const contentType = headers['content-type'] ?? null
      const contentEncoding = headers['content-encoding'] ?? null
      const wanted = request.wantContentType?.(mediaType(contentType)) ?? true
      const headersAt = performance.now()
      let read: BodyRead
      if (method === 'HEAD' || !wanted) {
        abandon(response.body)
        read = { body: Buffer.alloc(0), transferBytes: 0, decodedBytes: 0, truncated: false }
      } else {
        try {
          read = await readBody(
            response.body,
            contentEncoding,
            request.maxBytes,
            request.discardBody === true,
          )
        } catch (err) {
          abandon(response.body)
          const { kind, cause } = classifyError(err, signal)
          return fail(kind, cause, url.href)
        }
        // Stop the transfer of whatever the cap left unread.
        if (read.truncated) abandon(response.body)
      }
      const ended = performance.now()
      return {
        ok: true,
        response: {
          url: url.href,
          status: response.statusCode,
          headers,
          body: read.body,
          contentType,
          contentEncoding,
          transferBytes: read.transferBytes,
          decodedBytes: read.decodedBytes,
          truncated: read.truncated,
          skipped: !wanted,
          redirects,
          ttfbMs,
          downloadMs: ended - headersAt,
          totalMs: ended - started,
          tlsValid: url.protocol === 'https:' ? request.insecureTls !== true : null,
        },
      }
    }
  }

  return {
    fetch: fetchGuarded,
    userAgent: options.userAgent,
    async close() {
      await Promise.all([secureAgent.destroy(), insecureAgent?.destroy()])
    },
  }
}
