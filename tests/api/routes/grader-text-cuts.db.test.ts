import { expect, it } from 'vitest'
import { PUBLIC_ADDRESS } from '../grader/engine/loopback.ts'
import { gradedReport, siteUrl, startGraderTestApp } from './grader-helpers.ts'

// A report quotes the page (title, description, headings, link texts) cut to a length. A cut
// through an emoji left a lone surrogate, which neither database engine stores in jsonb: the
// finished grading could not be saved and the visitor was told it failed.

/** 119 letters then an emoji: a cut at 120 UTF-16 units falls between its two halves. */
const title = `${'T'.repeat(119)}🚀 launch`
const description = `${'D'.repeat(159)}🚀 ${'more '.repeat(10)}`
const heading = `${'H'.repeat(119)}🚀 more`

const app = await startGraderTestApp({
  routes: {
    'emoji/': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
        <title>${title}</title><meta name="description" content="${description}">
        <meta name="viewport" content="width=device-width, initial-scale=1"></head>
        <body><h1>${heading}</h1><h1>${heading}</h1></body></html>`)
    },
  },
})
app.stage.dns.set('emoji.frontdoor-fixture.com', [PUBLIC_ADDRESS])

it('grades a page whose quoted texts are cut through an emoji', async () => {
  const row = await gradedReport(app, siteUrl(app, 'emoji'))
  expect(row.error).toBeNull()
  expect(row.status).toBe('done')
  const text = JSON.stringify(row.result)
  expect(text).toContain('T'.repeat(119))
  expect(text.includes('\\ud83d')).toBe(false)
})
