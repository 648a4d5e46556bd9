import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core'

// One schema for PGlite and PostgreSQL. Ids are UUIDv7 text from api/ids.ts.

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => new Uint8Array(value),
})

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })
const createdAt = () => ts('created_at').notNull().defaultNow()

// ── Accounts ────────────────────────────────────────────────────────────────────────────────

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'rep', 'sdr'] }).notNull(),
  passwordHash: text('password_hash'),
  disabledAt: ts('disabled_at'),
  /** IANA zone of the person's working day: when next steps are due, when the digest goes. */
  timeZone: text('time_zone').notNull().default('UTC'),
  /** Wants the morning email of their next steps (api/pipeline/digest.ts). */
  dailyDigest: boolean('daily_digest').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
})

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretHash: bytea('secret_hash').notNull(),
    createdAt: createdAt(),
    lastVerifiedAt: ts('last_verified_at').notNull().defaultNow(),
    userAgent: text('user_agent'),
    ip: text('ip'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
)

/**
 * A refused plain form's values too long for its cookie (a campaign's message, a long note): the
 * cookie names the row, the page takes it once (api/http/form-flash.ts). Pruned after an hour.
 */
export const formFlashes = pgTable('form_flashes', {
  id: text('id').primaryKey(),
  userId: text('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** What was typed and each field's problem: { values, fields }. */
  flash: jsonb('flash')
    .$type<{ values: Record<string, string>; fields: Record<string, string> }>()
    .notNull(),
  createdAt: createdAt(),
})

/** One-time links: first-admin setup, invitations, password resets. Only the hash is stored. */
export const userTokens = pgTable('user_tokens', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  purpose: text('purpose', { enum: ['setup', 'invite', 'reset'] }).notNull(),
  userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
  createdAt: createdAt(),
})

/** Fixed-window counters shared by every process (sign-in throttling, form and grader limits). */
export const rateLimitHits = pgTable(
  'rate_limit_hits',
  {
    key: text('key').notNull(),
    windowStart: ts('window_start').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] })],
)

/** Replays of idempotent requests: same key → same response; same key, other body → 422. */
export const idempotencyKeys = pgTable('idempotency_keys', {
  key: text('key').primaryKey(),
  scope: text('scope').notNull(),
  requestHash: text('request_hash').notNull(),
  status: integer('status'),
  response: jsonb('response'),
  createdAt: createdAt(),
})

/** Key/value settings edited by admins (sender identity, stale thresholds, …). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by'),
})

// ── People and companies ────────────────────────────────────────────────────────────────────

export const companies = pgTable(
  'companies',
  {
    id: text('id').primaryKey(),
    domain: text('domain').unique(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    // Search (api/db/search-documents.ts holds the same expression): name and domain as one text,
    // folded as search folds the query (search_fold, migration 0031: lowercased, accents off).
    index('companies_search_trgm_idx').using(
      'gin',
      sql`search_fold(${t.name} || ' ' || coalesce(${t.domain}, '')) gin_trgm_ops`,
    ),
    // Search's first pass (api/db/search-documents.ts prefixKeys): exact and prefix matches as btree
    // range scans, so a long literal query never reads the trigram index's common posting lists.
    index('companies_name_prefix_idx').using('btree', sql`search_fold(${t.name}) text_pattern_ops`),
    index('companies_domain_prefix_idx').using('btree', sql`${t.domain} text_pattern_ops`),
  ],
)

/**
 * Search's near misses (api/search/): every distinct word (3+ letters, folded: search_fold) of contact
 * names and addresses, company names and domains, and deal titles, kept by statement triggers on
 * those tables (migration 0015). A mistyped word is matched against these few words, not against
 * every row, and the rows holding the words found are then read through the trigram indexes.
 */
export const searchWords = pgTable('search_words', { word: text('word').primaryKey() }, (t) => [
  // Without a pending list (fastupdate): a bulk of new words in it made every near-miss lookup
  // scan it (10 ms instead of 1 at 86,000 words). New words are few once the table is filled.
  index('search_words_trgm_idx')
    .using('gin', sql`${t.word} gin_trgm_ops`)
    .with({ fastupdate: 'off' }),
])

/** Where a contact or deal came from: forms, outreach, the grader, or a rep by hand. */
export const LEAD_SOURCES = ['inbound', 'outbound', 'grader', 'manual'] as const
export type LeadSource = (typeof LEAD_SOURCES)[number]

