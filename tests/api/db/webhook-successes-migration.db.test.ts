import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { migrationsFolder, type Db } from '../../../api/db/client.ts'
import { rowsOf } from '../../../api/db/raw-sql.ts'
import { webhookAttempts, webhookEvents } from '../../../api/db/schema.ts'
import { newId } from '../../../api/ids.ts'
import { findEventLog, listDeliveryLog } from '../../../api/integrations/webhook-log.ts'
import { createSubscription } from '../../../api/integrations/webhooks.ts'
import { setupTestApp, signedInAs } from '../../helpers.ts'

// Migration 0033_webhook_successes moves the worker's successes off webhook_deliveries into
// webhook_successes and drops the delivered rows from the queue. The tables are put back as
// 0032 left them, filled as the code before it wrote them, and the migrations from 0033 on run
// their own statements here, on each engine the tests run on.

const ctx = await setupTestApp()

/** Thrown to roll the test's transaction back: the schema goes back as the other tests need it. */
class Rollback extends Error {}

/** The statements of migrations 0033 and 0034, in order. */
function statementsFrom0033(): string[] {
  return (
    readdirSync(migrationsFolder)
      // 0033 and 0034, the migrations of webhook_successes (a later one is none of this test's).
      .filter((f) => /^003[34]_.*\.sql$/.test(f))
      .sort()
      .flatMap((f) =>
        readFileSync(join(migrationsFolder, f), 'utf8').split('--> statement-breakpoint'),
      )
      .filter((statement) => statement.trim() !== '')
  )
}

/** webhook_deliveries and webhook_successes as they were before 0033. */
async function as0032(db: Db) {
  await db.execute(sql`drop table webhook_successes`)
  await db.execute(sql`alter table webhook_deliveries add column delivered_at timestamptz,
    add column latency_ms integer, add column response_excerpt text`)
  await db.execute(sql`create index webhook_deliveries_log_idx on webhook_deliveries
    using btree (subscription_id, delivered_at, event_id) where latency_ms is not null`)
}

describe('webhook deliveries delivered before migration 0033', () => {
  it('show in the delivery log as they did, and leave the queue', async () => {
    const { db } = ctx.deps
    const admin = await signedInAs(ctx, 'admin')
    const now = ctx.deps.now()
    const sub = await createSubscription(
      db,
      { url: 'https://crm.example.com/hooks', events: ['deal.won'], createdBy: admin.user.id },
      now,
    )
    const at = (ms: number) => new Date(now.getTime() - 60_000 + ms)
    const events = Array.from({ length: 6 }, (_, i) => ({
      id: newId(now.getTime() - 120_000 + i),
      type: 'deal.won',
      data: { i },
      createdAt: at(-60_000 + i),
    }))
    const [worker1, worker2, worker3, byHand, waiting, test] = events.map((e) => e.id)
    // DDL is transactional: the tables as 0032 left them, and the migration, only in here.
    let found: Awaited<ReturnType<typeof migrate>> | undefined
    const migrate = async (tx: Db) => {
      await tx.insert(webhookEvents).values(events)
      await as0032(tx)
      // As the worker, sendNow and the queue wrote them before 0033.
      const delivery = (
        eventId: string,
        status: string,
        deliveredAt: Date | null,
        code: number | null,
        latencyMs: number | null,
        excerpt: string | null,
      ) => sql`(${sub.id}, ${eventId}, ${status}, ${deliveredAt?.toISOString() ?? null}::timestamptz,
      ${code}::int, ${latencyMs}::int, ${excerpt}, ${at(0).toISOString()}::timestamptz, 1)`
      await tx.execute(sql`
      insert into webhook_deliveries (subscription_id, event_id, status, delivered_at,
        last_status_code, latency_ms, response_excerpt, run_after, attempts)
      values ${sql.join(
        [
          delivery(worker1!, 'delivered', at(1_000), 200, 12, '{"ok":true,"note":"“quoted” é"}'),
          // Two at one instant: the log orders them by event id.
          delivery(worker2!, 'delivered', at(2_000), 204, 7, null),
          delivery(worker3!, 'delivered', at(2_000), 202, 9, 'accepted'),
          delivery(byHand!, 'delivered', at(3_000), 200, null, null),
          delivery(waiting!, 'pending', null, 503, null, null),
          delivery(test!, 'failed', null, null, null, null),
        ],
        sql`, `,
      )}`)
      await tx.insert(webhookAttempts).values([
        {
          id: newId(),
          subscriptionId: sub.id,
          eventId: byHand!,
          ok: true,
          statusCode: 200,
          latencyMs: 30,
          manual: true,
          createdAt: at(3_000),
        },
        {
          id: newId(),
          subscriptionId: sub.id,
          eventId: waiting!,
          ok: false,
          statusCode: 503,
          latencyMs: 40,
          createdAt: at(4_000),
        },
      ])

      for (const statement of statementsFrom0033()) await tx.execute(sql.raw(statement))
      return {
        queue: rowsOf<{ event_id: string; status: string }>(
          await tx.execute(sql`select event_id, status from webhook_deliveries order by event_id`),
        ),
        log: await listDeliveryLog(tx, sub.id),
        pages: await Promise.all(
          [worker1!, byHand!].map((eventId) => findEventLog(tx, sub.id, eventId)),
        ),
      }
    }
    await expect(
      db.transaction(async (tx) => {
        found = await migrate(tx)
        throw new Rollback()
      }),
    ).rejects.toBeInstanceOf(Rollback)
    const { queue, log, pages } = found!

    expect(queue).toEqual([
      { event_id: waiting, status: 'pending' },
      { event_id: test, status: 'failed' },
    ])
    const entry = (
      eventId: string,
      ms: number,
      fields: { statusCode: number; latencyMs: number; responseExcerpt: string | null },
    ) => ({
      id: eventId,
      eventId,
      eventType: 'deal.won',
      ok: true,
      error: null,
      manual: false,
      at: at(ms),
      deliveryStatus: 'delivered',
      ...fields,
    })
    expect(log.data).toEqual([
      expect.objectContaining({ eventId: waiting, ok: false, deliveryStatus: 'pending' }),
      expect.objectContaining({ eventId: byHand, ok: true, manual: true, latencyMs: 30 }),
      entry(worker3!, 2_000, { statusCode: 202, latencyMs: 9, responseExcerpt: 'accepted' }),
      entry(worker2!, 2_000, { statusCode: 204, latencyMs: 7, responseExcerpt: null }),
      entry(worker1!, 1_000, {
        statusCode: 200,
        latencyMs: 12,
        responseExcerpt: '{"ok":true,"note":"“quoted” é"}',
      }),
    ])
    expect(log.data[1]).toMatchObject({ deliveryStatus: 'delivered' })
    // Each one's page says delivered, and when.
    expect(pages.map((p) => p?.delivery)).toEqual([
      { status: 'delivered', runAfter: null, deliveredAt: at(1_000) },
      { status: 'delivered', runAfter: null, deliveredAt: at(3_000) },
    ])
  })
})
