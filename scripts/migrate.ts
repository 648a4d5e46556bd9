// npm run db:migrate: apply the committed migrations to DATABASE_URL or the embedded database.
import { createDeps } from '../api/deps.ts'
import { migrateStoredAddresses } from '../api/email/stored-addresses.ts'
import { loadDotEnv, parseEnv } from '../api/env.ts'

loadDotEnv()

const deps = await createDeps(parseEnv())
await migrateStoredAddresses(deps)
console.log(`Migrations applied (${deps.database.engine}).`)
await deps.database.close()
