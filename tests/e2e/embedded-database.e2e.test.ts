import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase, type Db } from '../../api/db/client.ts'
import { lockPathFor } from '../../api/db/owner.ts'
import { issueFormToken } from '../../api/leads/form-tokens.ts'
import { NODE_ENV_VARS, NODE_FLAGS, newDataDir, startServer, type TestServer } from './harness.ts'

// The embedded database has one owner (issue 16), tried as a self-hosting team would: the
// production server (`node server.ts`) on a data directory, and the npm scripts beside it.
// Needs the built site (server.ts serves it): `npm run build` first; skipped with a notice without.

const root = new URL('../..', import.meta.url).pathname
const built = existsSync(join(root, 'dist/server/entry.mjs'))
if (!built)
  console.warn('[embedded database test] skipped: dist/ is missing, run `npm run build` first')

const SECRET = 'embedded-database-test-secret-0123456789'
const PASSWORD = 'a long enough password 2026'
const work = await mkdtemp(join(tmpdir(), 'frontdoor-owner-e2e-'))
const servers: TestServer[] = []
const dataDirs: string[] = []
afterAll(async () => {
  for (const s of servers) await s.stop()
  for (const dir of [work, ...dataDirs]) await rm(dir, { recursive: true, force: true })
})

/** A migrated data directory of this file's, removed after it (a server keeps a given one). */
async function dataDirectory(): Promise<string> {
  const dir = await newDataDir()
  dataDirs.push(dir)
  return dir
}

async function serve(dataDir: string): Promise<TestServer> {
  const server = await startServer({ SECRET, TRUST_PROXY: 'true' }, { dataDir })
  servers.push(server)
  return server
}

/** Runs a script as `npm run …` would (node scripts/…), with DATA_DIR; resolves with its exit. */
function run(
  args: string[],
  env: Record<string, string>,
  input = '',
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...NODE_ENV_VARS,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.stdin.end(input)
    child.once('exit', (code) => resolve({ code, out }))
  })
}

async function signIn(server: TestServer, email: string): Promise<number> {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  await res.arrayBuffer()
  return res.status
}

let ip = 0
/** A lead post as the browser sends it, from a fresh address (under the per-IP rate). */
async function postLead(server: TestServer, n: number): Promise<number> {
  ip++
  const offer = 'whitepaper:mid-market-pipeline-benchmark-2026'
  const fields = {
    email: `reader${n}@acme-robotics.com`,
    name: `Reader ${n}`,
    company: 'Acme Robotics',
    consent: 'yes',
    consentVersion: '2026-11-29',
    offer,
    idempotencyKey: randomUUID(),
    formToken: issueFormToken(
      SECRET,
      new Date(Date.now() - 10_000),
      '/whitepapers/mid-market-pipeline-benchmark-2026',
    ),
    pageUrl: `${server.url}/whitepapers/mid-market-pipeline-benchmark-2026`,
    fax: '',
  }
  const res = await fetch(`${server.url}/api/leads`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      origin: server.url,
      'user-agent': 'Mozilla/5.0 (test)',
      'x-forwarded-for': `10.9.${(ip >> 8) & 255}.${ip & 255}`,
    },
    body: new URLSearchParams(fields).toString(),
  })
  await res.arrayBuffer()
  return res.status
}

async function tables(db: Db): Promise<Record<string, string[]>> {
  const names = (
    (await db.execute(
      sql`select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r' order by 1`,
    )) as unknown as { rows: { name: string }[] }
  ).rows
  const out: Record<string, string[]> = {}
  for (const { name } of names)
    out[name] = (
      (await db.execute(
        sql`select row_to_json(t)::text as j from ${sql.identifier(name)} t order by 1`,
      )) as unknown as { rows: { j: string }[] }
    ).rows.map((r) => r.j)
  return out
}

