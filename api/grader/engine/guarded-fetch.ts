import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupAddress, LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import { Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { Agent, buildConnector } from 'undici'
import type { Dispatcher } from 'undici'
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
  /** Any port but the Fetch standard's bad ones (webhook receivers: TargetUrlRules). */
  anyPort?: boolean
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
  /**
   * More request headers as name, value, name, value… (undici's flat form, built once per
   * request instead of an object spread over the defaults); never user-agent, accept or
   * accept-encoding, which the fetcher sets.
   */
  headers?: readonly string[]
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
  /**
   * The status of the response whose body failed (its headers had come: the site answered); null
   * when the request failed before any response.
   */
  responseStatus: number | null
  /** From the start of the fetch to the failure. */
  elapsedMs: number
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
  // for…in, not Object.entries: the entries' arrays cost a webhook delivery ~1 µs (measured).
  for (const name in raw) {
    const value = raw[name]
    const key = name.toLowerCase()
    if (key === 'set-cookie' || value === undefined) continue
    headers[key] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

const MAX_CODINGS = 5

function decodersFor(contentEncoding: string | null): Transform[] | null {
  if (contentEncoding === null) return []
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity')
  // Each coding is a decompressor of its own: a header listing thousands would cost seconds of
  // CPU and a window each. More than five are left undecoded (undici's fetch refuses them too).
  if (codings.length > MAX_CODINGS) return null
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
 * Reads an encoded body through its decoders into a sink that stops at `maxBytes` decoded bytes:
 * a compression bomb is cut off after producing `maxBytes`, whatever its size on the wire.
 */
async function readDecoded(
  source: Readable,
  decoders: Transform[],
  maxBytes: number,
  discard: boolean,
): Promise<BodyRead> {
  const chunks: Buffer[] = []
  let transferBytes = 0
  let decodedBytes = 0
  let truncated = false
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
    body: discard ? Buffer.alloc(0) : Buffer.concat(chunks),
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
  deadline: Deadline,
): { kind: FetchFailureKind; cause: string } {
  const code = errorCode(err)
  const message = err instanceof Error ? err.message : String(err)
  const detail = `${code}: ${message}`
  if (code === 'ERR_GRADER_BLOCKED') return { kind: 'blocked', cause: message }
  if (deadline.stopped) {
    return { kind: deadline.timedOut ? 'timeout' : 'aborted', cause: detail }
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

function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null
  return contentType.split(';')[0]?.trim().toLowerCase() ?? null
}

/**
 * One fetch's time limit. A deadline sweep (one interval per fetcher, every DEADLINE_TICK_MS,
 * only while requests are open) stops a fetch past it, whatever it is doing: waiting for a
 * connection, for headers, or reading a body that drips without ever going quiet. undici's own
 * connect, headers and body-idle timeouts still apply within it. (A timer and an AbortSignal per
 * request, and undici's wiring of the signal, cost a webhook delivery ~3–4 µs of CPU.)
 */
type Deadline = {
  at: number
  stopped: boolean
  timedOut: boolean
  reason: unknown
  /** Stops what the fetch is doing now (the request in flight, or the one about to start). */
  onStop: ((reason: unknown) => void) | null
}

/** A fetch outlives its time limit by at most this (the deadline sweep's period). */
export const DEADLINE_TICK_MS = 100

function stopDeadline(deadline: Deadline, reason: unknown, timedOut: boolean): void {
  if (deadline.stopped) return
  deadline.stopped = true
  deadline.timedOut = timedOut
  deadline.reason = reason
  deadline.onStop?.(reason)
}

/** Why undici sees us stop a response we no longer want (cap reached, redirect, wrong type). */
class Abandoned extends Error {}

/** A request that failed after its response's status and headers had come. */
class FailedAfterHeaders extends Error {
  readonly reason: unknown
  readonly status: number
  constructor(reason: unknown, status: number) {
    super('response failed after its headers')
    this.reason = reason
    this.status = status
  }
}

/** How a response's body is read, decided from its status and headers. */
type BodyPlan =
  | { read: false }
  | { read: true; contentEncoding: string | null; maxBytes: number; discard: boolean }

type Hop = {
  status: number
  headers: Record<string, string>
  headersAt: number
  /** Null when the plan said not to read it. */
  body: BodyRead | null
}

/**
 * One request through undici's dispatch API with a handler of our own: a body that needs no
 * decoding (a webhook receiver's answer, most pages) is gathered in the handler up to its cap;
 * an encoded one is streamed through its decoders. undici's request() wraps every response in a
 * stream, an async resource and, with a signal, abort wiring: for a small request that cost as
 * much CPU as the rest of the guarded client.
 */
function exchange(
  agent: Agent,
  dispatch: Dispatcher.DispatchOptions,
  deadline: Deadline,
  plan: (status: number, headers: Record<string, string>) => BodyPlan,
): Promise<Hop> {
  return new Promise<Hop>((resolve, reject) => {
    if (deadline.stopped) {
      reject(deadline.reason)
      return
    }
    let settled = false
    let controller: Dispatcher.DispatchController | null = null
    let status = 0
    let headers: Record<string, string> = {}
    let headersAt = 0
    // The identity body being gathered; or the stream feeding the decoders.
    let gather: { maxBytes: number; discard: boolean; undecodable: boolean } | null = null
    let encoded: Readable | null = null
    const chunks: Buffer[] = []
    let transferBytes = 0
    let decodedBytes = 0
    const settle = () => {
      settled = true
      deadline.onStop = null
    }
    const finish = (body: BodyRead | null) => {
      if (settled) return
      settle()
      resolve({ status, headers, headersAt, body })
    }
    const fail = (err: unknown) => {
      if (settled) return
      settle()
      reject(status === 0 ? err : new FailedAfterHeaders(err, status))
    }
    const gathered = (truncated: boolean): BodyRead => ({
      body:
        gather === null || gather.discard || gather.undecodable
          ? Buffer.alloc(0)
          : Buffer.concat(chunks),
      transferBytes,
      decodedBytes,
      truncated,
    })
    deadline.onStop = (reason) => {
      if (controller !== null) controller.abort(reason as Error)
      else fail(reason) // still queued: it is aborted when it would start
    }
    agent.dispatch(dispatch, {
      onRequestStart(c) {
        if (settled || deadline.stopped) {
          c.abort((deadline.reason as Error | undefined) ?? new Abandoned())
          return
        }
        controller = c
      },
      onResponseStart(c, statusCode, raw) {
        if (statusCode < 200) return // informational: the real answer follows
        status = statusCode
        headers = flattenHeaders(raw)
        headersAt = performance.now()
        const wanted = plan(statusCode, headers)
        if (!wanted.read) {
          finish(null)
          c.abort(new Abandoned())
          return
        }
        const decoders = decodersFor(wanted.contentEncoding)
        if (decoders !== null && decoders.length > 0) {
          const source = new Readable({ read: () => c.resume() })
          encoded = source
          readDecoded(source, decoders, wanted.maxBytes, wanted.discard).then((read) => {
            finish(read)
            if (read.truncated) c.abort(new Abandoned())
          }, fail)
          return
        }
        // An unknown coding is read as is: its bytes still count, its content is not used.
        gather = {
          maxBytes: wanted.maxBytes,
          discard: wanted.discard,
          undecodable: decoders === null,
        }
      },
      onResponseData(c, chunk) {
        if (encoded !== null) {
          if (!encoded.push(chunk)) c.pause()
          return
        }
        if (gather === null || settled) return
        transferBytes += chunk.length
        const room = gather.maxBytes - decodedBytes
        if (chunk.length > room) {
          if (!gather.discard && room > 0) chunks.push(chunk.subarray(0, room))
          decodedBytes = gather.maxBytes
          finish(gathered(true))
          c.abort(new Abandoned()) // stop the transfer of what the cap leaves unread
          return
        }
        decodedBytes += chunk.length
        if (!gather.discard) chunks.push(chunk)
      },
      onResponseEnd() {
        if (encoded !== null) encoded.push(null)
        else finish(gathered(false))
      },
      onResponseError(_c, err) {
        encoded?.destroy(err)
        fail(err)
      },
    })
  })
}

export function createGuardedFetcher(options: GuardedFetcherOptions): GuardedFetcher {
  const policy = options.policy ?? createAddressPolicy({ allowAddresses: options.allowAddresses })
  const rules: TargetUrlRules = {
    allowPorts: options.allowPorts,
    ...(options.anyPort ? { anyPort: true } : {}),
    policy,
  }
  const maxRedirects = options.maxRedirects ?? 5
  // A URL's parse and verdict depend on the URL and this fetcher's rules alone (DNS answers are
  // judged at connect time, every time): a webhook subscription's URL is parsed and judged once,
  // not per delivery. The parsed URLs are shared, so they are never modified.
  type Target = { url: URL; verdict: UrlVerdict; path: string }
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
      target = { url, verdict: checkTargetUrl(url, rules), path: `${url.pathname}${url.search}` }
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

  const open = new Set<Deadline>()
  let sweeper: ReturnType<typeof setInterval> | null = null
  function sweep() {
    if (open.size === 0) {
      if (sweeper !== null) clearInterval(sweeper)
      sweeper = null
      return
    }
    const now = performance.now()
    for (const deadline of open)
      if (now >= deadline.at)
        stopDeadline(deadline, new DOMException('The request timed out.', 'TimeoutError'), true)
  }

  async function fetchGuarded(input: string | URL, request: FetchRequest): Promise<FetchOutcome> {
    const started = performance.now()
    const deadline: Deadline = {
      at: started + (request.timeoutMs ?? options.requestTimeoutMs ?? 15_000),
      stopped: false,
      timedOut: false,
      reason: undefined,
      onStop: null,
    }
    open.add(deadline)
    if (sweeper === null) {
      sweeper = setInterval(sweep, DEADLINE_TICK_MS)
      sweeper.unref()
    }
    const outer = options.signal
    const abortWithOuter = () => stopDeadline(deadline, outer?.reason, false)
    if (outer?.aborted) abortWithOuter()
    else outer?.addEventListener('abort', abortWithOuter, { once: true })
    try {
      return await fetchUntil(input, request, deadline, started)
    } finally {
      open.delete(deadline)
      outer?.removeEventListener('abort', abortWithOuter)
    }
  }

  async function fetchUntil(
    input: string | URL,
    request: FetchRequest,
    deadline: Deadline,
    started: number,
  ): Promise<FetchOutcome> {
    const method = request.method ?? 'GET'
    const redirects: RedirectHop[] = []
    let seen: Set<string> | null = null
    let target = targetOf(String(input))
    if (target === null) {
      return fail('blocked', `not a URL: ${String(input).slice(0, 200)}`, String(input))
    }
    const headers = [
      'user-agent',
      options.userAgent,
      'accept',
      request.accept ?? '*/*',
      'accept-encoding',
      'gzip, deflate, br',
    ]
    if (request.headers !== undefined) for (const h of request.headers) headers.push(h)
    const follow = request.followRedirects !== false
    const plan = (status: number, got: Record<string, string>): BodyPlan => {
      // A 3xx without Location is an ordinary response (browsers show its body).
      if (follow && REDIRECT_STATUSES.has(status) && got.location !== undefined) return NO_BODY
      if (request.wantContentType?.(mediaType(got['content-type'] ?? null)) === false)
        return NO_BODY
      // A HEAD answer has no body, whatever its headers say.
      if (method === 'HEAD')
        return { read: true, contentEncoding: null, maxBytes: 0, discard: true }
      return {
        read: true,
        contentEncoding: got['content-encoding'] ?? null,
        maxBytes: request.maxBytes,
        discard: request.discardBody === true,
      }
    }

    function fail(
      kind: FetchFailureKind,
      cause: string,
      at: string,
      responseStatus: number | null = null,
    ): FetchOutcome {
      const code = kind === 'redirect' ? 'too_many_redirects' : 'unreachable'
      const elapsedMs = performance.now() - started
      return {
        ok: false,
        error: { code, kind, cause, url: at, redirects, responseStatus, elapsedMs },
      }
    }

    for (;;) {
      const { url, verdict, path } = target
      if (!verdict.ok) return fail('blocked', verdict.reason, url.href)
      const hopStarted = performance.now()
      let hop: Hop
      try {
        hop = await exchange(
          agentFor(request.insecureTls === true),
          {
            origin: url.origin,
            path,
            method,
            headers,
            body: request.body ?? null,
          },
          deadline,
          plan,
        )
      } catch (err) {
        const answered = err instanceof FailedAfterHeaders ? err : null
        const { kind, cause } = classifyError(answered?.reason ?? err, deadline)
        return fail(kind, cause, url.href, answered?.status ?? null)
      }
      const ttfbMs = hop.headersAt - hopStarted
      const location = hop.headers.location
      if (
        follow &&
        hop.body === null &&
        location !== undefined &&
        REDIRECT_STATUSES.has(hop.status)
      ) {
        redirects.push({ url: url.href, status: hop.status, location, ttfbMs })
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
        seen ??= new Set([url.href])
        if (seen.has(next.url.href)) {
          return fail('redirect', `redirect loop at ${next.url.href}`, next.url.href)
        }
        seen.add(next.url.href)
        target = next
        continue
      }

      const ended = performance.now()
      const read = hop.body ?? EMPTY_READ
      return {
        ok: true,
        response: {
          url: url.href,
          status: hop.status,
          headers: hop.headers,
          body: read.body,
          contentType: hop.headers['content-type'] ?? null,
          contentEncoding: hop.headers['content-encoding'] ?? null,
          transferBytes: read.transferBytes,
          decodedBytes: read.decodedBytes,
          truncated: read.truncated,
          skipped: hop.body === null,
          redirects,
          ttfbMs,
          downloadMs: ended - hop.headersAt,
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
      if (sweeper !== null) clearInterval(sweeper)
      sweeper = null
      await Promise.all([secureAgent.destroy(), insecureAgent?.destroy()])
    },
  }
}

const NO_BODY: BodyPlan = { read: false }
const EMPTY_READ: BodyRead = {
  body: Buffer.alloc(0),
  transferBytes: 0,
  decodedBytes: 0,
  truncated: false,
}
