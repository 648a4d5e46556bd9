// npm run bench: every tests/bench/*.bench.ts, each printing its figures and ratios to the baseline
// measured in the same run. `npm run bench -- http email` runs only those.
import { readdirSync } from 'node:fs'
import type { Figure } from './harness.ts'

export function printFigures(suite: string, figures: Figure[]): void {
  console.log(`\n## ${suite}`)
  for (const f of figures) {
    const value = Number.isInteger(f.value) ? f.value : f.value.toFixed(2)
    let line = `  ${f.name}: ${value} ${f.unit}`
    if (f.baseline !== undefined) line += ` | baseline ${f.baseline}`
    if (f.ratio !== undefined) line += ` | ratio ${f.ratio.toFixed(2)}`
    if (f.target) line += ` | target ${f.target}`
    console.log(line)
  }
}

if (import.meta.main) {
  const only = process.argv.slice(2)
  const dir = new URL('.', import.meta.url)
  const suites = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .filter((name) => only.length === 0 || only.includes(name))
    .sort((a, b) => (a === 'http' ? -1 : b === 'http' ? 1 : a.localeCompare(b)))
  let failed = 0
  for (const suite of suites) {
    try {
      const mod = (await import(new URL(`./${suite}.bench.ts`, dir).href)) as {
        bench: () => Promise<Figure[]>
      }
      printFigures(suite, await mod.bench())
    } catch (err) {
      failed++
      console.log(`\n## ${suite}\n  FAILED: ${(err as Error).stack ?? err}`)
    }
  }
  process.exit(failed ? 1 : 0)
}
