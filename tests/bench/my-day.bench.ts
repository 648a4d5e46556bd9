import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import type { Db } from '../../api/db/client.ts'
import { root, type Figure } from './harness.ts'
import { median, prepare, timeGet } from './pipeline.bench.ts'

/**
 * My day, a rep's home, rendered by the production server with 1,000 and with 100,000 deals
 * (the pipeline bench's shapes: 4 reps over 6 months, 20 reps over 4 years), side by side in one
 * run: p50 of 40 sequential GETs after 5 warm-ups each, alternating between the two servers;
 * ratio 100k / 1k (target ≤ 2).
 *
 * Next steps are seeded as a working team leaves them: 7 in 10 open deals have one open step due
 * between 10 days ago and 20 days ahead (the rest have none: My day lists them), and every deal
 * has one done call in its history, so the activities table grows with the deals.
 */

async function nextSteps(db: Db, _ids: unknown, now: Date) {
  const today = now.toISOString().slice(0, 10)
  await db.execute(sql`
    insert into activities (id, deal_id, type, due_on, due_time, time_zone, note, created_by, created_at)
    select gen_random_uuid()::text, d.id,
           (array['call', 'email', 'meeting', 'task'])[1 + abs(hashtext(d.id)) % 4],
           ${today}::date + (abs(hashtext(d.id || 'due')) % 31 - 10),
           case when abs(hashtext(d.id || 'time')) % 2 = 0 then '10:30' end,
           'UTC', 'Follow up', d.owner_id, d.stage_entered_at
    from deals d
    where d.owner_id is not null and d.stage not in ('won', 'lost')
      and abs(hashtext(d.id || 'has')) % 10 < 7`)
  await db.execute(sql`
    insert into activities (id, deal_id, type, time_zone, note, outcome, done_at, done_by, created_by, created_at)
    select gen_random_uuid()::text, d.id, 'call', 'UTC', 'First call', 'interested',
           d.created_at + interval '1 day', d.owner_id, d.owner_id, d.created_at + interval '1 day'
    from deals d where d.owner_id is not null`)
  await db.execute(sql`
    update deals set next_step_on = a.due
    from (select deal_id, min(due_on) as due from activities where done_at is null group by deal_id) a
    where a.deal_id = deals.id`)
}

const SAMPLES = 40
const PATH = '/app/my-day'

export async function bench(): Promise<Figure[]> {
  if (!existsSync(join(root, 'dist/server/entry.mjs'))) throw new Error('run `npm run build` first')
  const small = await prepare(1_000, 4, 180, nextSteps)
  try {
    const large = await prepare(100_000, 20, 4 * 365, nextSteps)
    try {
      for (let i = 0; i < 5; i++) {
        await timeGet(`${small.url}${PATH}`, small.cookies.rep)
        await timeGet(`${large.url}${PATH}`, large.cookies.rep)
      }
      const a: number[] = []
      const b: number[] = []
      for (let i = 0; i < SAMPLES; i++) {
        a.push(await timeGet(`${small.url}${PATH}`, small.cookies.rep))
        b.push(await timeGet(`${large.url}${PATH}`, large.cookies.rep))
      }
      return [
        {
          name: 'Data shape 1k → 100k: one rep’s open deals',
          value: large.repOpen,
          unit: `(1k: ${small.repOpen})`,
        },
        { name: 'My day, a rep’s: p50 with 1,000 deals', value: median(a), unit: 'ms' },
        {
          name: 'My day, a rep’s: p50 with 100,000 deals',
          value: median(b),
          unit: 'ms',
          baseline: Math.round(median(a) * 100) / 100,
          ratio: median(b) / median(a),
          target: '≤ 2',
        },
      ]
    } finally {
      await large.stop()
    }
  } finally {
    await small.stop()
  }
}

if (import.meta.main) {
  const { printFigures } = await import('./run.ts')
  printFigures('my-day', await bench())
}
