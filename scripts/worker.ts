// npm run worker [-- --once] [-- --allow-embedded]
// The background jobs on their own (api/background.ts: the outbox worker, grader jobs, the
// new-lead notifier, housekeeping, campaign jobs) until SIGTERM/SIGINT. Run as many as you like
// against one PostgreSQL (DATABASE_URL); each email is sent and each job run by exactly one of
// them. Set OUTBOX_WORKER=false on the web processes to leave all sending to these. On the
// embedded database it goes through the running server's socket, or opens DATA_DIR itself.
//   --once            drain the outbox of what is due now, then exit (cron, or a backlog after an outage)
//   --allow-embedded  accepted and ignored (once needed to open the embedded database)
import { parseArgs } from 'node:util'
import { createTransport } from '../api/email/mailer.ts'
import { createOutboxWorker } from '../api/email/outbox-worker.ts'
import { startBackground } from '../api/background.ts'
import { cliDeps } from './cli-deps.ts'
import { cliEnv } from './cli-env.ts'

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    'allow-embedded': { type: 'boolean', default: false },
  },
})

const env = cliEnv('worker')
const deps = await cliDeps('worker', env)

if (args.once) {
  const transport = createTransport(env, deps.db, { now: deps.now })
  const worker = createOutboxWorker(deps.db, transport, { env, logger: deps.logger, now: deps.now })
  let total = 0
  for (;;) {
    const round = await worker.drainOnce()
    total += round.sent
    if (round.claimed === 0) break
  }
  deps.logger.info('worker drained', { sent: total })
  await transport.close()
  await deps.database.close()
} else {
  const worker = startBackground(deps, { outbox: true })
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      deps.logger.info('worker stopping', { signal })
      const force = setTimeout(() => process.exit(1), 30_000)
      force.unref()
      worker
        .stop()
        .then(() => deps.database.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        )
    })
  }
}
