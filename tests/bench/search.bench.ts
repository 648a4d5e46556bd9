import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { createApp } from '../../api/app.ts'
import { createSession, SESSION_COOKIE } from '../../api/accounts/sessions.ts'
import { openDatabase, type Database } from '../../api/db/client.ts'
import { rowsOf } from '../../api/db/raw-sql.ts'
import { createWakeups, sessionPolicyFrom, type Deps } from '../../api/deps.ts'
import { parseEnv } from '../../api/env.ts'
import { createLogger } from '../../api/logger.ts'
import type { Figure } from './harness.ts'

/**
 * GET /api/search through the app (session check, route, the three ranked groups) on a database
 * of 1,000 deals and 3,000 contacts and one of 100,000 deals and 300,000 contacts, side by side:
 * requests alternate between the two so machine noise falls on both alike. A rep searches (deals
 * scoped to theirs and the unclaimed). On PGlite in a data directory, as `npm start` runs; on
 * PostgreSQL too when BENCH_DATABASE_URL names a server (databases are created and dropped).
 *
 * Names are shaped like a real contact base, because the shape decides how many rows a query
 * matches: 60 common first names, surnames of three syllables (~27,000 at the large size),
 * company names of two two-syllable stems (900 stems) and a suffix, one company per five
 * contacts. The queries a rep types: a whole email address, a company name, a surname, a domain,
 * a company name with two letters swapped; and, reported apart, a bare first name, which matches
 * thousands of contacts at the large size (ranked among the first 200).
 *
 * The rows are written by INSERT … SELECT over generate_series, with the search and listing
 * indexes (search_words' too) dropped meanwhile and built again afterwards from their own definitions (a bulk build
 * is several times faster than 400,000 rows of index insertions, which took PGlite over 15 min).
 */

const FIRST =
  `Anna Ben Carla David Emma Felix Grace Hugo Ida Jonas Kara Liam Mia Noah Olga Paul Quinn
Rosa Sam Tara Uma Victor Wendy Xavier Yara Zoe Adam Bella Chris Dora Eric Fiona George Hana Ivan Julia
Karl Lena Marco Nina Oscar Petra Rafael Sara Tom Ursula Vera Walter Yusuf Zara Alice Boris Clara Dmitri
Elena Frank Greta Hans Irene Jakob`.split(/\s+/)
const SYLLABLES = `ka ro mi ten sor vel an bri dor fen gal har is jun kel lor mar nor ost pel
quin ras sel tor ul var wen xen yor zan`.split(/\s+/)
const SUFFIX = ['Systems', 'Labs', 'Group', 'Works', 'Partners', 'Logistics', 'Health', 'Foods']

const pgArray = (xs: string[]) => `array[${xs.map((x) => `'${x}'`).join(',')}]`
// Deterministic pseudo-random picks in SQL: a hash of the row number and a salt. (A multiplicative
// hash taken modulo the array's length depended on g modulo the length only: the large database
// had 15 distinct surnames and 120 company names.)
const pick = (arr: string, salt: number, n: number) =>
  `(${arr})[1 + (hashint4(g * 16 + ${salt}) & ${2 ** 30 - 1}) % ${n}]`

/** The indexes of these tables that no constraint needs, as `CREATE INDEX` statements. */
async function droppableIndexes(db: Database['db']) {
  return rowsOf<{ name: string; def: string }>(
    await db.execute(sql`select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def
      from pg_index i
      where i.indrelid in ('companies'::regclass, 'contacts'::regclass, 'deals'::regclass,
          'search_words'::regclass)
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`),
  )
}

async function seed(db: Database['db'], deals: number) {
  const contacts = deals * 3
  const companies = Math.max(1, contacts / 5)
  const syl = pgArray(SYLLABLES)
  const s = SYLLABLES.length
  const word = (salt: number) => `initcap(${pick(syl, salt, s)} || ${pick(syl, salt + 1, s)})`
  const indexes = await droppableIndexes(db)
  for (const { name } of indexes) await db.execute(sql.raw(`drop index ${name}`))
  await db.execute(sql`insert into users (id, email, name, role)
    select 'rep-' || g, 'rep' || g || '@bench.example', 'Rep ' || g, 'rep' from generate_series(1, 20) g`)
  await db.execute(
    sql.raw(`insert into companies (id, name, domain)
    select 'co-' || g, ${word(1)} || ' ' || ${word(3)} || ' ' || (${pgArray(SUFFIX)})[1 + g % ${SUFFIX.length}],
      lower(${word(1)} || ${word(3)}) || g || '.example'
    from generate_series(1, ${companies}) g`),
  )
  await db.execute(
    sql.raw(`insert into contacts (id, email, email_display, first_name, last_name, company_id, source)
    select 'ct-' || g, lower(f || '.' || l || g || '@' || c.domain), lower(f || '.' || l || g || '@' || c.domain), f, l, c.id, 'inbound'
    from (select g, ${pick(pgArray(FIRST), 5, FIRST.length)} as f,
            initcap(${pick(syl, 7, s)} || ${pick(syl, 9, s)} || ${pick(syl, 11, s)}) as l
          from generate_series(1, ${contacts}) g) p
    join companies c on c.id = 'co-' || (1 + p.g % ${companies})`),
  )
  // One deal per contact for the first third; a tenth unclaimed, the rest spread over 20 reps.
  await db.execute(
    sql.raw(`insert into deals (id, contact_id, company_id, title, stage, source, owner_id)
    select gen_random_uuid()::text, ct.id, ct.company_id, c.name,
      case when g % 10 = 0 then 'target' else (array['demo','decision_maker','negotiation','won','lost'])[1 + g % 5] end,
      'inbound', case when g % 10 = 0 then null else 'rep-' || (1 + g % 20) end
    from generate_series(1, ${deals}) g
    join contacts ct on ct.id = 'ct-' || g
    join companies c on c.id = ct.company_id`),
  )
  for (const { def } of indexes) await db.execute(sql.raw(def))
  await db.execute(sql`analyze`)
}

