import { sql } from 'drizzle-orm'
import { createUser } from '../../api/accounts/users.ts'
import { openDatabase } from '../../api/db/client.ts'
import { newId } from '../../api/ids.ts'
import { judgePendingClicks } from '../../api/tracking/verdict-jobs.ts'
import type { Figure } from './harness.ts'

/**
 * The verdict job on a 100,000-click backlog (embedded PGlite in memory, the job's own batches):
 * 20,000 recipients of one campaign, each with a 4-link gateway sweep about 43 s after sending
 * and one more click — a person for one in five (who then becomes a target), a scanner's repeat
 * for the rest. Prints clicks judged per second and the targets made. Off the redirect path:
 * the redirect's own figures are in clicks.bench.ts.
 */
const RECIPIENTS = Number(process.env.BENCH_VERDICT_RECIPIENTS ?? 20_000)
const BATCH = 500

export async function bench(): Promise<Figure[]> {
  const database = await openDatabase({ dataDir: 'memory://' })
  await database.migrate()
  const { db } = database
  try {
    const sdr = await createUser(db, {
      email: 'sdr@bench.example',
      name: 'SDR',
      role: 'sdr',
      password: null,
    })
    if (!sdr.ok) throw new Error(sdr.message)
    const campaignId = newId()
    const sent = new Date('2026-11-03T09:00:00Z')
    await db.execute(sql`
      insert into campaigns (id, name, owner_id, created_by, sender_name, sender_email, subject_template, body_template, status)
      values (${campaignId}, 'Bench', ${sdr.user.id}, ${sdr.user.id}, 'SDR', 'sdr@bench.example', 'Hi', 'Hi', 'sending')`)
    await db.execute(sql`
      insert into contacts (id, email, email_display, company_name, source)
      select 'c' || i, 'p' || i || '@bench.example', 'p' || i || '@bench.example', 'Co ' || i, 'outbound'
      from generate_series(1, ${RECIPIENTS}) i`)
    await db.execute(sql`
      insert into deals (id, contact_id, title, stage, source, sdr_id)
      select 'd' || i, 'c' || i, 'Co ' || i, 'opportunity', 'outbound', ${sdr.user.id}
      from generate_series(1, ${RECIPIENTS}) i`)
    await db.execute(sql`
      insert into campaign_recipients (id, campaign_id, contact_id, email, fields, status, sent_at)
      select 'r' || i, ${campaignId}, 'c' || i, 'p' || i || '@bench.example', '{}', 'sent',
        ${sent}::timestamptz + (i * interval '3 second')
      from generate_series(1, ${RECIPIENTS}) i`)
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36'
    // Sweeps from Proofpoint's range; the fifth click from a home address (every fifth recipient) or the gateway again.
    await db.execute(sql`
      insert into click_events (id, token, recipient_id, campaign_id, method, ip, user_agent, headers, created_at)
      select 'k' || i || '-' || l, 't' || i || '-' || (l % 4), 'r' || i, ${campaignId}, 'GET',
        case when l = 4 and i % 5 = 0 then '81.' || (i % 200) || '.' || (i % 250) || '.9'
             else '148.163.' || (128 + i % 30) || '.' || (1 + l) end,
        ${chrome},
        case when l = 4 and i % 5 = 0 then '{"accept-language":"en-GB"}'::jsonb else '{"accept":"*/*"}'::jsonb end,
        ${sent}::timestamptz + (i * interval '3 second') + interval '43 second'
          + case when l = 4 then interval '2 hour' else (l * interval '180 millisecond') end
      from generate_series(1, ${RECIPIENTS}) i, generate_series(0, 4) l`)
    // As the embedded server's housekeeping leaves it (VACUUM (ANALYZE), db/maintenance.ts);
    // a PostgreSQL server's autovacuum does the same.
    await db.execute(sql`vacuum (analyze)`)
    const now = new Date(sent.getTime() + 86_400_000)
    let judged = 0
    let qualified = 0
    const started = performance.now()
    // As the job runs it: batches in a row, each from where the last one ended.
    let after: string | null = null
    do {
      const run = await judgePendingClicks(db, now, BATCH, after)
      judged += run.judged
      qualified += run.qualified
      after = run.next
    } while (after !== null)
    const seconds = (performance.now() - started) / 1000
    const verdicts = await db.execute(
      sql`select verdict, count(*)::int as n from click_events group by verdict order by verdict`,
    )
    const counts = (verdicts as unknown as { rows: Array<{ verdict: string; n: number }> }).rows
    return [
      {
        name: `verdict job, ${(RECIPIENTS * 5).toLocaleString('en')}-click backlog (PGlite)`,
        value: judged / seconds,
        unit: 'clicks/s',
      },
      { name: 'verdict job, whole backlog', value: seconds, unit: 's' },
      { name: 'targets created', value: qualified, unit: 'deals' },
      ...counts.map((c) => ({ name: `verdict ${c.verdict}`, value: c.n, unit: 'clicks' })),
    ]
  } finally {
    await database.close()
  }
}