// Each test starts servers and command-line tools as processes of their own (27 s for the
// user:add one alone on a quiet 2-core machine): a budget for a loaded machine, not a timing claim.
describe.skipIf(!built)('the embedded database has one owner', { timeout: 300_000 }, () => {
  it('refuses a second server on the same data directory, naming the first one, and writes nothing', async () => {
    const dataDir = await dataDirectory()
    const server = await serve(dataDir)
    const lock = await readFile(lockPathFor(join(dataDir, 'pglite')), 'utf8')
    const second = await run(['server.ts'], { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' })
    expect(second.code).toBe(75)
    expect(second.out).toContain(`PID ${server.pid}`)
    expect(second.out).toContain(`port ${new URL(server.url).port}`)
    expect(second.out).not.toContain('listening')
    expect(await readFile(lockPathFor(join(dataDir, 'pglite')), 'utf8')).toBe(lock)
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200)
    await server.stop()
  })

  it('adds a user with `npm run user:add` while the server runs: signs in at once, and after a restart', async () => {
    const dataDir = await dataDirectory()
    let server = await serve(dataDir)
    const added = await run(
      [
        'scripts/user-add.ts',
        '--email',
        'new.rep@example.com',
        '--name',
        'New Rep',
        '--role',
        'rep',
      ],
      { DATA_DIR: dataDir },
      `${PASSWORD}\n`,
    )
    expect(added.out).toContain('Added new.rep@example.com (rep)')
    expect(added.code).toBe(0)
    expect(await signIn(server, 'new.rep@example.com')).toBe(201)

    await server.stop()
    server = await serve(dataDir)
    expect(await signIn(server, 'new.rep@example.com')).toBe(201)

    // Killed (-9): the lock it leaves does not keep the next start out, and nothing is lost.
    await server.kill()
    expect(existsSync(lockPathFor(join(dataDir, 'pglite')))).toBe(true)
    server = await serve(dataDir)
    expect(await signIn(server, 'new.rep@example.com')).toBe(201)
    // With the server stopped, the tool opens the directory itself.
    await server.stop()
    const offline = await run(
      ['scripts/user-add.ts', '--email', 'later@example.com', '--name', 'Later', '--role', 'sdr'],
      { DATA_DIR: dataDir },
      `${PASSWORD}\n`,
    )
    expect(offline.code).toBe(0)
    server = await serve(dataDir)
    expect(await signIn(server, 'later@example.com')).toBe(201)
    await server.stop()
  })

  it('backs up while leads are being posted; the restore is a one-moment snapshot holding every lead acknowledged before it', async () => {
    const dataDir = await dataDirectory()
    const server = await serve(dataDir)
    // Leads acknowledged before the backup starts must be in it.
    const before: number[] = []
    for (let i = 0; i < 10; i++) before.push(await postLead(server, i))
    expect(before.every((s) => s === 201)).toBe(true)

    let writing = true
    let n = 100
    const writer = (async () => {
      let ok = 0
      while (writing) if ((await postLead(server, n++)) === 201) ok++
      return ok
    })()
    const file = join(work, 'during-writes.backup')
    const backup = await run(['scripts/db-backup.ts', file], { DATA_DIR: dataDir })
    writing = false
    const duringBackup = await writer
    expect(backup.out).toContain('through the running server')
    expect(backup.code).toBe(0)
    expect(duringBackup).toBeGreaterThan(0)

    const restoredDir = join(work, 'restored')
    const restore = await run(['scripts/db-restore.ts', file], { DATA_DIR: restoredDir })
    expect(restore.code).toBe(0)
    // Into a directory that is not empty — the running server's own — it is refused.
    const refused = await run(['scripts/db-restore.ts', file], { DATA_DIR: dataDir })
    expect(refused.code).toBe(1)
    expect(refused.out).toMatch(/is not empty/)
    await server.stop()

    const restored = await openDatabase({ dataDir: join(restoredDir, 'pglite') })
    const original = await openDatabase({ dataDir: join(dataDir, 'pglite') })
    try {
      const r = await tables(restored.db)
      const o = await tables(original.db)
      const emails = r.contacts!.map((j) => (JSON.parse(j) as { email: string }).email)
      for (let i = 0; i < 10; i++) expect(emails).toContain(`reader${i}@acme-robotics.com`)
      // A snapshot of one moment: the leads in it are leads the original has (rows the outbox
      // worker updated since are compared by id).
      const ids = (rows: string[]) => rows.map((j) => (JSON.parse(j) as { id: string }).id)
      for (const table of ['contacts', 'submissions', 'deals', 'outbox']) {
        const now = new Set(ids(o[table]!))
        expect(
          ids(r[table]!).filter((id) => !now.has(id)),
          table,
        ).toEqual([])
      }
      expect(r.submissions!.length).toBeGreaterThanOrEqual(10)
      expect(r.submissions!.length).toBeLessThan(o.submissions!.length + 1)
      // Consistent across tables: every restored submission has its contact.
      const contactIds = new Set(r.contacts!.map((j) => (JSON.parse(j) as { id: string }).id))
      for (const s of r.submissions!)
        expect(contactIds.has((JSON.parse(s) as { contact_id: string }).contact_id)).toBe(true)
    } finally {
      await restored.close()
      await original.close()
    }
  })
  it.skipIf(!existsSync('/usr/bin/psql'))(
    'opens psql with `npm run db:shell`, through the running server and with it stopped',
    async () => {
      const dataDir = await dataDirectory()
      const server = await serve(dataDir)
      const query = ['-At', '-c', 'select count(*) from users']
      const through = await run(['scripts/db-shell.ts', ...query], { DATA_DIR: dataDir })
      expect(through.code).toBe(0)
      expect(through.out).toMatch(/^0$/m)
      await server.stop()
      const offline = await run(['scripts/db-shell.ts', ...query], { DATA_DIR: dataDir })
      expect(offline.code).toBe(0)
      expect(offline.out).toMatch(/^0$/m)
      expect(existsSync(lockPathFor(join(dataDir, 'pglite')))).toBe(false)
    },
  )

  it('keeps every acknowledged lead when the server is killed (-9) while leads pour in', async () => {
    const dataDir = await dataDirectory()
    let server = await serve(dataDir)
    const acknowledged: number[] = []
    let n = 1000
    let posting = true
    const posters = Array.from({ length: 4 }, async () => {
      while (posting) {
        const i = n++
        const status = await postLead(server, i).catch(() => 0)
        if (status === 201) acknowledged.push(i)
      }
    })
    // Killed once some leads are in and more are in flight.
    while (acknowledged.length < 20) await new Promise((r) => setTimeout(r, 10))
    await server.kill()
    posting = false
    await Promise.all(posters)
    server = await serve(dataDir)
    await server.stop()
    const database = await openDatabase({ dataDir: join(dataDir, 'pglite') })
    try {
      const emails = new Set(
        (
          (await database.db.execute(sql`select email from contacts`)) as unknown as {
            rows: { email: string }[]
          }
        ).rows.map((r) => r.email),
      )
      const lost = acknowledged.filter((i) => !emails.has(`reader${i}@acme-robotics.com`))
      expect(lost).toEqual([])
    } finally {
      await database.close()
    }
  })

  it('leaves no backup file when the backup is killed (-9) half-way, and refuses the partial one', async () => {
    const dataDir = await dataDirectory()
    const server = await serve(dataDir)
    for (let i = 0; i < 5; i++) await postLead(server, 5000 + i)
    const file = join(work, 'killed.backup')
    const child = spawn(process.execPath, [...NODE_FLAGS, 'scripts/db-backup.ts', file], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir },
      stdio: 'ignore',
    })
    const partial = `${file}.partial-${child.pid}`
    const exited = new Promise((r) => child.once('exit', r))
    // Killed as soon as it has begun writing (or, on a fast machine, already done: both are fine).
    while (!existsSync(partial) && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 1))
    child.kill('SIGKILL')
    await exited
    if (existsSync(partial)) {
      expect(existsSync(file)).toBe(false)
      const refused = await run(['scripts/db-restore.ts', partial], {
        DATA_DIR: join(work, 'from-partial'),
      })
      // Either clearly refused (cut short), or — killed between its last byte and the rename — whole.
      if (refused.code === 0) expect(refused.out).toContain('Restored')
      else {
        expect(refused.out).toMatch(/not a complete Frontdoor backup/)
        expect(existsSync(join(work, 'from-partial', 'pglite'))).toBe(false)
      }
    }
    // The server is unharmed: its socket client vanished mid-transaction and was rolled back.
    expect(await postLead(server, 6000)).toBe(201)
    await server.stop()
  })
})
