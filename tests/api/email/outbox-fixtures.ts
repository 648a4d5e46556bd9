// Shared set-up for the outbox tests: a worker on the test's database and clock, and helpers to
// read back what the outbox recorded.

import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import type { Db } from '../../../api/db/client.ts'
import { mailboxMessages, outbox } from '../../../api/db/schema.ts'
import { formatAddress } from '../../../api/email-headers.ts'
import { createMailboxTransport } from '../../../api/email/mailbox.ts'
import { enqueueEmail } from '../../../api/email/outbox.ts'
import type { EnqueueEmail } from '../../../api/email/outbox.ts'
import { createOutboxWorker } from '../../../api/email/outbox-worker.ts'
import type { OutboxWorkerOptions } from '../../../api/email/outbox-worker.ts'
import type { Transport } from '../../../api/email/transport.ts'
import * as assetDelivery from '../../../email-templates/asset-delivery.ts'
import type { TestContext } from '../../helpers.ts'

export function testWorker(
  ctx: TestContext,
  transport: Transport,
  options: Partial<OutboxWorkerOptions> = {},
) {
  return createOutboxWorker(ctx.deps.db, transport, {
    env: ctx.deps.env,
    logger: ctx.deps.logger,
    now: ctx.clock.now,
    // Jitter in the middle of its range, so delays are predictable in assertions.
    random: () => 0.5,
    idleMs: 20,
    ...options,
  })
}

export function mailboxTransport(ctx: TestContext) {
  return createMailboxTransport(ctx.deps.db, { now: ctx.clock.now })
}

/** A transactional asset-delivery email to `address`, enqueued outside any caller transaction. */
export async function enqueueAsset(
  db: Db,
  now: Date,
  address = 'dana@northwind.example',
  overrides: Partial<EnqueueEmail> = {},
) {
  const rendered = assetDelivery.render(assetDelivery.defaults)
  const id = await enqueueEmail(db, {
    category: 'transactional',
    to: formatAddress('Dana Whitfield', address),
    recipient: address,
    ...rendered,
    template: 'asset-delivery',
    now,
    ...overrides,
  })
  return id!
}

export async function outboxRow(db: Db, id: string) {
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id))
  return row!
}

export async function mailboxFor(db: Db, outboxId: string) {
  return db.select().from(mailboxMessages).where(eq(mailboxMessages.outboxId, outboxId))
}

export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}