/** Queries a rep would type, drawn from this database's own rows. */
async function queriesOf(db: Database['db'], count: number) {
  const rows = rowsOf<{
    email: string
    last: string
    company: string
    domain: string
    first: string
  }>(
    await db.execute(sql`select ct.email, ct.last_name as last, c.name as company, c.domain, ct.first_name as first
      from contacts ct join companies c on c.id = ct.company_id
      order by md5(ct.id) limit ${count}`),
  )
  const swap = (w: string) => (w.length < 4 ? w : w.slice(0, 1) + w[2] + w[1] + w.slice(3))
  const typical = rows.flatMap((r) => [
    r.email,
    r.company.split(' ').slice(0, 2).join(' '),
    r.last,
    r.domain,
    swap(r.company.split(' ')[0]!),
  ])
  return { typical, broad: rows.map((r) => r.first) }
}

interface Side {
  request(q: string): Promise<number>
  queries: { typical: string[]; broad: string[] }
  close(): Promise<void>
}

async function prepare(deals: number, engine: 'pglite' | 'postgres'): Promise<Side> {
  let database: Database
  let cleanup: () => Promise<void>
  if (engine === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'frontdoor-bench-search-'))
    database = await openDatabase({ dataDir: join(dir, 'pglite') })
    cleanup = () => rm(dir, { recursive: true, force: true })
  } else {
    const url = new URL(process.env.BENCH_DATABASE_URL!)
    const name = `fd_bench_search_${deals}_${process.pid}`
    const admin = new pg.Client({ connectionString: url.toString() })
    await admin.connect()
    await admin.query(`create database "${name}"`)
    await admin.end()
    url.pathname = `/${name}`
    database = await openDatabase({ databaseUrl: url.toString() })
    cleanup = async () => {
      const drop = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL })
      await drop.connect()
      await drop.query(`drop database if exists "${name}" with (force)`)
      await drop.end()
    }
  }
  await database.migrate()
  const started = performance.now()
  await seed(database.db, deals)
  progress(
    `${engine}: seeded ${deals} deals in ${Math.round((performance.now() - started) / 1000)} s`,
  )
  const env = parseEnv({
    NODE_ENV: 'production',
    APP_ORIGIN: 'http://bench.invalid',
    LOG_LEVEL: 'silent',
  })
  const deps: Deps = {
    env,
    database,
    db: database.db,
    logger: createLogger({ level: 'silent', format: 'json' }),
    now: () => new Date(),
    sessionPolicy: sessionPolicyFrom(env),
    secret: 'bench-secret-bench-secret-bench-secret',
    version: 'bench',
    wakeups: createWakeups(),
  }
  const app = createApp(deps)
  const cookie = `${SESSION_COOKIE}=${(await createSession(database.db, 'rep-1', new Date())).token}`
  const queries = await queriesOf(database.db, 60)
  return {
    queries,
    async request(q) {
      const started = performance.now()
      const res = await app.request(`/api/search?${new URLSearchParams({ q })}`, {
        headers: { cookie },
      })
      const body = await res.text()
      if (res.status !== 200) throw new Error(`search ${q} answered ${res.status}: ${body}`)
      return performance.now() - started
    },
    close: async () => {
      await database.close()
      await cleanup()
    },
  }
}

/** Seeding the large database takes minutes on PGlite: say where the run is. */
const progress = (line: string) => process.stderr.write(`  search bench: ${line}\n`)

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

async function compare(engine: 'pglite' | 'postgres'): Promise<Figure[]> {
  const small = await prepare(1_000, engine)
  try {
    const large = await prepare(100_000, engine)
    try {
      const figures: Figure[] = []
      progress(`${engine}: measuring`)
      for (const kind of ['typical', 'broad'] as const) {
        const a: number[] = []
        const b: number[] = []
        const n = Math.min(small.queries[kind].length, large.queries[kind].length)
        // Warm both, then alternate.
        for (let i = 0; i < Math.min(10, n); i++) {
          await small.request(small.queries[kind][i]!)
          await large.request(large.queries[kind][i]!)
        }
        for (let round = 0; round < (kind === 'typical' ? 2 : 4); round++)
          for (let i = 0; i < n; i++) {
            a.push(await small.request(small.queries[kind][i]!))
            b.push(await large.request(large.queries[kind][i]!))
          }
        const label =
          kind === 'typical'
            ? 'email, company, surname, domain, typo'
            : 'a bare first name (thousands match at 300k)'
        for (const [p, name] of [
          [0.5, 'p50'],
          [0.99, 'p99'],
        ] as const) {
          const base = quantile(a, p)
          figures.push({
            name: `${engine}, ${label}: ${name} at 100k deals / 300k contacts (${b.length} requests)`,
            value: quantile(b, p),
            unit: 'ms',
            baseline: Math.round(base * 100) / 100,
            ratio: quantile(b, p) / base,
            ...(kind === 'typical' ? { target: '≤ 2' } : {}),
          })
        }
      }
      return figures
    } finally {
      await large.close()
    }
  } finally {
    await small.close()
  }
}

export async function bench(): Promise<Figure[]> {
  const engines = process.env.BENCH_SEARCH_ENGINES?.split(',') ?? ['pglite', 'postgres']
  const figures: Figure[] = []
  if (engines.includes('pglite')) figures.push(...(await compare('pglite')))
  if (process.env.BENCH_DATABASE_URL && engines.includes('postgres'))
    figures.push(...(await compare('postgres')))
  return figures
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('search', await bench())
}
