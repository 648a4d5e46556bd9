import { hostname } from 'node:os'
import { setImmediate as yieldToOthers } from 'node:timers/promises'
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  gt,
  inArray,
  lt,
  notInArray,
  or,
  sql,
} from 'drizzle-orm'
import { parse } from 'csv-parse/sync'
import { RETENTION } from '../content/site.ts'
import { DAY_MS } from '../pipeline/metrics.ts'
import type { Db } from '../db/client.ts'
import {
  campaignImportErrors,
  campaignImports,
  campaignRecipients,
  campaigns,
  contacts,
  dealEvents,
  deals,
} from '../db/schema.ts'
import { newId, newToken } from '../ids.ts'
import type { Logger } from '../logger.ts'
import { csvCellValue, csvLine } from '../pipeline/contacts.ts'
import { ERASED } from '../pipeline/erasure.ts'
import { parseEmailAddress } from '../email-address.ts'
import { suppressedAmong } from '../email/suppressions.ts'
import { campaignDecision, type CampaignActor } from './access.ts'
import type { CampaignResult } from './campaigns.ts'
import {
  REFUSED_ROWS_COLUMNS,
  decodeCsv,
  isRefusedRowsColumn,
  mapHeader,
  parseCsv,
  prospectFromRow,
  sniffDelimiter,
  workbookRefusal,
  type CsvColumn,
  type Prospect,
} from './csv.ts'
import type { RecipientFields } from './preview.ts'
import { waitingInAnotherLiveCampaign } from './recipients.ts'
import { jsonRows, rowsOf } from '../db/raw-sql.ts'
import { nextUpdatedAt } from '../db/updated-at.ts'

// CSV imports. The upload is checked (UTF-8, a header with an email column) and stored in the
// database; a job in any process claims it with a lease and works through it in small
// transactions, each recording how far it got, so a crash or a second process carries on where
// the last commit left off and pages and clicks stay fast meanwhile. Each row becomes a
// recipient and, for a new person, a prospect: a contact (blanks filled, nothing a person typed
// overwritten) with an open deal at the 0% `opportunity` stage, source `outbound`, the
// campaign's SDR credited and no owner. Skipped and counted: duplicates, suppressed addresses,
// people already in the pipeline (an open deal past `opportunity`: a rep has them), and people
// still waiting for their turn in another campaign that is not completed. A 0% prospect is not
// "in the pipeline", so that one whose earlier campaign is over can be written to again; but
// while that campaign may still send to them, a second one would write to them too.

export const IMPORT_MAX_BYTES = 20 * 1024 * 1024
/**
 * Rows per transaction. On PGlite a transaction holds the one connection, so a click waits for
 * the chunk in flight: 1,000 rows took 1–2 s on a busy 2-core machine and starved the redirect
 * (no click answered within 2 s during an import); 250 keep the wait to a few hundred ms.
 */
export const IMPORT_CHUNK_ROWS = 250

/**
 * Rows after which an import first refreshes the statistics of the tables it writes; again each
 * time the rows it has worked through double. PGlite runs no autovacuum, and the server's VACUUM
 * (ANALYZE) at start on a new install records these tables as empty; plans made from that (the
 * foreign-key checks against contacts, by all signs) stay, and each insert into deals and
 * campaign_recipients took longer as the tables grew: a 50,000-row import on PGlite spent ~0.7 s
 * a statement towards the end, 170–250 s in all, while clicks waited up to 1.5 s. Measured on
 * 20,000 rows: 52.6 s after that VACUUM (ANALYZE), 7.7 s with these refreshes. On PostgreSQL it
 * is autovacuum's job; there they only come sooner.
 */
export const IMPORT_ANALYZE_AFTER_ROWS = 1_000

export type CampaignImport = typeof campaignImports.$inferSelect

