import { describe, expect, it } from 'vitest'
import { CONSENT_TEXT as siteConsent } from '../../../src/content/consent.ts'
import { readCatalog } from '../../../api/content/catalog.ts'
import * as siteForm from '../../../src/content/forms.ts'
import { CONSENT_TEXT } from '../../../api/leads/consent.ts'
import { loadOffers } from '../../../api/leads/offers.ts'
import * as serverForm from '../../../api/leads/lead-form.ts'

// The server reads the content on its own (api/ cannot import src/); these checks keep the two
// readings of the same files and the same form contract in agreement.

describe('the server and the site agree on every form', () => {
  it('sees the same offers, titles, files and field requirements as the pages', async () => {
    // The site's reader validates the full frontmatter with the collection schemas.
    const catalog = await readCatalog()
    const site = [
      ...catalog.whitepapers.map((e) => ({
        offer: `whitepaper:${e.slug}`,
        kind: 'whitepaper',
        title: e.data.title,
        path: `/whitepapers/${e.slug}`,
        file: e.data.file,
        fields: e.data.fields,
      })),
      ...catalog.caseStudies
        .filter((e) => e.data.file !== undefined)
        .map((e) => ({
          offer: `case-study:${e.slug}`,
          kind: 'case-study',
          title: e.data.title,
          path: `/case-studies/${e.slug}`,
          file: e.data.file,
          fields: e.data.fields,
        })),
      {
        offer: 'trial',
        kind: 'trial',
        title: 'Free trial and demo',
        path: '/trial',
        file: null,
        fields: siteForm.TRIAL_FIELDS,
      },
    ]
    const server = (await loadOffers()).list()
    expect(server).toEqual(site)
    expect(server.length).toBeGreaterThanOrEqual(5) // three whitepapers, a gated case study, the trial
  })

  it('offers the company sizes the server accepts, and posts consent as the server reads it', () => {
    expect(siteForm.COMPANY_SIZES.map((s) => s.value)).toEqual([...serverForm.COMPANY_SIZES])
    expect(siteForm.CONSENT_VALUE).toBe('yes')
  })

  it('shows the consent text the server records', () => {
    expect(siteConsent).toBe(CONSENT_TEXT)
  })
})
