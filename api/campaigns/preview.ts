import { and, asc, eq, ne, sql } from 'drizzle-orm'
import {
  checkMergeFields,
  renderOutreach,
  type MergeFieldReport,
  type OutreachOptions,
  type OutreachRecipient,
  type OutreachTemplate,
} from '../../email-templates/outreach.ts'
import type { Db } from '../db/client.ts'
import { rowsOf } from '../db/raw-sql.ts'
import { campaignImports, campaignRecipients, type campaigns } from '../db/schema.ts'
import type { Env } from '../env.ts'
import { formatAddress } from '../email-headers.ts'
import { marketingProblems } from '../email/marketing.ts'
import { enqueueEmail } from '../email/outbox.ts'
import { brandOf, loadSenderSettings, type SenderSettings } from '../email/sender.ts'
import { TEST_UNSUBSCRIBE_TOKEN, unsubscribeUrl } from '../email/unsubscribe.ts'
import { normalizeDestination, trackedUrl } from '../tracking/links.ts'
import { checkSenderAddress, verifiedSendingDomains } from './sender.ts'

// What a campaign will send, before it sends: each recipient's message as it will go out (links
// shown as /r/ links, with where each leads), and every problem that stops the start.

type Campaign = typeof campaigns.$inferSelect

/** What an imported row stores in campaign_recipients.fields. */
export interface RecipientFields {
  emailDisplay?: string
  firstName?: string | null
  lastName?: string | null
  company?: string | null
  title?: string | null
  custom?: Record<string, string>
}

export function outreachRecipient(row: {
  email: string
  fields: unknown
  line: number | null
}): OutreachRecipient {
  const f = (row.fields ?? {}) as RecipientFields
  return {
    email: f.emailDisplay ?? row.email,
    firstName: f.firstName ?? null,
    lastName: f.lastName ?? null,
    company: f.company ?? null,
    title: f.title ?? null,
    custom: f.custom ?? {},
    ...(row.line !== null ? { row: row.line } : {}),
  }
}

const templateOf = (c: Campaign) => ({ subject: c.subjectTemplate, body: c.bodyTemplate })

/**
 * The custom columns of the campaign's imports, and for a follow-up of those of the campaign it
 * follows up (its recipients' fields were copied from there): merge fields that exist even where
 * a recipient's file had no such column or left it blank.
 */
async function importedColumns(db: Db, campaignId: string): Promise<string[]> {
  const rows = rowsOf<{ columns: Array<{ header: string; field: string }> | null }>(
    await db.execute(sql`
      with recursive chain (id) as (
        select ${campaignId}::text
        union
        select c.follow_up_of from campaigns c join chain on c.id = chain.id
         where c.follow_up_of is not null
      )
      select i.columns from ${campaignImports} i join chain on i.campaign_id = chain.id
       order by i.created_at, i.id`),
  )
  return [
    ...new Set(
      rows.flatMap((r) =>
        (r.columns ?? []).filter((c) => c.field === 'custom').map((c) => c.header),
      ),
    ),
  ]
}

/**
 * What a campaign's messages are merged with: its template and its columns. Every check and
 * render of one recipient's message (the preview, the test, the sender) goes through
 * `recipientMergeProblem` and `renderCampaignMessage` with it, so they judge a field as the start
 * does: a column of any import that this recipient lacks is a missing value, not an unknown field.
 */
export interface CampaignMerge {
  template: OutreachTemplate
  columns: string[]
}

export async function campaignMerge(db: Db, campaign: Campaign): Promise<CampaignMerge> {
  return { template: templateOf(campaign), columns: await importedColumns(db, campaign.id) }
}

/**
 * The recipients a campaign may still write to: all but those taken out (their messages never
 * go, so neither their merge problems nor their preview stop or show anything).
 */
const goingTo = (campaignId: string) =>
  and(eq(campaignRecipients.campaignId, campaignId), ne(campaignRecipients.status, 'removed'))

/** A campaign's recipients as its templates read them, in file order. */
function recipientsInFileOrder(db: Db, campaignId: string) {
  return db
    .select({
      email: campaignRecipients.email,
      fields: campaignRecipients.fields,
      line: campaignRecipients.line,
    })
    .from(campaignRecipients)
    .where(goingTo(campaignId))
    .orderBy(asc(campaignRecipients.line), asc(campaignRecipients.id))
}

/** Merge fields checked against every recipient, with their CSV line numbers. */
export async function mergeReport(db: Db, campaign: Campaign): Promise<MergeFieldReport> {
  const [rows, merge] = await Promise.all([
    recipientsInFileOrder(db, campaign.id),
    campaignMerge(db, campaign),
  ])
  return checkMergeFields(merge.template, rows.map(outreachRecipient), { columns: merge.columns })
}

/** Why outreach cannot go out from this campaign's sender now (the start's first checks). */
function senderProblems(sender: SenderSettings, env: Env, campaign: Campaign): string[] {
  const check = checkSenderAddress(campaign.senderEmail, verifiedSendingDomains(sender, env))
  return [...marketingProblems(sender), ...(check.ok ? [] : [check.message])]
}

/** The first reason one recipient's message cannot be merged, or null. */
export function recipientMergeProblem(
  merge: CampaignMerge,
  recipient: OutreachRecipient,
): string | null {
  const report = checkMergeFields(merge.template, [recipient], { columns: merge.columns })
  return (
    (report.syntaxErrors[0] ?? report.unknownFields[0] ?? report.missingValues[0])?.message ?? null
  )
}