export const contacts = pgTable(
  'contacts',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull().unique(), // canonical
    emailDisplay: text('email_display').notNull(), // as typed
    firstName: text('first_name'),
    lastName: text('last_name'),
    jobTitle: text('job_title'),
    phone: text('phone'),
    companyId: text('company_id').references(() => companies.id),
    companyName: text('company_name'),
    source: text('source', { enum: LEAD_SOURCES }).notNull(),
    /**
     * When the person was erased on request (api/pipeline/erasure.ts): the row stays for the deals
     * that name it, with a placeholder address and nothing else about them.
     */
    erasedAt: ts('erased_at'),
    createdAt: createdAt(),
    /** The contact's last change of their own: an edit, a form post, an erasure. Retention reads it. */
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /**
     * The sync clock (api/integrations/sync.ts): moves with updated_at (the trigger
     * contacts_sync_at, migration 0032) and also with a change of their do-not-email state
     * (api/email/suppressions.ts), which is not the person's activity and leaves updated_at be.
     */
    syncAt: ts('sync_at').notNull().defaultNow(),
  },
  (t) => [
    index('contacts_company_idx').on(t.companyId),
    index('contacts_created_idx').on(t.createdAt),
    // Integrations sync changes page by page: keyset on (sync_at, id).
    index('contacts_sync_idx').on(t.syncAt, t.id),
    // The retention job (api/pipeline/contact-retention.ts) takes the least recently changed
    // first: without the erased, who pile up ahead of them as the years go.
    index('contacts_retention_idx')
      .on(t.updatedAt, t.id)
      .where(sql`erased_at is null`),
    // The housekeeping's sweep of clicks on an erased person's links (sweepErasedClicks in
    // api/pipeline/erasure.ts) starts from the erased: it reads only them, however many contacts.
    index('contacts_erased_idx')
      .on(t.id)
      .where(sql`erased_at is not null`),
    // Search (api/db/search-documents.ts holds the same expression): name and address as one text,
    // folded (search_fold, migration 0031).
    index('contacts_search_trgm_idx').using(
      'gin',
      sql`search_fold(coalesce(${t.firstName}, '') || ' ' || coalesce(${t.lastName}, '') || ' ' || ${t.emailDisplay}) gin_trgm_ops`,
    ),
    // Search's first pass (api/db/search-documents.ts prefixKeys): full name, surname, address and
    // the address's domain, each folded, as btree range scans.
    index('contacts_name_prefix_idx').using(
      'btree',
      sql`search_fold(trim(coalesce(${t.firstName}, '') || ' ' || coalesce(${t.lastName}, ''))) text_pattern_ops`,
    ),
    index('contacts_last_name_prefix_idx').using(
      'btree',
      sql`search_fold(${t.lastName}) text_pattern_ops`,
    ),
    index('contacts_email_prefix_idx').using(
      'btree',
      sql`search_fold(${t.emailDisplay}) text_pattern_ops`,
    ),
    index('contacts_email_domain_idx').using(
      'btree',
      sql`search_fold(split_part(${t.emailDisplay}, '@', 2)) text_pattern_ops`,
    ),
  ],
)

