// Frontmatter schemas for the content collections. Plain zod (Astro's copy of zod v4), no
// `astro:*` imports, so both src/content.config.ts and Node scripts (the demo PDF generator,
// the lead API) validate the same rules. The cover is passed in: Astro gives `image()`, Node
// scripts pass a plain string.
import { z } from 'zod'

export const requirementSchema = z.enum(['required', 'optional'])

/**
 * Which optional fields the gated form asks for. Left out = not asked. Email is always required.
 * The server reads the same keys (api/leads/offers.ts) and enforces them.
 */
export const fieldRequirementsSchema = z.strictObject({
  name: requirementSchema.optional(),
  company: requirementSchema.optional(),
  jobTitle: requirementSchema.optional(),
  phone: requirementSchema.optional(),
  companySize: requirementSchema.optional(),
  message: requirementSchema.optional(),
})

export type FieldRequirements = z.infer<typeof fieldRequirementsSchema>

/** A file inside content-files/: a bare name, never a path, so it cannot point elsewhere. */
export const gatedFileSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9]+$/,
    'a bare file name inside content-files/, e.g. "demo-pipeline-benchmark.pdf"',
  )
  .refine((name) => !name.includes('..'), 'must not contain ".."')

/** A small bar chart, drawn on the landing page and in the generated demo PDF. */
export const chartSchema = z.strictObject({
  title: z.string().min(1),
  /** Appended to each value, e.g. "%" or " days". */
  unit: z.string().default(''),
  source: z.string().optional(),
  bars: z
    .array(z.strictObject({ label: z.string().min(1), value: z.number().nonnegative() }))
    .min(2)
    .max(8),
})

export type Chart = z.infer<typeof chartSchema>

const slugTopic = z.string().min(1).max(40)

export function whitepaperSchema<Cover extends z.ZodType>(cover: Cover) {
  return z.strictObject({
    title: z.string().min(1).max(120),
    /** One or two sentences; also the page's meta description, so at most 160 characters. */
    summary: z.string().min(50).max(160),
    cover,
    /** Empty when the cover is decorative (the title sits next to it). */
    coverAlt: z.string().default(''),
    publishedAt: z.coerce.date(),
    updatedAt: z.coerce.date().optional(),
    /** Page count of the gated file, shown on the landing page. */
    pages: z.number().int().positive(),
    file: gatedFileSchema,
    fields: fieldRequirementsSchema.default({}),
    topics: z.array(slugTopic).min(1).max(6),
    /** "What you will learn" bullets on the landing page. */
    highlights: z.array(z.string().min(1)).max(6).default([]),
    chart: chartSchema.optional(),
    featured: z.boolean().default(false),
    draft: z.boolean().default(false),
  })
}

export const resultSchema = z.strictObject({
  /** What was measured, e.g. "Forecast error". */
  label: z.string().min(1).max(60),
  /** The figure as displayed, e.g. "31% → 6%" or "$2.4M". */
  value: z.string().min(1).max(24),
})

export const quoteSchema = z.strictObject({
  text: z.string().min(1),
  person: z.string().min(1),
  role: z.string().min(1),
})

export function caseStudySchema<Cover extends z.ZodType>(cover: Cover) {
  return z
    .strictObject({
      title: z.string().min(1).max(120),
      summary: z.string().min(50).max(160),
      cover,
      coverAlt: z.string().default(''),
      customer: z.string().min(1),
      industry: z.string().min(1),
      /** As displayed, e.g. "250–500 employees". */
      companySize: z.string().min(1),
      region: z.string().optional(),
      publishedAt: z.coerce.date(),
      results: z.array(resultSchema).min(1).max(6),
      quote: quoteSchema,
      /** When set, the full story is gated behind the lead form and this file is delivered. */
      file: gatedFileSchema.optional(),
      pages: z.number().int().positive().optional(),
      fields: fieldRequirementsSchema.default({}),
      chart: chartSchema.optional(),
      featured: z.boolean().default(false),
      draft: z.boolean().default(false),
    })
    .refine((data) => data.file === undefined || data.pages !== undefined, {
      message: 'a gated case study (with `file`) needs `pages`',
      path: ['pages'],
    })
}

export type WhitepaperData = z.infer<ReturnType<typeof whitepaperSchema<z.ZodString>>>
export type CaseStudyData = z.infer<ReturnType<typeof caseStudySchema<z.ZodString>>>
