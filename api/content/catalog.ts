// Reads the content collections (src/content/*.md) from disk without Astro, with their Markdown
// bodies, for the server's own use (the demo PDF generator). Pages use `astro:content`; both
// validate with the same schemas (./schemas.ts).
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { caseStudySchema, whitepaperSchema } from './schemas.ts'
import type { CaseStudyData, WhitepaperData } from './schemas.ts'

export interface CatalogEntry<Data> {
  /** The collection id: the Markdown file name without `.md`; also the URL slug. */
  slug: string
  data: Data
  /** The Markdown body, frontmatter removed. */
  body: string
}

export interface Catalog {
  whitepapers: CatalogEntry<WhitepaperData>[]
  caseStudies: CatalogEntry<CaseStudyData>[]
}

/** src/content/ of this checkout. */
export const DEFAULT_CONTENT_DIR = fileURLToPath(new URL('../../src/content/', import.meta.url))

export async function readCatalog(contentDir: string = DEFAULT_CONTENT_DIR): Promise<Catalog> {
  const [whitepapers, caseStudies] = await Promise.all([
    readCollection(join(contentDir, 'whitepapers'), whitepaperSchema(z.string())),
    readCollection(join(contentDir, 'case-studies'), caseStudySchema(z.string())),
  ])
  return {
    whitepapers: whitepapers.filter((entry) => !entry.data.draft),
    caseStudies: caseStudies.filter((entry) => !entry.data.draft),
  }
}

async function readCollection<Schema extends z.ZodType>(
  dir: string,
  schema: Schema,
): Promise<CatalogEntry<z.infer<Schema>>[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.md')).sort()
  return Promise.all(
    names.map(async (name) => {
      // Astro slugifies ids; a name that is already a slug keeps both readers in agreement.
      if (!/^[a-z0-9][a-z0-9-]*\.md$/.test(name)) {
        throw new Error(`${join(dir, name)}: name content files in lowercase-with-hyphens.md`)
      }
      const source = await readFile(join(dir, name), 'utf8')
      const { frontmatter, content } = splitFrontmatter(source)
      const parsed = schema.safeParse(parseYaml(frontmatter) ?? {})
      if (!parsed.success) {
        throw new Error(`${join(dir, name)}: invalid frontmatter\n${z.prettifyError(parsed.error)}`)
      }
      return { slug: name.slice(0, -'.md'.length), data: parsed.data, body: content }
    }),
  )
}

/** The YAML between the leading `---` fences, and the Markdown after them. */
export function splitFrontmatter(source: string): { frontmatter: string; content: string } {
  const text = source.replace(/^\uFEFF/, '')
  const match = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(text)
  if (!match) return { frontmatter: '', content: text }
  return { frontmatter: match[1]!, content: text.slice(match[0].length) }
}
