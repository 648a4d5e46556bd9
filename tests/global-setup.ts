import {
  preparePgliteDataDir,
  preparePgliteTemplate,
  preparePostgresTemplate,
} from './db-fixtures.ts'

export default async function setup() {
  await preparePgliteTemplate()
  await preparePgliteDataDir()
  if (process.env.TEST_DATABASE_URL) await preparePostgresTemplate(process.env.TEST_DATABASE_URL)
}