export async function storeImport(
  db: Db,
  actor: CampaignActor,
  input: { campaignId: string; filename: string; bytes: Uint8Array },
  now: Date,
): Promise<CampaignResult<{ importId: string }>> {
  const [campaign] = await db.select().from(campaigns).where(eq(campaigns.id, input.campaignId))
  if (!campaign)
    return { ok: false, status: 404, code: 'not_found', message: 'There is no such campaign.' }
  const decision = campaignDecision(actor, campaign, 'import')
  if (!decision.ok) return decision
  if (input.bytes.byteLength === 0)
    return { ok: false, status: 422, code: 'empty_file', message: 'The file is empty.' }
  const workbook = workbookRefusal(input.bytes)
  if (workbook) return { ok: false, status: 422, code: 'not_csv', message: workbook }
  const text = decodeCsv(input.bytes)
  if (text === null)
    return {
      ok: false,
      status: 422,
      code: 'not_utf8',
      message: 'The file is not UTF-8 text: save it as "CSV UTF-8" and upload it again.',
    }
  const header = readHeader(text)
  if (!header.ok) return { ok: false, status: 422, code: 'bad_header', message: header.message }
  if (!header.hasRows)
    return {
      ok: false,
      status: 422,
      code: 'no_rows',
      message: 'The file has a header line but no rows under it: add a row for each person.',
    }
  const importId = newId(now.getTime())
  const stored = await db.transaction(async (tx) => {
    // New recipients have to be previewed again: a ready campaign goes back to draft. Only in
    // the status the decision was made on: a start meanwhile wins, and nothing is stored.
    const [changed] = await tx
      .update(campaigns)
      .set({ status: decision.to ?? campaign.status, updatedAt: now })
      .where(and(eq(campaigns.id, campaign.id), eq(campaigns.status, campaign.status)))
      .returning({ id: campaigns.id })
    if (!changed) return false
    await tx.insert(campaignImports).values({
      id: importId,
      campaignId: campaign.id,
      filename: input.filename.slice(0, 200) || 'upload.csv',
      content: input.bytes,
      bytes: input.bytes.byteLength,
      columns: header.columns,
      delimiter: header.delimiter,
      createdBy: actor.id,
      createdAt: now,
    })
    return true
  })
  if (!stored)
    return {
      ok: false,
      status: 409,
      code: 'conflict',
      message: 'The campaign changed meanwhile; reload and try again.',
    }
  return { ok: true, importId }
}

function readHeader(
  text: string,
):
  | { ok: true; columns: CsvColumn[]; delimiter: string; hasRows: boolean }
  | { ok: false; message: string } {
  const delimiter = sniffDelimiter(text)
  let first: { record: string[]; raw: string } | undefined
  try {
    first = (
      parse(text, {
        bom: true,
        delimiter,
        record_delimiter: '\n',
        to_line: 1,
        relax_quotes: true,
        raw: true,
      }) as unknown as Array<{ record: string[]; raw: string }>
    )[0]
  } catch {
    return { ok: false, message: 'The header line of the file cannot be read as CSV.' }
  }
  if (!first) return { ok: false, message: 'The file has no header line.' }
  const mapped = mapHeader(first.record)
  if (!mapped.ok) return mapped
  // Anything but empty lines after the header is a row to the import (a bad one at worst).
  const hasRows = /[^\n]/.test(text.slice(first.raw.length))
  return { ok: true, columns: mapped.columns, delimiter, hasRows }
}

/**
 * An import as people see it: not its file (up to 20 MB, read again on every poll of the progress
 * page otherwise) nor the process holding it.
 */
const { content: _content, lockedBy: _lockedBy, ...shownColumns } = getTableColumns(campaignImports)
export type ImportShown = Omit<CampaignImport, 'content' | 'lockedBy'>

export async function findImport(db: Db, id: string): Promise<ImportShown | null> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return null
  const [row] = await db
    .select(shownColumns)
    .from(campaignImports)
    .where(eq(campaignImports.id, id))
  return row ?? null
}

/** The campaign's imports, newest first (as findImport shows them). */
export async function listImports(db: Db, campaignId: string): Promise<ImportShown[]> {
  return db
    .select(shownColumns)
    .from(campaignImports)
    .where(eq(campaignImports.campaignId, campaignId))
    .orderBy(desc(campaignImports.createdAt))
}

