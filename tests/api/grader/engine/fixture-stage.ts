import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { runCheck, type CheckResult } from '../../../../api/grader/engine/checks/check.ts'
import { collectSite, type CollectOptions } from '../../../../api/grader/engine/collect.ts'
import {
  createGuardedFetcher,
  type GuardedFetcherOptions,
} from '../../../../api/grader/engine/guarded-fetch.ts'
import { CHECKS } from '../../../../api/grader/engine/rubric.ts'
import type { SiteData } from '../../../../api/grader/engine/site-data.ts'
import { FIXTURES_DIR, serveFixtures } from './fixture-server.ts'
import { PUBLIC_ADDRESS, startStage, type Handler, type Stage } from './loopback.ts'

// The loopback stage serving every fixture site under tests/fixtures/grader/ as
// <dir>.frontdoor-fixture.com, on http (stage.port) and https (stage.tlsPort).

export const fixtureHost = (site: string) => `${site}.frontdoor-fixture.com`

export async function startFixtureStage(routes: Record<string, Handler> = {}): Promise<Stage> {
  const stage = await startStage()
  stage.handle(serveFixtures({ httpPort: stage.port, tlsPort: stage.tlsPort, routes }))
  resetFixtureDns(stage)
  return stage
}

export function resetFixtureDns(stage: Stage) {
  stage.dns.clear()
  for (const dir of readdirSync(FIXTURES_DIR)) {
    if (statSync(join(FIXTURES_DIR, dir)).isDirectory())
      stage.dns.set(fixtureHost(dir), [PUBLIC_ADDRESS])
  }
  // A public-looking name that points inward.
  stage.dns.set(fixtureHost('inward-name'), ['127.0.0.1'])
}

/** Options that send the http→https probe to the stage's http port. */
export function gradeOptions(stage: Stage, extra: Partial<GuardedFetcherOptions> = {}) {
  return {
    ...stage.fetcherOptions(extra),
    httpProbeUrl: (finalUrl: URL) => `http://${finalUrl.hostname}:${stage.port}/`,
  }
}

/** Collects one fixture URL into SiteData, through the real guarded fetcher. */
export async function collectFrom(
  stage: Stage,
  url: string,
  extra: Partial<GuardedFetcherOptions> = {},
  collectOptions: CollectOptions = {},
): Promise<SiteData> {
  const fetcher = createGuardedFetcher(stage.fetcherOptions(extra))
  try {
    const outcome = await collectSite(fetcher, url, {
      httpProbeUrl: (finalUrl) => `http://${finalUrl.hostname}:${stage.port}/`,
      ...collectOptions,
    })
    if (!outcome.ok) throw new Error(`collecting ${url} failed: ${outcome.error.cause}`)
    return outcome.site
  } finally {
    await fetcher.close()
  }
}

/** Runs one check of the rubric on collected data. */
export function checkOf(site: SiteData, id: string): CheckResult {
  const definition = CHECKS.find((c) => c.id === id)
  if (definition === undefined) throw new Error(`no check ${id}`)
  return runCheck(definition, site)
}
