import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SMTPServer } from 'smtp-server'
import { afterAll, describe, expect, it } from 'vitest'
import { formatAddress } from '../../../api/email-headers.ts'
import { enqueueEmail } from '../../../api/email/outbox.ts'
import * as assetDelivery from '../../../email-templates/asset-delivery.ts'
import { openTestDatabase, testEngine } from '../../db-fixtures.ts'
import { eventually } from '../../eventually.ts'
import { NODE_ENV_VARS, NODE_FLAGS } from '../../node-flags.ts'

// Issue 19, item 2, as the attack run measured it: a worker process draining into an SMTP sink,
// killed with SIGKILL mid-drain again and again. Before, a batch's sends were recorded at its end
// and each kill repeated ~10–14 messages (600 messages, 12 kills); now at most the messages in
// flight at the kill (the concurrency) may be repeated, and every message arrives.
// Separate processes need a shared server database: PostgreSQL only (TEST_DATABASE_URL).

const MESSAGES = 300
const KILLS = 6
const CONCURRENCY = 4
const child = fileURLToPath(new URL('./outbox-kill-child.ts', import.meta.url))
const root = fileURLToPath(new URL('../../..', import.meta.url))

/** An SMTP sink that records each message's Message-ID and tells `onMessage` at once. */
async function startSink() {
  const ids: string[] = []
  const sink = { ids, url: '', onMessage: null as (() => void) | null, close: async () => {} }
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        ids.push(/^Message-ID:\s*(\S+)/im.exec(Buffer.concat(chunks).toString())?.[1] ?? '?')
        callback(null)
        sink.onMessage?.()
      })
    },
  })
  // A killed client resets its connections: expected here.
  server.on('error', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  sink.url = `smtp://127.0.0.1:${(server.server.address() as { port: number }).port}`
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return sink
}

describe.skipIf(testEngine() !== 'postgres')(
  'a worker process killed with SIGKILL mid-drain',
  () => {
    const running: ChildProcess[] = []
    afterAll(() => running.forEach((p) => p.kill('SIGKILL')))

    it(`repeats at most ${CONCURRENCY} messages per kill and loses none`, async () => {
      const database = await openTestDatabase('postgres')
      const smtp = await startSink()
      try {
        const rendered = assetDelivery.render(assetDelivery.defaults)
        for (let i = 0; i < MESSAGES; i++)
          await enqueueEmail(database.db, {
            category: 'transactional',
            to: formatAddress('Dana', `p${i}@northwind.example`),
            recipient: `p${i}@northwind.example`,
            ...rendered,
            template: 'asset-delivery',
            now: new Date(),
          })
        const worker = () => {
          // Started as the app's processes are (tests/node-flags.ts): the flags change how fast
          // a process loads, not what it runs.
          const p = spawn(
            process.execPath,
            [...NODE_FLAGS, child, database.url!, smtp.url, String(CONCURRENCY)],
            { cwd: root, env: { ...process.env, ...NODE_ENV_VARS }, stdio: 'inherit' },
          )
          running.push(p)
          return p
        }

        for (let kill = 0; kill < KILLS; kill++) {
          const before = smtp.ids.length
          const p = worker()
          // Killed the moment the server has accepted the 13th–38th message of this run: mid-batch,
          // with that message's answer not yet back at the worker.
          await new Promise<void>((resolve) => {
            smtp.onMessage = () => {
              if (smtp.ids.length < before + 13 + kill * 5) return
              smtp.onMessage = null
              p.kill('SIGKILL')
              resolve()
            }
          })
          await new Promise((resolve) => p.once('exit', resolve))
        }
        const last = worker()
        await eventually(() => new Set(smtp.ids).size === MESSAGES, 50)
        last.kill('SIGKILL')

        const duplicates = smtp.ids.length - new Set(smtp.ids).size
        console.info(`kill -9: ${MESSAGES} messages, ${KILLS} kills, ${duplicates} repeated`)
        expect(new Set(smtp.ids).size).toBe(MESSAGES)
        expect(duplicates).toBeLessThanOrEqual(KILLS * CONCURRENCY)
      } finally {
        await smtp.close()
        await database.close()
      }
    }, 120_000)
  },
)