/** Append-only: what was shown, when, where, how, for which purpose. */
export const consentEvents = pgTable(
  'consent_events',
  {
    id: text('id').primaryKey(),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    purpose: text('purpose').notNull(), // 'marketing'
    granted: boolean('granted').notNull(),
    textVersion: text('text_version'),
    textHash: text('text_hash'),
    method: text('method').notNull(), // 'checkbox', 'unsubscribe', 'admin'
    source: jsonb('source').$type<Record<string, unknown>>(), // form, page, utm
    submissionId: text('submission_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
  },
  (t) => [index('consent_contact_idx').on(t.contactId, t.createdAt)],
)

/** Every form post and unlock, including quarantined ones (kept, never dropped). */
export const submissions = pgTable(
  'submissions',
  {
    id: text('id').primaryKey(),
    contactId: text('contact_id').references(() => contacts.id),
    kind: text('kind', { enum: ['whitepaper', 'case_study', 'trial', 'grader'] }).notNull(),
    offer: text('offer').notNull(),
    email: text('email').notNull(),
    /** The form's fields as posted (strings), with consent (a boolean) and consentVersion. */
    fields: jsonb('fields').$type<Record<string, string | boolean | null>>().notNull(),
    pageUrl: text('page_url'),
    referrer: text('referrer'),
    /** The form's own UTM parameters (last touch): utm_source → value. */
    utm: jsonb('utm').$type<Record<string, string>>(),
    /** The campaign that first brought the visitor (api/leads/first-touch.ts). */
    firstTouch: jsonb('first_touch').$type<{
      utm: Record<string, string>
      landingPage: string
      referrer: string | null
      ts: string
    }>(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    status: text('status', { enum: ['accepted', 'quarantined', 'released'] }).notNull(),
    spamReasons: jsonb('spam_reasons').$type<string[]>(),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
    /** When a quarantined post was released into the pipeline. */
    releasedAt: ts('released_at'),
  },
  (t) => [
    index('submissions_contact_idx').on(t.contactId, t.createdAt),
    index('submissions_status_idx').on(t.status, t.createdAt),
    // Integrations sync leads by when they reached the pipeline: keyset on (that, id).
    index('submissions_pipeline_idx').on(sql`coalesce(${t.releasedAt}, ${t.createdAt})`, t.id),
  ],
)

export const downloadTokens = pgTable(
  'download_tokens',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull().unique(),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    offer: text('offer').notNull(),
    file: text('file').notNull(),
    expiresAt: ts('expires_at').notNull(),
    downloads: integer('downloads').notNull().default(0),
    lastDownloadAt: ts('last_download_at'),
    createdAt: createdAt(),
  },
  (t) => [index('download_tokens_contact_idx').on(t.contactId)],
)

// ── Pipeline ────────────────────────────────────────────────────────────────────────────────

export const STAGE_KEYS = [
  'opportunity',
  'target',
  'demo',
  'decision_maker',
  'negotiation',
  'signed',
  'won',
  'lost',
] as const

export const deals = pgTable(
  'deals',
  {
    id: text('id').primaryKey(),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    companyId: text('company_id').references(() => companies.id),
    title: text('title').notNull(),
    stage: text('stage', { enum: STAGE_KEYS }).notNull(),
    stageEnteredAt: ts('stage_entered_at').notNull().defaultNow(),
    source: text('source', { enum: LEAD_SOURCES }).notNull(),
    ownerId: text('owner_id').references(() => users.id),
    sdrId: text('sdr_id').references(() => users.id),
    amountCents: bigint('amount_cents', { mode: 'number' }),
    currency: text('currency').notNull().default('EUR'),
    expectedCloseDate: date('expected_close_date', { mode: 'string' }),
    contractSignedOn: date('contract_signed_on', { mode: 'string' }),
    paymentReceivedOn: date('payment_received_on', { mode: 'string' }),
    lostReason: text('lost_reason'),
    budgetNotes: text('budget_notes'),
    decisionProcessNotes: text('decision_process_notes'),
    claimedAt: ts('claimed_at'),
    closedAt: ts('closed_at'),
    /**
     * The earliest due date of the deal's open next steps (activities), null when none is
     * planned: kept by api/pipeline/activities.ts in the transaction of each change, so the board
     * counts "no next step" and My day finds due deals from an index, not by scanning activities.
     */
    nextStepOn: date('next_step_on', { mode: 'string' }),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // One open deal per contact: qualification stays idempotent under concurrency.
    uniqueIndex('deals_one_open_per_contact')
      .on(t.contactId)
      .where(sql`${t.stage} not in ('won', 'lost')`),
    // A contact's deals, newest first: the campaign page's recipients (open, else the latest),
    // the deal each of an SDR's targets is, and the contact page. The unique index above holds
    // open deals only.
    index('deals_contact_idx').on(t.contactId, t.createdAt),
    index('deals_queue_idx').on(t.stage, t.ownerId, t.createdAt),
    index('deals_owner_stage_idx').on(t.ownerId, t.stage, t.stageEnteredAt),
    index('deals_close_idx').on(t.expectedCloseDate),
    // Team pipeline columns, stale counts and recently closed deals: one stage, ordered by age.
    index('deals_stage_entered_idx').on(t.stage, t.stageEnteredAt),
    // Integrations sync changes page by page: keyset on (updated_at, id).
    index('deals_updated_idx').on(t.updatedAt, t.id),
    // Search (api/search/): trigram index for substring matches on the title, folded
    // (search_fold, migration 0031).
    index('deals_title_trgm_idx').using('gin', sql`search_fold(${t.title}) gin_trgm_ops`),
    // Search's first pass (api/db/search-documents.ts prefixKeys): a title starting with the query.
    index('deals_title_prefix_idx').using('btree', sql`search_fold(${t.title}) text_pattern_ops`),
    // My day: a rep's open deals with a next step due by a day, and those without one.
    index('deals_owner_next_step_idx')
      .on(t.ownerId, t.nextStepOn)
      .where(sql`next_step_on is not null and stage not in ('won', 'lost')`),
    index('deals_owner_no_next_step_idx')
      .on(t.ownerId, t.stageEnteredAt)
      .where(sql`next_step_on is null and stage not in ('won', 'lost')`),
  ],
)

/** Stage history and the evidence ledger ("why this is a target"). Append-only. */
export const dealEvents = pgTable(
  'deal_events',
  {
    id: text('id').primaryKey(),
    dealId: text('deal_id')
      .notNull()
      .references(() => deals.id, { onDelete: 'cascade' }),
    type: text('type', {
      enum: ['created', 'stage_changed', 'evidence', 'claimed', 'note', 'updated', 'activity'],
    }).notNull(),
    fromStage: text('from_stage'),
    toStage: text('to_stage'),
    actorId: text('actor_id').references(() => users.id),
    /** What the event carries, by type (evidence: `kind` and its front door's details). */
    data: jsonb('data').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    index('deal_events_deal_idx').on(t.dealId, t.createdAt),
    index('deal_events_stage_idx').on(t.type, t.createdAt),
  ],
)

/**
 * The stage history as one narrow row per move — a deal's creation is the move into its first
 * stage — with how long the deal sat in the stage it left: what the bottleneck numbers scan
 * (api/pipeline/queries.ts periodFlow), so a period's moves are read from a covering index instead
 * of the wide, JSON-carrying event rows. Kept by triggers (migration 0003), not by the application:
 * every writer of deal_events — the API, the demo seed, imports — keeps it in step, and owner_id
 * follows the deal's current owner as the "mine" view expects.
 */
export const stageMoves = pgTable(
  'stage_moves',
  {
    eventId: text('event_id')
      .primaryKey()
      .references(() => dealEvents.id, { onDelete: 'cascade' }),
    dealId: text('deal_id')
      .notNull()
      .references(() => deals.id, { onDelete: 'cascade' }),
    ownerId: text('owner_id').references(() => users.id),
    /** Null for the deal's creation. */
    fromStage: text('from_stage'),
    toStage: text('to_stage').notNull(),
    movedAt: ts('moved_at').notNull(),
    /** Time in `fromStage` ending with this move; null for the creation. */
    secondsInStage: doublePrecision('seconds_in_stage'),
  },
  (t) => [
    // Grouped by (from, to) for the bottleneck numbers: PostgreSQL 18's skip scan (PGlite) reads
    // each pair's moves in the period already in group order, so the aggregate needs no sort.
    index('stage_moves_pair_idx').on(t.fromStage, t.toStage, t.movedAt, t.secondsInStage),
    // The same range for servers before PostgreSQL 18, which have no skip scan.
    index('stage_moves_period_idx').on(t.movedAt, t.fromStage, t.toStage, t.secondsInStage),
    index('stage_moves_owner_idx').on(
      t.ownerId,
      t.movedAt,
      t.fromStage,
      t.toStage,
      t.secondsInStage,
    ),
    index('stage_moves_deal_idx').on(t.dealId),
  ],
)

export const dealStakeholders = pgTable(
  'deal_stakeholders',
  {
    id: text('id').primaryKey(),
    dealId: text('deal_id')
      .notNull()
      .references(() => deals.id, { onDelete: 'cascade' }),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    role: text('role', {
      enum: ['decision_maker', 'economic_buyer', 'influencer', 'champion', 'user', 'blocker'],
    }).notNull(),
    stance: text('stance', { enum: ['supportive', 'neutral', 'opposed'] }).notNull(),
    notes: text('notes'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('deal_stakeholders_unique').on(t.dealId, t.contactId)],
)

export const ACTIVITY_TYPES = ['call', 'email', 'meeting', 'task'] as const

/**
 * A deal's next steps and what was done: planned ones have a due day (and maybe a time) on the
 * clock of `time_zone`, the planner's zone; done ones a done_at and an outcome. One logged after
 * the fact is done from the start. Every change is also on the deal's timeline (deal_events).
 */
export const activities = pgTable(
  'activities',
  {
    id: text('id').primaryKey(),
    dealId: text('deal_id')
      .notNull()
      .references(() => deals.id, { onDelete: 'cascade' }),
    type: text('type', { enum: ACTIVITY_TYPES }).notNull(),
    /** Null for an activity logged after the fact. */
    dueOn: date('due_on', { mode: 'string' }),
    /** Optional wall-clock time, HH:MM. */
    dueTime: text('due_time'),
    timeZone: text('time_zone').notNull(),
    note: text('note'),
    doneAt: ts('done_at'),
    outcome: text('outcome'),
    createdBy: text('created_by').references(() => users.id),
    doneBy: text('done_by').references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [
    index('activities_deal_idx').on(t.dealId, t.createdAt),
    // A deal's open next steps, soonest first (cards, the deal page, My day).
    index('activities_open_idx')
      .on(t.dealId, t.dueOn, t.dueTime)
      .where(sql`done_at is null`),
  ],
)

/**
 * Who created or changed a contact or a company by hand, when, and what changed (field → [old,
 * new]). Append-only: the contact's and company's pages and the timelines of their deals read it.
 */
export const recordChanges = pgTable(
  'record_changes',
  {
    id: text('id').primaryKey(),
    recordType: text('record_type', { enum: ['contact', 'company'] }).notNull(),
    recordId: text('record_id').notNull(),
    action: text('action', { enum: ['created', 'updated'] }).notNull(),
    actorId: text('actor_id').references(() => users.id),
    changes: jsonb('changes'),
    createdAt: createdAt(),
  },
  (t) => [index('record_changes_record_idx').on(t.recordType, t.recordId, t.createdAt)],
)

// ── Grader ──────────────────────────────────────────────────────────────────────────────────

export const graderReports = pgTable(
  'grader_reports',
  {
    id: text('id').primaryKey(),
    normalizedUrl: text('normalized_url').notNull(),
    host: text('host').notNull(),
    status: text('status', { enum: ['pending', 'running', 'done', 'failed'] }).notNull(),
    finalUrl: text('final_url'),
    total: integer('total'),
    band: text('band'),
    platform: text('platform'),
    result: jsonb('result'),
    teaser: jsonb('teaser'),
    rubricVersion: text('rubric_version'),
    error: text('error'),
    requesterIp: text('requester_ip'),
    leaseUntil: ts('lease_until'),
    createdAt: createdAt(),
    completedAt: ts('completed_at'),
  },
  (t) => [
    index('grader_reports_url_idx').on(t.normalizedUrl, t.createdAt),
    index('grader_reports_created_idx').on(t.createdAt),
  ],
)

/** A visitor who unlocked a report holds a cookie token; only its hash is kept. */
export const graderUnlocks = pgTable('grader_unlocks', {
  id: text('id').primaryKey(),
  reportId: text('report_id')
    .notNull()
    .references(() => graderReports.id),
  contactId: text('contact_id')
    .notNull()
    .references(() => contacts.id),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: createdAt(),
})

// ── Outbound ────────────────────────────────────────────────────────────────────────────────

export const CAMPAIGN_STATUSES = ['draft', 'ready', 'sending', 'paused', 'completed'] as const

/**
 * An SDR's outreach: templates with merge fields, a sender on the verified sending domain, a
 * per-sender hourly rate and a sending window in the campaign's time zone (api/campaigns/).
 */
export const campaigns = pgTable(
  'campaigns',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** The SDR credited with the prospects and targets it produces. */
    ownerId: text('owner_id')
      .notNull()
      .references(() => users.id),
    senderName: text('sender_name').notNull(),
    senderEmail: text('sender_email').notNull(),
    replyTo: text('reply_to'),
    subjectTemplate: text('subject_template').notNull(),
    bodyTemplate: text('body_template').notNull(),
    status: text('status', { enum: CAMPAIGN_STATUSES }).notNull().default('draft'),
    ratePerHour: integer('rate_per_hour').notNull().default(50),
    windowStartHour: integer('window_start_hour').notNull().default(8),
    windowEndHour: integer('window_end_hour').notNull().default(18),
    timezone: text('timezone').notNull().default('UTC'),
    /** The latest send slot handed out (the scheduler spaces a sender's slots from it). */
    lastSlotAt: ts('last_slot_at'),
    /** When the SDR scheduled the start ("Start at"): no send slot before it. Null: at once. */
    startAfter: ts('start_after'),
    createdBy: text('created_by')
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    completedAt: ts('completed_at'),
    /**
     * Set when a person stopped it (status `completed`, as when everything went): when, and who.
     * Its recipients never sent are `stopped`.
     */
    stoppedAt: ts('stopped_at'),
    stoppedBy: text('stopped_by').references(() => users.id),
    /** The sent campaign whose non-clickers this one follows up (follow-ups.ts), and how many. */
    followUpOf: text('follow_up_of').references((): AnyPgColumn => campaigns.id, {
      onDelete: 'set null',
    }),
    followUpCount: integer('follow_up_count'),
  },
  (t) => [
    index('campaigns_owner_idx').on(t.ownerId, t.createdAt),
    index('campaigns_status_idx').on(t.status),
  ],
)

export const campaignRecipients = pgTable(
  'campaign_recipients',
  {
    id: text('id').primaryKey(),
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    contactId: text('contact_id')
      .notNull()
      .references(() => contacts.id),
    email: text('email').notNull(),
    fields: jsonb('fields').notNull(),
    line: integer('line'),
    status: text('status', {
      // skipped: in the pipeline by its turn (a rep has them), so not emailed. removed: taken out
      // by whoever runs the campaign before it was handed to the outbox, never enqueued.
      // stopped: still waiting (or taken back from the outbox) when a person stopped the campaign.
      enum: [
        'pending',
        'queued',
        'sent',
        'bounced',
        'suppressed',
        'failed',
        'skipped',
        'removed',
        'stopped',
      ],
    })
      .notNull()
      .default('pending'),
    outboxId: text('outbox_id'),
    /** The send slot the scheduler gave this row (the outbox row's run_after). */
    scheduledAt: ts('scheduled_at'),
    /** When the transport accepted it (copied from the outbox). */
    sentAt: ts('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('campaign_recipients_unique').on(t.campaignId, t.email),
    // The scheduler takes pending rows in file order.
    index('campaign_recipients_status_idx').on(t.campaignId, t.status, t.line),
    // What went out when (an SDR's week): only sent rows, so an import's pending ones add none.
    index('campaign_recipients_sent_idx')
      .on(t.campaignId, t.sentAt)
      .where(sql`status = 'sent'`),
    // The deal timeline and the import's "already a recipient" look-ups.
    index('campaign_recipients_contact_idx').on(t.contactId),
    index('campaign_recipients_outbox_idx').on(t.outboxId),
  ],
)

/**
 * An uploaded CSV of prospects, kept in the database so any process can import it: a job claims
 * it with a lease and works through it in small transactions, recording its position and counts.
 */
export const campaignImports = pgTable(
  'campaign_imports',
  {
    id: text('id').primaryKey(),
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    filename: text('filename').notNull(),
    content: bytea('content').notNull(),
    bytes: integer('bytes').notNull(),
    status: text('status', { enum: ['pending', 'running', 'done', 'failed'] })
      .notNull()
      .default('pending'),
    /** The header as read, and what each column maps to. */
    columns: jsonb('columns').$type<Array<{ header: string; field: string }>>(),
    delimiter: text('delimiter'),
    totalRows: integer('total_rows'),
    /** Data rows done, in file order: where a new lease holder carries on. */
    processedRows: integer('processed_rows').notNull().default(0),
    imported: integer('imported').notNull().default(0),
    duplicates: integer('duplicates').notNull().default(0),
    suppressed: integer('suppressed').notNull().default(0),
    inPipeline: integer('in_pipeline').notNull().default(0),
    /** Still waiting or queued in another campaign that is not completed: not imported. */
    inOtherCampaign: integer('in_other_campaign').notNull().default(0),
    invalid: integer('invalid').notNull().default(0),
    error: text('error'),
    leaseUntil: ts('lease_until'),
    lockedBy: text('locked_by'),
    createdBy: text('created_by').references(() => users.id),
    createdAt: createdAt(),
    completedAt: ts('completed_at'),
  },
  (t) => [
    index('campaign_imports_campaign_idx').on(t.campaignId, t.createdAt),
    index('campaign_imports_status_idx').on(t.status),
  ],
)

/** A row the import refused, by its line in the file, with the reason and its values. */
export const campaignImportErrors = pgTable(
  'campaign_import_errors',
  {
    importId: text('import_id')
      .notNull()
      .references(() => campaignImports.id, { onDelete: 'cascade' }),
    line: integer('line').notNull(),
    email: text('email'),
    reason: text('reason').notNull(),
    /**
     * The row's values as the file had them, column by column, so the refused rows can be
     * downloaded as they were uploaded, fixed and uploaded again. Null for a line that could not be
     * read as CSV, for a person erased (api/campaigns/imports.ts, api/pipeline/erasure.ts), and for
     * rows refused before this was kept.
     */
    cells: jsonb('cells').$type<string[]>(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.line] })],
)

/** /r/<token> → destination. The destination never appears in the URL (no open redirect). */
export const trackedLinks = pgTable(
  'tracked_links',
  {
    token: text('token').primaryKey(),
    recipientId: text('recipient_id')
      .notNull()
      .references(() => campaignRecipients.id, { onDelete: 'cascade' }),
    campaignId: text('campaign_id').notNull(),
    url: text('url').notNull(),
    position: integer('position').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('tracked_links_recipient_idx').on(t.recipientId)],
)

export const clickEvents = pgTable(
  'click_events',
  {
    id: text('id').primaryKey(),
    token: text('token').notNull(),
    recipientId: text('recipient_id'),
    campaignId: text('campaign_id'),
    kind: text('kind', { enum: ['click', 'beacon'] })
      .notNull()
      .default('click'),
    method: text('method').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    headers: jsonb('headers'),
    /** api/tracking/verdicts.ts; `pending` until the verdict job has judged it. */
    verdict: text('verdict', {
      enum: ['pending', 'bot', 'likely_bot', 'human', 'human_confirmed'],
    })
      .notNull()
      .default('pending'),
    /** Why, as codes plus a sentence a rep reads (plain strings in rows from before the codes). */
    reasons: jsonb('reasons').$type<Array<{ code: string; sentence: string } | string>>(),
    rulesVersion: text('rules_version'),
    /** When the verdict job last judged it (null: not yet). */
    processedAt: ts('processed_at'),
    /** The click that qualified its prospect: evidence is added once, re-scores never repeat it. */
    qualifiedAt: ts('qualified_at'),
    /**
     * Set with `qualifiedAt` when that qualification made a target: a new deal at 10%, or the
     * prospect's opportunity moved up to it. Null where it only added evidence to a deal already
     * at 10% or past it (made by a form, or moved on by a rep): campaign results count these.
     */
    madeTargetAt: ts('made_target_at'),
    /** Single-use reference the landing page's beacon sends back (pages of this site only). */
    beaconRef: text('beacon_ref'),
    /** When a beacon with real interaction confirmed a person. */
    confirmedAt: ts('confirmed_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('click_events_recipient_idx').on(t.recipientId, t.createdAt),
    // The verdict job's queue: clicks not judged yet, oldest first.
    index('click_events_unjudged_idx')
      .on(t.createdAt)
      .where(sql`processed_at is null`),
    index('click_events_campaign_idx').on(t.campaignId, t.createdAt),
    // The people among a campaign's clicks, and the targets they made, by when (an SDR's home):
    // a few in a hundred clicks, so the clicks the redirect inserts (pending, no target) add none.
    index('click_events_human_idx')
      .on(t.campaignId, t.createdAt)
      .where(sql`verdict in ('human', 'human_confirmed')`),
    index('click_events_made_target_idx')
      .on(t.campaignId, t.madeTargetAt)
      .where(sql`made_target_at is not null`),
    uniqueIndex('click_events_beacon_ref_idx')
      .on(t.beaconRef)
      .where(sql`beacon_ref is not null`),
  ],
)

// ── Email ───────────────────────────────────────────────────────────────────────────────────

/** Transactional outbox: every side effect is a row committed with the change that caused it. */
export const outbox = pgTable(
  'outbox',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(), // 'email'
    category: text('category', { enum: ['transactional', 'marketing', 'outreach'] }),
    recipient: text('recipient'), // canonical email, for suppression checks
    payload: jsonb('payload').notNull(),
    status: text('status', {
      enum: ['pending', 'sending', 'sent', 'failed', 'suppressed'],
    })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    runAfter: ts('run_after').notNull().defaultNow(),
    leaseUntil: ts('lease_until'),
    lockedBy: text('locked_by'),
    lastError: text('last_error'),
    lastErrorKind: text('last_error_kind'),
    providerId: text('provider_id'),
    dedupeKey: text('dedupe_key').unique(),
    createdAt: createdAt(),
    sentAt: ts('sent_at'),
  },
  (t) => [
    index('outbox_due_idx').on(t.status, t.runAfter),
    index('outbox_recipient_idx').on(t.recipient),
    // A provider's delivery event names the message by the id the provider gave it.
    index('outbox_provider_idx')
      .on(t.providerId)
      .where(sql`provider_id is not null`),
    // The messages done with that still carry their body, by age: what the retention
    // (api/email/outbox-retention.ts) has left to prune, never the rows it pruned before.
    index('outbox_unpruned_idx')
      .on(t.createdAt)
      .where(sql`status in ('sent', 'failed', 'suppressed') and payload ? 'html'`),
  ],
)

/**
 * What a provider reported about a message after taking it (api/email/delivery-events.ts): one
 * row per event, keyed by the provider's event id, so a redelivered event is recorded once and
 * acted on once. No address in it: `detail` is the bounce's kind, never its text.
 */
export const emailEvents = pgTable(
  'email_events',
  {
    /** The provider's id for the event (Resend: the svix-id header, the same on every retry). */
    id: text('id').primaryKey(),
    outboxId: text('outbox_id').notNull(),
    type: text('type', {
      enum: ['delivered', 'bounced', 'complained', 'suppressed', 'failed'],
    }).notNull(),
    /** A bounce's type and subtype as the provider names them, e.g. `Permanent/General`. */
    detail: text('detail'),
    /** When the provider says it happened. */
    occurredAt: ts('occurred_at').notNull(),
    receivedAt: ts('received_at').notNull(),
  },
  (t) => [index('email_events_outbox_idx').on(t.outboxId, t.type)],
)

/** The dev mailbox: what the default transport "sends". */
export const mailboxMessages = pgTable(
  'mailbox_messages',
  {
    id: text('id').primaryKey(),
    outboxId: text('outbox_id'),
    from: text('from_address').notNull(),
    to: text('to_address').notNull(),
    subject: text('subject').notNull(),
    html: text('html'),
    text: text('text').notNull(),
    headers: jsonb('headers').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('mailbox_created_idx').on(t.createdAt)],
)

export const suppressions = pgTable('suppressions', {
  /** The canonical address; for an erased person, the SHA-256 (hex) of it (api/email/suppressions.ts). */
  email: text('email').primaryKey(),
  reason: text('reason', {
    enum: ['unsubscribe', 'hard_bounce', 'complaint', 'manual', 'erased'],
  }).notNull(),
  source: text('source'),
  note: text('note'),
  createdBy: text('created_by'),
  createdAt: createdAt(),
})

/** Never expiring, one per message; only the token's hash (hashToken), so no stored row works as a link. */
export const unsubscribeTokens = pgTable('unsubscribe_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  email: text('email').notNull(),
  campaignId: text('campaign_id'),
  createdAt: createdAt(),
})

