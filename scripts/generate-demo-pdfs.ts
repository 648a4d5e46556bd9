// npm exec -- node scripts/generate-demo-pdfs.ts [--force] [--dir content-files]
// Writes the demo content's gated PDFs (api/demo/pdfs.ts); the server does the same at start.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_OUTPUT_DIR, generateDemoPdfs } from '../api/demo/pdfs.ts'

const { values } = parseArgs({
  options: { force: { type: 'boolean', default: false }, dir: { type: 'string' } },
})
const dir = values.dir ? resolve(values.dir) : DEFAULT_OUTPUT_DIR
const results = await generateDemoPdfs(dir, { force: values.force })
for (const result of results) {
  const detail =
    result.status === 'written' ? `written, ${result.pages} pages` : 'exists, skipped (use --force)'
  console.log(`${result.path}: ${detail}`)
}