/** One recipient's message; throws (MergeFieldError) where recipientMergeProblem names a reason. */
export function renderCampaignMessage(
  merge: CampaignMerge,
  recipient: OutreachRecipient,
  options: Omit<OutreachOptions, 'columns'>,
) {
  return renderOutreach(merge.template, recipient, { ...options, columns: merge.columns })
}

/** Everything that stops a start, in words; empty when the campaign can go. */
export async function startProblems(db: Db, env: Env, campaign: Campaign): Promise<string[]> {
  const problems = senderProblems(await loadSenderSettings(db, env), env, campaign)
  const [pending] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(campaignImports)
    .where(
      sql`${campaignImports.campaignId} = ${campaign.id} and ${campaignImports.status} in ('pending', 'running')`,
    )
  if ((pending?.n ?? 0) > 0) problems.push('An import is still running: wait for it to finish.')
  const [recipients] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(campaignRecipients)
    .where(goingTo(campaign.id))
  if ((recipients?.n ?? 0) === 0)
    problems.push('The campaign has no recipients yet (or all were taken out): import a CSV.')
  const report = await mergeReport(db, campaign)
  problems.push(
    ...report.syntaxErrors.map((e) => e.message),
    ...report.unknownFields.map((e) => e.message),
    ...report.missingValues.map((e) => e.message),
  )
  return problems
}

export interface PreviewMessage {
  recipientId: string
  line: number | null
  email: string
  status: string
  subject: string
  text: string
  links: Array<{ shown: string; destination: string | null }>
  /** Why this recipient's message cannot be rendered (merge problems). */
  problem: string | null
}

export const PREVIEW_PAGE_SIZE = 20

/** A page of recipients' messages as they will be sent; links shown with a placeholder token. */
export async function previewMessages(
  db: Db,
  env: Env,
  campaign: Campaign,
  page = 1,
): Promise<{ messages: PreviewMessage[]; total: number }> {
  const [sender, merge] = await Promise.all([
    loadSenderSettings(db, env),
    campaignMerge(db, campaign),
  ])
  const brand = brandOf(sender)
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(campaignRecipients)
      .where(goingTo(campaign.id))
      .orderBy(asc(campaignRecipients.line), asc(campaignRecipients.id))
      .limit(PREVIEW_PAGE_SIZE)
      .offset((page - 1) * PREVIEW_PAGE_SIZE),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(campaignRecipients)
      .where(goingTo(campaign.id)),
  ])
  const messages = rows.map((row): PreviewMessage => {
    const recipient = outreachRecipient(row)
    const base = { recipientId: row.id, line: row.line, email: recipient.email, status: row.status }
    const problem = recipientMergeProblem(merge, recipient)
    if (problem || !brand.postalAddress) {
      return {
        ...base,
        subject: '',
        text: '',
        links: [],
        problem: problem ?? 'No postal address is configured.',
      }
    }
    const links: PreviewMessage['links'] = []
    const rendered = renderCampaignMessage(merge, recipient, {
      brand,
      unsubscribeUrl: unsubscribeUrl(env.APP_ORIGIN, TEST_UNSUBSCRIBE_TOKEN),
      rewriteLink: (url, index) => {
        const destination = normalizeDestination(url)
        const shown = destination ? trackedUrl(env.APP_ORIGIN, `link-${index + 1}`) : url
        links.push({ shown, destination })
        return destination ? shown : null
      },
    })
    return { ...base, subject: rendered.subject, text: rendered.text, links, problem: null }
  })
  return { messages, total: total?.n ?? 0 }
}

export type TestSendResult =
  | { ok: true; to: string; outboxId: string | null; line: number | null }
  | { ok: false; status: 409 | 422; code: string; message: string }

/**
 * Sends the person asking the first recipient's message (file order) as it will go out, to read
 * it in a real mail client before starting: the campaign's sender, its subject marked "[Test]",
 * its links straight to their destinations (a test's clicks are nobody's, so none is tracked),
 * its unsubscribe link one to a page that says it is a test's (nothing is unsubscribed). To the asker's own address only, through the outbox like
 * every email.
 */
export async function sendTestMessage(
  db: Db,
  env: Env,
  campaign: Campaign,
  to: { email: string; name: string },
  now: Date,
): Promise<TestSendResult> {
  const sender = await loadSenderSettings(db, env)
  const refused = (status: 409 | 422, code: string, message: string): TestSendResult => ({
    ok: false,
    status,
    code,
    message,
  })
  const blocked = senderProblems(sender, env, campaign)[0]
  if (blocked) return refused(409, 'cannot_send', blocked)
  const [row] = await recipientsInFileOrder(db, campaign.id).limit(1)
  if (!row)
    return refused(
      409,
      'no_recipients',
      'Import recipients first: a test is the first recipient’s message.',
    )
  const recipient = outreachRecipient(row)
  const merge = await campaignMerge(db, campaign)
  const problem = recipientMergeProblem(merge, recipient)
  if (problem) return refused(422, 'merge_fields', problem)
  const rendered = renderCampaignMessage(merge, recipient, {
    brand: brandOf(sender),
    unsubscribeUrl: unsubscribeUrl(env.APP_ORIGIN, TEST_UNSUBSCRIBE_TOKEN),
    rewriteLink: (url) => normalizeDestination(url),
  })
  const outboxId = await enqueueEmail(db, {
    category: 'transactional',
    to: formatAddress(to.name, to.email),
    recipient: to.email,
    subject: `[Test] ${rendered.subject}`,
    html: rendered.html,
    text: rendered.text,
    from: { name: campaign.senderName, address: campaign.senderEmail },
    ...(campaign.replyTo ? { replyTo: { address: campaign.replyTo } } : {}),
    template: 'outreach-test',
    now,
  })
  return { ok: true, to: to.email, outboxId, line: row.line }
}
