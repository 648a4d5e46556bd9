import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { openDatabase } from '../../api/db/client.ts'
import { DEMO_PASSWORD, DEMO_TEAM, seedDemo } from '../../api/demo/seed.ts'
import { freePort, root, rssMb, sleep, type Figure } from './harness.ts'

// The embedded database's footprint and backup (issue 16): the production server's resident
// memory idle after start-up on the demo data, as `node server.ts` runs it and as `npm start`
// runs it (node --max-semi-space-size=16), and again after a pipeline page load; then the time
// `npm run db:backup` takes through the running server on a 100,000-deal database, and the
// longest a request waited meanwhile (the backup holds PGlite for its one transaction).

const PIPELINE_PAGES = [
  '/app/pipeline?owner=team',
  '/app/pipeline',
  '/app/funnel?owner=team&period=90',
  '/app/forecast',
  '/app/leads',
]
const LOAD_ROUNDS = 30
const TARGET_DEALS = 100_000

interface Server {
  url: string
  pid: number
  stop(): Promise<void>
}

async function startServer(dataDir: string, nodeFlags: string[] = []): Promise<Server> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, join(root, 'server.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_ORIGIN: url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DEMO_SEED: 'yes',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 180_000)
    child.stdout!.on('data', () => {
      if (out.includes('"msg":"listening"')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
  })
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

async function signIn(url: string): Promise<string> {
  const admin = DEMO_TEAM.find((m) => m.role === 'admin')!
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email: admin.email, password: DEMO_PASSWORD }),
  })
  if (res.status !== 201) throw new Error(`sign-in answered ${res.status}`)
  return res.headers.get('set-cookie')!.split(';')[0]!
}

async function pipelineLoad(url: string, cookie: string): Promise<void> {
  for (let i = 0; i < LOAD_ROUNDS; i++)
    for (const path of PIPELINE_PAGES) {
      const res = await fetch(`${url}${path}`, { headers: { cookie } })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
    }
}

/** Idle RSS after start-up (settled for 2 s) and after the pipeline pages, for one way of running. */
async function footprint(
  nodeFlags: string[],
): Promise<{ first: number; restart: number; loaded: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'frontdoor-bench-rss-'))
  try {
    let server = await startServer(dataDir, nodeFlags)
    await sleep(2_000)
    const first = rssMb(server.pid)
    await server.stop()
    server = await startServer(dataDir, nodeFlags)
    await sleep(2_000)
    const restart = rssMb(server.pid)
    await pipelineLoad(server.url, await signIn(server.url))
    await sleep(2_000)
    const loaded = rssMb(server.pid)
    await server.stop()
    return { first, restart, loaded }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** The demo data copied until there are 100,000 deals, with their contacts and stage histories. */
export async function hundredThousandDeals(dataDir: string): Promise<number> {
  const database = await openDatabase({ dataDir: join(dataDir, 'pglite') })
  try {
    await database.migrate()
    await seedDemo(database.db, new Date())
    const count = async () =>
      Number(
        (
          (await database.db.execute(sql`select count(*)::int as n from deals`)) as unknown as {
            rows: { n: number }[]
          }
        ).rows[0]!.n,
      )
    const copies = Math.ceil(TARGET_DEALS / (await count())) - 1
    await database.db.execute(
      sql`insert into contacts select (jsonb_populate_record(c, jsonb_build_object('id', c.id || '-' || g, 'email', g || '.' || c.email))).* from contacts c, generate_series(1, ${copies}) g`,
    )
    await database.db.execute(
      sql`insert into deals select (jsonb_populate_record(d, jsonb_build_object('id', d.id || '-' || g, 'contact_id', d.contact_id || '-' || g))).* from deals d, generate_series(1, ${copies}) g`,
    )
    await database.db.execute(
      sql`insert into deal_events select (jsonb_populate_record(e, jsonb_build_object('id', e.id || '-' || g, 'deal_id', e.deal_id || '-' || g))).* from deal_events e, generate_series(1, ${copies}) g`,
    )
    await database.db.execute(sql`vacuum (analyze)`)
    return await count()
  } finally {
    await database.close()
  }
}

function runBackup(dataDir: string, file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'scripts/db-backup.ts'), file], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dataDir,
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.once('exit', (code) => resolve({ code, out }))
  })
}

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const figures: Figure[] = []
  for (const [how, flags] of [
    ['`node server.ts`', []],
    ['`npm start` (node --max-semi-space-size=16)', ['--max-semi-space-size=16']],
  ] as const) {
    const rss = await footprint([...flags])
    figures.push(
      {
        name: `idle RSS after the first start (demo data seeded), ${how}`,
        value: rss.first,
        unit: 'MB',
        target: '≤ 300',
      },
      {
        name: `idle RSS after a restart on the demo data, ${how}`,
        value: rss.restart,
        unit: 'MB',
        target: '≤ 300',
      },
      {
        name: `RSS after ${LOAD_ROUNDS}× the pipeline pages, ${how}`,
        value: rss.loaded,
        unit: `MB (+${Math.round(rss.loaded - rss.restart)})`,
        target: '≤ +150',
      },
    )
  }

  const dataDir = await mkdtemp(join(tmpdir(), 'frontdoor-bench-backup-'))
  try {
    const deals = await hundredThousandDeals(dataDir)
    const server = await startServer(dataDir)
    try {
      const file = join(dataDir, 'backup.jsonl')
      // A request every 20 ms while the backup runs: the longest wait is the stall it causes.
      let probing = true
      let longest = 0
      const probe = (async () => {
        while (probing) {
          const started = performance.now()
          await (await fetch(`${server.url}/api/health`)).arrayBuffer()
          longest = Math.max(longest, performance.now() - started)
          await sleep(20)
        }
      })()
      const started = performance.now()
      const backup = await runBackup(dataDir, file)
      const seconds = (performance.now() - started) / 1000
      probing = false
      await probe
      if (backup.code !== 0) throw new Error(`db:backup failed: ${backup.out}`)
      figures.push(
        {
          name: `db:backup through the running server, ${deals.toLocaleString('en')} deals`,
          value: seconds,
          unit: `s (${((await stat(file)).size / 1e6).toFixed(0)} MB)`,
        },
        { name: 'longest /api/health wait during that backup', value: longest, unit: 'ms' },
      )
    } finally {
      await server.stop()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
  return figures
}
