import { and, eq, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { dealEvents, settings, submissions } from '../db/schema.ts'
import type { Logger } from '../logger.ts'
import { BEARER_PATH } from '../http/bearer-path.ts'

// The page URL and referrer a lead post records end up in front of every rep and SDR (the
// submission, the deal's evidence). Our own bearer links must not travel with them: a visitor who
// browsed on from `/thanks?…&dl=<token>` once handed the next lead's Referrer a working download
// link. So our own URLs are stored without their bearer parts: the `dl`, `token` and `key` query
// parameters, and the token segment of /d/, /u/ and /r/ links. Other sites' URLs stay as sent.

const BEARER_PARAMS = ['dl', 'token', 'key']

/** `url` without our own bearer tokens when it is a URL of `origin` (absolute or a path). Pure. */
export function withoutBearerTokens(url: string | null, origin: string): string | null {
  if (!url) return url
  let parsed: URL
  try {
    parsed = new URL(url, origin)
  } catch {
    return url
  }
  if (parsed.origin !== new URL(origin).origin) return url
  let changed = false
  for (const name of BEARER_PARAMS)
    if (parsed.searchParams.has(name)) {
      parsed.searchParams.delete(name)
      changed = true
    }
  if (BEARER_PATH.test(parsed.pathname)) {
    parsed.pathname = parsed.pathname.replace(BEARER_PATH, '/$1/redacted')
    changed = true
  }
  if (!changed) return url
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(url)
  return absolute ? parsed.href : parsed.pathname + parsed.search + parsed.hash
}

const DONE_KEY = 'scrub.bearer-urls.v1'
// Rows that could hold one (a superset: the JavaScript rule above decides).
const CANDIDATE = String.raw`[?&](dl|token|key)=|/(d|u|r)/`

/**
 * Rows stored before the rule above: submissions' page URL and referrer, and the same fields in
 * the deals' form evidence. Idempotent; recorded in settings so later starts skip it.
 */
export async function scrubStoredUrls(
  db: Db,
  origin: string,
  logger?: Logger,
): Promise<{ submissions: number; evidence: number }> {
  const [done] = await db.select().from(settings).where(eq(settings.key, DONE_KEY))
  if (done) return { submissions: 0, evidence: 0 }
  let subs = 0
  let evidence = 0
  const rows = await db
    .select({ id: submissions.id, pageUrl: submissions.pageUrl, referrer: submissions.referrer })
    .from(submissions)
    .where(
      or(sql`${submissions.pageUrl} ~ ${CANDIDATE}`, sql`${submissions.referrer} ~ ${CANDIDATE}`),
    )
  for (const row of rows) {
    const pageUrl = withoutBearerTokens(row.pageUrl, origin)
    const referrer = withoutBearerTokens(row.referrer, origin)
    if (pageUrl === row.pageUrl && referrer === row.referrer) continue
    await db.update(submissions).set({ pageUrl, referrer }).where(eq(submissions.id, row.id))
    subs++
  }
  const events = await db
    .select({ id: dealEvents.id, data: dealEvents.data })
    .from(dealEvents)
    .where(
      and(
        eq(dealEvents.type, 'evidence'),
        or(
          sql`${dealEvents.data}->>'pageUrl' ~ ${CANDIDATE}`,
          sql`${dealEvents.data}->>'referrer' ~ ${CANDIDATE}`,
        ),
      ),
    )
  for (const row of events) {
    const data = row.data as Record<string, unknown>
    const next = { ...data }
    for (const field of ['pageUrl', 'referrer'] as const)
      if (typeof data[field] === 'string') next[field] = withoutBearerTokens(data[field], origin)
    if (next.pageUrl === data.pageUrl && next.referrer === data.referrer) continue
    await db.update(dealEvents).set({ data: next }).where(eq(dealEvents.id, row.id))
    evidence++
  }
  await db
    .insert(settings)
    .values({ key: DONE_KEY, value: { submissions: subs, evidence } })
    .onConflictDoNothing()
  if (subs + evidence > 0)
    logger?.info('bearer tokens removed from stored URLs', { submissions: subs, evidence })
  return { submissions: subs, evidence }
}
