import { createIsbotFromList, list as isbotList } from 'isbot'
import { knownNetwork, normalAddress, sourceKey } from './networks.ts'

/**
 * Which clicks on outreach links are people: a pure function of the click, the same message's
 * other clicks, the campaign's clicks around it and the message's send time, with `now` passed
 * in. Most first clicks on a B2B mailbox are mail-security scanners (Safe Links, Proofpoint,
 * Mimecast, Barracuda, Google) fetching every link of a message within a second, 20–120 s after
 * delivery, some with browser user agents; so no single weak signal decides, and every verdict
 * carries its reasons as codes plus a sentence a rep understands.
 *
 * Change RULES_VERSION with any change to the rules or to data/security-networks.json: the
 * verdict job re-judges clicks that still hold their network data (and never un-qualifies).
 */

export const RULES_VERSION = '2026-12-06.1'

export const VERDICTS = ['bot', 'likely_bot', 'human', 'human_confirmed'] as const
export type Verdict = (typeof VERDICTS)[number]

export type ReasonCode =
  | 'head_request'
  | 'prefetch_header'
  | 'empty_user_agent'
  | 'bot_user_agent'
  | 'security_network'
  | 'hosting_network'
  | 'link_sweep'
  | 'two_links_at_once'
  | 'repeat_at_once'
  | 'link_hammered'
  | 'campaign_burst'
  | 'campaign_cluster'
  | 'instant_after_send'
  | 'soon_after_send'
  | 'no_browser_language'
  | 'scanner_headers'
  | 'beacon_confirmed'
  | 'no_bot_signal'

export interface Reason {
  code: ReasonCode
  sentence: string
}

export interface Judgement {
  verdict: Verdict
  reasons: Reason[]
  rulesVersion: string
  /**
   * Whether the clicks that could still change this verdict (the rest of a sweep or burst) have
   * had time to arrive: a `human` qualifies only once settled.
   */
  settled: boolean
}

/** What the rules read of a click (a click_events row). */
export interface ClickFacts {
  id: string
  /** The tracked link (one per recipient × link). */
  token: string
  recipientId: string | null
  method: string
  ip: string | null
  userAgent: string | null
  headers: Record<string, string> | null
  at: Date
}

export interface ClickContext {
  /** When the transport accepted the message (null when unknown). */
  sentAt: Date | null
  /** The same recipient's other clicks (any link, any source). */
  messageClicks: readonly ClickFacts[]
  /** Other recipients' clicks on the same campaign within CAMPAIGN_BURST_MS of this one. */
  campaignClicks: readonly ClickFacts[]
  /** A beacon with real interaction on the page this click opened. */
  confirmedAt?: Date | null
}

/** Distinct links of one message from one source within this span: a scanner walking the message. */
export const SWEEP_MS = 5_000
/** Two distinct links (or the same one twice) from one source this close: a weaker signal. */
export const PAIR_MS = 2_000
/** Recipients of one campaign from one network within this span: a gateway scanning the campaign. */
export const CAMPAIGN_BURST_MS = 10_000
export const CAMPAIGN_BURST_RECIPIENTS = 5
/** Fewer recipients from one network at once is weaker: colleagues in one office do click together. */
export const CAMPAIGN_CLUSTER_RECIPIENTS = 3
/** A click this soon after sending: scanners fetch at delivery; so do a few quick people. */
export const SOON_AFTER_SEND_MS = 15_000
/**
 * A click sooner than this after the transport took the message: before a person could have it
 * delivered, see it, open it and click. A program at delivery, whatever headers it sends.
 */
export const INSTANT_AFTER_SEND_MS = 3_000
/**
 * Mail scanners fetch a message 20–120 s after delivery: a click this soon without the
 * Accept-Language every browser sends is one (people who click this soon send it).
 */
export const SCANNER_WINDOW_MS = 120_000
/** A `human` verdict settles once later clicks of a sweep or burst could no longer change it. */
export const SETTLE_MS = 30_000

/** Signals a beacon cannot outweigh. */
const SCANNER_SIGNALS = new Set<ReasonCode>([
  'security_network',
  'link_sweep',
  'campaign_burst',
  'instant_after_send',
])

/** Scores at or above these (with no certain signal) make `bot` / `likely_bot`. */
const BOT_SCORE = 5
/** One link opened this many times within PAIR_MS from one source: a program, not a person. */
const HAMMER_CLICKS = 5
const LIKELY_BOT_SCORE = 3

