import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'

// What a lead form may ask for, read by the server from the same Markdown frontmatter the pages
// render (src/content/whitepapers, src/content/case-studies), so the server enforces exactly the
// fields the form shows and never trusts the client's idea of them. The API cannot use
// astro:content, so it reads the files itself; the site validates the full frontmatter, this
// reader only the parts a form depends on.

export type Requirement = 'required' | 'optional'
export type FieldName = 'name' | 'company' | 'jobTitle' | 'phone' | 'companySize' | 'message'
export type FormFields = Partial<Record<FieldName, Requirement>>
export type OfferKind = 'whitepaper' | 'case-study' | 'trial'

export interface OfferInfo {
  /** `whitepaper:<slug>`, `case-study:<slug>` or `trial`. */
  offer: string
  kind: OfferKind
  title: string
  /** The landing page path. */
  path: string
  /** File name inside CONTENT_FILES_DIR delivered through /d/<token>; null for the trial. */
  file: string | null
  fields: FormFields
}

/** The trial request form (src/pages/trial.astro shows the same). */
export const TRIAL_FIELDS: FormFields = {
  name: 'required',
  company: 'required',
  companySize: 'required',
  message: 'optional',
}

export const DEFAULT_CONTENT_DIR = fileURLToPath(new URL('../../src/content/', import.meta.url))

const requirement = z.enum(['required', 'optional'])
const frontmatter = z.looseObject({
  title: z.string().min(1),
  file: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9]+$/)
    .refine((name) => !name.includes('..'))
    .optional(),
  fields: z
    .strictObject({
      name: requirement.optional(),
      company: requirement.optional(),
      jobTitle: requirement.optional(),
      phone: requirement.optional(),
      companySize: requirement.optional(),
      message: requirement.optional(),
    })
    .default({}),
  draft: z.boolean().default(false),
})

export interface OfferCatalog {
  find(offer: string): OfferInfo | null
  list(): OfferInfo[]
}

/** Reads every published whitepaper and gated case study, plus the trial. */
export async function loadOffers(contentDir: string = DEFAULT_CONTENT_DIR): Promise<OfferCatalog> {
  const [whitepapers, caseStudies] = await Promise.all([
    readCollection(join(contentDir, 'whitepapers')),
    readCollection(join(contentDir, 'case-studies')),
  ])
  const offers: OfferInfo[] = []
  for (const { slug, data } of whitepapers) {
    if (!data.file) throw new Error(`whitepapers/${slug}.md: a whitepaper needs a file`)
    offers.push({
      offer: `whitepaper:${slug}`,
      kind: 'whitepaper',
      title: data.title,
      path: `/whitepapers/${slug}`,
      file: data.file,
      fields: data.fields,
    })
  }
  for (const { slug, data } of caseStudies) {
    if (!data.file) continue // an ungated story has no form
    offers.push({
      offer: `case-study:${slug}`,
      kind: 'case-study',
      title: data.title,
      path: `/case-studies/${slug}`,
      file: data.file,
      fields: data.fields,
    })
  }
  offers.push({
    offer: 'trial',
    kind: 'trial',
    title: 'Free trial and demo',
    path: '/trial',
    file: null,
    fields: TRIAL_FIELDS,
  })
  const byOffer = new Map(offers.map((o) => [o.offer, o]))
  return { find: (offer) => byOffer.get(offer) ?? null, list: () => [...offers] }
}

async function readCollection(dir: string) {
  const names = (await readdir(dir)).filter((name) => /^[a-z0-9][a-z0-9-]*\.md$/.test(name)).sort()
  const entries = await Promise.all(
    names.map(async (name) => {
      const source = await readFile(join(dir, name), 'utf8')
      const parsed = frontmatter.safeParse(parseYaml(frontmatterOf(source)) ?? {})
      if (!parsed.success) throw new Error(`${join(dir, name)}: ${z.prettifyError(parsed.error)}`)
      return { slug: name.slice(0, -'.md'.length), data: parsed.data }
    }),
  )
  return entries.filter((entry) => !entry.data.draft)
}

function frontmatterOf(source: string): string {
  const match = /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(source.replace(/^\uFEFF/, ''))
  return match?.[1] ?? ''
}

let cached: { dir: string; catalog: Promise<OfferCatalog> } | null = null

/**
 * The catalog, read once per process; in development it is read again on every call so edits
 * to the Markdown show up without a restart, as they do on the pages.
 */
export function offerCatalog(
  options: { reload?: boolean; contentDir?: string } = {},
): Promise<OfferCatalog> {
  const dir = options.contentDir ?? DEFAULT_CONTENT_DIR
  if (options.reload || !cached || cached.dir !== dir) {
    const catalog = loadOffers(dir)
    cached = { dir, catalog }
    catalog.catch(() => {
      if (cached?.catalog === catalog) cached = null
    })
  }
  return cached.catalog
}
