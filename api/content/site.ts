// The fictional company this demo site sells for: the one source of its name, postal address and
// sender for the site, the emails (BRAND_NAME and POSTAL_ADDRESS default to these) and the email
// settings. Operators rebrand by editing this file and the Markdown in src/content/.
export const SITE = {
  name: 'Keelson',
  legalName: 'Keelson Analytics, Inc.',
  tagline: 'Revenue analytics for mid-market B2B teams',
  description:
    'Keelson joins your CRM, billing and product data into one trusted revenue model: ' +
    'forecasts you can defend, pipeline you can trust and renewals you see coming.',
  address: '410 Harbor Street, Suite 700, Portland, OR 97209, USA',
  email: {
    hello: 'hello@keelson.example',
    privacy: 'privacy@keelson.example',
    /** The sender of the emails the dev mailbox shows when no MAIL_FROM is configured. */
    noreply: 'noreply@keelson.example',
  },
  /** Shown on social cards when a page has no image of its own (1200×630 PNG in public/). */
  defaultOgImage: '/og/default.png',
} as const

/**
 * Retention periods the privacy policy states that no setting changes, read by the clean-up jobs
 * themselves (api/background.ts, api/pipeline/contact-retention.ts, api/grader/reports.ts,
 * api/campaigns/imports.ts). The policy page (src/pages/privacy.astro) renders these and the jobs'
 * other periods from where the jobs read them (src/components/site/retention.ts), so the page
 * cannot promise another number.
 */
export const RETENTION = {
  /** IP address and user agent of a form post, a consent entry, a grader request or a tracked click. */
  networkDataDays: 90,
  /**
   * Contacts with no activity for this long are erased (api/pipeline/contact-retention.ts says
   * what counts as activity and who is kept).
   */
  inactiveContactMonths: 24,
  /**
   * A row a campaign import refused (its values, its address, why) is kept this long after the
   * import finished, for the SDR to download, fix and upload again, then deleted (the import's
   * count of bad rows stays); a failed import's file goes after as long (api/campaigns/imports.ts).
   */
  refusedRowsDays: 30,
} as const
