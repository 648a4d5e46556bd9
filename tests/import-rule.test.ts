import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import {
  cruise,
  type ICruiseOptions,
  type ICruiseResult,
  type IForbiddenRuleType,
  type IViolation,
} from 'dependency-cruiser'
import { describe, expect, it } from 'vitest'

// The import rule (README, Layout; .dependency-cruiser.cjs): routes → capabilities → ground
// floor, never upward, api/ never importing src/ or scripts/. dependency-cruiser reads the real
// imports; this test fails on any violation and names it.

const root = fileURLToPath(new URL('..', import.meta.url))
const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as {
  forbidden: IForbiddenRuleType[]
  options: ICruiseOptions
}

async function violationsIn(baseDir: string, paths: string[]): Promise<string[]> {
  const { output } = await cruise(paths, {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
  })
  const result = output as ICruiseResult
  return result.summary.violations.map((v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}`)
}

describe('the import rule', () => {
  it('holds for the whole project: no upward import, api/ stands alone', async () => {
    expect(
      await violationsIn(root, ['api', 'src', 'scripts', 'server.ts', 'email-templates']),
    ).toEqual([])
  }, 60_000)

  it('catches an upward import and a ground floor that imports a capability', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/import-rule/', import.meta.url))
    expect((await violationsIn(fixture, ['api'])).sort()).toEqual([
      'no-upward-from-ground: api/db/client.ts → api/leads/capture.ts',
      'no-upward-from-leads: api/leads/capture.ts → api/grader/reports.ts',
    ])
  })
})
