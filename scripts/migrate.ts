// npm run db:migrate: apply the committed migrations to DATABASE_URL or the embedded database.
import { loadDotEnv, parseEnv } from '../api/env.ts'
import { cliDeps } from './cli-deps.ts'

loadDotEnv()

const deps = await cliDeps('db:migrate', parseEnv())
console.log(
  `Migrations applied (${deps.database.engine}${deps.database.via === 'owner' ? ', through the running server' : ''}).`,
)
await deps.database.close()
