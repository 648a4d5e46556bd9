import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// A page's ?notice= and ?error= show as this site's own words, so a page reads them only through
// backMessages (api/http/back-message.ts), which gives back none unless this server signed them:
// read straight from the query, anyone's link could put a message of theirs on the page. This
// fails if any page, component or API-made page reads them any other way.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const THE_READER = 'api/http/back-message.ts'

const RAW_READ =
  /\.(?:get|getAll|has)\(\s*['"`](?:notice|error)['"`]\s*\)|\.quer(?:y|ies)\(\s*['"`](?:notice|error)['"`]\s*\)/

/** Whether `source` reads a ?notice= or ?error= itself. */
export const readsRawMessage = (source: string) => RAW_READ.test(source)

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.(astro|ts|js|mjs)$/.test(entry) ? [path] : []
  })
}

describe('pages read their notice and error only through backMessages', () => {
  const files = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'api'))]
    .map((f) => relative(ROOT, f))
    .filter((f) => f !== THE_READER)

  it('catches a raw read, however it is spelled', () => {
    expect(readsRawMessage("const notice = Astro.url.searchParams.get('notice')")).toBe(true)
    expect(readsRawMessage('const error = params.get("error")?.slice(0, 300)')).toBe(true)
    expect(readsRawMessage("if (Astro.url.searchParams.has('notice'))")).toBe(true)
    expect(readsRawMessage("const error = c.req.query('error')")).toBe(true)
    expect(readsRawMessage('const { notice, error } = backMessages(deps, Astro.url)')).toBe(false)
  })

  it('finds the pages that show them', () => {
    expect(files).toContain('src/components/app/pipeline/Flash.astro')
    expect(files).toContain('src/pages/grader/index.astro')
    const users = readFileSync(join(ROOT, 'src/pages/app/admin/users.astro'), 'utf8')
    expect(users).toContain('backMessages(')
  })

  it.each(files)('%s reads no ?notice= or ?error= itself', (file) => {
    expect(readsRawMessage(readFileSync(join(ROOT, file), 'utf8'))).toBe(false)
  })
})