/** Shared transport health, so a rejected credential pauses every worker process. */
export const transportStatus = pgTable('transport_status', {
  name: text('name').primaryKey(),
  state: text('state', { enum: ['ok', 'paused', 'unreachable'] }).notNull(),
  reason: text('reason'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
})

// ── Integrations ────────────────────────────────────────────────────────────────────────────

/** API tokens for integrations: "fdt_<id>.<secret>", only SHA-256(secret) stored (as sessions). */
export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  secretHash: bytea('secret_hash').notNull(),
  scopes: jsonb('scopes').$type<string[]>().notNull(),
  /** The admin the token acts for; it stops working when they are disabled or no longer admin. */
  createdBy: text('created_by')
    .notNull()
    .references(() => users.id),
  createdAt: createdAt(),
  expiresAt: ts('expires_at'),
  lastUsedAt: ts('last_used_at'),
  revokedAt: ts('revoked_at'),
})

/** Where events go: a URL, the event types it wants, and the Standard Webhooks secret. */
export const webhookSubscriptions = pgTable('webhook_subscriptions', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  events: jsonb('events').$type<string[]>().notNull(),
  /** "whsec_<base64>", shown to the admin so the receiver can verify signatures. */
  secret: text('secret').notNull(),
  /**
   * The secret before the last rotation, still signed with (beside `secret`) until
   * `previousSecretExpiresAt`, so that a receiver can switch without refusing a delivery.
   */
  previousSecret: text('previous_secret'),
  previousSecretExpiresAt: ts('previous_secret_expires_at'),
  createdBy: text('created_by')
    .notNull()
    .references(() => users.id),
  createdAt: createdAt(),
  /** Since when every attempt has failed; null after a success. Three days of it disable. */
  failingSince: ts('failing_since'),
  disabledAt: ts('disabled_at'),
  disabledReason: text('disabled_reason'),
})

