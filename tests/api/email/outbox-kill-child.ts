// A worker process for outbox-kill.db.test.ts: drains the outbox of DATABASE (argv[2]) into the
// SMTP sink at argv[3] until the test kills it with SIGKILL.
import { openDatabase } from '../../../api/db/client.ts'
import { parseEnv } from '../../../api/env.ts'
import { createLogger } from '../../../api/logger.ts'
import { createOutboxWorker } from '../../../api/email/outbox-worker.ts'
import { createSmtpTransport } from '../../../api/email/smtp-transport.ts'

const [, , databaseUrl, smtpUrl, concurrency] = process.argv
const database = await openDatabase({ databaseUrl: databaseUrl!, poolSize: 4 })
const env = parseEnv({ NODE_ENV: 'test', MAIL_FROM: 'Frontdoor <hello@frontdoor.example>' })
createOutboxWorker(database.db, createSmtpTransport({ url: smtpUrl!, maxConnections: 4 }), {
  env,
  logger: createLogger({ level: 'silent', format: 'json' }),
  now: () => new Date(),
  // Short, so the test need not wait long for a killed worker's rows.
  leaseMs: 1_000,
  idleMs: 20,
  concurrency: Number(concurrency),
}).start()
