import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { claimImport, runImport, storeImport } from '../../../api/campaigns/imports.ts'
import { migrationsFolder, type Db } from '../../../api/db/client.ts'
import { rowsOf } from '../../../api/db/raw-sql.ts'
import { campaignRecipients, campaigns } from '../../../api/db/schema.ts'
import { recordWebhookEvent } from '../../../api/db/webhook-outbox.ts'
import { addUser, setupTestApp } from '../../helpers.ts'
import { CAMPAIGN_ENV, csv, makeCampaign } from '../campaigns/fixtures.ts'

// Migration 0037_campaign_stops tells the campaigns people stopped before it from those that sent
// everything: the columns are dropped again inside a transaction, the campaigns written as the
// code before it left them, and 0037's own statements run, on each engine the tests run on.

const ctx = await setupTestApp(CAMPAIGN_ENV)
const { db } = ctx.deps
const sdr = await addUser(ctx, 'sdr')

class Rollback extends Error {}

const statementsOf0037 = () =>
  readFileSync(join(migrationsFolder, '0037_campaign_stops.sql'), 'utf8')
    .split('--> statement-breakpoint')
    .filter((s) => s.trim() !== '')

async function campaignOf(tag: string, statuses: Array<'sent' | 'pending'>) {
  const campaign = await makeCampaign(ctx, sdr, { name: tag })
  const rows = [['email'], ...statuses.map((_, i) => [`${tag}${i}@${tag}.example`])]
  const stored = await storeImport(
    db,
    sdr,
    { campaignId: campaign.id, filename: 'p.csv', bytes: new TextEncoder().encode(csv(rows)) },
    ctx.clock.now(),
  )
  if (!stored.ok) throw new Error(stored.message)
  const job = (await claimImport(db, { now: ctx.clock.now(), leaseMs: 60_000, worker: 't' }))!
  await runImport(db, job, { now: ctx.clock.now, leaseMs: 60_000, worker: 't' })
  const recipients = await db
    .select({ id: campaignRecipients.id })
    .from(campaignRecipients)
    .where(eq(campaignRecipients.campaignId, campaign.id))
    .orderBy(campaignRecipients.line)
  for (const [i, r] of recipients.entries())
    await db
      .update(campaignRecipients)
      .set({ status: statuses[i]! })
      .where(eq(campaignRecipients.id, r.id))
  const completedAt = new Date(ctx.clock.now().getTime() - 3_600_000)
  const [done] = await db
    .update(campaigns)
    .set({ status: 'completed', completedAt })
    .where(eq(campaigns.id, campaign.id))
    .returning()
  return done!
}

describe('campaigns completed before migration 0037', () => {
  it('read as stopped where a person stopped them, their unsent recipients as stopped', async () => {
    // Stopped with two left (no event kept), stopped after everything went (its event says who),
    // and one that sent everything.
    const leftOver = await campaignOf('leftover', ['sent', 'pending', 'pending'])
    const late = await campaignOf('late', ['sent', 'sent'])
    const sentAll = await campaignOf('sentall', ['sent', 'sent'])
    const read = async (tx: Db, id: string) => ({
      campaign: rowsOf<{ stopped_at: Date | string | null; stopped_by: string | null }>(
        await tx.execute(sql`select stopped_at, stopped_by from campaigns where id = ${id}`),
      )[0]!,
      statuses: (
        await tx
          .select({ status: campaignRecipients.status })
          .from(campaignRecipients)
          .where(eq(campaignRecipients.campaignId, id))
          .orderBy(campaignRecipients.line)
      ).map((r) => r.status),
    })
    let found: Record<string, Awaited<ReturnType<typeof read>>> = {}
    await expect(
      db.transaction(async (tx) => {
        await recordWebhookEvent(
          tx,
          'campaign.completed',
          {
            campaign: {
              id: late.id,
              name: late.name,
              status: 'completed',
              ownerId: late.ownerId,
              senderEmail: late.senderEmail,
              startedAt: null,
              startAfter: null,
              completedAt: late.completedAt!.toISOString(),
            },
            actorId: sdr.id,
            reason: 'stopped',
          },
          ctx.clock.now(),
        )
        await tx.execute(sql`alter table campaigns drop column stopped_at, drop column stopped_by`)
        for (const statement of statementsOf0037()) await tx.execute(sql.raw(statement))
        found = {
          leftOver: await read(tx, leftOver.id),
          late: await read(tx, late.id),
          sentAll: await read(tx, sentAll.id),
        }
        throw new Rollback()
      }),
    ).rejects.toBeInstanceOf(Rollback)
    const at = (v: Date | string | null) => (v === null ? null : new Date(v).getTime())
    expect(at(found.leftOver!.campaign.stopped_at)).toBe(leftOver.completedAt!.getTime())
    expect(found.leftOver!.campaign.stopped_by).toBeNull()
    expect(found.leftOver!.statuses).toEqual(['sent', 'stopped', 'stopped'])
    expect(at(found.late!.campaign.stopped_at)).toBe(late.completedAt!.getTime())
    expect(found.late!.campaign.stopped_by).toBe(sdr.id)
    expect(found.late!.statuses).toEqual(['sent', 'sent'])
    expect(found.sentAll!.campaign).toEqual({ stopped_at: null, stopped_by: null })
    expect(found.sentAll!.statuses).toEqual(['sent', 'sent'])
  })
})
