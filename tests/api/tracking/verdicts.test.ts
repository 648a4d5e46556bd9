import { describe, expect, it } from 'vitest'
import {
  CAMPAIGN_BURST_MS,
  judgeClick,
  RULES_VERSION,
  SETTLE_MS,
  type ClickContext,
  type ClickFacts,
  type Verdict,
} from '../../../api/tracking/verdicts.ts'
import { knownNetwork, sourceKey } from '../../../api/tracking/networks.ts'
import { CHROME_DESKTOP, replay, SAFARI_IPHONE } from './verdict-fixtures.ts'

const SENT = new Date('2026-11-03T09:00:00Z')
const at = (ms: number) => new Date(SENT.getTime() + ms)
const LATER = at(86_400_000)
const BROWSER = { accept: 'text/html', 'accept-language': 'en-GB' }
const HOME = '81.120.7.9'

let n = 0
function click(over: Partial<ClickFacts> = {}): ClickFacts {
  return {
    id: `k${++n}`,
    token: 'link-0',
    recipientId: 'r1',
    method: 'GET',
    ip: HOME,
    userAgent: CHROME_DESKTOP,
    headers: BROWSER,
    at: at(600_000),
    ...over,
  }
}
const alone: ClickContext = { sentAt: SENT, messageClicks: [], campaignClicks: [] }
const codes = (c: ClickFacts, context = alone, now = LATER) =>
  judgeClick(c, context, now).reasons.map((r) => r.code)
const verdict = (c: ClickFacts, context = alone, now = LATER) => judgeClick(c, context, now).verdict

