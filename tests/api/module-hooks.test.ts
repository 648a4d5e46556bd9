import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// api/module-hooks.ts resolves Drizzle's files itself, to spare Node re-reading its package.json
// for each. It must resolve every import exactly as Node does: the same file, the same format.

const root = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)

// Records every resolution that reaches it. Registered after the module hooks, it runs before
// them and sees what they answer.
const recorder = `
import { registerHooks } from 'node:module'
const seen = []
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context)
    seen.push([specifier, context.parentURL ?? '', result.url, result.format ?? null])
    return result
  },
})
// What the app imports of Drizzle.
await import('drizzle-orm')
await import('drizzle-orm/pg-core')
await import('drizzle-orm/pglite')
await import('drizzle-orm/pglite/migrator')
await import('drizzle-orm/node-postgres')
await import('drizzle-orm/node-postgres/migrator')
process.stdout.write(JSON.stringify(seen))
`

/** [specifier, parent, url, format] */
type Resolution = [string, string, string, string | null]

async function resolutions(flags: string[]): Promise<Resolution[]> {
  const { stdout } = await run(
    process.execPath,
    [...flags, '--input-type=module', '-e', recorder],
    {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    },
  )
  return (JSON.parse(stdout) as Resolution[]).sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : 1))
}

function nestedPackageFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return nestedPackageFiles(path)
    return name === 'package.json' ? [path] : []
  })
}

describe('the module hooks', () => {
  it('resolve every import of Drizzle to the file and format Node resolves it to', async () => {
    const [node, hooked] = await Promise.all([
      resolutions([]),
      resolutions(['--import', './api/module-hooks.ts']),
    ])
    // Drizzle's own files, loaded through the relative imports the hooks answer.
    expect(node.filter(([specifier]) => specifier.startsWith('.')).length).toBeGreaterThan(100)
    expect(hooked).toEqual(node)
  }, 60_000)

  it('rely on what Drizzle ships: ES modules, with one package.json for the whole package', () => {
    const drizzle = join(root, 'node_modules/drizzle-orm')
    expect(JSON.parse(readFileSync(join(drizzle, 'package.json'), 'utf8')).type).toBe('module')
    expect(nestedPackageFiles(drizzle)).toEqual([join(drizzle, 'package.json')])
  })
})
