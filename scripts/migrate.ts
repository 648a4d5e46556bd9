// npm run db:migrate: apply the committed migrations to DATABASE_URL or the embedded database.
import { createDeps } from '../api/deps.ts'
import { loadDotEnv, parseEnv } from '../api/env.ts'

loadDotEnv()

const deps = await createDeps(parseEnv())
console.log(`Migrations applied (${deps.database.engine}).`)
await deps.database.close()