describe('each signal alone', () => {
  it('a plain browser click from a home address is human, with a reason and the rules version', () => {
    const j = judgeClick(click(), alone, LATER)
    expect(j).toMatchObject({ verdict: 'human', rulesVersion: RULES_VERSION, settled: true })
    expect(j.reasons.map((r) => r.code)).toEqual(['no_bot_signal'])
  })

  it('HEAD is a bot', () => {
    expect(verdict(click({ method: 'HEAD' }))).toBe('bot')
    expect(codes(click({ method: 'HEAD' }))).toContain('head_request')
  })

  it.each([
    ['purpose', 'prefetch'],
    ['sec-purpose', 'prefetch;prerender'],
    ['x-purpose', 'preview'],
    ['x-moz', 'prefetch'],
  ])('a %s: %s header is a bot', (name, value) => {
    const c = click({ headers: { ...BROWSER, [name]: value } })
    expect(verdict(c)).toBe('bot')
    expect(judgeClick(c, alone, LATER).reasons[0]).toEqual({
      code: 'prefetch_header',
      sentence: `a prefetch, not a visit (${name}: ${value})`,
    })
  })

  it('an empty or missing user agent is a bot', () => {
    expect(verdict(click({ userAgent: '' }))).toBe('bot')
    expect(verdict(click({ userAgent: null }))).toBe('bot')
    expect(codes(click({ userAgent: '  ' }))).toContain('empty_user_agent')
  })

  it.each([
    'python-requests/2.32.3',
    'curl/8.5.0',
    'Mozilla/5.0 (compatible; Barracuda Sentinel (EE))',
  ])('the scanner user agent %s is a bot', (ua) => {
    expect(verdict(click({ userAgent: ua }))).toBe('bot')
    expect(codes(click({ userAgent: ua }))).toContain('bot_user_agent')
  })

  it('a mail-security network alone is likely a bot, named for the rep', () => {
    const j = judgeClick(click({ ip: '40.107.22.9' }), alone, LATER)
    expect(j.verdict).toBe('likely_bot')
    expect(j.reasons).toContainEqual({
      code: 'security_network',
      sentence: 'Microsoft 365 mail-security network',
    })
  })

  it('an IPv4-mapped IPv6 address is matched as the IPv4 address it is', () => {
    expect(knownNetwork('::ffff:148.163.130.5')?.vendor).toBe('proofpoint')
    expect(knownNetwork('2a01:111:f400::1')?.vendor).toBe('microsoft')
    expect(knownNetwork('81.120.7.9')).toBeNull()
    expect(knownNetwork('not an address')).toBeNull()
    expect(verdict(click({ ip: '::ffff:205.139.110.4' }))).toBe('likely_bot')
  })

  it('a cloud/hosting network alone is only a weak signal: still human', () => {
    const c = click({ ip: '3.120.1.1' })
    expect(codes(c)).toContain('hosting_network')
    expect(verdict(c)).toBe('human')
  })

  it('a click soon after sending alone is still human (people on phones are quick)', () => {
    const c = click({ at: at(6_000), userAgent: SAFARI_IPHONE })
    const j = judgeClick(c, alone, LATER)
    expect(j.verdict).toBe('human')
    expect(j.reasons[0]).toEqual({
      code: 'soon_after_send',
      sentence: 'opened 6 s after it was sent',
    })
  })

  it('a click sooner after sending than a person could get, open and click it is likely a bot, whatever it sends', () => {
    const c = click({ at: at(300) })
    const j = judgeClick(c, alone, LATER)
    expect(j.verdict).toBe('likely_bot')
    expect(j.reasons).toEqual([
      {
        code: 'instant_after_send',
        sentence:
          'opened 0.3 s after it was sent: sooner than a person gets an email, opens it and clicks',
      },
    ])
    // A beacon from a sandbox that renders the page does not outweigh it.
    expect(judgeClick(c, { ...alone, confirmedAt: at(900) }, LATER).verdict).toBe('likely_bot')
    // From 3 s on, people on phones are quick: a weak signal.
    expect(verdict(click({ at: at(3_000) }))).toBe('human')
    expect(codes(click({ at: at(3_000) }))).toContain('soon_after_send')
  })

  it('says the signals beside a human verdict were too weak, not that there were none', () => {
    const j = judgeClick(click({ at: at(6_000) }), alone, LATER)
    expect(j.verdict).toBe('human')
    expect(j.reasons.at(-1)).toEqual({
      code: 'no_bot_signal',
      sentence: 'a browser visit: the signals above are too weak to call it a scanner',
    })
  })

  it('a missing Accept-Language alone is still human', () => {
    const c = click({ headers: { accept: '*/*' } })
    expect(codes(c)).toContain('no_browser_language')
    expect(verdict(c)).toBe('human')
  })

  it('three links of one message from one address within seconds are a bot sweep', () => {
    const sweep = [0, 1, 2].map((i) => click({ token: `link-${i}`, at: at(43_000 + i * 600) }))
    const j = judgeClick(sweep[0]!, { ...alone, messageClicks: sweep }, LATER)
    expect(j.verdict).toBe('bot')
    expect(j.reasons).toContainEqual({
      code: 'link_sweep',
      sentence: '3 links of this email opened within 1.2 s from one address',
    })
  })

  it('two links within 2 s are a weaker signal; the same link twice weaker still', () => {
    const two = [0, 1].map((i) => click({ token: `link-${i}`, at: at(43_000 + i * 500) }))
    expect(codes(two[1]!, { ...alone, messageClicks: two })).toContain('two_links_at_once')
    expect(verdict(two[1]!, { ...alone, messageClicks: two })).toBe('human')
    const again = [0, 1].map((i) => click({ at: at(43_000 + i * 300) }))
    expect(codes(again[1]!, { ...alone, messageClicks: again })).toContain('repeat_at_once')
    expect(verdict(again[1]!, { ...alone, messageClicks: again })).toBe('human')
  })

  it('many recipients of the campaign from one network within seconds are a burst; a few, a weaker cluster', () => {
    const burst = [1, 2, 3, 4, 5].map((r) =>
      click({
        recipientId: `r${r}`,
        token: `r${r}-0`,
        ip: `198.51.100.${r}`,
        at: at(50_000 + r * 700),
      }),
    )
    const j = judgeClick(burst[0]!, { ...alone, campaignClicks: burst.slice(1) }, LATER)
    expect(j.verdict).toBe('likely_bot')
    expect(j.reasons).toContainEqual({
      code: 'campaign_burst',
      sentence: '5 recipients of this campaign clicked within 2.8 s from one network',
    })
    // Three colleagues in one office: noted, not enough alone.
    const office = burst.slice(0, 3)
    expect(codes(office[0]!, { ...alone, campaignClicks: office.slice(1) })).toContain(
      'campaign_cluster',
    )
    expect(verdict(office[0]!, { ...alone, campaignClicks: office.slice(1) })).toBe('human')
    // Outside the burst window they are separate people.
    const spread = [1, 2, 3, 4, 5].map((r) =>
      click({ recipientId: `r${r}`, ip: `198.51.100.${r}`, at: at(r * (CAMPAIGN_BURST_MS + 1)) }),
    )
    expect(codes(spread[0]!, { ...alone, campaignClicks: spread.slice(1) })).not.toContain(
      'campaign_burst',
    )
  })
})

