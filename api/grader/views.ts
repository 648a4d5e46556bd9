import { can } from '../accounts/permissions.ts'
import type { Role } from '../accounts/users.ts'
import type { Db } from '../db/client.ts'
import {
  categoryReports,
  findReport,
  isUnlockedBy,
  listRecentReports,
  reportJson,
  resultOf,
  teaserOfRow,
  unlockersOf,
  type ReportJson,
} from './reports.ts'

// What the grader pages show, shared with the JSON route that serves the same report
// (GET /api/grader/:id), so the page and the JSON cannot disagree on what a viewer may see.

type Viewer = { role: Role } | null | undefined

export type Refusal = {
  ok: false
  status: 403 | 404
  code: 'forbidden' | 'not_found'
  message: string
}

const NO_GRADER = 'Your role cannot see grader reports.'
const NO_REPORT = 'There is no grader report with this id.'

const refuse = (status: Refusal['status'], message: string): Refusal => ({
  ok: false,
  status,
  code: status === 404 ? 'not_found' : 'forbidden',
  message,
})

/**
 * One report as this viewer may see it (the public page /grader/:id and GET /api/grader/:id):
 * everyone gets the status and the teaser; the full report (every check with its evidence and
 * fix) only once it is done, and only for a browser that unlocked it (its cookie), the emailed
 * link (its key) or a signed-in user who may read gradings.
 */
export async function reportView(
  db: Db,
  id: string,
  viewer: { user: Viewer; tokens: Array<string | null | undefined> },
) {
  const report = await findReport(db, id)
  if (!report) return refuse(404, NO_REPORT)
  const unlocked =
    report.status === 'done' &&
    (can(viewer.user, 'grader:read') || (await isUnlockedBy(db, report.id, viewer.tokens)))
  const result = unlocked ? resultOf(report) : null
  return {
    ok: true as const,
    report,
    unlocked,
    teaser: teaserOfRow(report),
    result,
    categories: result ? categoryReports(result) : null,
  }
}

/** The JSON of a report view: what reportJson lets through for its gate. */
export function reportViewJson(view: {
  report: Parameters<typeof reportJson>[0]
  unlocked: boolean
}): ReportJson {
  return reportJson(view.report, { full: view.unlocked })
}

/** One grading for reps (/app/grader/:id): the full report and who unlocked it, with their deal. */
export async function repReportView(db: Db, user: Viewer, id: string) {
  if (!can(user, 'grader:read')) return refuse(403, NO_GRADER)
  const report = await findReport(db, id)
  if (!report) return refuse(404, NO_REPORT)
  const result = resultOf(report)
  return {
    ok: true as const,
    report,
    teaser: teaserOfRow(report),
    result,
    categories: result ? categoryReports(result) : null,
    unlockers: (await unlockersOf(db, [report.id])).get(report.id) ?? [],
  }
}

/** Recent gradings for reps (/app/grader), newest first, `before` paging back in time. */
export async function recentReportsView(
  db: Db,
  user: Viewer,
  filters: { before?: Date | null; unlockedOnly?: boolean },
) {
  if (!can(user, 'grader:read')) return refuse(403, NO_GRADER)
  const page = await listRecentReports(db, filters)
  return { ok: true as const, ...page }
}
