// The published content, newest first. Drafts never reach a page, a sitemap or a form.
import { getCollection } from 'astro:content'
import type { CollectionEntry } from 'astro:content'

export type Whitepaper = CollectionEntry<'whitepapers'>
export type CaseStudy = CollectionEntry<'caseStudies'>

const newestFirst = (a: { data: { publishedAt: Date } }, b: { data: { publishedAt: Date } }) =>
  b.data.publishedAt.getTime() - a.data.publishedAt.getTime()

export async function listWhitepapers(): Promise<Whitepaper[]> {
  return (await getCollection('whitepapers', (entry) => !entry.data.draft)).sort(newestFirst)
}

export async function listCaseStudies(): Promise<CaseStudy[]> {
  return (await getCollection('caseStudies', (entry) => !entry.data.draft)).sort(newestFirst)
}

// Looked up in the list rather than with getEntry, which logs a warning for every unknown slug
// a crawler tries.
export async function findWhitepaper(slug: string | undefined): Promise<Whitepaper | null> {
  return (await listWhitepapers()).find((entry) => entry.id === slug) ?? null
}

export async function findCaseStudy(slug: string | undefined): Promise<CaseStudy | null> {
  return (await listCaseStudies()).find((entry) => entry.id === slug) ?? null
}

/** Featured entries first, then the newest, up to `count`. */
export function pickFeatured<T extends { data: { featured: boolean; publishedAt: Date } }>(
  entries: T[],
  count: number,
): T[] {
  const featured = entries.filter((e) => e.data.featured)
  const rest = entries.filter((e) => !e.data.featured)
  return [...featured, ...rest].slice(0, count)
}
