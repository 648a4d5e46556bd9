import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rename, rm } from 'node:fs/promises'
import { sql } from 'drizzle-orm'
import { issueFormToken } from '../../../api/leads/form-tokens.ts'
import { DOWNLOAD_COOKIE } from '../../../api/leads/download-cookie.ts'
import { generateDemoPdfs } from '../../../api/demo/pdfs.ts'
import { ORIGIN, setupTestApp, type TestContext } from '../../helpers.ts'

// Lead capture tests post the real form contract to the real app on a real database.

export const WHITEPAPER = 'whitepaper:mid-market-pipeline-benchmark-2026' // name + company required
export const OTHER_WHITEPAPER = 'whitepaper:probability-weighted-forecasting' // name required
export const CASE_STUDY = 'case-study:fieldstack-forecast-accuracy'

let demoDir: Promise<string> | null = null
/**
 * The demo PDFs, generated once per run into the directory tests/global-setup.ts names and
 * removes at the end: the first worker to need them writes a copy of its own and renames it into
 * place, so two workers never see a half-written directory.
 */
export function demoFilesDir(): Promise<string> {
  demoDir ??= (async () => {
    const dir = process.env.FD_TEST_FILES_DIR
    if (!dir) throw new Error('FD_TEST_FILES_DIR is set by tests/global-setup.ts')
    if (existsSync(dir)) return dir
    const own = await mkdtemp(`${dir}-`)
    await generateDemoPdfs(own)
    // Another worker may have won the race: its copy is as good as ours.
    await rename(own, dir).catch(() => rm(own, { recursive: true, force: true }))
    return dir
  })()
  return demoDir
}

/** A test app that trusts X-Forwarded-For, so each test can post from its own IP. */
export async function setupLeadApp(env: Record<string, string> = {}): Promise<TestContext> {
  return setupTestApp({ TRUST_PROXY: 'true', CONTENT_FILES_DIR: await demoFilesDir(), ...env })
}

let ipCounter = 0
/** A fresh client IP, so the per-IP rate limit of one test does not leak into another. */
export function freshIp(): string {
  ipCounter++
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`
}

export interface LeadFields {
  [name: string]: string
}

/** A post a person would send: a form rendered 10 s ago (past the time trap), fresh key. */
export function leadForm(ctx: TestContext, fields: LeadFields = {}): LeadFields {
  const renderedAt = new Date(ctx.clock.now().getTime() - 10_000)
  const offer = fields.offer ?? WHITEPAPER
  return {
    email: 'dana.lee@acme-robotics.com',
    name: 'Dana Lee',
    company: 'Acme Robotics',
    consent: 'yes',
    consentVersion: '2026-11-29',
    offer: WHITEPAPER,
    idempotencyKey: randomUUID(),
    formToken: issueFormToken(ctx.deps.secret, renderedAt, pageOf(offer)),
    pageUrl: `${ORIGIN}/whitepapers/mid-market-pipeline-benchmark-2026?utm_source=linkedin&utm_campaign=q4`,
    referrer: 'https://www.linkedin.com/',
    utm_source: 'linkedin',
    utm_medium: '',
    utm_campaign: 'q4',
    utm_term: '',
    utm_content: '',
    fax: '',
    ...fields,
  }
}

/** The page a form for `offer` is rendered on, which its form token is bound to. */
export function pageOf(offer: string): string {
  const [kind, slug] = offer.split(':')
  if (kind === 'whitepaper') return `/whitepapers/${slug}`
  if (kind === 'case-study') return `/case-studies/${slug}`
  return `/${kind}`
}

export function encodeForm(fields: LeadFields): string {
  return new URLSearchParams(fields).toString()
}

/** POSTs to /api/leads like the browser does: JS off (HTML form) or on (Accept: JSON). */
export function postLead(
  ctx: TestContext,
  fields: LeadFields | string,
  options: { js?: boolean; ip?: string; headers?: Record<string, string> } = {},
) {
  return ctx.app.request('/api/leads', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      'user-agent': 'Mozilla/5.0 (test)',
      'x-forwarded-for': options.ip ?? freshIp(),
      ...(options.js ? { accept: 'application/json' } : {}),
      ...options.headers,
    },
    body: typeof fields === 'string' ? fields : encodeForm(fields),
  })
}

export const TABLES = [
  'contacts',
  'companies',
  'submissions',
  'consent_events',
  'deals',
  'deal_events',
  'download_tokens',
  'outbox',
  'idempotency_keys',
] as const

export type RowCounts = Record<(typeof TABLES)[number], number>

export async function rowCounts(ctx: TestContext): Promise<RowCounts> {
  const counts = {} as RowCounts
  for (const table of TABLES) {
    const result = await ctx.deps.db.execute(sql.raw(`select count(*)::int as n from ${table}`))
    counts[table] = Number((result as unknown as { rows: Array<{ n: number }> }).rows[0]!.n)
  }
  return counts
}

export function difference(after: RowCounts, before: RowCounts): Partial<RowCounts> {
  const diff: Partial<RowCounts> = {}
  for (const table of TABLES)
    if (after[table] !== before[table]) diff[table] = after[table] - before[table]
  return diff
}

/**
 * The download token the thank-you page gets from a lead post's answer (its `fd_dl` cookie), or
 * null when the answer set none.
 */
export function downloadTokenOf(res: Response): string | null {
  for (const cookie of res.headers.getSetCookie()) {
    const [pair] = cookie.split(';')
    const eq = pair!.indexOf('=')
    if (pair!.slice(0, eq) !== DOWNLOAD_COOKIE) continue
    const value = pair!.slice(eq + 1)
    return value.slice(value.lastIndexOf('.') + 1)
  }
  return null
}