/** An import's refused rows by line (after line `after`), with the values they had. */
function refusedRows(db: Db, importId: string, limit: number, after = 0) {
  return db
    .select({
      line: campaignImportErrors.line,
      email: campaignImportErrors.email,
      reason: campaignImportErrors.reason,
      cells: campaignImportErrors.cells,
    })
    .from(campaignImportErrors)
    .where(and(eq(campaignImportErrors.importId, importId), gt(campaignImportErrors.line, after)))
    .orderBy(asc(campaignImportErrors.line))
    .limit(limit)
}

/** An import's refused rows by line, as the page and the API list them: line, email, reason. */
export async function importErrors(db: Db, importId: string, limit = 10_000) {
  return (await refusedRows(db, importId, limit)).map(({ cells: _cells, ...row }) => row)
}

/**
 * The refused rows as CSV, for the SDR to fix and upload again: why each row was refused and its
 * line in the file (columns an upload ignores: REFUSED_ROWS_COLUMNS), then the file's own columns
 * with the row's values as it had them. A line that could not be read as CSV has only its email
 * address, if it had one. Streamed in batches of `batch` rows by line (an import of 20 MB can
 * refuse every row).
 */
export function importErrorsCsv(
  db: Db,
  importId: string,
  batch = 1_000,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let file: RefusedRowsFile
  let after = 0
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      file = await refusedRowsFile(db, importId)
      controller.enqueue(encoder.encode('\uFEFF' + file.heading))
    },
    async pull(controller) {
      const rows = await refusedRows(db, importId, batch, after)
      controller.enqueue(encoder.encode(rows.map(file.line).join('')))
      if (rows.length < batch) controller.close()
      else after = rows[rows.length - 1]!.line
    },
  })
}

type RefusedRowsFile = {
  heading: string
  line: (row: Awaited<ReturnType<typeof refusedRows>>[number]) => string
}

/** The heading and the lines of an import's file of refused rows, from the header as it read it. */
async function refusedRowsFile(db: Db, importId: string): Promise<RefusedRowsFile> {
  const [job] = await db
    .select({ columns: campaignImports.columns, delimiter: campaignImports.delimiter })
    .from(campaignImports)
    .where(eq(campaignImports.id, importId))
  const columns = job?.columns ?? [{ header: 'email', field: 'email' }]
  // A file of refused rows uploaded again brings its own reason and line: the new ones replace them.
  const kept = (cells: readonly string[]) =>
    cells.filter(
      (_, i) => !(columns[i]?.field === 'ignored' && isRefusedRowsColumn(columns[i].header)),
    )
  const headers = kept(columns.map((c) => c.header))
  const emailAt = Math.max(0, kept(columns.map((c) => c.field)).indexOf('email'))
  // In the file's own delimiter: a spreadsheet set for `;` opens a `,` file as one column.
  const delimiter = job?.delimiter ?? ','
  // Why and where first: a row with a value too many (one of the reasons a row is refused) runs
  // on past the last heading without moving them, and uploaded again unfixed it is refused again.
  return {
    heading: csvLine([...REFUSED_ROWS_COLUMNS, ...headers], delimiter),
    line: (r) =>
      csvLine(
        [
          r.reason,
          String(r.line),
          ...(r.cells
            ? kept(r.cells)
            : headers.map((_, i) => (i === emailAt ? (r.email ?? '') : ''))),
        ],
        delimiter,
      ),
  }
}

/** Refused rows deleted a statement at a time (PGlite runs each on the server's one thread). */
export const REFUSED_ROWS_DELETE_BATCH = 2_000

/**
 * What an import leaves of people's data, RETENTION.refusedRowsDays after it finished (the
 * privacy policy's period): the rows it refused are deleted (its counts stay), in batches with a
 * turn for requests between them, and the file of an import that failed is emptied (a finished
 * one empties it at once). The numbers of rows and of files.
 */
