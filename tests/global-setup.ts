import { preparePgliteTemplate, preparePostgresTemplate } from './db-fixtures.ts'

export default async function setup() {
  await preparePgliteTemplate()
  if (process.env.TEST_DATABASE_URL) await preparePostgresTemplate(process.env.TEST_DATABASE_URL)
}
