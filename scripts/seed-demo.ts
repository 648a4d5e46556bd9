// npm run seed:demo — adds the demo team, companies and nine months of deals to an empty pipeline.
// Refuses when the database already has deals or was seeded before. Never on a real database.
import { cliDeps } from './cli-deps.ts'
import { cliEnv } from './cli-env.ts'
import { demoBanner, seedDemo } from '../api/demo/seed.ts'

const env = cliEnv('seed:demo')
const deps = await cliDeps('seed:demo', { ...env, LOG_LEVEL: 'warn' })
try {
  const result = await seedDemo(deps.db, deps.now())
  if (result.status === 'refused') {
    console.error(`seed:demo: ${result.reason}`)
    process.exitCode = 1
  } else {
    console.log(
      `Added ${result.users} people, ${result.companies} companies and ${result.deals} deals (${deps.database.engine}).`,
    )
    process.stdout.write(demoBanner(env.APP_ORIGIN))
  }
} finally {
  await deps.database.close()
}
