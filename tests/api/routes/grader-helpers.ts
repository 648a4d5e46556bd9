import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { eq } from 'drizzle-orm'
import { afterAll } from 'vitest'
import { graderReports } from '../../../api/db/schema.ts'
import { issueFormToken } from '../../../api/leads/form-tokens.ts'
import {
  startGraderJobs,
  type GraderJobs,
  type GraderJobsOptions,
} from '../../../api/grader/jobs.ts'
import type { ReportRow } from '../../../api/grader/reports.ts'
import { ORIGIN, setupTestApp, type TestContext } from '../../helpers.ts'
import { fixtureHost, startFixtureStage } from '../grader/engine/fixture-stage.ts'
import { PUBLIC_ADDRESS, TEST_CA, type Handler, type Stage } from '../grader/engine/loopback.ts'
import { eventually } from '../../eventually.ts'

// The grader's API on a real database, grading the engine's fixture sites on a loopback stage.
// The stage's address is let in the way an operator would: GRADER_ALLOW_ADDRESSES, with the
// stage's ports (and one closed port, for "connection refused"). Only what no environment
// variable can say is injected into the job runner: the fixture DNS table, the test CA, and where
// the http→https probe goes.

export interface GraderTestApp {
  ctx: TestContext
  stage: Stage
  jobs: GraderJobs
  /** A port on the stage's address where nothing listens. */
  closedPort: number
}

export async function freeClosedPort(host = PUBLIC_ADDRESS): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function startGraderTestApp(
  options: {
    routes?: Record<string, Handler>
    jobs?: Partial<GraderJobsOptions>
    env?: Record<string, string>
  } = {},
): Promise<GraderTestApp> {
  const stage = await startFixtureStage(options.routes)
  const closedPort = await freeClosedPort()
  const ctx = await setupTestApp({
    TRUST_PROXY: 'true',
    GRADER_ALLOW_ADDRESSES: [stage.port, stage.tlsPort, closedPort]
      .map((p) => `${PUBLIC_ADDRESS}:${p}`)
      .join(','),
    ...options.env,
  })
  const jobs = startGraderJobs(ctx.deps, {
    pollMs: 50,
    deadlineMs: 4_000,
    ...options.jobs,
    grade: { ...stageHooks(stage), ...options.jobs?.grade },
  })
  // Registered after setupTestApp's, so it runs before the database closes.
  afterAll(async () => {
    await jobs.stop()
    await stage.close()
  })
  return { ctx, stage, jobs, closedPort }
}

/** What only a test can tell the engine: the fixture DNS table, the test CA, the probe's port. */
export function stageHooks(stage: Stage) {
  return {
    resolve: stage.resolver,
    tlsCa: TEST_CA,
    httpProbeUrl: (finalUrl: URL) => `http://${finalUrl.hostname}:${stage.port}/`,
  }
}

export const siteUrl = (app: GraderTestApp, site: string, path = '/') =>
  app.stage.url(fixtureHost(site), path)
export const secureSiteUrl = (app: GraderTestApp, site: string, path = '/') =>
  app.stage.tlsUrl(fixtureHost(site), path)

let ipCounter = 0
/** A fresh client IP (X-Forwarded-For; TRUST_PROXY is on), so one test's limits stay its own. */
export function freshIp(): string {
  ipCounter++
  return `198.51.${(ipCounter >> 8) & 255}.${ipCounter & 255}`
}

export async function postGrade(
  ctx: TestContext,
  url: string,
  options: { ip?: string; js?: boolean } = {},
): Promise<Response> {
  const ip = options.ip ?? freshIp()
  return ctx.app.request(
    '/api/grader',
    options.js === false
      ? {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: ORIGIN,
            'x-forwarded-for': ip,
          },
          body: new URLSearchParams({ url }).toString(),
        }
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ url }),
        },
  )
}

/**
 * Waits until the runner has finished the report (done or failed).
 */
export async function settled(ctx: TestContext, id: string): Promise<ReportRow> {
  return eventually(async () => {
    const [row] = await ctx.deps.db.select().from(graderReports).where(eq(graderReports.id, id))
    return row && (row.status === 'done' || row.status === 'failed') ? row : null
  })
}

/** Grades a URL through the API and waits for the result. */
export async function gradedReport(app: GraderTestApp, url: string): Promise<ReportRow> {
  const res = await postGrade(app.ctx, url)
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`POST /api/grader: ${res.status} ${await res.text()}`)
  const { report } = (await res.json()) as { report: { id: string } }
  return settled(app.ctx, report.id)
}

/** The unlock form as a person sends it: rendered 10 s ago (past the time trap), a fresh key. */
export function unlockForm(
  ctx: TestContext,
  reportId: string,
  fields: Record<string, string> = {},
) {
  return {
    offer: `grader:${reportId}`,
    email: 'robin.hale@northwind-tools.com',
    name: 'Robin Hale',
    company: 'Northwind Tools',
    consent: 'yes',
    consentVersion: '2026-11-29',
    idempotencyKey: randomUUID(),
    formToken: issueFormToken(
      ctx.deps.secret,
      new Date(ctx.clock.now().getTime() - 10_000),
      `/grader/${reportId}`,
    ),
    pageUrl: `${ORIGIN}/grader/${reportId}`,
    referrer: '',
    fax: '',
    ...fields,
  }
}

export async function postUnlock(
  ctx: TestContext,
  reportId: string,
  fields: Record<string, string>,
  options: { js?: boolean; ip?: string; cookie?: string } = {},
): Promise<Response> {
  return ctx.app.request(`/api/grader/${reportId}/unlock`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      'x-forwarded-for': options.ip ?? freshIp(),
      ...(options.js ? { accept: 'application/json' } : {}),
      ...(options.cookie ? { cookie: options.cookie } : {}),
    },
    body: new URLSearchParams(fields).toString(),
  })
}

export async function getReport(
  ctx: TestContext,
  id: string,
  headers: Record<string, string> = {},
) {
  const res = await ctx.app.request(`/api/grader/${id}`, { headers })
  return { status: res.status, body: (await res.json()) as { report: Record<string, any> } }
}
