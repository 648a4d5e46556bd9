import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { migrationsFolder } from '../../../api/db/client.ts'
import { unsubscribeTokens } from '../../../api/db/schema.ts'
import { findSuppression } from '../../../api/email/suppressions.ts'
import { hashToken } from '../../../api/ids.ts'
import { setupTestApp } from '../../helpers.ts'

// Migration NNNN_unsubscribe_token_hash replaces each stored unsubscribe token with its hash, in SQL. A row as the code
// before it wrote one (the token itself, in the column the migration renames first) goes through
// the migration's own statements here, on each engine the tests run on.

const ctx = await setupTestApp({ BRAND_NAME: 'Northwind Sales' })
const { db } = ctx.deps

function migrationFile(): string {
  return readdirSync(migrationsFolder).find((f) => f.endsWith('_unsubscribe_token_hash.sql'))!
}

function migrationUpdates(): string[] {
  return readFileSync(join(migrationsFolder, migrationFile()), 'utf8')
    .split('--> statement-breakpoint')
    .filter((statement) => /^\s*UPDATE\b/m.test(statement))
}

describe('unsubscribe tokens stored before they were hashed', () => {
  it('a link in a mail sent before the migration still unsubscribes, and the token is no longer stored', async () => {
    const sentBefore = 'b'.repeat(26)
    await db
      .insert(unsubscribeTokens)
      .values({ tokenHash: sentBefore, email: 'early@northwind.example', campaignId: 'camp-0' })

    const updates = migrationUpdates()
    expect(updates).toHaveLength(1)
    for (const statement of updates) await db.execute(sql.raw(statement))

    const rows = await db.select().from(unsubscribeTokens)
    expect(rows).toEqual([expect.objectContaining({ tokenHash: hashToken(sentBefore) })])
    expect(JSON.stringify(rows)).not.toContain(sentBefore)

    const res = await ctx.app.request(`/u/${sentBefore}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    })
    expect(res.status).toBe(200)
    expect(await findSuppression(db, 'early@northwind.example')).toMatchObject({
      reason: 'unsubscribe',
      source: 'campaign camp-0, one-click (List-Unsubscribe-Post)',
    })
  })
})