const WEIGHTS: Partial<Record<ReasonCode, number>> = {
  security_network: 3,
  link_sweep: 5,
  campaign_burst: 3,
  campaign_cluster: 2,
  two_links_at_once: 2,
  repeat_at_once: 1,
  link_hammered: 5,
  hosting_network: 1,
  instant_after_send: 3,
  soon_after_send: 1,
  no_browser_language: 1,
  scanner_headers: 2,
}

/** isbot's maintained list, plus mail-security fetchers it does not name. */
const isScannerUserAgent = createIsbotFromList([
  ...isbotList,
  'barracuda',
  'proofpoint',
  'mimecast',
  'existence discovery',
])

const PREFETCH = /prefetch|preview|prerender/i

function seconds(ms: number): string {
  const s = ms / 1000
  if (s < 10) return `${Number(s.toFixed(1))} s`
  if (s < 120) return `${Math.round(s)} s`
  return `${Math.round(s / 60)} min`
}

function prefetchHeader(headers: Record<string, string> | null): string | null {
  if (!headers) return null
  for (const name of ['purpose', 'sec-purpose', 'x-purpose', 'x-moz']) {
    const value = headers[name]
    if (value && PREFETCH.test(value)) return `${name}: ${value}`
  }
  return null
}

/** Clicks from the same source as `click` within `spanMs` either side, `click` included. */
function sameSourceNear(click: ClickFacts, others: readonly ClickFacts[], spanMs: number) {
  const key = sourceKey(click.ip)
  if (!key) return [click]
  const t = click.at.getTime()
  return [
    click,
    ...others.filter(
      (o) => o.id !== click.id && Math.abs(o.at.getTime() - t) <= spanMs && sourceKey(o.ip) === key,
    ),
  ]
}

function span(clicks: readonly ClickFacts[]): number {
  const times = clicks.map((c) => c.at.getTime())
  return Math.max(...times) - Math.min(...times)
}

function fromWhere(clicks: readonly ClickFacts[]): string {
  return new Set(clicks.map((c) => normalAddress(c.ip))).size === 1 ? 'one address' : 'one network'
}

/** The signals that say "not a person", each with its sentence; certain ones first. */
function botSignals(
  click: ClickFacts,
  context: ClickContext,
): { certain: Reason[]; scored: Reason[] } {
  const certain: Reason[] = []
  const scored: Reason[] = []
  const ua = click.userAgent?.trim() ?? ''

  if (click.method.toUpperCase() === 'HEAD')
    certain.push({
      code: 'head_request',
      sentence: 'a HEAD request: a link checker, not a browser',
    })
  const prefetch = prefetchHeader(click.headers)
  if (prefetch)
    certain.push({ code: 'prefetch_header', sentence: `a prefetch, not a visit (${prefetch})` })
  if (ua === '')
    certain.push({ code: 'empty_user_agent', sentence: 'no user agent: browsers always send one' })
  else if (isScannerUserAgent(ua))
    certain.push({
      code: 'bot_user_agent',
      sentence: `the user agent of a bot or link scanner (${ua.slice(0, 80)})`,
    })

  const network = knownNetwork(click.ip)
  if (network?.kind === 'security')
    scored.push({ code: 'security_network', sentence: network.label })
  else if (network?.kind === 'hosting')
    scored.push({
      code: 'hosting_network',
      sentence: `from a cloud/hosting network (${network.label}), not an office or home connection`,
    })

  const near = sameSourceNear(click, context.messageClicks, SWEEP_MS)
  const links = new Set(near.map((c) => c.token))
  if (links.size >= 3) {
    const sweep = near.filter((c, i) => near.findIndex((d) => d.token === c.token) === i)
    scored.push({
      code: 'link_sweep',
      sentence: `${links.size} links of this email opened within ${seconds(span(sweep))} from ${fromWhere(near)}`,
    })
  } else {
    const pair = sameSourceNear(click, context.messageClicks, PAIR_MS)
    const pairLinks = new Set(pair.map((c) => c.token))
    if (pairLinks.size === 2)
      scored.push({
        code: 'two_links_at_once',
        sentence: `2 links of this email opened within ${seconds(span(pair))} from ${fromWhere(pair)}`,
      })
    else if (pair.length >= HAMMER_CLICKS)
      scored.push({
        code: 'link_hammered',
        sentence: `this link opened ${pair.length} times within ${seconds(span(pair))} from ${fromWhere(pair)}: faster than a person clicks`,
      })
    else if (pair.length >= 2)
      scored.push({
        code: 'repeat_at_once',
        sentence: `this link opened ${pair.length} times within ${seconds(span(pair))} from ${fromWhere(pair)}`,
      })
  }

  const burst = sameSourceNear(click, context.campaignClicks, CAMPAIGN_BURST_MS)
  const recipients = new Set(burst.map((c) => c.recipientId ?? c.id))
  if (recipients.size >= CAMPAIGN_CLUSTER_RECIPIENTS)
    scored.push({
      code: recipients.size >= CAMPAIGN_BURST_RECIPIENTS ? 'campaign_burst' : 'campaign_cluster',
      sentence: `${recipients.size} recipients of this campaign clicked within ${seconds(span(burst))} from ${fromWhere(burst)}`,
    })

  const after = context.sentAt ? click.at.getTime() - context.sentAt.getTime() : null
  if (after !== null && after >= 0 && after < INSTANT_AFTER_SEND_MS)
    scored.push({
      code: 'instant_after_send',
      sentence: `opened ${seconds(after)} after it was sent: sooner than a person gets an email, opens it and clicks`,
    })
  else if (after !== null && after >= 0 && after < SOON_AFTER_SEND_MS)
    scored.push({
      code: 'soon_after_send',
      sentence: `opened ${seconds(after)} after it was sent`,
    })

  if (ua !== '' && !click.headers?.['accept-language']) {
    scored.push({
      code: 'no_browser_language',
      sentence: 'no Accept-Language header: browsers send one, most scanners do not',
    })
    // A cloud address or a click in the scanners' minutes is weak alone: people click from cloud
    // desktops and within a minute, but with their browser's Accept-Language. Without it, a
    // browser user agent there is a scanner posing as one.
    const when = [
      ...(network?.kind === 'hosting' ? ['from a cloud network'] : []),
      ...(after !== null && after >= 0 && after < SCANNER_WINDOW_MS
        ? [`${seconds(after)} after it was sent, when mail scanners fetch`]
        : []),
    ]
    if (when.length > 0)
      scored.push({
        code: 'scanner_headers',
        sentence: `no Accept-Language ${when.join(', ')}: a scanner posing as a browser`,
      })
  }

  return { certain, scored }
}

