import { describe, expect, it } from 'vitest'
import { describeEvidence } from '../../../api/pipeline/evidence.ts'
import { plural } from '../../../api/pipeline/format.ts'

describe('evidence in words', () => {
  it('says which form and asset, with the page and campaign tags', () => {
    const view = describeEvidence({
      kind: 'form',
      form: 'whitepaper',
      offer: 'whitepaper:bench',
      title: 'The Benchmark',
      pageUrl: 'https://site.example/w',
      utm: { utm_source: 'linkedin', utm_campaign: 'q3' },
    })
    expect(view).toEqual({
      kind: 'form',
      source: 'Whitepaper form',
      summary: 'Requested “The Benchmark”',
      details: [
        { label: 'Page', value: 'https://site.example/w' },
        { label: 'Campaign tags', value: 'source=linkedin, campaign=q3' },
      ],
    })
    // Requested until the download link is used (issue 15): the form alone proves no download.
    expect(describeEvidence({ kind: 'form', offer: 'x', assetTitle: 'Guide' }).summary).toBe(
      'Requested “Guide”',
    )
    expect(
      describeEvidence({ kind: 'form', offer: 'x', assetTitle: 'Guide' }, { downloaded: true })
        .summary,
    ).toBe('Downloaded “Guide”')
    expect(describeEvidence({ kind: 'form', form: 'trial' }).summary).toBe('Asked for a trial')
  })

  it('gives the grader score, band, failing checks and a link to the report', () => {
    const view = describeEvidence({
      kind: 'grader',
      score: 61,
      band: 'D',
      failing: ['No HTTPS', 'Slow'],
      platform: 'WordPress',
      reportId: 'r-1',
      host: 'acme.example',
    })
    expect(view.summary).toBe('Graded acme.example: 61/100 (D), 2 failing checks, WordPress')
    expect(view.details).toContainEqual({ label: 'Failing', value: 'No HTTPS, Slow' })
    expect(view.details).toContainEqual({
      label: 'Report',
      value: 'Open the full grader report',
      href: '/app/grader/r-1',
    })
    expect(describeEvidence({ kind: 'grader_unlock', score: 90 }).summary).toBe(
      'Graded their website: 90/100',
    )
  })

  it('says a grader report erased with its person was erased, with no link to it', () => {
    const view = describeEvidence({
      kind: 'grader',
      score: 61,
      reportId: null,
      reportErased: true,
      host: 'acme.example',
    })
    expect(view.details).toEqual([
      { label: 'Report', value: 'Erased with the person who unlocked it' },
    ])
  })

  it('names the human click, the link and the campaign', () => {
    const view = describeEvidence({
      kind: 'click',
      verdict: 'human',
      url: 'https://x.example/pricing',
      campaignName: 'Q3',
      reasons: ['interactive'],
    })
    expect(view).toMatchObject({
      source: 'Outreach click',
      summary: 'Human click on https://x.example/pricing in campaign “Q3”',
    })
    expect(view.details).toContainEqual({ label: 'Why human', value: 'interactive' })
  })

  it('says when the click was on the reader’s clock, its zone named, not as a stored string', () => {
    const data = { kind: 'click', verdict: 'human', at: '2026-12-06T14:34:46.335Z' }
    const clicked = (timeZone?: string) =>
      describeEvidence(data, timeZone ? { timeZone } : {}).details.find(
        (d) => d.label === 'Clicked',
      )
    expect(clicked('America/Los_Angeles')?.value).toBe('Dec 6, 2026, 06:34 PST')
    expect(clicked()?.value).toBe('Dec 6, 2026, 14:34 UTC')
    // Not an instant: shown as it is.
    expect(
      describeEvidence({ ...data, at: 'yesterday' }).details.find((d) => d.label === 'Clicked'),
    ).toEqual({ label: 'Clicked', value: 'yesterday' })
  })

  it('reads anything else generically, and survives nonsense', () => {
    expect(describeEvidence({ kind: 'webinar_signup', webinar: 'Forecasting 101' })).toMatchObject({
      kind: 'other',
      source: 'Webinar signup',
      details: [{ label: 'webinar', value: 'Forecasting 101' }],
    })
    expect(describeEvidence(null)).toMatchObject({ kind: 'other', source: 'Evidence' })
    expect(describeEvidence(['x'])).toMatchObject({ kind: 'other' })
  })
})

describe('plural', () => {
  it('says "1 deal", never "1 deals" (Intl.PluralRules)', () => {
    expect(plural(1, 'deal', 'deals')).toBe('1 deal')
    expect(plural(0, 'deal', 'deals')).toBe('0 deals')
    expect(plural(1250, 'deal', 'deals')).toBe('1,250 deals')
  })
})
