import type { ClickFacts } from '../../../api/tracking/verdicts.ts'

// Replay fixtures: click logs as the redirect records them (method, IP, user agent, the headers
// the rules read, time), each click labelled with what it really was. Every scenario is played
// for several recipients of one campaign with its own send time, addresses and jitter, from a
// seeded generator, so the confusion matrix is the same on every run.

export type Truth = 'scanner' | 'human'

export interface ReplayClick extends ClickFacts {
  truth: Truth
  scenario: string
}

export interface ReplayMessage {
  recipientId: string
  sentAt: Date
  clicks: ReplayClick[]
}

export const CHROME_DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'
export const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
export const FIREFOX_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:132.0) Gecko/20100101 Firefox/132.0'
export const OUTLOOK_EDGE =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0'

const BROWSER_HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
  'sec-fetch-site': 'none',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-user': '?1',
  'sec-fetch-dest': 'document',
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function seeded(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SEND = Date.parse('2026-11-03T09:00:00Z')

interface Builder {
  rand: () => number
  recipient: number
  sentAt: number
  clicks: ReplayClick[]
}

let ids = 0
function click(
  b: Builder,
  truth: Truth,
  scenario: string,
  link: number,
  afterMs: number,
  ip: string,
  userAgent: string | null,
  headers: Record<string, string> | null,
  method = 'GET',
): void {
  b.clicks.push({
    id: `c${++ids}`,
    token: `r${b.recipient}-l${link}`,
    recipientId: `r${b.recipient}`,
    method,
    ip,
    userAgent,
    headers,
    at: new Date(b.sentAt + afterMs),
    truth,
    scenario,
  })
}

const pick = <T>(rand: () => number, list: readonly T[]): T =>
  list[Math.floor(rand() * list.length)] as T
const octet = (rand: () => number) => 1 + Math.floor(rand() * 250)

// Addresses: mail-security ranges from data/security-networks.json, and ones in none of them.
const microsoft = (r: () => number) => `40.107.${octet(r)}.${octet(r)}`
const proofpoint = (r: () => number) => `148.163.${128 + Math.floor(r() * 31)}.${octet(r)}`
const mimecast = (r: () => number) => `205.139.110.${octet(r)}`
const barracuda = (r: () => number) => `209.222.${80 + Math.floor(r() * 7)}.${octet(r)}`
const google = (r: () => number) => `209.85.${128 + Math.floor(r() * 100)}.${octet(r)}`
const ciscoV6Mapped = (r: () => number) => `::ffff:68.232.${128 + Math.floor(r() * 31)}.${octet(r)}`
const azure = (r: () => number) => `40.94.${octet(r)}.${octet(r)}`
const residential = (r: () => number) => `81.${100 + Math.floor(r() * 50)}.${octet(r)}.${octet(r)}`
const mobile = (r: () => number) => `172.56.${octet(r)}.${octet(r)}`
const office = (r: () => number) => `194.${60 + Math.floor(r() * 20)}.${octet(r)}.${octet(r)}`
// Cloud/hosting ranges (hosting, not a mail-security vendor's): a scanner or a cloud desktop.
const aws = (r: () => number) => `3.${octet(r)}.${octet(r)}.${octet(r)}`
const gcp = (r: () => number) => `34.${64 + Math.floor(r() * 64)}.${octet(r)}.${octet(r)}`
const digitalocean = (r: () => number) => `159.65.${octet(r)}.${octet(r)}`
const azureDesktop = (r: () => number) => `20.${32 + Math.floor(r() * 32)}.${octet(r)}.${octet(r)}`

/** The scenarios of issue 14, each a function of one recipient's message. */
export const SCENARIOS: Record<string, (b: Builder) => void> = {
  // Defender Safe Links fetches the link twice at delivery, from Microsoft's network.
  'safe links double GET at delivery': (b) => {
    const t = 1_000 + b.rand() * 4_000
    const link = Math.floor(b.rand() * 3)
    click(
      b,
      'scanner',
      'safe links double GET at delivery',
      link,
      t,
      microsoft(b.rand),
      CHROME_DESKTOP,
      { accept: '*/*' },
    )
    click(
      b,
      'scanner',
      'safe links double GET at delivery',
      link,
      t + 200 + b.rand() * 600,
      microsoft(b.rand),
      CHROME_DESKTOP,
      { accept: '*/*' },
    )
  },
  // Proofpoint / Mimecast walk every link of the message within a second, 20–120 s after send.
  'gateway burst of 7 links in 1 s': (b) => {
    const vendor = pick(b.rand, [proofpoint, mimecast, barracuda])
    const t = 20_000 + b.rand() * 100_000
    for (let link = 0; link < 7; link++)
      click(
        b,
        'scanner',
        'gateway burst of 7 links in 1 s',
        link,
        t + b.rand() * 1_000,
        vendor(b.rand),
        pick(b.rand, [CHROME_DESKTOP, FIREFOX_MAC]),
        b.rand() < 0.5 ? BROWSER_HEADERS : { accept: '*/*' },
      )
  },
  // The same burst from a scanner whose addresses are in no list (self-hosted gateway).
  'unlisted gateway burst of 7 links': (b) => {
    const net = `198.51.${octet(b.rand)}`
    const t = 20_000 + b.rand() * 100_000
    for (let link = 0; link < 7; link++)
      click(
        b,
        'scanner',
        'unlisted gateway burst of 7 links',
        link,
        t + b.rand() * 1_000,
        `${net}.${octet(b.rand)}`,
        CHROME_DESKTOP,
        BROWSER_HEADERS,
      )
  },
  'HEAD probe': (b) => {
    click(
      b,
      'scanner',
      'HEAD probe',
      0,
      5_000 + b.rand() * 60_000,
      residential(b.rand),
      CHROME_DESKTOP,
      BROWSER_HEADERS,
      'HEAD',
    )
  },
  'empty user agent': (b) => {
    click(
      b,
      'scanner',
      'empty user agent',
      0,
      30_000 + b.rand() * 60_000,
      office(b.rand),
      null,
      null,
    )
  },
  'scanner user agent': (b) => {
    click(
      b,
      'scanner',
      'scanner user agent',
      0,
      30_000 + b.rand() * 60_000,
      office(b.rand),
      pick(b.rand, [
        'python-requests/2.32.3',
        'curl/8.5.0',
        'Mozilla/5.0 (compatible; Barracuda Sentinel (EE))',
        'Microsoft Office Existence Discovery',
      ]),
      { accept: '*/*' },
    )
  },
  'prefetch header': (b) => {
    click(
      b,
      'scanner',
      'prefetch header',
      0,
      2_000 + b.rand() * 30_000,
      residential(b.rand),
      CHROME_DESKTOP,
      { ...BROWSER_HEADERS, 'sec-purpose': 'prefetch' },
    )
  },
  // One link, desktop Chrome UA and full browser headers, but from a mail-security network.
  'scanner with desktop Chrome UA from a security network': (b) => {
    const source = pick(b.rand, [microsoft, google, ciscoV6Mapped, proofpoint])
    click(
      b,
      'scanner',
      'scanner with desktop Chrome UA from a security network',
      0,
      20_000 + b.rand() * 100_000,
      source(b.rand),
      CHROME_DESKTOP,
      BROWSER_HEADERS,
    )
  },
  // A scanner pool in a public cloud (Defender detonation on Azure): every link of the message
  // within a second, each from another address of the cloud, full browser headers.
  'cloud scanner pool walking the message': (b) => {
    const t = 20_000 + b.rand() * 100_000
    for (let link = 0; link < 3; link++)
      click(
        b,
        'scanner',
        'cloud scanner pool walking the message',
        link,
        t + b.rand() * 1_000,
        azure(b.rand),
        CHROME_DESKTOP,
        BROWSER_HEADERS,
      )
  },
  'human with two tabs 40 s apart': (b) => {
    const ip = office(b.rand)
    const t = 600_000 + b.rand() * 3_600_000
    click(b, 'human', 'human with two tabs 40 s apart', 0, t, ip, OUTLOOK_EDGE, BROWSER_HEADERS)
    click(
      b,
      'human',
      'human with two tabs 40 s apart',
      1,
      t + 38_000 + b.rand() * 4_000,
      ip,
      OUTLOOK_EDGE,
      BROWSER_HEADERS,
    )
  },
  'human 3 minutes after a scanner sweep': (b) => {
    const t = 20_000 + b.rand() * 100_000
    for (let link = 0; link < 5; link++)
      click(
        b,
        'scanner',
        'human 3 minutes after a scanner sweep',
        link,
        t + b.rand() * 900,
        proofpoint(b.rand),
        CHROME_DESKTOP,
        { accept: '*/*' },
      )
    click(
      b,
      'human',
      'human 3 minutes after a scanner sweep',
      1,
      t + 180_000,
      office(b.rand),
      CHROME_DESKTOP,
      BROWSER_HEADERS,
    )
  },
  // Safe Links rewrote the URL; the person's browser follows it from home.
  'human behind a rewritten Safe Links URL': (b) => {
    click(
      b,
      'human',
      'human behind a rewritten Safe Links URL',
      0,
      300_000 + b.rand() * 86_400_000,
      residential(b.rand),
      OUTLOOK_EDGE,
      {
        ...BROWSER_HEADERS,
        'sec-fetch-site': 'cross-site',
        'referer-origin': 'https://nam12.safelinks.protection.outlook.com',
      },
    )
  },
  'human on a phone within 10 s of delivery': (b) => {
    click(
      b,
      'human',
      'human on a phone within 10 s of delivery',
      0,
      4_000 + b.rand() * 6_000,
      mobile(b.rand),
      SAFARI_IPHONE,
      { accept: BROWSER_HEADERS.accept, 'accept-language': 'en-US,en;q=0.9' },
    )
  },
  // Colleagues who got the message: each clicks from the office network within seconds.
  // Three recipients in a row share an office network and click within 4 s of each other.
  'three colleagues in one office within seconds': (() => {
    let group = { net: '', at: 0, left: 0 }
    return (b: Builder) => {
      if (group.left === 0)
        group = {
          net: `194.70.${octet(b.rand)}`,
          at: b.sentAt + 900_000 + b.rand() * 600_000,
          left: 3,
        }
      group.left--
      click(
        b,
        'human',
        'three colleagues in one office within seconds',
        0,
        group.at - b.sentAt + b.rand() * 4_000,
        `${group.net}.${octet(b.rand)}`,
        OUTLOOK_EDGE,
        BROWSER_HEADERS,
      )
    }
  })(),
  // A person who double-clicks the link in a desktop mail client: two GETs 300 ms apart.
  'human double-click': (b) => {
    const ip = office(b.rand)
    const t = 1_800_000 + b.rand() * 3_600_000
    click(b, 'human', 'human double-click', 0, t, ip, CHROME_DESKTOP, BROWSER_HEADERS)
    click(
      b,
      'human',
      'human double-click',
      0,
      t + 250 + b.rand() * 200,
      ip,
      CHROME_DESKTOP,
      BROWSER_HEADERS,
    )
  },
  'human clicking once, hours later': (b) => {
    click(
      b,
      'human',
      'human clicking once, hours later',
      Math.floor(b.rand() * 3),
      3_600_000 + b.rand() * 86_400_000,
      pick(b.rand, [residential, office, mobile])(b.rand),
      pick(b.rand, [CHROME_DESKTOP, FIREFOX_MAC, SAFARI_IPHONE]),
      BROWSER_HEADERS,
    )
  },
  // A scanner on a cloud address in no vendor's list: one link, a browser user agent but no
  // Accept-Language, in the scanners' 20–120 s after sending.
  'scanner with a browser UA on an unlisted cloud address, one link': (b) => {
    click(
      b,
      'scanner',
      'scanner with a browser UA on an unlisted cloud address, one link',
      Math.floor(b.rand() * 3),
      20_000 + b.rand() * 99_000,
      pick(b.rand, [aws, gcp, digitalocean])(b.rand),
      pick(b.rand, [CHROME_DESKTOP, FIREFOX_MAC]),
      { accept: '*/*' },
    )
  },
  // A person on a cloud desktop (Windows 365, WorkSpaces) or a VPN exiting in a cloud: a hosting
  // address, but a real browser's headers, 40 s after sending.
  'human on a cloud desktop 40 s after send': (b) => {
    click(
      b,
      'human',
      'human on a cloud desktop 40 s after send',
      0,
      35_000 + b.rand() * 10_000,
      pick(b.rand, [azureDesktop, aws])(b.rand),
      OUTLOOK_EDGE,
      BROWSER_HEADERS,
    )
  },
}

/** Every scenario for `perScenario` recipients, each message sent a minute after the last. */
export function replay(perScenario = 12, seed = 14): ReplayMessage[] {
  const rand = seeded(seed)
  const messages: ReplayMessage[] = []
  let recipient = 0
  for (const play of Object.values(SCENARIOS)) {
    for (let i = 0; i < perScenario; i++) {
      const b: Builder = {
        rand,
        recipient: recipient++,
        sentAt: SEND + recipient * 60_000,
        clicks: [],
      }
      play(b)
      messages.push({
        recipientId: `r${b.recipient}`,
        sentAt: new Date(b.sentAt),
        clicks: b.clicks,
      })
    }
  }
  return messages
}