describe('signals together', () => {
  it('a security network plus a click at delivery plus no language header is a bot', () => {
    const c = click({ ip: '40.107.1.2', at: at(3_000), headers: { accept: '*/*' } })
    expect(verdict(c)).toBe('bot')
    expect(codes(c)).toEqual([
      'security_network',
      'soon_after_send',
      'no_browser_language',
      'scanner_headers',
    ])
  })

  it('a browser user agent without Accept-Language from an unlisted cloud address, or in the scanners’ minutes after sending, is likely a bot', () => {
    // One link, a minute after sending, from a cloud address in no vendor's list.
    const scanner = click({ ip: '3.120.1.1', headers: { accept: '*/*' }, at: at(60_000) })
    const j = judgeClick(scanner, alone, LATER)
    expect(j.verdict).toBe('likely_bot')
    expect(j.reasons).toContainEqual({
      code: 'scanner_headers',
      sentence:
        'no Accept-Language from a cloud network, 60 s after it was sent, when mail scanners fetch: a scanner posing as a browser',
    })
    expect(verdict(click({ ip: '3.120.1.1', headers: { accept: '*/*' } }))).toBe('likely_bot')
    expect(verdict(click({ headers: { accept: '*/*' }, at: at(100_000) }))).toBe('likely_bot')
    // People send Accept-Language: on a cloud desktop or VPN, or clicking within a minute.
    expect(verdict(click({ ip: '3.120.1.1', at: at(40_000) }))).toBe('human')
    expect(verdict(click({ ip: '3.120.1.1', at: at(6_000) }))).toBe('human')
    expect(verdict(click({ at: at(40_000) }))).toBe('human')
    expect(codes(click({ headers: { accept: '*/*' }, at: at(130_000) }))).not.toContain(
      'scanner_headers',
    )
  })

  it('a hosting network plus two links at once is likely a bot', () => {
    const two = [0, 1].map((i) =>
      click({ ip: '3.120.1.1', token: `link-${i}`, at: at(43_000 + i * 400) }),
    )
    expect(verdict(two[0]!, { ...alone, messageClicks: two })).toBe('likely_bot')
  })

  it('a sweep spread over one vendor’s addresses is one source', () => {
    expect(sourceKey('148.163.130.1')).toBe(sourceKey('148.163.150.7'))
    const sweep = [0, 1, 2].map((i) =>
      click({ token: `link-${i}`, ip: `148.163.${130 + i * 10}.1`, at: at(43_000 + i * 200) }),
    )
    const j = judgeClick(sweep[2]!, { ...alone, messageClicks: sweep }, LATER)
    expect(j.verdict).toBe('bot')
    expect(j.reasons).toContainEqual({
      code: 'link_sweep',
      sentence: '3 links of this email opened within 0.4 s from one network',
    })
  })

  it('a sweep spread over one cloud provider’s addresses is one source (a scanner pool on Azure)', () => {
    // Safe Links-style detonation: every link of the message within a second, each from another
    // /24 of one cloud, browser UA and headers, a minute after sending.
    expect(sourceKey('40.94.31.7')).toBe(sourceKey('40.94.250.4'))
    expect(sourceKey('81.120.7.9')).not.toBe(sourceKey('81.121.7.9'))
    const sweep = ['40.94.31.7', '40.94.97.22', '40.94.250.4'].map((ip, i) =>
      click({ token: `link-${i}`, ip, at: at(45_000 + i * 300) }),
    )
    for (const c of sweep) {
      const j = judgeClick(c, { ...alone, messageClicks: sweep }, LATER)
      expect(j.verdict).toBe('bot')
      expect(j.reasons).toContainEqual({
        code: 'link_sweep',
        sentence: '3 links of this email opened within 0.6 s from one network',
      })
    }
  })

  it('the same recipient’s later click from their own browser is still human after a sweep', () => {
    const sweep = [0, 1, 2, 3].map((i) =>
      click({
        token: `link-${i}`,
        ip: '148.163.130.1',
        at: at(43_000 + i * 200),
        headers: { accept: '*/*' },
      }),
    )
    const person = click({ token: 'link-1', at: at(43_000 + 180_000) })
    expect(verdict(person, { ...alone, messageClicks: sweep })).toBe('human')
    expect(verdict(sweep[0]!, { ...alone, messageClicks: [...sweep, person] })).toBe('bot')
  })

  it('a beacon confirms a browser click, but never a certain bot nor a scanner’s network or sweep', () => {
    const confirmed = { ...alone, confirmedAt: at(700_000) }
    const j = judgeClick(click({ ip: '3.120.1.1' }), confirmed, at(600_001))
    expect(j.verdict).toBe('human_confirmed')
    expect(j.settled).toBe(true)
    expect(j.reasons[0]?.code).toBe('beacon_confirmed')
    expect(verdict(click({ method: 'HEAD' }), confirmed)).toBe('bot')
    expect(verdict(click({ ip: '40.107.1.2' }), confirmed)).toBe('likely_bot')
    const sweep = [0, 1, 2].map((i) => click({ token: `link-${i}`, at: at(43_000 + i * 300) }))
    expect(verdict(sweep[0]!, { ...confirmed, messageClicks: sweep })).toBe('bot')
  })

  it('a human verdict settles only once the burst window has passed', () => {
    const c = click()
    expect(judgeClick(c, alone, new Date(c.at.getTime() + SETTLE_MS - 1)).settled).toBe(false)
    expect(judgeClick(c, alone, new Date(c.at.getTime() + SETTLE_MS)).settled).toBe(true)
  })
})