export async function forgetImportLeftovers(
  db: Db,
  now: Date,
): Promise<{ refusedRows: number; failedFiles: number }> {
  const before = new Date(now.getTime() - RETENTION.refusedRowsDays * DAY_MS)
  const finished = db
    .select({ id: campaignImports.id })
    .from(campaignImports)
    .where(lt(campaignImports.completedAt, before))
  let refusedRows = 0
  for (;;) {
    const deleted = await db
      .delete(campaignImportErrors)
      .where(
        sql`(${campaignImportErrors.importId}, ${campaignImportErrors.line}) in (
          select ${campaignImportErrors.importId}, ${campaignImportErrors.line}
          from ${campaignImportErrors}
          where ${inArray(campaignImportErrors.importId, finished)}
          limit ${REFUSED_ROWS_DELETE_BATCH})`,
      )
      .returning({ line: campaignImportErrors.line })
    refusedRows += deleted.length
    if (deleted.length < REFUSED_ROWS_DELETE_BATCH) break
    await yieldToOthers()
  }
  const files = await db
    .update(campaignImports)
    .set({ content: new Uint8Array() })
    .where(
      and(
        eq(campaignImports.status, 'failed'),
        lt(campaignImports.completedAt, before),
        sql`octet_length(${campaignImports.content}) > 0`,
      ),
    )
    .returning({ id: campaignImports.id })
  return { refusedRows, failedFiles: files.length }
}

/** Claims the next import that is waiting or whose holder's lease ran out. */
export async function claimImport(
  db: Db,
  options: { now: Date; leaseMs: number; worker: string },
): Promise<CampaignImport | null> {
  const { now } = options
  return db.transaction(async (tx) => {
    const [next] = await tx
      .select({ id: campaignImports.id })
      .from(campaignImports)
      .where(
        or(
          eq(campaignImports.status, 'pending'),
          and(eq(campaignImports.status, 'running'), lt(campaignImports.leaseUntil, now)),
        ),
      )
      .orderBy(asc(campaignImports.createdAt))
      .limit(1)
      .for('update', { skipLocked: true })
    if (!next) return null
    const [claimed] = await tx
      .update(campaignImports)
      .set({
        status: 'running',
        leaseUntil: new Date(now.getTime() + options.leaseMs),
        lockedBy: options.worker,
      })
      .where(eq(campaignImports.id, next.id))
      .returning()
    return claimed ?? null
  })
}

export interface ImportRunOptions {
  now: () => Date
  leaseMs: number
  worker: string
  chunkRows?: number
  signal?: AbortSignal
  log?: Logger
}

class LeaseLost extends Error {}

/** Works through a claimed import to the end (or until stopped or the lease is lost). */
export async function runImport(
  db: Db,
  job: CampaignImport,
  options: ImportRunOptions,
): Promise<'done' | 'stopped' | 'lost' | 'failed'> {
  const chunkRows = options.chunkRows ?? IMPORT_CHUNK_ROWS
  const [campaign] = await db
    .select({ id: campaigns.id, ownerId: campaigns.ownerId })
    .from(campaigns)
    .where(eq(campaigns.id, job.campaignId))
  const text = decodeCsv(job.content)
  const parsed = text === null ? null : parseCsv(text)
  const header = parsed ? mapHeader(parsed.header) : null
  if (!campaign || !parsed || !header?.ok) {
    await db
      .update(campaignImports)
      .set({
        status: 'failed',
        error: header && !header.ok ? header.message : 'The file cannot be read.',
        leaseUntil: null,
        completedAt: options.now(),
      })
      .where(and(eq(campaignImports.id, job.id), eq(campaignImports.lockedBy, options.worker)))
    return 'failed'
  }
  // A file of refused rows this server wrote, uploaded again: its cells as they were before
  // csvLine guarded them against formulas ("'+44 20…" is "+44 20…" again).
  const ours = header.columns.some((c) => c.field === 'ignored' && isRefusedRowsColumn(c.header))
  const rows = ours
    ? parsed.rows.map((row) =>
        'cells' in row ? { ...row, cells: row.cells.map(csvCellValue) } : row,
      )
    : parsed.rows
  // Addresses of the rows already done: a later copy in the file is a duplicate.
  const seen = new Set<string>()
  for (const row of rows.slice(0, job.processedRows)) {
    if ('error' in row) continue
    const r = prospectFromRow(row.cells, header.columns)
    if (r.ok) seen.add(r.prospect.email)
  }
  if (job.totalRows !== rows.length)
    await db
      .update(campaignImports)
      .set({ totalRows: rows.length })
      .where(eq(campaignImports.id, job.id))

  let position = job.processedRows
  let analyzeAt = Math.max(IMPORT_ANALYZE_AFTER_ROWS, position * 2)
  try {
    while (position < rows.length) {
      if (options.signal?.aborted) return 'stopped'
      const chunk = rows.slice(position, position + chunkRows)
      await importChunk(db, {
        job,
        ownerId: campaign.ownerId,
        columns: header.columns,
        chunk,
        seen,
        now: options.now(),
        leaseMs: options.leaseMs,
        worker: options.worker,
      })
      position += chunk.length
      // Let requests (and clicks) in between chunks, on PGlite's one connection especially.
      await yieldToOthers()
      if (position >= analyzeAt && position < rows.length) {
        await db.execute(sql`analyze ${contacts}, ${deals}, ${dealEvents}, ${campaignRecipients}`)
        analyzeAt = position * 2
        await yieldToOthers()
      }
    }
  } catch (err) {
    if (err instanceof LeaseLost) return 'lost'
    throw err
  }
  const done = await db
    .update(campaignImports)
    .set({
      status: 'done',
      leaseUntil: null,
      lockedBy: null,
      completedAt: options.now(),
      content: new Uint8Array(),
    })
    .where(and(eq(campaignImports.id, job.id), eq(campaignImports.lockedBy, options.worker)))
    .returning({ id: campaignImports.id })
  return done.length ? 'done' : 'lost'
}

