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
  await preparePgliteTemplate()
  await preparePgliteDataDir()
  const url = process.env.TEST_DATABASE_URL
  if (url) await preparePostgresTemplate(url)
  return async () => {
    if (url) await dropRunDatabases(url, run)
  }
}