describe('replayed click logs', () => {
  const messages = replay()
  const all = messages.flatMap((m) => m.clicks)
  const judged = messages.flatMap((m) =>
    m.clicks.map((c) => {
      const campaignClicks = all.filter(
        (o) =>
          o.recipientId !== c.recipientId &&
          Math.abs(o.at.getTime() - c.at.getTime()) <= CAMPAIGN_BURST_MS,
      )
      const context: ClickContext = { sentAt: m.sentAt, messageClicks: m.clicks, campaignClicks }
      return { click: c, ...judgeClick(c, context, LATER) }
    }),
  )
  const botLike = (v: Verdict) => v === 'bot' || v === 'likely_bot'

  it('prints the confusion matrix and holds it to ≥ 95% scanners caught, ≤ 2% people lost', () => {
    const matrix = { scanner: {} as Record<Verdict, number>, human: {} as Record<Verdict, number> }
    for (const j of judged)
      matrix[j.click.truth][j.verdict] = (matrix[j.click.truth][j.verdict] ?? 0) + 1
    const verdicts: Verdict[] = ['bot', 'likely_bot', 'human', 'human_confirmed']
    const row = (truth: 'scanner' | 'human') =>
      `${truth.padEnd(8)} | ${verdicts.map((v) => String(matrix[truth][v] ?? 0).padStart(10)).join(' | ')}`
    const scanners = judged.filter((j) => j.click.truth === 'scanner')
    const humans = judged.filter((j) => j.click.truth === 'human')
    const caught = scanners.filter((j) => botLike(j.verdict)).length / scanners.length
    const lost = humans.filter((j) => botLike(j.verdict)).length / humans.length
    console.log(
      [
        `Click verdicts, rules ${RULES_VERSION}: ${judged.length} replayed clicks (${scanners.length} scanner, ${humans.length} human)`,
        `truth    | ${verdicts.map((v) => v.padStart(10)).join(' | ')}`,
        row('scanner'),
        row('human'),
        `scanner clicks judged bot/likely_bot: ${(caught * 100).toFixed(1)}%; human clicks judged so: ${(lost * 100).toFixed(1)}%`,
      ].join('\n'),
    )
    const misses = judged
      .filter((j) => botLike(j.verdict) !== (j.click.truth === 'scanner'))
      .map((j) => `${j.click.scenario}: ${j.verdict} (${j.reasons.map((r) => r.code).join(', ')})`)
    expect(caught, misses.join('\n')).toBeGreaterThanOrEqual(0.95)
    expect(lost, misses.join('\n')).toBeLessThanOrEqual(0.02)
  })

  it.each([
    ['safe links double GET at delivery', ['bot']],
    ['gateway burst of 7 links in 1 s', ['bot']],
    ['unlisted gateway burst of 7 links', ['bot']],
    ['HEAD probe', ['bot']],
    ['empty user agent', ['bot']],
    ['scanner with desktop Chrome UA from a security network', ['bot', 'likely_bot']],
    ['cloud scanner pool walking the message', ['bot']],
    ['human with two tabs 40 s apart', ['human']],
    ['human behind a rewritten Safe Links URL', ['human']],
    ['human on a phone within 10 s of delivery', ['human']],
    ['scanner with a browser UA on an unlisted cloud address, one link', ['bot', 'likely_bot']],
    ['human on a cloud desktop 40 s after send', ['human']],
  ] as const)('%s → %s', (scenario, expected) => {
    const of = judged.filter((j) => j.click.scenario === scenario)
    expect(of.length).toBeGreaterThan(0)
    for (const j of of)
      expect(expected, `${j.click.id}: ${j.reasons.map((r) => r.sentence).join('; ')}`).toContain(
        j.verdict,
      )
  })

  it('a human 3 minutes after a scanner sweep: the sweep is bot, the person human', () => {
    const of = judged.filter((j) => j.click.scenario === 'human 3 minutes after a scanner sweep')
    for (const j of of) expect(j.verdict).toBe(j.click.truth === 'human' ? 'human' : 'bot')
  })

  it('every verdict explains itself', () => {
    for (const j of judged) {
      expect(j.reasons.length).toBeGreaterThan(0)
      for (const r of j.reasons) expect(r.sentence.length).toBeGreaterThan(5)
    }
    const burst = judged.find((j) => j.click.scenario === 'gateway burst of 7 links in 1 s')!
    expect(burst.reasons.find((r) => r.code === 'link_sweep')?.sentence).toMatch(
      /^7 links of this email opened within 0?\.?\d+(\.\d)? s from one (address|network)$/,
    )
  })
})
