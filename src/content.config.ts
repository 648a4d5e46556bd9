import { defineCollection } from 'astro:content'
import { glob } from 'astro/loaders'
import { caseStudySchema, whitepaperSchema } from '#api/content/schemas.ts'

// The schemas live in a plain module so Node scripts (PDF generator, lead API) validate the same
// frontmatter through src/content/catalog.ts.
const whitepapers = defineCollection({
  loader: glob({ pattern: '*.md', base: './src/content/whitepapers' }),
  schema: ({ image }) => whitepaperSchema(image()),
})

const caseStudies = defineCollection({
  loader: glob({ pattern: '*.md', base: './src/content/case-studies' }),
  schema: ({ image }) => caseStudySchema(image()),
})

export const collections = { whitepapers, caseStudies }
