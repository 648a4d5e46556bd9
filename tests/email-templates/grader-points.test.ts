import { describe, expect, it } from 'vitest'
import * as graderReportReady from '../../email-templates/grader-report-ready.ts'
import { points } from '../../src/components/grader/view.ts'

// Issue 15, item 12: the emailed score read 27/30 where the report page showed 26.5.

describe('grader points in the email and on the page', () => {
  it('are written by one rule: 26.5 stays 26.5, 27.0 is 27', () => {
    const email = graderReportReady.render({
      ...graderReportReady.defaults,
      categories: [
        { name: 'Performance', score: 26.5, max: 30 },
        { name: 'SEO', score: 27, max: 30 },
        { name: 'Mobile', score: 19.96, max: 30 },
      ],
    })
    expect(email.text).toContain(`Performance: ${points(26.5)}/30`)
    expect(email.text).toContain('Performance: 26.5/30')
    expect(email.text).toContain('SEO: 27/30')
    expect(email.text).toContain(`Mobile: ${points(19.96)}/30`)
    expect(points(19.96)).toBe('20')
  })
})
