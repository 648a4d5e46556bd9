import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  dropRunDatabases,
  preparePgliteDataDir,
  preparePgliteTemplate,
  preparePostgresTemplate,
} from './db-fixtures.ts'

export default async function setup() {
  // Names this run's PostgreSQL databases (the workers inherit it), so that the teardown drops
  // only its own: another run may be using the same server.
  process.env.FD_TEST_RUN ??= String(process.pid)
  const run = process.env.FD_TEST_RUN
  // The demo PDFs the lead-capture tests serve (tests/api/leads/lead-helpers.ts), made on demand.
  const files = (process.env.FD_TEST_FILES_DIR ??= join(tmpdir(), `frontdoor-files-${run}`))
  await preparePgliteTemplate()
  await preparePgliteDataDir()
  const url = process.env.TEST_DATABASE_URL
  if (url) await preparePostgresTemplate(url)
  return async () => {
    if (url) await dropRunDatabases(url, run)
    await rm(files, { recursive: true, force: true })
  }
}
