// npm run db:migrate: apply the committed migrations to DATABASE_URL or the embedded database.
import { cliDeps } from './cli-deps.ts'
import { cliEnv } from './cli-env.ts'

const deps = await cliDeps('db:migrate', cliEnv('db:migrate'))
console.log(
  `Migrations applied (${deps.database.engine}${deps.database.via === 'owner' ? ', through the running server' : ''}).`,
)
await deps.database.close()