interface ChunkInput {
  job: CampaignImport
  ownerId: string
  columns: CsvColumn[]
  chunk: ReturnType<typeof parseCsv> extends infer P
    ? P extends { rows: infer R }
      ? R
      : never
    : never
  seen: Set<string>
  now: Date
  leaseMs: number
  worker: string
}

async function importChunk(db: Db, input: ChunkInput): Promise<void> {
  const { job, now } = input
  const errors: Array<typeof campaignImportErrors.$inferInsert> = []
  const candidates: Array<{ line: number; prospect: Prospect }> = []
  let duplicates = 0
  const seenHere = new Set<string>()
  for (const row of input.chunk) {
    if ('error' in row) {
      errors.push({ importId: job.id, line: row.line, email: null, reason: row.error })
      continue
    }
    const result = prospectFromRow(row.cells, input.columns)
    if (!result.ok) {
      errors.push({
        importId: job.id,
        line: row.line,
        email: result.email?.slice(0, 320) ?? null,
        reason: result.reason,
        cells: row.cells,
      })
      continue
    }
    if (input.seen.has(result.prospect.email) || seenHere.has(result.prospect.email)) {
      duplicates++
      continue
    }
    seenHere.add(result.prospect.email)
    candidates.push({ line: row.line, prospect: result.prospect })
  }

  // Between statements the event loop gets a turn: PGlite runs each one on this thread and a
  // chain of awaited statements would otherwise keep every request (and click) waiting for
  // the whole chunk (clicks went unanswered for seconds during a 50,000-row import).
  await db.transaction(async (tx) => {
    const emails = candidates.map((c) => c.prospect.email)
    // By address or by the fingerprint an erased person is kept as (suppressions.ts).
    const suppressed = await suppressedAmong(tx, emails)
    await yieldToOthers()
    const unsuppressed = candidates.filter((c) => !suppressed.has(c.prospect.email))
    // The contacts already there, locked in one order (by id, as the verdict job locks a batch's
    // contacts) before the upsert below locks them in the file's: a prospect of an earlier
    // campaign whose click is being judged is locked by the verdict job, which then waits for
    // the next of its contacts, and an import holding that one while it waits would deadlock.
    const existing = unsuppressed.length
      ? await tx
          .select({ id: contacts.id, email: contacts.email, stage: deals.stage })
          .from(contacts)
          .leftJoin(
            deals,
            and(eq(deals.contactId, contacts.id), notInArray(deals.stage, ['won', 'lost'])),
          )
          .where(
            inArray(
              contacts.email,
              unsuppressed.map((c) => c.prospect.email),
            ),
          )
          .orderBy(contacts.id)
          .for('no key update', { of: contacts })
      : []
    const inPipeline = new Set(
      existing.filter((e) => e.stage && e.stage !== 'opportunity').map((e) => e.email),
    )
    const hasProspectDeal = new Set(
      existing.filter((e) => e.stage === 'opportunity').map((e) => e.id),
    )
    const keep = unsuppressed.filter((c) => !inPipeline.has(c.prospect.email))

    let imported = 0
    let inOtherCampaign = 0
    if (keep.length) {
      // Fill blanks only: what a person typed in a form (or an earlier import) stays.
      const fill = (column: string) =>
        sql.raw(`coalesce(nullif("contacts"."${column}", ''), excluded."${column}")`)
      // A filled blank is a change: integrations sync contacts by updated_at (api/integrations/sync.ts).
      const filled = ['first_name', 'last_name', 'job_title', 'company_name']
      const changed = sql`(${sql.raw(filled.map((c) => `"contacts"."${c}"`).join(', '))}) is distinct from (${sql.join(filled.map(fill), sql`, `)})`
      await yieldToOthers()
      const people = rowsOf<{ id: string; email: string }>(
        await tx.execute(sql`
          insert into ${contacts} (id, email, email_display, first_name, last_name, job_title, company_name, source, created_at, updated_at)
          ${jsonRows(
            keep.map(({ prospect: p }) => ({
              id: newId(now.getTime()),
              email: p.email,
              emailDisplay: p.emailDisplay,
              firstName: p.firstName,
              lastName: p.lastName,
              jobTitle: p.title,
              companyName: p.company,
              source: 'outbound',
              at: now,
              at2: now,
            })),
            {
              id: 'text',
              email: 'text',
              emailDisplay: 'text',
              firstName: 'text',
              lastName: 'text',
              jobTitle: 'text',
              companyName: 'text',
              source: 'text',
              at: 'timestamptz',
              at2: 'timestamptz',
            },
          )}
          on conflict (email) do update set
            first_name = ${fill('first_name')},
            last_name = ${fill('last_name')},
            job_title = ${fill('job_title')},
            company_name = ${fill('company_name')},
            updated_at = case when ${changed} then ${nextUpdatedAt(contacts.updatedAt, now)} else "contacts".updated_at end
          returning id, email`),
      )
      await yieldToOthers()
      const contactOf = new Map(people.map((p) => [p.email, p.id]))

      // Asked once the upsert holds every one of these contacts (a new one too): an import into
      // another campaign (or a follow-up, which locks them too) that added one of them has
      // committed by now, and one that comes later waits for this transaction and then sees its
      // recipients.
      const elsewhere = new Set(
        (
          await tx
            .select({ id: contacts.id })
            .from(contacts)
            .where(
              and(
                inArray(contacts.id, [...contactOf.values()]),
                waitingInAnotherLiveCampaign(contacts.id, job.campaignId),
              ),
            )
        ).map((r) => r.id),
      )
      await yieldToOthers()
      const add = keep.filter((c) => !elsewhere.has(contactOf.get(c.prospect.email)!))
      inOtherCampaign = keep.length - add.length

      const needDeal = add.filter((c) => !hasProspectDeal.has(contactOf.get(c.prospect.email)!))
      await yieldToOthers()
      if (needDeal.length) {
        const created = rowsOf<{ id: string }>(
          await tx.execute(sql`
            insert into ${deals} (id, contact_id, title, stage, stage_entered_at, source, owner_id, sdr_id, created_at, updated_at)
            ${jsonRows(
              needDeal.map(({ prospect: p }) => ({
                id: newId(now.getTime()),
                contactId: contactOf.get(p.email)!,
                title: (
                  p.company ??
                  ([p.firstName, p.lastName].filter(Boolean).join(' ') || p.emailDisplay)
                ).slice(0, 200),
                stage: 'opportunity',
                at: now,
                source: 'outbound',
                ownerId: null,
                sdrId: input.ownerId,
                at2: now,
                at3: now,
              })),
              {
                id: 'text',
                contactId: 'text',
                title: 'text',
                stage: 'text',
                at: 'timestamptz',
                source: 'text',
                ownerId: 'text',
                sdrId: 'text',
                at2: 'timestamptz',
                at3: 'timestamptz',
              },
            )}
            on conflict do nothing
            returning id`),
        )
        if (created.length)
          await tx.execute(sql`
            insert into ${dealEvents} (id, deal_id, type, to_stage, data, created_at)
            ${jsonRows(
              created.map((d) => ({
                id: newId(now.getTime()),
                dealId: d.id,
                type: 'created',
                toStage: 'opportunity',
                data: { source: 'outbound', campaignId: job.campaignId, importId: job.id },
                at: now,
              })),
              {
                id: 'text',
                dealId: 'text',
                type: 'text',
                toStage: 'text',
                data: 'jsonb',
                at: 'timestamptz',
              },
            )}`)
      }

      await yieldToOthers()
      const recipients = rowsOf<{ id: string }>(
        await tx.execute(sql`
          insert into ${campaignRecipients} (id, campaign_id, contact_id, email, fields, line, created_at)
          ${jsonRows(
            add.map(({ line, prospect: p }) => ({
              id: newId(now.getTime()),
              campaignId: job.campaignId,
              contactId: contactOf.get(p.email)!,
              email: p.email,
              fields: {
                emailDisplay: p.emailDisplay,
                firstName: p.firstName,
                lastName: p.lastName,
                company: p.company,
                title: p.title,
                custom: p.custom,
              } satisfies RecipientFields,
              line,
              at: now,
            })),
            {
              id: 'text',
              campaignId: 'text',
              contactId: 'text',
              email: 'text',
              fields: 'jsonb',
              line: 'integer',
              at: 'timestamptz',
            },
          )}
          on conflict do nothing
          returning id`),
      )
      imported = recipients.length
      // Already a recipient of this campaign (an earlier upload): a duplicate too.
      duplicates += add.length - recipients.length
    }
    await yieldToOthers()
    if (errors.length) {
      // A refused row keeps nothing of a person erased meanwhile: in a file that waited, their line
      // reads "[erased]" where they were named (the rest of it is still theirs); in a file being
      // read, their address is on the do-not-email list as its fingerprint.
      const addressOf = (e: (typeof errors)[number]) =>
        e.email ? (parseEmailAddress(e.email)?.canonical ?? null) : null
      const addresses = errors.map(addressOf).filter((a): a is string => a !== null)
      const listed = addresses.length ? await suppressedAmong(tx, addresses) : new Set<string>()
      for (const e of errors) {
        const address = addressOf(e)
        if (address && listed.has(address)) Object.assign(e, { email: null, cells: null })
        else if (e.cells?.some((cell) => cell.includes(ERASED))) e.cells = null
      }
      await tx.insert(campaignImportErrors).values(errors).onConflictDoNothing()
    }

    await yieldToOthers()
    const moved = await tx
      .update(campaignImports)
      .set({
        processedRows: sql`${campaignImports.processedRows} + ${input.chunk.length}`,
        imported: sql`${campaignImports.imported} + ${imported}`,
        duplicates: sql`${campaignImports.duplicates} + ${duplicates}`,
        suppressed: sql`${campaignImports.suppressed} + ${suppressed.size}`,
        inPipeline: sql`${campaignImports.inPipeline} + ${inPipeline.size}`,
        inOtherCampaign: sql`${campaignImports.inOtherCampaign} + ${inOtherCampaign}`,
        invalid: sql`${campaignImports.invalid} + ${errors.length}`,
        leaseUntil: new Date(now.getTime() + input.leaseMs),
      })
      .where(
        and(
          eq(campaignImports.id, job.id),
          eq(campaignImports.lockedBy, input.worker),
          eq(campaignImports.status, 'running'),
        ),
      )
      .returning({ id: campaignImports.id })
    if (moved.length === 0) throw new LeaseLost()
  })
  for (const c of candidates) input.seen.add(c.prospect.email)
}

export function importWorkerId(): string {
  return `${hostname()}:${process.pid}:${newToken(4)}`
}