/** The webhook outbox: one row per event, written in the transaction of the change. */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_events_created_idx').on(t.createdAt)],
)

/** One event to one subscription: claimed with a lease, delivered in event order per subscription. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    // A delivery waits ('pending', its lease and backoff below) or was given up ('failed'); the
    // worker's successes are not kept here but in webhook_successes (the row is deleted).
    status: text('status', { enum: ['pending', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    runAfter: ts('run_after').notNull().defaultNow(),
    leaseUntil: ts('lease_until'),
    lockedBy: text('locked_by'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.subscriptionId, t.eventId] }),
    // The head of each subscription's queue: its oldest pending event.
    index('webhook_deliveries_pending_idx')
      .on(t.subscriptionId, t.eventId)
      .where(sql`status = 'pending'`),
    index('webhook_deliveries_due_idx')
      .on(t.runAfter)
      .where(sql`status = 'pending'`),
  ],
)

/**
 * One delivery the worker made, as webhook_successes.deliveries holds it: a JSON array, not an
 * object, a third the bytes (each byte is copied and checked on the server's thread on PGlite).
 */
export type WebhookSuccess = [
  eventId: string,
  /** When the receiver's answer came, epoch milliseconds. */
  deliveredAtMs: number,
  attempts: number,
  statusCode: number,
  latencyMs: number,
  responseExcerpt: string | null,
]