/** The verdict on one click, with its reasons; `now` decides only whether it has settled. */
export function judgeClick(click: ClickFacts, context: ClickContext, now: Date): Judgement {
  const settled = now.getTime() >= click.at.getTime() + SETTLE_MS
  const { certain, scored } = botSignals(click, context)
  // A sandbox that renders the page (Safe Links detonation) can look like interaction: a beacon
  // does not outweigh a scanner's network or a sweep.
  const scannerLike = scored.some((r) => SCANNER_SIGNALS.has(r.code))
  if (context.confirmedAt && certain.length === 0 && !scannerLike) {
    return {
      verdict: 'human_confirmed',
      reasons: [
        {
          code: 'beacon_confirmed',
          sentence: 'a person used the page this link opened (pointer, key, scroll or reading)',
        },
        ...scored,
      ],
      rulesVersion: RULES_VERSION,
      settled: true,
    }
  }
  if (certain.length > 0)
    return {
      verdict: 'bot',
      reasons: [...certain, ...scored],
      rulesVersion: RULES_VERSION,
      settled: true,
    }
  const score = scored.reduce((sum, r) => sum + (WEIGHTS[r.code] ?? 0), 0)
  if (score >= BOT_SCORE)
    return { verdict: 'bot', reasons: scored, rulesVersion: RULES_VERSION, settled }
  if (score >= LIKELY_BOT_SCORE)
    return { verdict: 'likely_bot', reasons: scored, rulesVersion: RULES_VERSION, settled }
  return {
    verdict: 'human',
    reasons: [
      ...scored,
      {
        code: 'no_bot_signal',
        // Beside weak signals, not a claim that there were none.
        sentence:
          scored.length === 0
            ? 'a browser visit with nothing that points to a scanner'
            : 'a browser visit: the signals above are too weak to call it a scanner',
      },
    ],
    rulesVersion: RULES_VERSION,
    settled,
  }
}

/** The verdicts that count as a person (for qualification and the campaigns' human clicks). */
export const HUMAN_VERDICTS = ['human', 'human_confirmed'] as const satisfies readonly Verdict[]

/** Whether a verdict counts as a person (for qualification and the campaign's human clicks). */
export function isHumanVerdict(verdict: string): boolean {
  return (HUMAN_VERDICTS as readonly string[]).includes(verdict)
}
