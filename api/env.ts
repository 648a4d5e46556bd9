import { createPrivateKey } from 'node:crypto'
import { existsSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import { z } from 'zod'
import { parseMailbox } from './email-headers.ts'

// The only reader of process.env. Everything else receives the parsed Env.

/** A yes/no setting: true, 1 or yes; false, 0 or no. */
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

const mailbox = z
  .string()
  .refine((v) => parseMailbox(v) !== null, 'must be an address like "Name <hello@example.com>"')
  .optional()

/** A Standard Webhooks secret the verifier accepts (it base64-decodes what follows whsec_). */
function isSigningSecret(v: string): boolean {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(v)) return false
  try {
    new Webhook(v)
    return true
  } catch {
    return false
  }
}

/** A URL that parses and names a host (its port, if any, a number: URL's parser checks it). */
function isServerUrl(value: string): boolean {
  try {
    return new URL(value).hostname !== ''
  } catch {
    return false
  }
}

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  // Empty (`APP_ORIGIN=` in a .env) is unset, like the other optional settings.
  APP_ORIGIN: optionalString.pipe(
    z
      .url({ protocol: /^https?$/ })
      .default('http://localhost:4321')
      .transform((v) => new URL(v).origin),
  ),
  PORT: z.coerce.number().int().min(0).max(65535).default(4321),
  HOST: z.string().min(1).default('localhost'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
  ),
  DATA_DIR: z.string().min(1).default('./data'),
  CONTENT_FILES_DIR: z.string().min(1).default('./content-files'),
  // Lead capture: how long a download link works; posts per IP, and for one email address, per
  // hour before quarantine.
  DOWNLOAD_LINK_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  LEADS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(20),
  LEADS_PER_ADDRESS_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(5),
  // Requests one API token may make per minute (429 with Retry-After past it).
  API_TOKEN_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  TRUST_PROXY: bool.default(false),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  SESSION_INACTIVITY_DAYS: z.coerce.number().positive().max(365).default(14),
  SESSION_ABSOLUTE_DAYS: z.coerce.number().positive().max(365).default(30),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(50_000_000)
    .default(64 * 1024),
  SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
  // Email (issue: email delivery).
  SMTP_URL: optionalString.pipe(
    z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      // Read at start, not at the first email: a port that is no number, or no host, stops here.
      .refine(
        isServerUrl,
        'must name a host, and a port that is a number (smtp://user:pass@host:587)',
      )
      .optional(),
  ),
  RESEND_API_KEY: optionalString,
  RESEND_BASE_URL: optionalString.pipe(z.url().optional()),
  // The signing secret of the Resend webhook that reports deliveries, bounces and complaints
  // (api/email/delivery-events.ts). Unset: POST /api/email/events/resend answers 503.
  RESEND_WEBHOOK_SECRET: optionalString.pipe(
    z
      .string()
      .refine(isSigningSecret, 'must be the signing secret Resend shows, whsec_ and base64')
      .optional(),
  ),
  DKIM_DOMAIN: optionalString,
  DKIM_SELECTOR: optionalString,
  // A .env file cannot hold a multi-line value: a literal `\n` in the key stands for a newline.
  DKIM_PRIVATE_KEY: optionalString.transform((v) => v?.replace(/\\n/g, '\n')),
  MAIL_FROM: optionalString.pipe(mailbox),
  MAIL_FROM_MARKETING: optionalString.pipe(mailbox),
  MAIL_REPLY_TO: optionalString.pipe(mailbox),
  // Unset: the company's name in api/content/site.ts (one source for site, emails and settings).
  BRAND_NAME: optionalString.pipe(z.string().max(100).optional()),
  POSTAL_ADDRESS: optionalString.pipe(z.string().max(300).optional()),
  OUTBOX_WORKER: bool.default(true),
  OUTBOX_MAX_AGE_HOURS: z.coerce.number().positive().default(72),
  // Days a message that is done (sent, failed, suppressed) keeps its body and the recipient's
  // name and address in the payload, and the dev mailbox its copy (api/email/outbox-retention.ts).
  OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  // Grader: test-only addresses treated as public; refused when NODE_ENV=production.
  GRADER_ALLOW_ADDRESSES: optionalString,
  // Webhooks: the same, for delivery targets (a test's loopback receiver); refused in production.
  WEBHOOK_ALLOW_ADDRESSES: optionalString,
  DEMO_SEED: z.enum(['ask', 'yes', 'no']).default('ask'),
})

export type Env = z.infer<typeof envSchema>

export class EnvError extends Error {}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source)
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
    throw new EnvError(`Invalid configuration:\n${lines.join('\n')}`)
  }
  const env = result.data
  // Without APP_ORIGIN, links point at where this process listens.
  if (source.APP_ORIGIN === undefined || source.APP_ORIGIN.trim() === '') {
    const host = ['0.0.0.0', '::'].includes(env.HOST) ? 'localhost' : env.HOST
    env.APP_ORIGIN = `http://${host.includes(':') ? `[${host}]` : host}:${env.PORT}`
  }
  if (env.NODE_ENV === 'production' && env.GRADER_ALLOW_ADDRESSES) {
    throw new EnvError(
      'Invalid configuration:\n  GRADER_ALLOW_ADDRESSES: must not be set when NODE_ENV=production',
    )
  }
  if (env.NODE_ENV === 'production' && env.WEBHOOK_ALLOW_ADDRESSES) {
    throw new EnvError(
      'Invalid configuration:\n  WEBHOOK_ALLOW_ADDRESSES: must not be set when NODE_ENV=production',
    )
  }
  const dkim = {
    DKIM_DOMAIN: env.DKIM_DOMAIN,
    DKIM_SELECTOR: env.DKIM_SELECTOR,
    DKIM_PRIVATE_KEY: env.DKIM_PRIVATE_KEY,
  }
  const missing = Object.entries(dkim)
    .filter(([, v]) => !v)
    .map(([k]) => k)
  if (missing.length > 0 && missing.length < 3) {
    throw new EnvError(
      `Invalid configuration:\n  ${missing.join(', ')}: DKIM signing needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY together`,
    )
  }
  if (env.DKIM_PRIVATE_KEY) {
    try {
      createPrivateKey(env.DKIM_PRIVATE_KEY)
    } catch {
      throw new EnvError(
        'Invalid configuration:\n  DKIM_PRIVATE_KEY: must be a PEM private key (newlines written as \\n are accepted)',
      )
    }
  }
  return env
}

/** Entry points call this first: a `.env` file in the working directory fills unset variables. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path)
}
