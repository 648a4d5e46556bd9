import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'

// Shared pieces for benchmarks: a free port, the production server as a child process, a bare
// node:http baseline, and one load generator for both sides.

export interface Figure {
  name: string
  value: number
  unit: string
  baseline?: number
  ratio?: number
  target?: string
}

export const root = new URL('../..', import.meta.url).pathname

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

export interface Child {
  url: string
  pid: number
  output: () => string
  stop(): Promise<void>
}

async function waitFor(
  child: ChildProcess,
  text: () => string,
  marker: string,
  what: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${text()}`)), 60_000)
    const check = () => {
      if (text().includes(marker)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited with ${code}:\n${text()}`))
    })
  })
}

/** The production server (`node server.ts`) on an embedded database in a temporary directory. */
export async function startProductionServer(env: Record<string, string> = {}): Promise<Child> {
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'frontdoor-bench-'))
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [join(root, 'server.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_ORIGIN: url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      DEMO_SEED: 'no',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  // LOG_LEVEL=warn hides "listening"; the first-run banner is printed right after it.
  await waitFor(child, () => out, '/setup?token=', 'production server')
  return {
    url,
    pid: child.pid!,
    output: () => out,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

const bareCode = (port: number) =>
  `require('node:http').createServer((q, s) => { s.writeHead(302, { location: '/api/health' }); s.end() }).listen(${port}, '127.0.0.1', () => console.log('ready'))`
const bareHonoCode = (port: number) =>
  `import { serve } from '@hono/node-server'; import { Hono } from 'hono'; const app = new Hono(); app.get('/api', (c) => c.redirect('/api/health', 302)); serve({ fetch: app.fetch, port: ${port}, hostname: '127.0.0.1' }, () => console.log('ready'))`

/**
 * A bare node:http server answering every request with a 302: the baseline. With `hono`, the
 * same route on a bare Hono app (no middleware): the framework's own floor, for context.
 */
export async function startBareRedirectServer(kind: 'node' | 'hono' = 'node'): Promise<Child> {
  const port = await freePort()
  const child =
    kind === 'node'
      ? spawn(process.execPath, ['-e', bareCode(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, ['--input-type=module', '-e', bareHonoCode(port)], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  await waitFor(child, () => out, 'ready', 'bare server')
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    output: () => out,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

export interface LoadResult {
  rps: number
  /** Responses received in the run (the clicks bench checks each one was committed). */
  requests: number
  p50: number
  p99: number
  non2xx3xx: number
  errors: number
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * The interleaved-rounds method of the benches that compare with a baseline in the same run:
 * rounds of baseline / measured, one more baseline at the end, and each round's ratio against the
 * mean of the baselines either side of it (`baselines` one longer than `values`). The figure is
 * their median: this machine's speed swings, so a burst of load from a neighbour spoils one
 * round, not the figure.
 */
export const interleavedRatios = (values: number[], baselines: number[]) =>
  values.map((v, i) => v / ((baselines[i]! + baselines[i + 1]!) / 2))

/** The lowest and highest of some ratios, for a figure's name. */
export const spread = (xs: number[]) =>
  `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`

/** wrk (a C load generator, Debian package `wrk`) when installed; autocannon otherwise. */
export const loadGenerator = existsSync('/usr/bin/wrk') ? 'wrk' : 'autocannon'

/**
 * Servers on one CPU and the load generator on another, when the machine has two or more, taskset
 * is installed and the generator is wrk (autocannon runs inside this process). Unpinned on a
 * 2-core machine, server and generator fight over both cores and the same run's rounds spread
 * 0.64–0.96; pinned, ±5%.
 */
export const pinning =
  availableParallelism() >= 2 && existsSync('/usr/bin/taskset') && loadGenerator === 'wrk'
export const SERVER_CPU = 1
export const LOAD_CPU = 0

/** Pins a running process and all its threads to the servers' CPU (see `pinning`). */
export async function pinServer(pid: number): Promise<void> {
  if (pinning)
    await promisify(execFile)('taskset', ['-a', '-p', '-c', String(SERVER_CPU), String(pid)])
}

/**
 * Pins a database server's processes (a PostgreSQL server's backends for the bench's database,
 * and its WAL writer) to the load generator's CPU, or back to every CPU (`cpus: 'all'`). On a
 * 2-core machine the database has no CPU of its own, and where it runs decides the clicks
 * bench's PostgreSQL figures: unpinned, the kernel wakes a backend on the CPU of the process
 * that woke it, the app server's, which then shares its CPU with the database while the bare
 * server it is compared with has one to itself; pinned beside the generator, the database has
 * only what the generator leaves, which starves a 50,000-row import. Measured at 32
 * connections: the redirect alone 0.32 of bare unpinned, 0.34 on the app server's CPU, 0.47–0.48
 * on the generator's; during the import 0.41 unpinned, 0.18 pinned. So it is a choice, made
 * with BENCH_CLICKS_DATABASE_CPU=generator (clicks.bench.ts); unpinned by default.
 */
export async function pinDatabase(pids: readonly number[], cpus?: 'all'): Promise<void> {
  if (!pinning) return
  const list = cpus === 'all' ? `0-${availableParallelism() - 1}` : String(LOAD_CPU)
  for (const pid of pids)
    await promisify(execFile)('taskset', ['-a', '-p', '-c', list, String(pid)]).catch(() => {
      // A backend that ended meanwhile.
    })
}

/** `pinned`: run the generator on its own CPU, away from servers pinned with `pinServer`. */
export async function load(
  url: string,
  options: {
    connections?: number
    seconds?: number
    method?: string
    headers?: Record<string, string>
    body?: string
    pinned?: boolean
  } = {},
): Promise<LoadResult> {
  const connections = options.connections ?? 32
  const seconds = options.seconds ?? 5
  if (loadGenerator === 'wrk') return loadWithWrk(url, connections, seconds, options)
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: (options.method ?? 'GET') as 'GET',
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body ? { body: options.body } : {}),
  })
  const bad = result.non2xx - (result['3xx'] ?? 0)
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx3xx: Math.max(0, bad),
    errors: result.errors + result.timeouts,
  }
}

async function loadWithWrk(
  url: string,
  connections: number,
  seconds: number,
  options: { method?: string; headers?: Record<string, string>; body?: string; pinned?: boolean },
): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency']
  if (options.method || options.body || options.headers) {
    const script = join(tmpdir(), `wrk-${process.pid}-${Math.random().toString(36).slice(2)}.lua`)
    const lines = [`wrk.method = ${JSON.stringify(options.method ?? 'GET')}`]
    if (options.body) lines.push(`wrk.body = ${JSON.stringify(options.body)}`)
    for (const [k, v] of Object.entries(options.headers ?? {}))
      lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    writeFileSync(script, lines.join('\n'))
    args.push('-s', script)
  }
  const { stdout } =
    pinning && options.pinned
      ? await promisify(execFile)('taskset', ['-c', String(LOAD_CPU), 'wrk', ...args, url])
      : await promisify(execFile)('wrk', [...args, url])
  const ms = (label: string) => {
    const m = stdout.match(new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`))
    if (!m) return NaN
    const n = Number(m[1])
    return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n
  }
  const errorsMatch = stdout.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  )
  return {
    rps: Number(stdout.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0),
    requests: Number(stdout.match(/(\d+) requests in/)?.[1] ?? 0),
    p50: ms('50'),
    p99: ms('99'),
    non2xx3xx: Number(stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0),
    errors: errorsMatch ? errorsMatch.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  }
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0)
  return Math.round(kb / 102.4) / 10
}

/** CPU seconds a process has used so far, all its threads (user + system; 10 ms ticks). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) in parentheses: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