/**
 * The worker's successful deliveries, a row per subscription per write (what one lane sent in up
 * to `batchMs`, in event order), the deliveries themselves in one JSON array: on PGlite, whose SQL
 * runs on the server's one thread, writing a row (or an index entry) per delivery cost more than
 * the POST it records, where deleting the delivered queue rows and writing one such row does not.
 * The delivery log expands them (api/integrations/webhook-log.ts).
 */
export const webhookSuccesses = pgTable(
  'webhook_successes',
  {
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    /** Bounds of the deliveries' delivered_at, to page the log without expanding every row. */
    firstDeliveredAt: ts('first_delivered_at').notNull(),
    lastDeliveredAt: ts('last_delivered_at').notNull(),
    /** Bounds of their event ids, to find an event's delivery without expanding every row. */
    firstEventId: text('first_event_id').notNull(),
    lastEventId: text('last_event_id').notNull(),
    count: integer('count').notNull(),
    deliveries: json('deliveries').$type<WebhookSuccess[]>().notNull(),
  },
  (t) => [
    // The delivery log, newest first.
    index('webhook_successes_log_idx').on(t.subscriptionId, t.lastDeliveredAt),
    // An event's delivery (its page in the log).
    index('webhook_successes_event_idx').on(t.subscriptionId, t.firstEventId),
    // Retention.
    index('webhook_successes_retention_idx').on(t.lastDeliveredAt),
    // The longest time a row spans: how far past a cursor the log looks for rows straddling it
    // (lanes overlapping in time write such rows; webhook-log.ts deliveredSide).
    index('webhook_successes_span_idx').on(
      t.subscriptionId,
      sql`(last_delivered_at - first_delivered_at)`,
    ),
  ],
)

/**
 * The delivery log's attempts that webhook_successes does not hold: failures and sends by hand
 * (the worker's successes are there), with what the receiver answered.
 */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    ok: boolean('ok').notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    responseExcerpt: text('response_excerpt'),
    manual: boolean('manual').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_attempts_subscription_idx').on(t.subscriptionId, t.createdAt),
    // An event's attempts (its page in the log), and their cascade when retention deletes it.
    index('webhook_attempts_event_idx').on(t.eventId, t.subscriptionId),
  ],
)
